"""How to sweep a region: the direction, or one direction for each side of a cut, whose flown
path is shortest.

Candidate directions are the convex hull's edges (the fewest lines: the minimum width across
is always reached with a hull side parallel to the sweeps) and the region's longest edges.
Each is scored cheaply from its bands (line lengths after the end insets plus one pitch per
turn); the best few are laid out in full, with and without bridging gaps in a band, and the
one with the shortest flight wins: the work path with its turns and connecting legs, plus the
straight way from the start to its first point and back from its last.

A concave region often sweeps shorter in two directions (the two arms of an L, each along
its length): the region is cut along an edge through a reflex corner, each side is swept in
its own best direction, and the two sides are flown one after the other when that is shorter.

Regions over 100 km² take the narrowest direction without trying others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from missions.geo import Router
from missions.planning.plan import Point2, path_length_m
from missions.planning.sweeps import (
    Sweep,
    band_pieces,
    connect,
    end_inset_m,
    order_sweeps,
    rotated,
    sweep_lines,
)

__all__ = ["SweepLayout", "SweepSpec", "plan_sweeps"]

_EVALUATE_BELOW_M2 = 100e6
_OWN_EDGES = 4
_LAID_OUT = 3  # best-scored directions laid out in full
_CUTS = 6  # reflex-corner cuts scored
_GRID_M = 1e-3  # cut sides are snapped to this grid, which keeps them valid
_MIN_SIDE = 0.02  # a cut side smaller than this share of the region is not worth a direction


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepSpec:
    """What every layout of one region shares: line spacing, swath, what may not be flown."""

    spacing_m: float
    swath_m: float
    keep_out: BaseGeometry
    guard: BaseGeometry
    radius_m: float
    router: Router
    turn_radius_m: float = 0.0


@dataclass(frozen=True, slots=True)
class SweepLayout:
    """Sweep lines (local metres) and the work path through them, from one start."""

    angles_rad: tuple[float, ...]
    lines_m: tuple[tuple[Point2, Point2], ...]
    work_m: tuple[Point2, ...]
    uncovered_m2: float
    start_m: Point2
    home_m: Point2

    @property
    def flight_m(self) -> float:
        """Work path plus the straight way from the start to it and from it home."""
        if not self.work_m:
            return 0.0
        return (
            path_length_m(self.work_m)
            + math.dist(self.start_m, self.work_m[0])
            + math.dist(self.work_m[-1], self.home_m)
        )


def plan_sweeps(
    region: BaseGeometry, spec: SweepSpec, *, start_m: Point2, angle_rad: float | None = None
) -> SweepLayout:
    """The layout of ``region`` flown from ``start_m`` (in direction ``angle_rad`` if given)."""
    if angle_rad is not None:
        return _ordered(_lines(region, angle_rad, spec, bridge=False), spec, (start_m, start_m))
    if region.area > _EVALUATE_BELOW_M2:
        lines = _lines(region, _narrowest(region), spec, bridge=False)
        return _ordered(lines, spec, (start_m, start_m))
    whole, score = _best_single(region, spec, (start_m, start_m))
    split = _best_split(region, spec, start_m, score)
    if split is not None and split.flight_m < whole.flight_m:
        return split
    return whole


@dataclass(frozen=True, slots=True)
class _Lines:
    """Sweeps in the frame rotated by ``angle``, before they are put in order."""

    angle: float
    sweeps: list[Sweep]
    uncovered_m2: float

    def local(self, x: float, y: float) -> Point2:
        c, s = math.cos(self.angle), math.sin(self.angle)
        return (x * c - y * s, x * s + y * c)

    def corners(self) -> list[Point2]:
        """Both ends of the lines in the first and the last band: where a path may begin."""
        if not self.sweeps:
            return []
        low = min(self.sweeps, key=lambda w: (w.band, w.x0))
        high = max(self.sweeps, key=lambda w: (w.band, w.x1))
        return [self.local(w.x0 if k else w.x1, w.y) for w in (low, high) for k in (0, 1)]


def _lines(region: BaseGeometry, angle: float, spec: SweepSpec, *, bridge: bool) -> _Lines:
    sweeps, uncovered = sweep_lines(
        region,
        angle_rad=angle,
        spacing_m=spec.spacing_m,
        swath_m=spec.swath_m,
        keep_out=spec.keep_out,
        guard=spec.guard,
        radius_m=spec.radius_m,
        bridge=bridge,
    )
    return _Lines(angle, sweeps, uncovered)


def _ordered(lines: _Lines, spec: SweepSpec, ends_m: tuple[Point2, Point2]) -> SweepLayout:
    """The lines flown from ``ends_m[0]``, home at ``ends_m[1]``."""
    work = order_sweeps(
        lines.sweeps,
        angle_rad=lines.angle,
        start_m=ends_m[0],
        router=spec.router,
        turn_radius_m=spec.turn_radius_m,
    )
    segments = tuple((lines.local(w.x0, w.y), lines.local(w.x1, w.y)) for w in lines.sweeps)
    return SweepLayout((lines.angle,), segments, tuple(work), lines.uncovered_m2, *ends_m)


def _scored(region: BaseGeometry, spec: SweepSpec) -> list[tuple[float, bool, float]]:
    """(score, split bands, direction) for each candidate direction, best first."""
    return sorted((*_score(region, a, spec.spacing_m), a) for a in _candidates(region))


def _best_single(
    region: BaseGeometry, spec: SweepSpec, ends_m: tuple[Point2, Point2]
) -> tuple[SweepLayout, float]:
    """The shortest one-direction layout, and the best cheap score among its directions."""
    scored = _scored(region, spec)
    layouts = [
        _ordered(_lines(region, a, spec, bridge=bridge), spec, ends_m)
        for _, gaps, a in scored[:_LAID_OUT]
        for bridge in ((False, True) if gaps else (False,))
    ]
    return min(layouts, key=lambda lay: lay.flight_m), scored[0][0]


def _score(region: BaseGeometry, angle: float, spacing_m: float) -> tuple[float, bool]:
    """Line lengths after the end insets plus a pitch per turn; whether any band is split."""
    bands = band_pieces(rotated(region, angle), spacing_m)
    inset = end_inset_m(spacing_m, bands.pitch_m)
    lengths = np.maximum(bands.bounds[:, 2] - bands.bounds[:, 0] - 2 * inset, 0.0)
    gaps = bool(np.any(bands.index[1:] == bands.index[:-1]))
    return float(lengths.sum()) + max(len(lengths) - 1, 0) * bands.pitch_m, gaps


def _hull_angles(region: BaseGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Directions of the convex hull's edges and the region's width across each."""
    hull = np.asarray(shapely.convex_hull(region).exterior.coords)
    edges = np.diff(hull, axis=0)
    angles = np.arctan2(edges[:, 1], edges[:, 0]) % math.pi
    normals = np.column_stack([-np.sin(angles), np.cos(angles)])
    proj = hull[:-1] @ normals.T
    return angles, proj.max(axis=0) - proj.min(axis=0)


