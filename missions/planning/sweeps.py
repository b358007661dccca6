"""Boustrophedon sweeps in one direction: lines over a region with holes, then one path.

The region is rotated so sweeps run along x. Its height is cut into the fewest bands no
higher than the line spacing, all of one height (the pitch), so no band is wasted on a partial
strip; each connected piece of a band gets one sweep line at the band's centre, so every point
of the piece lies within half a pitch of the line's y. Because the pitch is at most the
spacing, a line need not reach the piece's ends: a point at most ``pitch / 2`` off the line
is within half a spacing of an end pulled in by ``sqrt(spacing² - pitch²) / 2``
(:func:`end_inset_m`). Pieces of one band separated only by flyable ground (a concave notch or
a hole that is not a no-fly zone) may be bridged into one line, flown straight across.
Where a line would cross a kept-out area it is cut, and what the cut pieces leave uncovered is
swept again at its own centre. All bands are intersected with the region in one vectorised
shapely call.

Lines are then ordered: along a cell in alternating directions to the neighbouring band, and
from cell to cell by the nearest unflown line, with every connecting leg routed around the
no-fly zones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry.base import BaseGeometry

from missions.geo import Router
from missions.geo.frame import FloatArray
from missions.planning.plan import Point2

__all__ = [
    "Bands",
    "Sweep",
    "band_pieces",
    "connect",
    "end_inset_m",
    "order_sweeps",
    "rotated",
    "sweep_lines",
]

_MIN_AREA_M2 = 1.0
_SLACK_M = 0.01  # residues thinner than this next to a sweep's reach are not swept again


@dataclass(frozen=True, slots=True)
class Sweep:
    """One sweep line in the rotated frame: ``y``, ``x0 <= x1`` and the band it sweeps."""

    y: float
    x0: float
    x1: float
    band: int


@dataclass(frozen=True, slots=True)
class Bands:
    """The pieces of a rotated region in equal bands: per piece its line's ``y``, band index,
    geometry and bounds (minx, miny, maxx, maxy); ``pitch_m`` is the bands' height."""

    ys: FloatArray
    index: np.ndarray
    pieces: np.ndarray
    bounds: FloatArray
    pitch_m: float


def rotated(geom: BaseGeometry, angle_rad: float) -> BaseGeometry:
    """``geom`` in the frame whose x axis points along ``angle_rad`` (about the origin)."""
    if geom.is_empty:
        return geom
    return affinity.rotate(geom, -angle_rad, origin=(0, 0), use_radians=True)


def end_inset_m(spacing_m: float, pitch_m: float) -> float:
    """How far a line may stop short of its piece's ends with bands ``pitch_m`` high."""
    return 0.5 * math.sqrt(max(spacing_m**2 - pitch_m**2, 0.0))


def band_pieces(rot: BaseGeometry, spacing_m: float) -> Bands:
    """``rot`` cut into the fewest equal bands no higher than ``spacing_m``."""
    minx, miny, maxx, maxy = rot.bounds
    height = maxy - miny
    n = max(1, math.ceil(height / spacing_m - 1e-9))
    pitch = height / n if height > 0 else spacing_m
    lows = miny + pitch * np.arange(n)
    boxes = shapely.box(minx - 1.0, lows - 1e-6, maxx + 1.0, lows + pitch + 1e-6)
    parts, index = shapely.get_parts(shapely.intersection(boxes, rot), return_index=True)
    keep = shapely.area(parts) > _MIN_AREA_M2
    order = np.lexsort((shapely.bounds(parts[keep])[:, 0], index[keep]))
    parts, index = parts[keep][order], index[keep][order]
    return Bands(lows[index] + pitch / 2.0, index, parts, shapely.bounds(parts), pitch)


