"""Boustrophedon sweeps: sweep lines over a region with holes, in the best direction, in order.

The region is rotated so sweeps run along x. It is cut into bands one line spacing high; each
connected piece of a band gets one sweep line at the band's centre spanning the piece's whole
extent, so every point of the piece lies within half a spacing of it. Where a line would cross
a kept-out area it is cut, and what the cut pieces leave uncovered is swept again at its own
centre. All bands are intersected with the region in one vectorised shapely call.

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
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from missions.geo import Router
from missions.geo.frame import FloatArray
from missions.planning.plan import Point2

__all__ = ["Sweep", "best_sweep_angle_rad", "order_sweeps", "sweep_lines"]

_MIN_AREA_M2 = 1.0
_SLACK_M = 0.01  # residues thinner than this next to a sweep's reach are not swept again


@dataclass(frozen=True, slots=True)
class Sweep:
    """One sweep line in the rotated frame: ``y`` and ``x0 < x1``."""

    y: float
    x0: float
    x1: float


def best_sweep_angle_rad(region: BaseGeometry) -> float:
    """The direction along which the region is narrowest across: fewest lines and turns.

    Candidates are the convex hull's edge directions (the minimum width is always reached
    with one side of the hull parallel to the sweeps).
    """
    hull = np.asarray(shapely.convex_hull(region).exterior.coords) if region.area > 0 else None
    if hull is None or len(hull) < 4:
        return 0.0
    edges = np.diff(hull, axis=0)
    angles = np.arctan2(edges[:, 1], edges[:, 0])
    normals = np.column_stack([-np.sin(angles), np.cos(angles)])
    proj = hull[:-1] @ normals.T
    widths = proj.max(axis=0) - proj.min(axis=0)
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    best = np.lexsort((-lengths, np.round(widths, 6)))[0]
    return float(angles[best] % math.pi)


def _bands(rot: BaseGeometry, spacing: float) -> tuple[FloatArray, list[Polygon], FloatArray]:
    minx, miny, maxx, maxy = rot.bounds
    height = maxy - miny
    n = max(1, math.ceil(height / spacing - 1e-9))
    y0 = miny - (n * spacing - height) / 2.0
    lows = y0 + spacing * np.arange(n)
    boxes = shapely.box(minx - 1.0, lows - 1e-6, maxx + 1.0, lows + spacing + 1e-6)
    pieces = shapely.intersection(boxes, rot)
    parts, index = shapely.get_parts(pieces, return_index=True)
    keep = shapely.area(parts) > _MIN_AREA_M2
    return lows[index[keep]] + spacing / 2.0, list(parts[keep]), shapely.bounds(parts[keep])


def sweep_lines(
    region: BaseGeometry,
    *,
    angle_rad: float,
    spacing_m: float,
    swath_m: float,
    keep_out: BaseGeometry,
    guard: BaseGeometry,
    radius_m: float,
) -> tuple[list[Sweep], float]:
    """Sweeps covering ``region`` (local metres) in the frame rotated by ``-angle_rad``.

    Lines stay inside ``radius_m`` of the origin and are cut where they would enter ``guard``
    (cut back to ``keep_out``). Returns the sweeps and the area (m²) left further than half a
    swath from every sweep (0 unless a kept-out area is too tight to sweep around).
    """
    if region.is_empty:
        return [], 0.0

    def rotate(g: BaseGeometry) -> BaseGeometry:
        return g if g.is_empty else affinity.rotate(g, -angle_rad, origin=(0, 0), use_radians=True)

    rot, rot_keep, rot_guard = rotate(region), rotate(keep_out), rotate(guard)
    sweeps: list[Sweep] = []
    uncovered = 0.0
    todo: list[tuple[BaseGeometry, int]] = [(rot, 0)]
    while todo:
        geom, depth = todo.pop()
        ys, pieces, bounds = _bands(geom, spacing_m)
        if not len(ys):
            continue
        half = np.sqrt(np.maximum(radius_m**2 - ys**2, 0.0))
        x0 = np.maximum(bounds[:, 0], -half)
        x1 = np.minimum(bounds[:, 2], half)
        clipped = (x0 > bounds[:, 0] + 0.01) | (x1 < bounds[:, 2] - 0.01)
        lines = shapely.linestrings(
            np.stack([np.column_stack([x0, ys]), np.column_stack([x1, ys])], axis=1)
        )
        cut = clipped.copy()
        if not rot_guard.is_empty:
            cut |= shapely.intersects(lines, rot_guard)
        for k in np.nonzero(~cut & (x1 > x0))[0]:
            sweeps.append(Sweep(float(ys[k]), float(x0[k]), float(x1[k])))
        for k in np.nonzero(cut)[0]:
            kept = shapely.difference(lines[k], rot_keep) if x1[k] > x0[k] else lines[k]
            segs = [g for g in shapely.get_parts(kept) if g.length > 0.5]
            for seg in segs:
                sx0, _, sx1, _ = seg.bounds
                sweeps.append(Sweep(float(ys[k]), float(sx0), float(sx1)))
            reach = swath_m / 2.0 + _SLACK_M
            covered = shapely.union_all([g.buffer(reach, quad_segs=4) for g in segs])
            rest = shapely.difference(pieces[k], covered) if segs else pieces[k]
            for part in shapely.get_parts(rest):
                if part.area <= _MIN_AREA_M2:
                    continue
                if depth < 3:
                    todo.append((part, depth + 1))
                else:
                    uncovered += part.area
    return sweeps, uncovered


def order_sweeps(
    sweeps: list[Sweep],
    *,
    angle_rad: float,
    spacing_m: float,
    start_m: Point2,
    router: Router,
    turn_radius_m: float = 0.0,
) -> list[Point2]:
    """One flyable polyline (local metres) through every sweep, starting near ``start_m``."""
    if not sweeps:
        return []
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    ys = np.array([w.y for w in sweeps])
    x0 = np.array([w.x0 for w in sweeps])
    x1 = np.array([w.x1 for w in sweeps])
    band = np.round((ys - ys.min()) / spacing_m).astype(np.int64)
    by_band: dict[int, list[int]] = {}
    for i, b in enumerate(band):
        by_band.setdefault(int(b), []).append(i)
    sx, sy = start_m[0] * c + start_m[1] * s, -start_m[0] * s + start_m[1] * c
    ends = np.concatenate([np.column_stack([x0, ys]), np.column_stack([x1, ys])])
    left = np.ones(len(sweeps), dtype=bool)

    def to_local(x: float, y: float) -> Point2:
        return (x * c - y * s, x * s + y * c)

    path: list[Point2] = []
    pos = np.array([sx, sy])
    direction = 1
    current: int | None = None
    while left.any():
        nxt: int | None = None
        if current is not None:
            nxt = _neighbour(current, direction, band, by_band, x0, x1, left, pos)
            if nxt is None:
                direction = -direction
                nxt = _neighbour(current, direction, band, by_band, x0, x1, left, pos)
        if nxt is None and current is None:
            nxt, direction = _first(band, ends, pos, len(sweeps))
        if nxt is None:
            alive = np.concatenate([left, left])
            d = np.where(alive, np.hypot(ends[:, 0] - pos[0], ends[:, 1] - pos[1]), np.inf)
            nxt = int(np.argmin(d)) % len(sweeps)
        left[nxt] = False
        enter_left = abs(x0[nxt] - pos[0]) <= abs(x1[nxt] - pos[0])
        a = (x0[nxt], ys[nxt]) if enter_left else (x1[nxt], ys[nxt])
        b = (x1[nxt], ys[nxt]) if enter_left else (x0[nxt], ys[nxt])
        la, lb = to_local(*a), to_local(*b)
        if path:
            _connect(path, la, router, turn_radius_m)
        path.append(la)
        if lb != la:
            path.append(lb)
        pos = np.array(b)
        current = nxt
    return path


def _first(band: np.ndarray, ends: FloatArray, pos: FloatArray, n: int) -> tuple[int, int]:
    """Start at the end of the first or last band nearest to ``pos``, sweeping inwards."""
    d = np.hypot(ends[:, 0] - pos[0], ends[:, 1] - pos[1])
    twice = np.concatenate([band, band])
    low = np.where(twice == band.min(), d, np.inf)
    high = np.where(twice == band.max(), d, np.inf)
    if low.min() <= high.min():
        return int(np.argmin(low)) % n, 1
    return int(np.argmin(high)) % n, -1


def _neighbour(
    current: int,
    direction: int,
    band: np.ndarray,
    by_band: dict[int, list[int]],
    x0: FloatArray,
    x1: FloatArray,
    left: np.ndarray,
    pos: FloatArray,
) -> int | None:
    """The unflown sweep in the next band overlapping the current one, nearest to ``pos``."""
    best, best_d = None, math.inf
    for j in by_band.get(int(band[current]) + direction, ()):
        if not left[j] or x1[j] < x0[current] or x0[j] > x1[current]:
            continue
        d = min(abs(x0[j] - pos[0]), abs(x1[j] - pos[0]))
        if d < best_d:
            best, best_d = j, d
    return best


def _connect(
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
            if router.clear_many(legs, ends).all():
                path.extend([out_pt, in_pt])
                return
    route = router.route(here, target)
    path.extend(route[1:-1])