def _narrowest(region: BaseGeometry) -> float:
    hull = shapely.convex_hull(region)
    if not isinstance(hull, Polygon):
        return 0.0
    angles, widths = _hull_angles(region)
    return float(angles[int(np.argmin(widths))])


def _candidates(region: BaseGeometry) -> list[float]:
    """Hull edge directions and the region's longest edge directions, 1° apart at least."""
    if not isinstance(shapely.convex_hull(region), Polygon):
        return [0.0]
    angles, _ = _hull_angles(region)
    rings = [
        np.asarray(p.exterior.coords) for p in shapely.get_parts(region) if isinstance(p, Polygon)
    ]
    own = np.concatenate([np.diff(r, axis=0) for r in rings])
    longest = own[np.argsort(-np.hypot(own[:, 0], own[:, 1]))[:_OWN_EDGES]]
    unique: list[float] = []
    for a in [*angles.tolist(), *(np.arctan2(longest[:, 1], longest[:, 0]) % math.pi).tolist()]:
        if all(
            abs((a - b + math.pi / 2) % math.pi - math.pi / 2) > math.radians(1) for b in unique
        ):
            unique.append(float(a))
    return unique


def _best_split(
    region: BaseGeometry, spec: SweepSpec, start_m: Point2, whole_score: float
) -> SweepLayout | None:
    """The best two-direction layout over the cut with the best score, if it scores better."""
    best: tuple[float, BaseGeometry, BaseGeometry] | None = None
    for point, angle in _cuts(region):
        sides = _sides(region, point, angle)
        if min(s.area for s in sides) < _MIN_SIDE * region.area:
            continue
        score = sum(
            min(_score(side, a, spec.spacing_m)[0] for a in _candidates(side)) for side in sides
        )
        if score < whole_score and (best is None or score < best[0]):
            best = (score, *sides)
    if best is None:
        return None
    _, a, b = best
    return min(
        (_joined(first, second, spec, start_m) for first, second in ((a, b), (b, a))),
        key=lambda lay: lay.flight_m,
    )