def _bridged(bands: Bands, rot_guard: BaseGeometry, radius_m: float) -> Bands:
    """Neighbouring pieces of one band joined where the gap between them may be flown."""
    b = bands.bounds
    same = bands.index[1:] == bands.index[:-1]
    gaps = shapely.linestrings(
        np.stack(
            [np.column_stack([b[:-1, 2], bands.ys[1:]]), np.column_stack([b[1:, 0], bands.ys[1:]])],
            axis=1,
        )
    )
    ends_in = (np.hypot(b[:-1, 2], bands.ys[1:]) <= radius_m) & (
        np.hypot(b[1:, 0], bands.ys[1:]) <= radius_m
    )
    join = same & ends_in
    if not rot_guard.is_empty:
        join &= ~shapely.intersects(gaps, rot_guard)
    if not join.any():
        return bands
    group = np.concatenate([[0], np.cumsum(~join)])
    starts = np.flatnonzero(np.concatenate([[True], ~join]))
    bounds = np.column_stack(
        [
            np.minimum.reduceat(b[:, 0], starts),
            np.minimum.reduceat(b[:, 1], starts),
            np.maximum.reduceat(b[:, 2], starts),
            np.maximum.reduceat(b[:, 3], starts),
        ]
    )
    pieces = np.array(
        [shapely.union_all(bands.pieces[group == g]) for g in range(len(starts))], dtype=object
    )
    return Bands(bands.ys[starts], bands.index[starts], pieces, bounds, bands.pitch_m)


def sweep_lines(
    region: BaseGeometry,
    *,
    angle_rad: float,
    spacing_m: float,
    swath_m: float,
    keep_out: BaseGeometry,
    guard: BaseGeometry,
    radius_m: float,
    bridge: bool = False,
) -> tuple[list[Sweep], float]:
    """Sweeps covering ``region`` (local metres) in the frame rotated by ``-angle_rad``.

    Lines stay inside ``radius_m`` of the origin and are cut where they would enter ``guard``
    (cut back to ``keep_out``); with ``bridge`` pieces of a band separated by flyable ground
    share one line. Returns the sweeps and the area (m²) left further than half a swath from
    every sweep (0 unless a kept-out area is too tight to sweep around).
    """
    if region.is_empty:
        return [], 0.0
    rot, rot_keep, rot_guard = (rotated(g, angle_rad) for g in (region, keep_out, guard))
    top = band_pieces(rot, spacing_m)
    if bridge and len(top.ys) > 1:
        top = _bridged(top, rot_guard, radius_m)
    y_first = float(top.ys.min()) if len(top.ys) else 0.0
    sweeps: list[Sweep] = []
    uncovered = 0.0
    todo: list[tuple[Bands, int]] = [(top, 0)]
    while todo:
        bands, depth = todo.pop()
        ys, b = bands.ys, bands.bounds
        rows = (
            bands.index if depth == 0 else np.round((ys - y_first) / top.pitch_m).astype(np.int64)
        )
        half = np.sqrt(np.maximum(radius_m**2 - ys**2, 0.0))
        x0, x1 = np.maximum(b[:, 0], -half), np.minimum(b[:, 2], half)
        lines = shapely.linestrings(
            np.stack([np.column_stack([x0, ys]), np.column_stack([x1, ys])], axis=1)
        )
        cut = (x0 > b[:, 0] + 0.01) | (x1 < b[:, 2] - 0.01)
        if not rot_guard.is_empty:
            cut |= shapely.intersects(lines, rot_guard)
        inset = end_inset_m(spacing_m, bands.pitch_m)
        mid = (x0 + x1) / 2.0
        lo, hi = np.minimum(x0 + inset, mid), np.maximum(x1 - inset, mid)
        for k in np.nonzero(~cut & (x1 >= x0))[0]:
            sweeps.append(Sweep(float(ys[k]), float(lo[k]), float(hi[k]), int(rows[k])))
        for k in np.nonzero(cut)[0]:
            kept = shapely.difference(lines[k], rot_keep) if x1[k] > x0[k] else lines[k]
            segs = [g for g in shapely.get_parts(kept) if g.length > 0.5]
            for seg in segs:
                sx0, _, sx1, _ = seg.bounds
                sweeps.append(Sweep(float(ys[k]), float(sx0), float(sx1), int(rows[k])))
            reach = swath_m / 2.0 + _SLACK_M
            covered = shapely.union_all([g.buffer(reach, quad_segs=4) for g in segs])
            rest = shapely.difference(bands.pieces[k], covered) if segs else bands.pieces[k]
            for part in shapely.get_parts(rest):
                if part.area <= _MIN_AREA_M2:
                    continue
                if depth < 3:
                    todo.append((band_pieces(part, spacing_m), depth + 1))
                else:
                    uncovered += part.area
    return sweeps, uncovered


