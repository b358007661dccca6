"""Targets with identities and ground truth: traffic, pedestrians, boats and scripted actors.

Ambient targets are grown per layout cell from the seed and never leave the cell's
neighbourhood, so a query near a point only has to look at a few cells. Every motion is a
pure function of scenario time: vehicles drive a random walk over streets and roads (keeping
right, stopping at crossings, turning), then drive it back, forever; people walk the
pavements or mill about squares; boats circle on open water.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np

from sim.world.config import (
    CrowdActor,
    FleeingVehicleActor,
    LoneActor,
    TargetClass,
    TargetsConfig,
)
from sim.world.layout import CELL_M, NodeId
from sim.world.world import World

__all__ = ["CLASSES", "TargetField", "TargetState"]

CLASSES: tuple[TargetClass, ...] = ("car", "van", "truck", "bus", "motorcycle", "person", "boat")

# length, width, height (m) ranges per class
_SIZES: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "car": ((4.0, 4.9), (1.70, 1.90), (1.40, 1.60)),
    "van": ((4.9, 6.0), (1.95, 2.10), (2.00, 2.60)),
    "truck": ((8.0, 16.5), (2.45, 2.55), (3.20, 4.00)),
    "bus": ((11.5, 13.5), (2.50, 2.55), (3.00, 3.30)),
    "motorcycle": ((1.9, 2.3), (0.70, 0.90), (1.10, 1.40)),
    "person": ((0.35, 0.50), (0.45, 0.60), (1.55, 1.90)),
    "boat": ((4.5, 12.0), (1.8, 3.8), (1.0, 2.0)),
}
_PAINT = [
    (0.92, 0.92, 0.92),
    (0.10, 0.10, 0.10),
    (0.55, 0.55, 0.57),
    (0.15, 0.15, 0.70),
    (0.60, 0.25, 0.12),
    (0.80, 0.80, 0.78),
    (0.20, 0.45, 0.20),
    (0.10, 0.65, 0.85),
    (0.35, 0.30, 0.28),
]
_ROUTE_EDGES = 24
_TRAFFIC: tuple[TargetClass, ...] = ("car", "van", "truck", "bus", "motorcycle")
_TRAFFIC_CDF = np.cumsum([0.64, 0.14, 0.09, 0.03, 0.10])[:-1]


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetState:
    """One target at one instant: world-plane position, heading and body."""

    target_id: str
    target_class: TargetClass
    x_m: float
    y_m: float
    heading_deg: float
    speed_m_s: float
    length_m: float
    width_m: float
    height_m: float
    colour_bgr: tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class _Body:
    target_id: str
    target_class: TargetClass
    length_m: float
    width_m: float
    height_m: float
    colour_bgr: tuple[float, float, float]


class _Path:
    """A closed piecewise-linear track with stops, as cumulative times."""

    def __init__(
        self,
        points: list[tuple[float, float]],
        speeds: list[float],
        stops: list[float],
        phase_s: float = 0.0,
    ):
        self.points = points
        self.phase_s = phase_s
        self.times = [0.0]
        self.stops = stops
        self.speeds = speeds
        for k in range(len(points) - 1):
            d = math.dist(points[k], points[k + 1])
            self.times.append(self.times[-1] + stops[k] + d / speeds[k])

    def at(self, t: float) -> tuple[float, float, float, float]:
        """(x, y, heading_deg, speed) at time t (periodic)."""
        total = self.times[-1]
        t += self.phase_s
        t = t % total if total > 0 else 0.0
        k = max(0, min(len(self.points) - 2, bisect.bisect_right(self.times, t) - 1))
        (x0, y0), (x1, y1) = self.points[k], self.points[k + 1]
        heading = math.degrees(math.atan2(x1 - x0, y1 - y0)) % 360.0
        moving = t - self.times[k] - self.stops[k]
        if moving <= 0:
            return x0, y0, heading, 0.0
        d = math.dist((x0, y0), (x1, y1))
        f = min(1.0, moving * self.speeds[k] / d) if d > 0 else 1.0
        return x0 + (x1 - x0) * f, y0 + (y1 - y0) * f, heading, self.speeds[k]


def _offset(
    a: tuple[float, float], b: tuple[float, float], side_m: float
) -> tuple[tuple[float, float], tuple[float, float]]:
    dx, dy = b[0] - a[0], b[1] - a[1]
    d = math.hypot(dx, dy) or 1.0
    rx, ry = dy / d * side_m, -dx / d * side_m
    return (a[0] + rx, a[1] + ry), (b[0] + rx, b[1] + ry)


class TargetField:
    """All targets of a world; ask it what is near a point at a time.

    Targets are grown per 4 km cell when first asked for; ``cells_kept`` bounds how many
    cells stay in memory (a camera flying a patrol needs a few dozen; a data-set writer
    jumping around a wide area needs more).
    """

    def __init__(self, world: World, config: TargetsConfig, *, cells_kept: int = 48) -> None:
        self.world = world
        self.config = config
        self._cell = functools.lru_cache(maxsize=cells_kept)(self._grow_cell)
        self._actors = self._script_actors()

    def _rng(self, *key: int) -> np.random.Generator:
        return np.random.default_rng([self.world.seed & 0xFFFFFFFF, *(k & 0xFFFFFFFF for k in key)])

    def _body(self, rng: np.random.Generator, target_id: str, cls: TargetClass) -> _Body:
        (l0, l1), (w0, w1), (h0, h1) = _SIZES[cls]
        if cls == "person":
            colour = tuple(float(c) for c in rng.uniform(0.1, 0.9, 3))
        elif cls == "boat":
            colour = (0.95, 0.95, 0.95) if rng.random() < 0.6 else _PAINT[int(rng.integers(3, 8))]
        else:
            colour = _PAINT[int(rng.integers(0, len(_PAINT)))]
        return _Body(
            target_id,
            cls,
            float(rng.uniform(l0, l1)),
            float(rng.uniform(w0, w1)),
            float(rng.uniform(h0, h1)),
            (float(colour[0]), float(colour[1]), float(colour[2])),
        )

    # --- ambient ----------------------------------------------------------------------------

    def _walk(
        self, rng: np.random.Generator, start: NodeId, home: tuple[int, int], streets_only: bool
    ) -> list[NodeId]:
        layout = self.world.layout
        route = [start]
        prev: NodeId | None = None
        for _ in range(_ROUTE_EDGES):
            options = [
                n
                for n in layout.neighbours(route[-1])
                if n != prev
                and abs(n[0] - home[0]) <= 1
                and abs(n[1] - home[1]) <= 1
                and (not streets_only or n[:2] == home)
            ]
            if not options:
                options = [prev] if prev is not None else []
            if not options:
                break
            prev = route[-1]
            route.append(options[int(rng.integers(0, len(options)))])
        return route

    def _grow_cell(self, i: int, j: int) -> tuple[tuple[_Body, _Path], ...]:
        layout = self.world.layout
        town = layout.town(i, j)
        density = self.config.density
        rng = self._rng(i, j, 4242)
        out: list[tuple[_Body, _Path]] = []
        nodes = layout.street_nodes(town) if town.is_settlement else [(i, j, 0, 0)]
        road_km = 2 * CELL_M / 1000 + (
            2 * len(nodes) * town.street_spacing_m / 1000 if town.is_settlement else 0.0
        )
        for k in range(int(rng.poisson(density.vehicles_per_road_km * road_km))):
            cls = _TRAFFIC[int(np.searchsorted(_TRAFFIC_CDF, rng.random()))]
            body = self._body(rng, f"veh-{i}.{j}.{k}", cls)
            route = self._walk(rng, nodes[int(rng.integers(0, len(nodes)))], (i, j), False)
            if len(route) < 2:
                continue
            route = route + route[-2::-1]
            pts, speeds, stops = [], [], []
            lane = 1.8 if cls != "motorcycle" else 1.2
            for a, b in itertools.pairwise(route):
                pa, pb = layout.node(a), layout.node(b)
                p, q = _offset((pa.x_m, pa.y_m), (pb.x_m, pb.y_m), lane)
                country = a[2:] == (0, 0) and b[2:] == (0, 0) and a[:2] != b[:2]
                pts.extend([p, q])
                speeds.extend([float(rng.uniform(17, 25) if country else rng.uniform(7, 13)), 2.0])
                stops.extend([float(rng.uniform(2, 12)) if rng.random() < 0.3 else 0.0, 0.0])
            pts.append(pts[0])
            out.append((body, _Path(pts, speeds, [*stops, 0.0])))
        if town.is_settlement:
            area_ha = math.pi * town.radius_m**2 / 10_000
            people = int(rng.poisson(density.people_per_town_hectare * area_ha))
            for k in range(people):
                body = self._body(rng, f"ped-{i}.{j}.{k}", "person")
                if rng.random() < 0.3 and town.square_radius_m > 0:
                    out.append(
                        (
                            body,
                            self._loiter(
                                rng, (town.x_m, town.y_m), town.square_radius_m * 0.9, 1.0
                            ),
                        )
                    )
                    continue
                route = self._walk(rng, nodes[int(rng.integers(0, len(nodes)))], (i, j), True)
                if len(route) < 2:
                    continue
                route = route + route[-2::-1]
                side = 5.0 if rng.random() < 0.5 else -5.0
                pts = []
                for a, b in itertools.pairwise(route):
                    pa, pb = layout.node(a), layout.node(b)
                    pts.extend(_offset((pa.x_m, pa.y_m), (pb.x_m, pb.y_m), side))
                pts.append(pts[0])
                speed = float(rng.uniform(1.1, 1.6))
                out.append((body, _Path(pts, [speed] * len(pts), [0.0] * len(pts))))
                if rng.random() < 0.25:  # a group walking together, a step or two apart
                    for g in range(int(rng.integers(1, 5))):
                        dx, dy = rng.normal(0.0, 0.6, 2)
                        shifted = [(x + dx, y + dy) for x, y in pts]
                        mate = self._body(rng, f"ped-{i}.{j}.{k}.{g + 1}", "person")
                        path = _Path(
                            shifted,
                            [speed] * len(pts),
                            [0.0] * len(pts),
                            phase_s=-float(rng.uniform(0.3, 2.0)),
                        )
                        out.append((mate, path))
        out.extend(self._boats(rng, i, j))
        return tuple(out)

    def _loiter(
        self, rng: np.random.Generator, centre: tuple[float, float], radius_m: float, speed: float
    ) -> _Path:
        pts = []
        for _ in range(24):
            r = radius_m * math.sqrt(rng.random())
            a = rng.uniform(0, 2 * math.pi)
            pts.append((centre[0] + r * math.cos(a), centre[1] + r * math.sin(a)))
        pts.append(pts[0])
        stops = [float(rng.uniform(0, 30)) for _ in pts]
        return _Path(pts, [speed] * len(pts), stops)

    def _boats(self, rng: np.random.Generator, i: int, j: int) -> list[tuple[_Body, _Path]]:
        g = (np.arange(16) + 0.5) / 16 * CELL_M
        xs, ys = np.meshgrid(i * CELL_M + g, j * CELL_M + g)
        wet = self.world.is_water(xs.ravel(), ys.ravel())
        water_km2 = wet.mean() * (CELL_M / 1000) ** 2
        count = int(rng.poisson(self.config.density.boats_per_water_km2 * water_km2))
        spots = np.flatnonzero(wet)
        out = []
        for k in range(count if len(spots) else 0):
            s = spots[int(rng.integers(0, len(spots)))]
            cx, cy = float(xs.ravel()[s]), float(ys.ravel()[s])
            for radius in (80.0, 40.0, 15.0):
                angles = np.linspace(0, 2 * math.pi, 25)
                px, py = cx + radius * np.cos(angles), cy + radius * np.sin(angles)
                if self.world.is_water(px, py).all():
                    body = self._body(rng, f"boat-{i}.{j}.{k}", "boat")
                    if rng.random() < 0.5:
                        px = px[::-1]
                        py = py[::-1]
                    pts = list(zip(px.tolist(), py.tolist(), strict=True))
                    speed = float(rng.uniform(2, 8))
                    out.append((body, _Path(pts, [speed] * len(pts), [0.0] * len(pts))))
                    break
        return out

    # --- scripted ---------------------------------------------------------------------------

    def _script_actors(self) -> list[tuple[_Body, _Path, float]]:
        frame = self.world.frame
        out: list[tuple[_Body, _Path, float]] = []
        for n, actor in enumerate(self.config.actors):
            rng = self._rng(9191, n)
            if isinstance(actor, FleeingVehicleActor):
                pts = [frame.to_xy(lat, lon) for lat, lon in actor.route]
                body = self._body(rng, actor.id, actor.target_class)
                far = pts[-1]
                path = _Path(
                    [*pts, far], [actor.speed_m_s] * len(pts) + [1e-3], [0.0] * len(pts) + [0.0]
                )
                path.times[-1] = math.inf  # parks at the end of its route
                out.append((body, path, actor.start_s))
            elif isinstance(actor, CrowdActor):
                centre = frame.to_xy(*actor.center)
                for k in range(actor.count):
                    body = self._body(rng, f"{actor.id}-{k}", "person")
                    out.append((body, self._loiter(rng, centre, actor.radius_m, 0.8), 0.0))
            elif isinstance(actor, LoneActor):
                centre = frame.to_xy(*actor.position)
                body = self._body(rng, actor.id, "person")
                if actor.wander_radius_m > 0:
                    path = self._loiter(rng, centre, actor.wander_radius_m, 0.6)
                else:
                    path = _Path([centre, centre], [1.0, 1.0], [0.0, 0.0])
                out.append((body, path, 0.0))
        return out

    # --- queries ----------------------------------------------------------------------------

    @property
    def actor_ids(self) -> set[str]:
        """Ids of the scripted actors (a crowd's people are ``{crowd}-{n}``)."""
        return {a.id for a in self.config.actors}

    def actor_position(self, actor_id: str, t_s: float) -> tuple[float, float]:
        """(lat, lon) of a scripted actor at ``t_s``; a crowd's is its centre."""
        for actor in self.config.actors:
            if actor.id == actor_id and isinstance(actor, CrowdActor):
                return actor.center
        for body, path, start in self._actors:
            if body.target_id == actor_id:
                state = self._state(body, path, max(0.0, t_s - start))
                return self.world.frame.to_latlon(state.x_m, state.y_m)
        raise KeyError(actor_id)

    def near(self, x_m: float, y_m: float, radius_m: float, t_s: float) -> list[TargetState]:
        """Every target within ``radius_m`` of a world point at scenario time ``t_s``."""
        reach = radius_m + CELL_M  # ambient targets stay within a cell of their home cell
        out: list[TargetState] = []
        for i in range(math.floor((x_m - reach) / CELL_M), math.floor((x_m + reach) / CELL_M) + 1):
            for j in range(
                math.floor((y_m - reach) / CELL_M), math.floor((y_m + reach) / CELL_M) + 1
            ):
                for body, path in self._cell(i, j):
                    out.append(self._state(body, path, t_s))
        for body, path, start in self._actors:
            out.append(self._state(body, path, max(0.0, t_s - start)))
        return [s for s in out if math.hypot(s.x_m - x_m, s.y_m - y_m) <= radius_m]

    @staticmethod
    def _state(body: _Body, path: _Path, t_s: float) -> TargetState:
        if math.isinf(path.times[-1]):
            t_s = min(t_s, path.times[-2])
        x, y, heading, speed = path.at(t_s)
        return TargetState(
            target_id=body.target_id,
            target_class=body.target_class,
            x_m=x,
            y_m=y,
            heading_deg=heading,
            speed_m_s=speed,
            length_m=body.length_m,
            width_m=body.width_m,
            height_m=body.height_m,
            colour_bgr=body.colour_bgr,
        )
