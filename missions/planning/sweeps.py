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
_EVALUATE_BELOW_M2 = 100e6  # larger regions take the narrowest direction without trying others
_OWN_EDGES = 4
_SLACK_M = 0.01  # residues thinner than this next to a sweep's reach are not swept again


@dataclass(frozen=True, slots=True)
class Sweep:
    """One sweep line in the rotated frame: ``y`` and ``x0 < x1``."""

    y: float
    x0: float
    x1: float


def best_sweep_angle_rad(region: BaseGeometry, spacing_m: float | None = None) -> float:
    """The sweep direction that makes the shortest path.

    Candidates are the convex hull's edge directions (the minimum width across, hence fewest
    lines, is always reached with a hull side parallel to the sweeps) and the region's own
    longest edges. Without ``spacing_m``, or for regions over 100 km², the narrowest direction
    wins; otherwise each candidate's sweeps are laid out and the one with the least line
    length plus one spacing per turn wins (this is what finds the arm of an L).
    """
    if region.is_empty or region.area <= 0:
        return 0.0
    hull = np.asarray(shapely.convex_hull(region).exterior.coords)
    if len(hull) < 4:
        return 0.0
    edges = np.diff(hull, axis=0)
    angles = np.arctan2(edges[:, 1], edges[:, 0]) % math.pi
    normals = np.column_stack([-np.sin(angles), np.cos(angles)])
    proj = hull[:-1] @ normals.T
    widths = proj.max(axis=0) - proj.min(axis=0)
    narrowest = float(angles[int(np.argmin(widths))])
    if spacing_m is None or region.area > _EVALUATE_BELOW_M2:
        return narrowest
    rings = [
        np.asarray(p.exterior.coords) for p in shapely.get_parts(region) if isinstance(p, Polygon)
    ]
    own = np.concatenate([np.diff(r, axis=0) for r in rings])
    longest = own[np.argsort(-np.hypot(own[:, 0], own[:, 1]))[:_OWN_EDGES]]
    candidates = [narrowest, *(np.arctan2(longest[:, 1], longest[:, 0]) % math.pi).tolist()]
    unique: list[float] = []
    for a in candidates:
        if all(
            abs((a - b + math.pi / 2) % math.pi - math.pi / 2) > math.radians(1) for b in unique
        ):
            unique.append(float(a))
    if len(unique) == 1:
        return narrowest
    costs = []
    for a in unique:
        rot = affinity.rotate(region, -a, origin=(0, 0), use_radians=True)
        ys, _, bounds = _bands(rot, spacing_m)
        costs.append(float(np.sum(bounds[:, 2] - bounds[:, 0])) + len(ys) * spacing_m)
    return unique[int(np.argmin(costs))]


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
    cells = _cells(np.round((ys - ys.min()) / spacing_m).astype(np.int64), x0, x1)

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
                _connect(path, la, router, turn_radius_m)
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
            if router.clear_many(legs, ends).all() and router.allowed(legs[1:]).all():
                path.extend([out_pt, in_pt])
                return
    route = router.route(here, target)
    path.extend(route[1:-1])
