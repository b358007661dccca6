"""Settlements and roads: a jittered grid of crossroads, some grown into villages and towns.

One crossroads per ``CELL_M`` square; neighbours are joined by straight country roads. A
settlement is a rotated grid of streets inside a disc around its crossroads, with a paved
square at the centre and buildings on lots between the streets. Everything is a pure
function of the seed and the cell indices, and is cached per cell.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from sim.world.noise import hash01

__all__ = ["CELL_M", "Building", "Layout", "Node", "Town"]

CELL_M = 4_000.0
STREET_WIDTH_M = 8.0
ROAD_WIDTH_M = 7.0

NodeId = tuple[int, int, int, int]  # cell i, cell j, street a, street b ((a, b) = (0, 0): centre)


@dataclass(frozen=True, slots=True)
class Building:
    x_m: float
    y_m: float
    length_m: float
    width_m: float
    angle_rad: float
    height_m: float
    roof: int


@dataclass(frozen=True, slots=True)
class Town:
    i: int
    j: int
    x_m: float
    y_m: float
    radius_m: float  # 0 for a bare crossroads
    street_spacing_m: float
    angle_rad: float
    square_radius_m: float

    @property
    def is_settlement(self) -> bool:
        return self.radius_m > 0.0

    def street_point(self, a: int, b: int) -> tuple[float, float]:
        ca, sa = math.cos(self.angle_rad), math.sin(self.angle_rad)
        u, v = a * self.street_spacing_m, b * self.street_spacing_m
        return self.x_m + u * ca - v * sa, self.y_m + u * sa + v * ca

    def has_street_node(self, a: int, b: int) -> bool:
        if (a, b) == (0, 0):
            return True
        if not self.is_settlement:
            return False
        return math.hypot(a, b) * self.street_spacing_m <= self.radius_m


@dataclass(frozen=True, slots=True)
class Node:
    id: NodeId
    x_m: float
    y_m: float


class Layout:
    """Towns, roads and buildings of a seeded world."""

    def __init__(self, seed: int, town_density: float) -> None:
        self._seed = seed
        self._town_density = town_density
        self.town = functools.lru_cache(maxsize=4096)(self._town)
        self.buildings = functools.lru_cache(maxsize=64)(self._buildings)
        self.node = functools.lru_cache(maxsize=65_536)(self._node)

    def _h(self, i: int, j: int, salt: int) -> float:
        return float(hash01(i, j, self._seed * 7919 + salt))

    def _town(self, i: int, j: int) -> Town:
        x = (i + 0.2 + 0.6 * self._h(i, j, 1)) * CELL_M
        y = (j + 0.2 + 0.6 * self._h(i, j, 2)) * CELL_M
        r = self._h(i, j, 3)
        d = self._town_density
        if r < 0.06 * d:
            radius = 800.0 + 500.0 * self._h(i, j, 4)
        elif r < 0.28 * d:
            radius = 350.0 + 300.0 * self._h(i, j, 4)
        elif r < 0.62 * d:
            radius = 140.0 + 140.0 * self._h(i, j, 4)
        else:
            radius = 0.0
        return Town(
            i=i,
            j=j,
            x_m=x,
            y_m=y,
            radius_m=radius,
            street_spacing_m=70.0 + 40.0 * self._h(i, j, 5),
            angle_rad=math.pi / 2 * self._h(i, j, 6),
            square_radius_m=0.0 if radius == 0.0 else 18.0 + 20.0 * self._h(i, j, 7),
        )

    def has_road(self, i: int, j: int, di: int, dj: int) -> bool:
        """Whether the crossroads of cell (i, j) is joined to that of (i+di, j+dj)."""
        if (di, dj) in ((-1, 0), (0, -1)):
            return self.has_road(i + di, j + dj, -di, -dj)
        return self._h(i, j, 10 + di * 2 + dj) < 0.85

    def country_roads_near(
        self, x0_m: float, y0_m: float, x1_m: float, y1_m: float
    ) -> Iterator[tuple[Town, Town]]:
        """Road segments (as their end crossroads) that may cross the box."""
        for i in range(math.floor(x0_m / CELL_M) - 1, math.floor(x1_m / CELL_M) + 1):
            for j in range(math.floor(y0_m / CELL_M) - 1, math.floor(y1_m / CELL_M) + 1):
                a = self.town(i, j)
                for di, dj in ((1, 0), (0, 1)):
                    if not self.has_road(i, j, di, dj):
                        continue
                    b = self.town(i + di, j + dj)
                    if (
                        max(a.x_m, b.x_m) >= x0_m - 20
                        and min(a.x_m, b.x_m) <= x1_m + 20
                        and max(a.y_m, b.y_m) >= y0_m - 20
                        and min(a.y_m, b.y_m) <= y1_m + 20
                    ):
                        yield a, b

    def towns_near(self, x0_m: float, y0_m: float, x1_m: float, y1_m: float) -> Iterator[Town]:
        """Settlements whose disc may touch the box."""
        for i in range(math.floor(x0_m / CELL_M) - 1, math.floor(x1_m / CELL_M) + 2):
            for j in range(math.floor(y0_m / CELL_M) - 1, math.floor(y1_m / CELL_M) + 2):
                t = self.town(i, j)
                r = t.radius_m + 50.0
                if (
                    t.is_settlement
                    and t.x_m + r >= x0_m
                    and t.x_m - r <= x1_m
                    and t.y_m + r >= y0_m
                    and t.y_m - r <= y1_m
                ):
                    yield t

    def town_core(self, x_m: float, y_m: float) -> float:
        """1 at a settlement's centre falling to 0 at its edge; 0 in the countryside."""
        i, j = math.floor(x_m / CELL_M), math.floor(y_m / CELL_M)
        best = 0.0
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                t = self.town(i + di, j + dj)
                if t.is_settlement:
                    d = math.hypot(x_m - t.x_m, y_m - t.y_m)
                    best = max(best, 1.0 - d / t.radius_m)
        return best

    # --- graph -----------------------------------------------------------------------------

    def _node(self, node_id: NodeId) -> Node:
        i, j, a, b = node_id
        x, y = self.town(i, j).street_point(a, b)
        return Node(node_id, x, y)

    def neighbours(self, node_id: NodeId) -> list[NodeId]:
        i, j, a, b = node_id
        town = self.town(i, j)
        out: list[NodeId] = [
            (i, j, a + da, b + db)
            for da, db in ((1, 0), (-1, 0), (0, 1), (0, -1))
            if town.has_street_node(a + da, b + db)
        ]
        if (a, b) == (0, 0):
            out.extend(
                (i + di, j + dj, 0, 0)
                for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1))
                if self.has_road(i, j, di, dj)
            )
        return out

    def street_nodes(self, town: Town) -> list[NodeId]:
        n = int(town.radius_m // town.street_spacing_m)
        return [
            (town.i, town.j, a, b)
            for a in range(-n, n + 1)
            for b in range(-n, n + 1)
            if town.has_street_node(a, b)
        ]

    # --- buildings -------------------------------------------------------------------------

    def _buildings(self, i: int, j: int) -> tuple[Building, ...]:
        town = self.town(i, j)
        if not town.is_settlement:
            return ()
        rng = np.random.default_rng([self._seed & 0xFFFFFFFF, i & 0xFFFFFFFF, j & 0xFFFFFFFF, 77])
        sp = town.street_spacing_m
        n = int(town.radius_m // sp) + 1
        ca, sa = math.cos(town.angle_rad), math.sin(town.angle_rad)
        lots = 3
        lot = (sp - STREET_WIDTH_M - 6.0) / lots
        out: list[Building] = []
        for a in range(-n, n):
            for b in range(-n, n):
                for la in range(lots):
                    for lb in range(lots):
                        u = a * sp + STREET_WIDTH_M / 2 + 3.0 + (la + 0.5) * lot
                        v = b * sp + STREET_WIDTH_M / 2 + 3.0 + (lb + 0.5) * lot
                        dist = math.hypot(u, v)
                        if dist > town.radius_m or dist < town.square_radius_m + 10.0:
                            continue
                        core = 1.0 - dist / town.radius_m
                        if rng.random() > 0.35 + 0.6 * core:
                            continue
                        big = town.radius_m > 700 and core > 0.5
                        length = lot * (0.55 + 0.35 * rng.random())
                        width = lot * (0.45 + 0.35 * rng.random())
                        height = (3.0 + 4.0 * rng.random()) * (3.5 if big else 1.0)
                        out.append(
                            Building(
                                x_m=town.x_m + u * ca - v * sa,
                                y_m=town.y_m + u * sa + v * ca,
                                length_m=length,
                                width_m=width,
                                angle_rad=town.angle_rad
                                + (math.pi / 2 if rng.random() < 0.5 else 0.0),
                                height_m=height,
                                roof=int(rng.integers(0, 6))
                                if not big
                                else 6 + int(rng.integers(0, 2)),
                            )
                        )
        return tuple(out)
