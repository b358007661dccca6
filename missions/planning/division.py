"""Dividing an area among drones: bases first, then sectors balanced by each drone's work time.

Bases share the area through a power diagram whose weights are tuned until each base's crew
needs about the same time (the nearest base wins when the crews are alike). Around a base the
area is cut into 1° wedges; a wedge's cost for a drone is its area over the drone's coverage
rate, scaled up by the share of each sortie lost to transit at the wedge's distance.
Consecutive wedges are then handed out to the base's drones so that the longest total time is
as small as possible, which balances fast and slow drones, and near and far work.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from missions.geo import OperatingArea
from missions.geo.frame import FloatArray
from missions.planning.coverage import CoverageOptions, geometry_for, plan_coverage_local
from missions.planning.errors import InvalidRequestError
from missions.planning.plan import Plan
from missions.planning.sorties import fixed_time_s
from missions.planning.vehicles import VehicleProfile

__all__ = ["Division", "Drone", "plan_division"]

_WEDGES = 360
_BALANCE_ROUNDS = 12


@dataclass(frozen=True, slots=True, kw_only=True)
class Drone:
    """A drone that may take part: its id, type and the base (operating area) it flies from."""

    vehicle_id: str
    profile: VehicleProfile
    area: OperatingArea


@dataclass(frozen=True, slots=True, kw_only=True)
class Division:
    """One coverage plan per drone; ``makespan_s`` is when the last drone finishes."""

    plans: tuple[Plan, ...]
    makespan_s: float
    balance: float  # longest / shortest plan duration
    area_km2: float
    unreachable_km2: float

    def summary(self) -> dict[str, float | int]:
        return {
            "drones": len(self.plans),
            "area_km2": round(self.area_km2, 3),
            "unreachable_km2": round(self.unreachable_km2, 3),
            "makespan_h": round(self.makespan_s / 3600.0, 2),
            "balance": round(self.balance, 3),
            "sorties": sum(len(p.sorties) for p in self.plans),
        }


def plan_division(
    polygon_lonlat: BaseGeometry | None,
    drones: Sequence[Drone],
    *,
    options: CoverageOptions,
) -> Division:
    """Split ``polygon_lonlat`` (lon/lat; ``None``: the first base's whole operating disk) among
    ``drones`` and plan each part's coverage."""
    if not drones:
        raise InvalidRequestError("no drones to divide the area among")
    ids = [d.vehicle_id for d in drones]
    if len(set(ids)) != len(ids):
        raise InvalidRequestError(f"vehicle ids must be unique, got {ids}")
    bases: dict[str, OperatingArea] = {}
    for d in drones:
        bases.setdefault(d.area.base.name, d.area)
    first = drones[0].area
    if polygon_lonlat is None:
        polygon_lonlat = first.frame.geometry_to_geo(first.disk)
    crews = {name: [d for d in drones if d.area.base.name == name] for name in bases}
    cells = _base_cells(polygon_lonlat, list(bases.values()), crews, options)
    plans: list[Plan] = []
    total_area = 0.0
    unreachable = 0.0
    for name, area in bases.items():
        crew = crews[name]
        cell = area.plannable(area.frame.geometry_to_local(cells[name]))
        reach = max(_reach_m(d.profile, options, area, cell) for d in crew)
        reachable = shapely.intersection(cell, Point(0, 0).buffer(reach, quad_segs=64))
        total_area += cell.area
        unreachable += cell.area - reachable.area
        for drone, part in zip(crew, _sectors(reachable, crew, options), strict=True):
            if part.is_empty or part.area < 1.0:
                continue
            plans.append(
                plan_coverage_local(
                    area, part, profile=drone.profile, options=options, vehicle_id=drone.vehicle_id
                )
            )
    durations = [p.duration_s for p in plans] or [0.0]
    return Division(
        plans=tuple(plans),
        makespan_s=max(durations),
        balance=max(durations) / max(min(durations), 1e-9),
        area_km2=total_area / 1e6,
        unreachable_km2=max(0.0, unreachable / 1e6),
    )


def _base_cells(
    polygon_lonlat: BaseGeometry,
    areas: list[OperatingArea],
    crews: dict[str, list[Drone]],
    options: CoverageOptions,
) -> dict[str, BaseGeometry]:
    """Each base's share of the polygon: a power diagram of the bases whose weights are
    adjusted until the bases' crews need about the same time."""
    if len(areas) == 1:
        return {areas[0].base.name: polygon_lonlat}
    frame = areas[0].frame
    poly = frame.geometry_to_local(polygon_lonlat)
    sites = np.array([frame.point_to_local(a.base.position) for a in areas])
    scale = max(poly.area, 1.0)
    weights = np.zeros(len(areas))
    best: tuple[float, list[BaseGeometry]] | None = None
    for _ in range(_BALANCE_ROUNDS):
        cells = _power_cells(poly, sites, weights)
        times = []
        for area, cell in zip(areas, cells, strict=True):
            local = area.frame.geometry_to_local(frame.geometry_to_geo(cell))
            region = area.plannable(local)
            crew = crews[area.base.name]
            times.append(_makespan(region, crew, options) if region.area > 1.0 else 0.0)
        worst = max(times)
        if best is None or worst < best[0]:
            best = (worst, cells)
        mean = float(np.mean(times))
        if mean <= 0 or worst - min(times) <= 0.02 * mean:
            break
        weights += 0.5 * scale * (mean - np.asarray(times)) / mean
    assert best is not None
    return {a.base.name: frame.geometry_to_geo(c) for a, c in zip(areas, best[1], strict=True)}


def _power_cells(poly: BaseGeometry, sites: FloatArray, weights: FloatArray) -> list[BaseGeometry]:
    """Cells of ``|p - s|² - w`` (straight borders), clipped to ``poly``."""
    minx, miny, maxx, maxy = poly.bounds
    big = 4 * max(maxx - minx, maxy - miny, 1.0)
    cells = []
    for b in range(len(sites)):
        cell: BaseGeometry = poly
        for c in range(len(sites)):
            if c == b:
                continue
            normal = sites[c] - sites[b]
            norm = float(np.hypot(*normal))
            if norm == 0:
                continue
            rhs = (sites[c] @ sites[c] - sites[b] @ sites[b] - weights[c] + weights[b]) / 2
            u = normal / norm
            t = rhs / norm  # border: p·u = t; keep p·u <= t
            v = np.array([-u[1], u[0]])
            centre = np.array([(minx + maxx) / 2, (miny + maxy) / 2])
            base_pt = centre - u * (centre @ u - t)
            half = Polygon(
                [
                    base_pt + v * big,
                    base_pt - v * big,
                    base_pt - v * big - u * big,
                    base_pt + v * big - u * big,
                ]
            )
            cell = shapely.intersection(cell, half)
        cells.append(cell)
    return cells


def _reach_m(
    profile: VehicleProfile, options: CoverageOptions, area: OperatingArea, cell: BaseGeometry
) -> float:
    agl = geometry_for(area, cell, profile, options).agl_m
    return 0.98 * (profile.usable_s - fixed_time_s(profile, agl)) * profile.cruise_speed_m_s / 2


def _wedge_costs(
    region: BaseGeometry, crew: Sequence[Drone], options: CoverageOptions
) -> tuple[FloatArray, FloatArray]:
    """Area (m²) of each 1° wedge and the hours each drone needs for it: (wedges, drones)."""
    radius = max(math.hypot(*c) for c in np.asarray(shapely.envelope(region).exterior.coords))
    step = 2 * math.pi / _WEDGES
    a0 = np.arange(_WEDGES) * step
    r = radius * 1.01 / math.cos(step / 2)
    tri = np.stack(
        [
            np.zeros((_WEDGES, 2)),
            np.column_stack([r * np.cos(a0), r * np.sin(a0)]),
            np.column_stack([r * np.cos(a0 + step), r * np.sin(a0 + step)]),
            np.zeros((_WEDGES, 2)),
        ],
        axis=1,
    )
    pieces = shapely.intersection(shapely.polygons(tri), region)
    areas = shapely.area(pieces)
    cent = shapely.centroid(pieces)
    full = ~shapely.is_empty(cent)
    xy = shapely.get_coordinates(cent[full])
    dist = np.zeros(_WEDGES)
    dist[full] = np.hypot(xy[:, 0], xy[:, 1])
    costs = np.zeros((_WEDGES, len(crew)))
    for k, d in enumerate(crew):
        geo = geometry_for(d.area, region, d.profile, options)
        rate = geo.line_spacing_m * d.profile.survey_speed_m_s
        usable = d.profile.usable_s - fixed_time_s(d.profile, geo.agl_m)
        work = usable - 2 * dist / d.profile.cruise_speed_m_s
        factor = np.where(work > 0, (usable + d.profile.turnaround_s) / np.maximum(work, 1.0), 1e6)
        costs[:, k] = areas / rate * factor
    return areas, costs


def _makespan(region: BaseGeometry, crew: Sequence[Drone], options: CoverageOptions) -> float:
    """The crew's estimated time (s) for the region: the balanced longest drone time."""
    _, costs = _wedge_costs(region, crew, options)
    return _balanced_limit(costs)


def _balanced_limit(costs: FloatArray) -> float:
    lo, hi = float(costs.max(axis=1).max()), float(costs.max(axis=1).sum())
    for _ in range(50):
        mid = (lo + hi) / 2
        if _fits(costs, mid) is not None:
            hi = mid
        else:
            lo = mid
    return hi


def _sectors(
    region: BaseGeometry, crew: Sequence[Drone], options: CoverageOptions
) -> list[BaseGeometry]:
    """One run of consecutive wedges per drone, minimising the longest drone's time."""
    if region.is_empty:
        return [Polygon() for _ in crew]
    areas, costs = _wedge_costs(region, crew, options)
    start = int(np.argmin(areas))  # cut the circle where there is least to lose
    order = (start + np.arange(_WEDGES)) % _WEDGES
    costs = costs[order]
    cuts = _fits(costs, _balanced_limit(costs))
    assert cuts is not None
    step = 360.0 / _WEDGES
    parts: list[BaseGeometry] = []
    radius = max(math.hypot(*c) for c in np.asarray(shapely.envelope(region).exterior.coords))
    for k in range(len(crew)):
        w0, w1 = cuts[k], cuts[k + 1]
        if w1 <= w0:
            parts.append(Polygon())
            continue
        angles = np.radians((start + np.arange(w0, w1 + 1)) * step)
        r = radius * 1.02 / math.cos(math.radians(step) / 2)
        ring = [(0.0, 0.0), *zip(r * np.cos(angles), r * np.sin(angles), strict=True)]
        parts.append(shapely.intersection(region, Polygon(ring)) if w1 - w0 < _WEDGES else region)
    return parts


def _fits(costs: FloatArray, limit: float) -> list[int] | None:
    """Greedy: wedge index where each drone's run starts (plus the end), or None."""
    cuts = [0]
    i = 0
    n = len(costs)
    for k in range(costs.shape[1]):
        total = 0.0
        while i < n and total + costs[i, k] <= limit:
            total += costs[i, k]
            i += 1
        cuts.append(i)
    return cuts if i == n else None
