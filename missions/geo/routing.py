"""Shortest legs around no-fly zones: a visibility graph over the zones' inflated outlines.

A leg is *clear* when it stays out of the no-fly zones grown by half the margin; detours run
along the zones grown by the full margin, so they are clear by construction. All-pairs shortest
paths between outline vertices are computed once; a query then only checks which vertices its
two end points see.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from scipy.sparse.csgraph import shortest_path
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from missions.geo.errors import NoRouteError
from missions.geo.frame import FloatArray

__all__ = ["Router"]

Point2 = tuple[float, float]


class Router:
    """Routes between points in one local frame around ``no_fly``.

    ``bounds`` (the operating disk) limits where detours may go.
    """

    def __init__(
        self, no_fly: BaseGeometry, *, margin_m: float, bounds: BaseGeometry | None = None
    ) -> None:
        self._empty = no_fly.is_empty
        self.guard: BaseGeometry = no_fly.buffer(margin_m * 0.5, quad_segs=4)
        shapely.prepare(self.guard)
        self._margin_m = margin_m
        self._no_fly = no_fly
        self._bounds = bounds
        self._graph: tuple[FloatArray, FloatArray, Any] | None = None
        self._from: dict[Point2, FloatArray] = {}

    def clear(self, a: Point2, b: Point2) -> bool:
        """Whether the straight leg a→b stays out of the guarded no-fly zones."""
        return bool(self.clear_many(np.array([a]), np.array([b]))[0])

    def clear_many(self, starts: FloatArray, ends: FloatArray) -> Any:
        """Vectorised :meth:`clear` for (n, 2) arrays of start and end points."""
        if self._empty or len(starts) == 0:
            return np.ones(len(starts), dtype=bool)
        coords = np.stack([starts, ends], axis=1)
        lines = shapely.linestrings(coords)
        return ~shapely.intersects(lines, self.guard)

    def allowed(self, points: FloatArray) -> Any:
        """Whether each of (n, 2) points lies within the bounds detours may use."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if self._bounds is None:
            return np.ones(len(pts), dtype=bool)
        return shapely.contains_xy(self._bounds, pts[:, 0], pts[:, 1])

    def route(self, a: Point2, b: Point2) -> list[Point2]:
        """The shortest clear polyline a→b (both included), or :class:`NoRouteError`."""
        if self.clear(a, b):
            return [a, b]
        nodes, dist, pred = self._build()
        n = len(nodes)
        if n == 0:
            raise NoRouteError(a, b)
        pa = np.repeat(np.array([a]), n, axis=0)
        pb = np.repeat(np.array([b]), n, axis=0)
        see_a = self.clear_many(pa, nodes)
        see_b = self.clear_many(nodes, pb)
        da = np.where(see_a, np.hypot(*(nodes - pa).T), np.inf)
        db = np.where(see_b, np.hypot(*(nodes - pb).T), np.inf)
        total = da[:, None] + dist + db[None, :]
        i, j = np.unravel_index(int(np.argmin(total)), total.shape)
        if not math.isfinite(float(total[i, j])):
            raise NoRouteError(a, b)
        chain = [int(j)]
        while chain[-1] != i:
            chain.append(int(pred[i, chain[-1]]))
        chain.reverse()
        return [a, *[(float(nodes[k, 0]), float(nodes[k, 1])) for k in chain], b]

    def route_length_m(self, a: Point2, b: Point2) -> float:
        path = np.asarray(self.route(a, b))
        return float(np.sum(np.hypot(*np.diff(path, axis=0).T)))

    def distances_m(self, origin: Point2, points: FloatArray) -> FloatArray:
        """Shortest clear distance from ``origin`` to each of (n, 2) ``points`` (inf: none)."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        o = np.asarray(origin, dtype=np.float64)
        d: FloatArray = np.hypot(points[:, 0] - o[0], points[:, 1] - o[1])
        blocked = ~self.clear_many(points, np.repeat(o[None, :], len(points), axis=0))
        if not np.any(blocked):
            return d
        nodes, dist, _ = self._build()
        n = len(nodes)
        if n == 0:
            d[blocked] = np.inf
            return d
        key = (float(o[0]), float(o[1]))
        via = self._from.get(key)
        if via is None:
            see = self.clear_many(np.repeat(o[None, :], n, axis=0), nodes)
            do = np.where(see, np.hypot(*(nodes - o).T), np.inf)
            via = np.min(do[:, None] + dist, axis=0)
            self._from[key] = via
        d[blocked] = self._via_nodes(points[blocked], nodes, via)
        return d

    def _via_nodes(self, points: FloatArray, nodes: FloatArray, via: FloatArray) -> FloatArray:
        """min over nodes seen from each point of (leg to the node + node's distance).

        Nodes are tried in increasing order of that sum, a few at a time: the first one seen
        gives the minimum, so most points need only a handful of visibility checks.
        """
        legs = np.hypot(
            points[:, None, 0] - nodes[None, :, 0], points[:, None, 1] - nodes[None, :, 1]
        )
        bound = legs + via[None, :]
        order = np.argsort(bound, axis=1)
        result = np.full(len(points), np.inf)
        todo = np.nonzero(np.isfinite(bound.min(axis=1)))[0]
        batch = 8
        for first in range(0, len(nodes), batch):
            if not len(todo):
                break
            cand = order[todo, first : first + batch]
            width = cand.shape[1]
            starts = np.repeat(points[todo], width, axis=0)
            seen = self.clear_many(starts, nodes[cand.ravel()]).reshape(len(todo), width)
            seen &= np.isfinite(bound[todo[:, None], cand])
            hit = seen.any(axis=1)
            pick = cand[np.arange(len(todo)), np.argmax(seen, axis=1)]
            result[todo[hit]] = bound[todo[hit], pick[hit]]
            todo = todo[~hit]
        return result

    def _build(self) -> tuple[FloatArray, FloatArray, Any]:
        if self._graph is not None:
            return self._graph
        outline = self._no_fly.buffer(self._margin_m + 1.0, quad_segs=4).simplify(
            self._margin_m * 0.3, preserve_topology=True
        )
        rings = []
        for poly in shapely.get_parts(outline):
            if isinstance(poly, Polygon):
                rings.append(_convex_corners(np.asarray(poly.exterior.coords)[:-1], ccw=True))
                rings.extend(
                    _convex_corners(np.asarray(r.coords)[:-1], ccw=False) for r in poly.interiors
                )
        nodes = np.concatenate(rings) if rings else np.empty((0, 2))
        if self._bounds is not None and len(nodes):
            nodes = nodes[shapely.contains_xy(self._bounds, nodes[:, 0], nodes[:, 1])]
        n = len(nodes)
        weights = np.zeros((n, n))
        if n:
            ii, jj = np.triu_indices(n, k=1)
            ok = self.clear_many(nodes[ii], nodes[jj])
            lengths = np.hypot(*(nodes[ii] - nodes[jj]).T)
            weights[ii[ok], jj[ok]] = lengths[ok]
            weights[jj[ok], ii[ok]] = lengths[ok]
        dist, pred = shortest_path(weights, directed=False, return_predecessors=True)
        self._graph = (nodes, np.asarray(dist), pred)
        return self._graph


def _convex_corners(ring: FloatArray, *, ccw: bool) -> FloatArray:
    """Vertices where the obstacle bulges out: the only places a shortest path bends.

    ``ccw`` says whether the obstacle lies to the left of the ring (an exterior ring), as
    opposed to a hole in the obstacle, whose ring bounds free space from the other side.
    """
    if len(ring) < 3:
        return ring
    signed = np.sum(ring[:, 0] * np.roll(ring[:, 1], -1) - np.roll(ring[:, 0], -1) * ring[:, 1])
    orient = 1.0 if (signed > 0) == ccw else -1.0
    prev = ring - np.roll(ring, 1, axis=0)
    nxt = np.roll(ring, -1, axis=0) - ring
    cross = prev[:, 0] * nxt[:, 1] - prev[:, 1] * nxt[:, 0]
    return ring[orient * cross > 0]