def _joined(
    first: BaseGeometry, second: BaseGeometry, spec: SweepSpec, start_m: Point2
) -> SweepLayout:
    """``first`` then ``second``, each in its best-scored direction; ``first`` is entered at
    whichever end of its outer lines makes the whole flight shortest."""
    one_lines, two_lines = (_side_lines(side, spec, start_m) for side in (first, second))
    layouts = []
    for entry in (start_m, *one_lines.corners()):
        one = _ordered(one_lines, spec, (entry, start_m))
        two = _ordered(two_lines, spec, (one.work_m[-1] if one.work_m else start_m, start_m))
        work = list(one.work_m)
        if work and two.work_m:
            connect(work, two.work_m[0], spec.router, spec.turn_radius_m)
        work.extend(two.work_m)
        layouts.append(
            SweepLayout(
                one.angles_rad + two.angles_rad,
                one.lines_m + two.lines_m,
                tuple(work),
                one.uncovered_m2 + two.uncovered_m2,
                start_m,
                start_m,
            )
        )
    return min(layouts, key=lambda lay: lay.flight_m)


def _side_lines(region: BaseGeometry, spec: SweepSpec, start_m: Point2) -> _Lines:
    """One side's lines in its best-scored direction, bridged where that flies shorter."""
    _, gaps, angle = _scored(region, spec)[0]
    variants = [
        _lines(region, angle, spec, bridge=b) for b in ((False, True) if gaps else (False,))
    ]
    return min(variants, key=lambda v: _ordered(v, spec, (start_m, start_m)).flight_m)


def _cuts(region: BaseGeometry) -> list[tuple[Point2, float]]:
    """Lines along an edge through a reflex corner of the outline, longest edges first."""
    found: list[tuple[float, Point2, float]] = []
    for poly in shapely.get_parts(shapely.normalize(region)):
        if not isinstance(poly, Polygon):
            continue
        ring = np.asarray(poly.exterior.coords)[:-1]
        prev, nxt = np.roll(ring, 1, axis=0), np.roll(ring, -1, axis=0)
        d_in, d_out = ring - prev, nxt - ring
        cross = d_in[:, 0] * d_out[:, 1] - d_in[:, 1] * d_out[:, 0]
        area2 = float(np.sum(ring[:, 0] * nxt[:, 1] - nxt[:, 0] * ring[:, 1]))
        reflex = np.flatnonzero(cross * np.sign(area2) < 0)
        for k in reflex:
            for d in (d_in[k], d_out[k]):
                found.append((-math.hypot(*d), (float(ring[k, 0]), float(ring[k, 1])), _dir(d)))
    found.sort()
    return [(p, a) for _, p, a in found[:_CUTS]]


def _dir(d: np.ndarray) -> float:
    return float(math.atan2(float(d[1]), float(d[0])) % math.pi)


def _sides(region: BaseGeometry, point: Point2, angle: float) -> tuple[BaseGeometry, ...]:
    """``region`` on either side of the line through ``point`` along ``angle``."""
    minx, miny, maxx, maxy = region.bounds
    far = 2.0 * math.hypot(maxx - minx, maxy - miny) + 1.0
    ux, uy = math.cos(angle) * far, math.sin(angle) * far
    px, py = point
    out: list[BaseGeometry] = []
    for sign in (1.0, -1.0):
        nx, ny = -uy * sign, ux * sign
        half = Polygon(
            [
                (px - ux, py - uy),
                (px + ux, py + uy),
                (px + ux + nx, py + uy + ny),
                (px - ux + nx, py - uy + ny),
            ]
        )
        side = shapely.get_parts(shapely.intersection(region, half))
        polygons = shapely.union_all([g for g in side if isinstance(g, Polygon)])
        out.append(shapely.set_precision(polygons, _GRID_M))
    return tuple(out)
