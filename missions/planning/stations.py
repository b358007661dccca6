"""Sorties that fly to points and hold there: orbits, containment posts, patrol visits.

A :class:`Stop` is a point to reach and what to do there (pass, hold for a time, circle a
number of turns, hold until told otherwise), with the gimbal on a point of interest.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from missions.geo import OperatingArea
from missions.planning.errors import InvalidRequestError
from missions.planning.items import MissionBuilder
from missions.planning.plan import Point2, Sortie, path_length_m
from missions.planning.sorties import fixed_time_s
from missions.planning.vehicles import VehicleProfile

__all__ = ["Hold", "Stop", "circle_speed_m_s", "station_sortie"]

_HOME: Point2 = (0.0, 0.0)


class Hold(enum.Enum):
    """What to do at a stop. Copters circle only in LOITER_TURNS (LOITER_TIME and LOITER_UNLIM
    hold still), so circling holds are turns: enough whole turns to last ``hold_s``."""

    PASS = "pass"  # fly through
    TIME = "time"  # LOITER_TIME: hover for hold_s
    TURNS = "turns"  # LOITER_TURNS: whole turns lasting at least hold_s
    UNLIMITED = "unlimited"  # until told: LOITER_UNLIM hovering, or 255 turns when circling;
    # hold_s is the time budgeted for the battery


@dataclass(frozen=True, slots=True, kw_only=True)
class Stop:
    """A point (local metres) to reach, the hold there, and where the gimbal looks."""

    point_m: Point2
    hold: Hold = Hold.PASS
    hold_s: float = 0.0
    radius_m: float = 0.0
    roi_m: Point2 | None = None
    speed_m_s: float | None = None  # while holding (a steadier picture when slower)

    def __post_init__(self) -> None:
        if self.speed_m_s is not None and not (
            math.isfinite(self.speed_m_s) and self.speed_m_s > 0
        ):
            raise InvalidRequestError(f"speed_m_s must be positive, got {self.speed_m_s}")
        if not math.isfinite(self.hold_s) or self.hold_s < 0:
            raise InvalidRequestError(f"hold_s must be >= 0, got {self.hold_s}")
        if not math.isfinite(self.radius_m) or abs(self.radius_m) > 5000:
            raise InvalidRequestError(f"radius_m must be within ±5000 m, got {self.radius_m}")


def _ring(center: Point2, radius: float, start: Point2) -> list[Point2]:
    """Points on the circle flown, from and back to ``start`` (for previews and checks)."""
    a0 = math.atan2(start[1] - center[1], start[0] - center[0])
    n = max(12, math.ceil(2 * math.pi * abs(radius) / 50.0))
    direction = -1.0 if radius > 0 else 1.0  # positive radius: clockwise
    angles = a0 + direction * 2 * math.pi * np.arange(1, n + 1) / n
    r = abs(radius)
    return [(center[0] + r * math.cos(a), center[1] + r * math.sin(a)) for a in angles]


def station_sortie(
    area: OperatingArea,
    profile: VehicleProfile,
    stops: Sequence[Stop],
    *,
    agl_m: float,
    index: int = 0,
) -> Sortie:
    """Take off, fly to each stop in turn around no-fly zones, hold, and come home."""
    if not stops:
        raise InvalidRequestError("a station sortie needs at least one stop")
    router = area.router
    path: list[Point2] = [_HOME]
    waypoints: list[tuple[Point2, Stop | None]] = []
    hold_total = 0.0
    travel_m = 0.0
    for stop in stops:
        hold_total += _hold_s(profile, stop)
        center = stop.point_m
        entry = center
        if stop.hold is not Hold.PASS and stop.radius_m != 0.0:
            here = path[-1]
            d = math.dist(here, center)
            r = abs(stop.radius_m)
            if d > 1e-6:
                entry = (
                    center[0] + (here[0] - center[0]) * r / d,
                    center[1] + (here[1] - center[1]) * r / d,
                )
            else:
                entry = (center[0] + r, center[1])
        leg = router.route(path[-1], entry)
        travel_m += path_length_m(leg)
        for p in leg[1:-1]:
            waypoints.append((p, None))
        path.extend(leg[1:])
        waypoints.append((entry, stop))
        if stop.hold is not Hold.PASS and stop.radius_m != 0.0:
            ring = _ring(center, stop.radius_m, entry)
            path.extend(ring)
    back = router.route(path[-1], _HOME)
    travel_m += path_length_m(back)
    for p in back[1:-1]:
        waypoints.append((p, None))
    path.extend(back[1:])
    arr = np.asarray(path)
    ground = area.ground_above_home_m(arr[:, 0], arr[:, 1])
    pts = np.asarray([w[0] for w in waypoints])
    wp_ground = area.ground_above_home_m(pts[:, 0], pts[:, 1])
    lat, lon = area.frame.to_geo(pts[:, 0], pts[:, 1])
    b = MissionBuilder()
    b.takeoff(agl_m + float(ground[0]))
    b.speed(profile.cruise_speed_m_s)
    for k, (_, at) in enumerate(waypoints):
        la, lo, alt = float(lat[k]), float(lon[k]), agl_m + float(wp_ground[k])
        if at is None or at.hold is Hold.PASS:
            if at is not None and at.roi_m is not None:
                _roi(b, area, at.roi_m)
            b.waypoint(la, lo, alt)
            continue
        stop = at
        c_lat, c_lon = area.frame.to_geo(*stop.point_m)
        if stop.roi_m is not None:
            _roi(b, area, stop.roi_m)
        b.waypoint(la, lo, alt)
        if stop.speed_m_s is not None:
            b.speed(stop.speed_m_s)
        if stop.hold is Hold.TIME:
            b.loiter_time(
                float(c_lat), float(c_lon), alt, time_s=stop.hold_s, radius_m=stop.radius_m
            )
        elif stop.hold is Hold.TURNS:
            b.loiter_turns(
                float(c_lat), float(c_lon), alt, turns=_turns(profile, stop), radius_m=stop.radius_m
            )
        elif stop.radius_m != 0.0:
            b.loiter_turns(float(c_lat), float(c_lon), alt, turns=255.0, radius_m=stop.radius_m)
        else:
            b.loiter_unlimited(float(c_lat), float(c_lon), alt)
        if stop.hold is not Hold.UNLIMITED:
            if stop.roi_m is not None:
                b.roi_none()
            if stop.speed_m_s is not None:
                b.speed(profile.cruise_speed_m_s)
    b.rtl()
    duration = fixed_time_s(profile, agl_m) + travel_m / profile.cruise_speed_m_s + hold_total
    used = profile.battery_pct(duration)
    return Sortie(
        index=index,
        items=b.build(),
        path_m=tuple((float(x), float(y)) for x, y in path),
        alt_rel_m=agl_m + float(ground[0]),
        distance_m=path_length_m(path),
        duration_s=duration,
        battery_used_pct=used,
        reserve_left_pct=100.0 - used,
        farthest_m=float(np.max(np.hypot(arr[:, 0], arr[:, 1]))),
        work_from=1,
        work_to=len(path) - 2,
    )


def circle_speed_m_s(
    profile: VehicleProfile, radius_m: float, speed_m_s: float | None = None
) -> float:
    """Speed round a circle: as asked (cruise by default), or slower where the turn would
    pull more than the vehicle's acceleration."""
    return min(speed_m_s or profile.cruise_speed_m_s, math.sqrt(profile.accel_m_s2 * abs(radius_m)))


def _turns(profile: VehicleProfile, stop: Stop) -> float:
    lap_s = (
        2 * math.pi * abs(stop.radius_m) / circle_speed_m_s(profile, stop.radius_m, stop.speed_m_s)
    )
    return float(max(1, math.ceil(stop.hold_s / lap_s - 1e-9)))


def _hold_s(profile: VehicleProfile, stop: Stop) -> float:
    """Time a stop's hold takes (its budget, for holds until told)."""
    if stop.hold is Hold.TURNS and stop.radius_m != 0.0:
        lap_s = (
            2
            * math.pi
            * abs(stop.radius_m)
            / circle_speed_m_s(profile, stop.radius_m, stop.speed_m_s)
        )
        return _turns(profile, stop) * lap_s
    return stop.hold_s if stop.hold is not Hold.PASS else 0.0


def _roi(b: MissionBuilder, area: OperatingArea, roi_m: Point2) -> None:
    lat, lon = area.frame.to_geo(*roi_m)
    b.roi(float(lat), float(lon), 0.0)
