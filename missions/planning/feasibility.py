"""The feasibility check run on every plan, and on plans read from files.

Each broken rule becomes a :class:`Violation` naming the rule, the sortie and leg or point,
and the nearest feasible alternative when there is one.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from missions.geo import NoRouteError, OperatingArea, ZoneKind
from missions.geo.frame import FloatArray
from missions.planning.errors import PlanRefusedError
from missions.planning.items import MissionItem
from missions.planning.vehicles import Camera, VehicleProfile

__all__ = ["FeasibilityReport", "Rule", "Violation", "check_items", "check_path", "check_sorties"]

_SAMPLE_M = 25.0


class Rule(enum.Enum):
    RADIUS = "radius"
    NO_FLY = "no_fly"
    CEILING = "ceiling"
    TERRAIN = "terrain"
    BATTERY = "battery"
    RESOLUTION = "resolution"
    RELAY = "relay"


@dataclass(frozen=True, slots=True, kw_only=True)
class Violation:
    """One broken rule: where (``sortie``, ``leg`` = index of the leg's first point, or a point)
    and the nearest feasible alternative in words (``None`` when there is none)."""

    rule: Rule
    message: str
    leg: int | None = None
    sortie: int | None = None
    lat_deg: float | None = None
    lon_deg: float | None = None
    alternative: str | None = None


@dataclass(frozen=True, slots=True)
class FeasibilityReport:
    violations: tuple[Violation, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.violations

    def rules(self) -> set[Rule]:
        return {v.rule for v in self.violations}

    def raise_if_refused(self, what: str) -> None:
        if self.violations:
            raise PlanRefusedError(what, self.violations)


def check_path(
    area: OperatingArea,
    profile: VehicleProfile,
    path_m: FloatArray,
    alt_rel_m: FloatArray,
    *,
    duration_s: float,
    sortie: int = 0,
    work_legs: tuple[int, int] | None = None,
    required_gsd_m: float | None = None,
    camera: Camera | None = None,
) -> list[Violation]:
    """Every rule on one sortie's polyline (local metres) flown at ``alt_rel_m`` per point."""
    path = np.asarray(path_m, dtype=np.float64).reshape(-1, 2)
    alt = np.asarray(alt_rel_m, dtype=np.float64).reshape(-1)
    found: list[Violation] = []
    if len(path) == 0:
        return found
    found += _radius(area, path, sortie)
    found += _no_fly(area, path, sortie)
    found += _altitude(area, profile, path, alt, sortie)
    if duration_s > profile.usable_s + 1e-6:
        need = math.ceil(duration_s / profile.usable_s)
        found.append(
            Violation(
                rule=Rule.BATTERY,
                sortie=sortie,
                message=(
                    f"battery: sortie {sortie} needs {duration_s / 60:.1f} min, {profile.name} "
                    f"has {profile.usable_s / 60:.1f} min before its {profile.reserve_pct:g} % "
                    "reserve"
                ),
                alternative=f"split into at least {need} sorties",
            )
        )
    if required_gsd_m is not None and camera is not None:
        found += _resolution(area, path, alt, sortie, work_legs, required_gsd_m, camera)
    return found


def _point(area: OperatingArea, p: FloatArray) -> tuple[float, float]:
    lat, lon = area.frame.to_geo(p[0], p[1])
    return float(lat), float(lon)


def _radius(area: OperatingArea, path: FloatArray, sortie: int) -> list[Violation]:
    dist = np.hypot(path[:, 0], path[:, 1])
    outside = np.nonzero(dist > area.radius_m + 0.5)[0]
    if not len(outside):
        return []
    i = int(outside[0])
    lat, lon = _point(area, path[i])
    inside = path[i] * (area.radius_m - 10.0) / dist[i]
    alt_lat, alt_lon = _point(area, inside)
    return [
        Violation(
            rule=Rule.RADIUS,
            sortie=sortie,
            leg=i,
            lat_deg=lat,
            lon_deg=lon,
            message=(
                f"radius: point {i} of sortie {sortie} ({lat:.5f}, {lon:.5f}) is "
                f"{dist[i] / 1000:.2f} km from {area.base.name}, beyond "
                f"{area.radius_m / 1000:g} km ({len(outside)} points outside)"
            ),
            alternative=f"nearest point inside: ({alt_lat:.5f}, {alt_lon:.5f})",
        )
    ]


def _no_fly(area: OperatingArea, path: FloatArray, sortie: int) -> list[Violation]:
    if area.no_fly.is_empty or len(path) < 2:
        return []
    legs = shapely.linestrings(np.stack([path[:-1], path[1:]], axis=1))
    hit = np.nonzero(shapely.intersects(legs, area.no_fly))[0]
    if not len(hit):
        return []
    i = int(hit[0])
    zone = next(
        (
            z.name
            for z in area.zones
            if z.kind is ZoneKind.NO_FLY
            and area.frame.geometry_to_local(z.polygon).intersects(legs[i])
        ),
        "no-fly zone",
    )
    lat, lon = _point(area, path[i])
    a = (float(path[i, 0]), float(path[i, 1]))
    b = (float(path[i + 1, 0]), float(path[i + 1, 1]))
    try:
        detour = area.router.route(a, b)
        extra = sum(math.dist(p, q) for p, q in itertools.pairwise(detour))
        alternative: str | None = (
            f"detour via {len(detour) - 2} waypoints, {extra - math.dist(a, b):.0f} m longer"
        )
    except NoRouteError:
        alternative = None
    return [
        Violation(
            rule=Rule.NO_FLY,
            sortie=sortie,
            leg=i,
            lat_deg=lat,
            lon_deg=lon,
            message=(
                f"no-fly: leg {i}→{i + 1} of sortie {sortie} from ({lat:.5f}, {lon:.5f}) "
                f"crosses {zone!r} ({len(hit)} legs cross no-fly zones)"
            ),
            alternative=alternative,
        )
    ]


def _samples(path: FloatArray, alt: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Points every ~25 m along the path with interpolated altitude and their leg index."""
    pts, alts, legs = [path[:1]], [alt[:1]], [np.zeros(1)]
    for i in range(len(path) - 1):
        n = max(1, math.ceil(math.dist(path[i], path[i + 1]) / _SAMPLE_M))
        t = np.arange(1, n + 1) / n
        pts.append(path[i] + t[:, None] * (path[i + 1] - path[i]))
        alts.append(alt[i] + t * (alt[i + 1] - alt[i]))
        legs.append(np.full(n, i))
    return np.concatenate(pts), np.concatenate(alts), np.concatenate(legs)


def _altitude(
    area: OperatingArea, profile: VehicleProfile, path: FloatArray, alt: FloatArray, sortie: int
) -> list[Violation]:
    if len(alt) != len(path):
        raise ValueError("one altitude per path point is needed")
    pts, alts, legs = _samples(path, alt)
    agl = alts - area.ground_above_home_m(pts[:, 0], pts[:, 1])
    limit = np.full(len(pts), area.max_agl_m)
    for zone, poly in area.ceiling_zones():
        inside = shapely.contains_xy(poly, pts[:, 0], pts[:, 1])
        limit = np.where(inside, np.minimum(limit, zone.ceiling_agl_m or 0.0), limit)
    found: list[Violation] = []
    over = np.nonzero(agl > limit + 0.5)[0]
    if len(over):
        k = int(over[0])
        lat, lon = _point(area, pts[k])
        fix = alts[k] - (agl[k] - limit[k])
        found.append(
            Violation(
                rule=Rule.CEILING,
                sortie=sortie,
                leg=int(legs[k]),
                lat_deg=lat,
                lon_deg=lon,
                message=(
                    f"ceiling: leg {int(legs[k])} of sortie {sortie} is {agl[k]:.0f} m above "
                    f"ground at ({lat:.5f}, {lon:.5f}), the ceiling there is {limit[k]:g} m"
                ),
                alternative=f"fly at {fix:.0f} m above home there ({limit[k]:g} m above ground)",
            )
        )
    airborne = slice(1, len(pts) - 1)
    low = np.nonzero(agl[airborne] < profile.min_agl_m - 0.5)[0]
    if len(low):
        k = int(low[0]) + 1
        lat, lon = _point(area, pts[k])
        fix = alts[k] + (profile.min_agl_m - agl[k])
        found.append(
            Violation(
                rule=Rule.TERRAIN,
                sortie=sortie,
                leg=int(legs[k]),
                lat_deg=lat,
                lon_deg=lon,
                message=(
                    f"terrain: leg {int(legs[k])} of sortie {sortie} is {agl[k]:.0f} m above "
                    f"ground at ({lat:.5f}, {lon:.5f}), under the {profile.min_agl_m:g} m minimum"
                ),
                alternative=(
                    f"fly at {fix:.0f} m above home there"
                    if fix - alts[k] + agl[k] <= limit[k]
                    else None
                ),
            )
        )
    return found


def _resolution(
    area: OperatingArea,
    path: FloatArray,
    alt: FloatArray,
    sortie: int,
    work_legs: tuple[int, int] | None,
    required_gsd_m: float,
    camera: Camera,
) -> list[Violation]:
    lo, hi = work_legs if work_legs is not None else (0, len(path) - 1)
    if hi <= lo:
        return []
    pts, alts, legs = _samples(path[lo : hi + 1], alt[lo : hi + 1])
    agl = alts - area.ground_above_home_m(pts[:, 0], pts[:, 1])
    need = camera.agl_for_gsd_m(required_gsd_m)
    high = np.nonzero(agl > need + 0.5)[0]
    if not len(high):
        return []
    k = int(high[0])
    lat, lon = _point(area, pts[k])
    return [
        Violation(
            rule=Rule.RESOLUTION,
            sortie=sortie,
            leg=lo + int(legs[k]),
            lat_deg=lat,
            lon_deg=lon,
            message=(
                f"resolution: at {agl[k]:.0f} m above ground the camera gives "
                f"{camera.gsd_m(float(agl[k])) * 100:.1f} cm/px, "
                f"{required_gsd_m * 100:.1f} cm/px is required"
            ),
            alternative=f"fly at or below {need:.0f} m above ground",
        )
    ]


def check_sorties(
    area: OperatingArea,
    profile: VehicleProfile,
    sorties: Sequence[tuple[FloatArray, FloatArray, float, tuple[int, int] | None]],
    *,
    required_gsd_m: float | None = None,
) -> FeasibilityReport:
    """:func:`check_path` on each (path, altitudes, duration, work legs) sortie."""
    found: list[Violation] = []
    for index, (path, alt, duration, work) in enumerate(sorties):
        found += check_path(
            area,
            profile,
            path,
            alt,
            duration_s=duration,
            sortie=index,
            work_legs=work,
            required_gsd_m=required_gsd_m,
            camera=profile.camera,
        )
    return FeasibilityReport(tuple(found))


def check_items(
    area: OperatingArea,
    profile: VehicleProfile,
    items: Sequence[MissionItem],
    *,
    required_gsd_m: float | None = None,
) -> FeasibilityReport:
    """Check a mission read from a file (e.g. made in QGC) as one sortie from the base.

    The path runs through the positioned navigation items in order; timed loiters and turns
    add their time (an unlimited loiter ends at the battery failsafe, so adds none), and RTL
    returns to the base.
    """
    path: list[tuple[float, float]] = [(0.0, 0.0)]
    alts: list[float] = [0.0]
    hold_s = 0.0
    for item in items:
        if item.command == mavlink.MAV_CMD_NAV_TAKEOFF:
            alts[0] = max(alts[0], item.z)
            continue
        if item.command == mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            path.append((0.0, 0.0))
            alts.append(alts[-1])
            continue
        if not (item.is_nav and item.has_position) or (item.x == 0 and item.y == 0):
            continue
        x, y = area.frame.to_local(item.lat_deg, item.lon_deg)
        z = item.z
        if item.frame in (mavlink.MAV_FRAME_GLOBAL_INT, mavlink.MAV_FRAME_GLOBAL):
            z -= area.home_elevation_m
        path.append((float(x), float(y)))
        alts.append(z)
        if item.command == mavlink.MAV_CMD_NAV_LOITER_TIME:
            hold_s += item.param1
        elif item.command == mavlink.MAV_CMD_NAV_LOITER_TURNS:
            hold_s += item.param1 * 2 * math.pi * abs(item.param3) / profile.cruise_speed_m_s
        elif item.command == mavlink.MAV_CMD_NAV_WAYPOINT:
            hold_s += max(item.param1, 0.0)
    arr = np.asarray(path)
    alt = np.asarray(alts)
    alt[0] = alt[1] if len(alt) > 1 else alt[0]
    length = float(np.sum(np.hypot(*np.diff(arr, axis=0).T))) if len(arr) > 1 else 0.0
    climb = float(alt.max()) if len(alt) else 0.0
    duration = (
        profile.launch_overhead_s
        + climb / profile.climb_rate_m_s
        + climb / profile.descent_rate_m_s
        + length / profile.cruise_speed_m_s
        + hold_s
    )
    found = check_path(
        area,
        profile,
        arr,
        alt,
        duration_s=duration,
        required_gsd_m=required_gsd_m,
        camera=profile.camera,
    )
    return FeasibilityReport(tuple(found))