def order_sweeps(
    sweeps: list[Sweep],
    *,
    angle_rad: float,
    start_m: Point2,
    router: Router,
    turn_radius_m: float = 0.0,
) -> list[Point2]:
    """One flyable polyline (local metres) through every sweep, starting near ``start_m``.

    Sweeps are grouped into cells (runs of bands where each sweep overlaps exactly one sweep
    below and above it); each cell is flown back and forth from its end nearest to where the
    drone is, and the next cell is the one with the nearest entry corner.
    """
    if not sweeps:
        return []
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    ys = np.array([w.y for w in sweeps])
    x0 = np.array([w.x0 for w in sweeps])
    x1 = np.array([w.x1 for w in sweeps])
    cells = _cells(np.array([w.band for w in sweeps], dtype=np.int64), x0, x1)

    def to_local(x: float, y: float) -> Point2:
        return (x * c - y * s, x * s + y * c)

    pos = (start_m[0] * c + start_m[1] * s, -start_m[0] * s + start_m[1] * c)
    path: list[Point2] = []
    left = list(range(len(cells)))
    while left:
        best = (math.inf, 0, False)
        for k in left:
            cell = cells[k]
            for from_top, sweep in ((False, cell[0]), (True, cell[-1])):
                d = min(
                    math.dist(pos, (x0[sweep], ys[sweep])), math.dist(pos, (x1[sweep], ys[sweep]))
                )
                if d < best[0]:
                    best = (d, k, from_top)
        _, k, from_top = best
        left.remove(k)
        for i in reversed(cells[k]) if from_top else cells[k]:
            enter_left = abs(x0[i] - pos[0]) <= abs(x1[i] - pos[0])
            a = (x0[i], ys[i]) if enter_left else (x1[i], ys[i])
            b = (x1[i], ys[i]) if enter_left else (x0[i], ys[i])
            la, lb = to_local(*a), to_local(*b)
            if path:
                connect(path, la, router, turn_radius_m)
            path.append(la)
            if lb != la:
                path.append(lb)
            pos = b
    return path


def _cells(band: np.ndarray, x0: FloatArray, x1: FloatArray) -> list[list[int]]:
    """Runs of sweeps in consecutive bands that overlap one-to-one (boustrophedon cells)."""
    by_band: dict[int, list[int]] = {}
    for i in np.lexsort((x0, band)):
        by_band.setdefault(int(band[i]), []).append(int(i))

    def overlaps(i: int, j: int) -> bool:
        return bool(x0[i] <= x1[j] and x0[j] <= x1[i])

    cells: list[list[int]] = []
    cell_of: dict[int, int] = {}
    for b in sorted(by_band):
        for i in by_band[b]:
            below = [j for j in by_band.get(b - 1, ()) if overlaps(i, j)]
            if len(below) == 1:
                j = below[0]
                above = [k for k in by_band[b] if overlaps(k, j)]
                if len(above) == 1 and cells[cell_of[j]][-1] == j:
                    cell_of[i] = cell_of[j]
                    cells[cell_of[j]].append(i)
                    continue
            cell_of[i] = len(cells)
            cells.append([i])
    return cells


def connect(
    path: list[Point2],
    target: Point2,
    router: Router,
    turn_radius_m: float,
) -> None:
    """Append the leg from the path's end to ``target``: a wide turn if needed, routed."""
    here = path[-1]
    if turn_radius_m > 0 and math.dist(here, target) < 2 * turn_radius_m and len(path) >= 2:
        prev = path[-2]
        ux, uy = here[0] - prev[0], here[1] - prev[1]
        norm = math.hypot(ux, uy)
        if norm > 0:
            ux, uy = ux / norm * turn_radius_m, uy / norm * turn_radius_m
            out_pt = (here[0] + ux, here[1] + uy)
            in_pt = (target[0] + ux, target[1] + uy)
            legs = np.array([here, out_pt, in_pt])
            ends = np.array([out_pt, in_pt, target])
            if router.clear_many(legs, ends).all() and router.allowed(legs[1:]).all():
                path.extend([out_pt, in_pt])
                return
    route = router.route(here, target)
    path.extend(route[1:-1])
