"""Persistent overwatch with relay, and priority patrol cycles.

Relay: each drone's shift on station lasts what its battery allows after the way there and
back; the next drone is launched so that it is on station ``handover_s`` before the current
one must leave, so the station is never left unwatched. A drone flies again after landing and
``turnaround_s`` (battery swap).

Priority patrol: hotspots are visited in proportion to their weights, with the visits of each
spread as evenly as possible over the cycle (smooth weighted round robin).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from missions.geo import OperatingArea, check_lat_lon
from missions.planning.coverage import verify
from missions.planning.errors import InvalidRequestError, PlanRefusedError
from missions.planning.feasibility import Rule, Violation
from missions.planning.plan import Plan, Point2
from missions.planning.sorties import fixed_time_s
from missions.planning.stations import Hold, Stop, circle_speed_m_s, station_sortie
from missions.planning.vehicles import VehicleProfile

__all__ = [
    "Hotspot",
    "PatrolCycle",
    "RelaySchedule",
    "Shift",
    "plan_priority_patrol",
    "plan_relay",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Shift:
    """One drone's turn on station, in seconds from the start of the operation."""

    vehicle_id: str
    launch_s: float
    on_station_s: float
    off_station_s: float
    landed_s: float
    plan: Plan


@dataclass(frozen=True, slots=True, kw_only=True)
class RelaySchedule:
    """Shifts in launch order; ``gap_s`` is the total time the station is unwatched after the
    first arrival (0 for a feasible relay)."""

    shifts: tuple[Shift, ...]
    first_on_station_s: float
    until_s: float
    gap_s: float

    def handovers_s(self) -> list[float]:
        """Overlap at each hand-over (next on station before the current leaves), seconds."""
        return [
            a.off_station_s - b.on_station_s
            for a, b in zip(self.shifts, self.shifts[1:], strict=False)
        ]


def plan_relay(
    area: OperatingArea,
    lat_deg: float,
    lon_deg: float,
    *,
    drones: Sequence[tuple[str, VehicleProfile]],
    duration_s: float,
    radius_m: float = 80.0,
    agl_m: float = 60.0,
    handover_s: float = 60.0,
) -> RelaySchedule:
    """Keep a drone orbiting the point for ``duration_s`` after the first arrival.

    Refused (rule ``relay``) when the drones cannot take over in time, naming when the gap
    opens and how many more drones of the first type would close it.
    """
    check_lat_lon(lat_deg, lon_deg, "station")
    if not drones:
        raise InvalidRequestError("no drones for the relay")
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise InvalidRequestError(f"duration_s must be positive, got {duration_s}")
    if not (math.isfinite(handover_s) and handover_s >= 0):
        raise InvalidRequestError(f"handover_s must be >= 0, got {handover_s}")
    x, y = area.frame.to_local(lat_deg, lon_deg)
    center = (float(x), float(y))
    legs: dict[str, tuple[float, float, float]] = {}  # lead to station, way back, station time
    for vid, profile in drones:
        probe = station_sortie(
            area,
            profile,
            [Stop(point_m=center, hold=Hold.TIME, hold_s=0.0, radius_m=radius_m, roi_m=center)],
            agl_m=agl_m,
        )
        travel = probe.duration_s - fixed_time_s(profile, agl_m)
        lead = profile.launch_overhead_s + agl_m / profile.climb_rate_m_s + travel / 2
        back = travel / 2 + agl_m / profile.descent_rate_m_s
        station = profile.usable_s - probe.duration_s
        if station <= handover_s:
            raise _relay_refusal(
                f"{vid} ({profile.name}) would have {max(station, 0) / 60:.1f} min on station, "
                f"not more than the {handover_s:g} s hand-over",
                None,
            )
        legs[vid] = (lead, back, station)
    ready = {vid: 0.0 for vid, _ in drones}
    profiles = dict(drones)
    first = min(legs, key=lambda v: legs[v][0])
    shifts: list[Shift] = []
    arrive = legs[first][0]
    start = arrive
    vid = first
    launch = 0.0
    while True:
        lead, back, station = legs[vid]
        leave = _whole_turns(
            profiles[vid], radius_m, arrive, min(arrive + station, start + duration_s), station
        )
        shifts.append(
            _shift(area, profiles[vid], vid, center, radius_m, agl_m, launch, arrive, leave, back)
        )
        ready[vid] = leave + back + profiles[vid].turnaround_s
        if leave >= start + duration_s - 1e-6:
            break
        due = leave - handover_s
        able = [v for v in ready if v != vid and ready[v] + legs[v][0] <= due]
        if not able:
            others = [v for v in ready if v != vid]
            cycle = station + back + profiles[vid].turnaround_s + lead
            need = math.ceil(cycle / max(station - handover_s, 1.0)) + 1
            alternative = f"about {need} drones like {vid} keep the station with zero gap"
            if not others:
                raise _relay_refusal(f"one drone leaves at {leave / 60:.1f} min", alternative)
            late = min(ready[v] + legs[v][0] for v in others) - due
            raise _relay_refusal(
                f"no drone can be on station by {due / 60:.1f} min "
                f"(the soonest is {late / 60:.1f} min late)",
                alternative,
            )
        vid = min(able, key=lambda v: (ready[v], -legs[v][2]))
        arrive = due
        launch = due - legs[vid][0]
    return RelaySchedule(
        shifts=tuple(shifts), first_on_station_s=start, until_s=start + duration_s, gap_s=0.0
    )


def _whole_turns(
    profile: VehicleProfile, radius_m: float, arrive: float, leave: float, station: float
) -> float:
    """When the drone leaves after whole turns (copters orbit in LOITER_TURNS): as late as
    ``leave`` or just after, never past its battery's ``station`` time."""
    lap = 2 * math.pi * radius_m / circle_speed_m_s(profile, radius_m)
    turns = max(1, math.ceil((leave - arrive) / lap - 1e-9))
    if turns * lap > station:
        turns = max(1, math.floor(station / lap))
    return arrive + turns * lap


def _shift(
    area: OperatingArea,
    profile: VehicleProfile,
    vid: str,
    center: Point2,
    radius_m: float,
    agl_m: float,
    launch: float,
    arrive: float,
    leave: float,
    back: float,
) -> Shift:
    stop = Stop(
        point_m=center, hold=Hold.TURNS, hold_s=leave - arrive, radius_m=radius_m, roi_m=center
    )
    sortie = station_sortie(area, profile, [stop], agl_m=agl_m)
    verify(area, profile, [sortie], f"overwatch shift of {vid}")
    plan = Plan(
        kind="overwatch",
        vehicle_id=vid,
        profile_name=profile.name,
        area=area,
        sorties=(sortie,),
        alt_rel_m=sortie.alt_rel_m,
        duration_s=sortie.duration_s,
        notes=(
            f"launch at {launch / 60:.1f} min, on station {arrive / 60:.1f}–{leave / 60:.1f} min",
        ),
    )
    return Shift(
        vehicle_id=vid,
        launch_s=launch,
        on_station_s=arrive,
        off_station_s=leave,
        landed_s=leave + back,
        plan=plan,
    )


def _relay_refusal(message: str, alternative: str | None) -> PlanRefusedError:
    return PlanRefusedError(
        "overwatch relay",
        [Violation(rule=Rule.RELAY, message=f"relay: {message}", alternative=alternative)],
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Hotspot:
    """A place to revisit: ``weight`` (e.g. incidents per month) sets how often."""

    name: str
    lat_deg: float
    lon_deg: float
    weight: float

    def __post_init__(self) -> None:
        check_lat_lon(self.lat_deg, self.lon_deg, f"hotspot {self.name!r}")
        if not (math.isfinite(self.weight) and self.weight > 0):
            raise InvalidRequestError(f"hotspot {self.name!r}: weight must be positive")


@dataclass(frozen=True, slots=True, kw_only=True)
class PatrolCycle:
    """The visit order of one cycle, its length, and each hotspot's revisit intervals."""

    order: tuple[str, ...]
    cycle_s: float
    visits: dict[str, int]
    mean_revisit_s: dict[str, float]
    max_revisit_s: dict[str, float]
    plan: Plan


def visit_order(weights: Sequence[float], visits: int) -> list[int]:
    """Smooth weighted round robin: each index appears about ``visits * w / sum(w)`` times,
    its appearances spread evenly, and never twice in a row when avoidable."""
    total = float(sum(weights))
    current = [0.0] * len(weights)
    order: list[int] = []
    for _ in range(visits):
        for i, w in enumerate(weights):
            current[i] += w
        ranked = sorted(range(len(weights)), key=lambda i: -current[i])
        pick = ranked[0]
        if order and pick == order[-1] and len(ranked) > 1:
            pick = ranked[1]
        current[pick] -= total
        order.append(pick)
    return order


def plan_priority_patrol(
    area: OperatingArea,
    hotspots: Sequence[Hotspot],
    *,
    profile: VehicleProfile,
    visits_per_cycle: int | None = None,
    dwell_s: float = 60.0,
    radius_m: float = 80.0,
    agl_m: float = 80.0,
    vehicle_id: str = "",
) -> PatrolCycle:
    """A patrol cycle visiting each hotspot in proportion to its weight (orbiting ``dwell_s``
    with the gimbal on it), and the revisit intervals that gives. The cycle must fit one
    battery; otherwise it is refused with the number of visits that would fit."""
    if len(hotspots) < 2:
        raise InvalidRequestError("a priority patrol needs at least 2 hotspots")
    names = [h.name for h in hotspots]
    if len(set(names)) != len(names):
        raise InvalidRequestError(f"hotspot names must be unique, got {names}")
    weights = [h.weight for h in hotspots]
    n = visits_per_cycle or max(
        len(hotspots), min(4 * len(hotspots), round(sum(weights) / min(weights)))
    )
    if n < len(hotspots):
        raise InvalidRequestError(f"visits_per_cycle must be at least {len(hotspots)}, got {n}")
    order = visit_order(weights, n)
    xy = [area.frame.to_local(h.lat_deg, h.lon_deg) for h in hotspots]
    pts = [(float(x), float(y)) for x, y in xy]
    stops = [
        Stop(point_m=pts[i], hold=Hold.TURNS, hold_s=dwell_s, radius_m=radius_m, roi_m=pts[i])
        for i in order
    ]
    sortie = station_sortie(area, profile, stops, agl_m=agl_m)
    if sortie.duration_s > profile.usable_s:
        per_visit = sortie.duration_s / n
        fit = int(profile.usable_s // per_visit)
        raise PlanRefusedError(
            "priority patrol",
            [
                Violation(
                    rule=Rule.BATTERY,
                    message=(
                        f"battery: a cycle of {n} visits takes {sortie.duration_s / 60:.1f} min, "
                        f"{profile.name} has {profile.usable_s / 60:.1f} min"
                    ),
                    alternative=f"about {fit} visits per cycle fit one battery"
                    if fit >= len(hotspots)
                    else None,
                )
            ],
        )
    verify(area, profile, [sortie], "priority patrol")
    cycle_s, times = _visit_times(area, profile, pts, order, dwell_s)
    mean: dict[str, float] = {}
    worst: dict[str, float] = {}
    for i, h in enumerate(hotspots):
        t = [times[k] for k, j in enumerate(order) if j == i]
        gaps = np.diff([*t, t[0] + cycle_s])
        mean[h.name] = float(np.mean(gaps))
        worst[h.name] = float(np.max(gaps))
    plan = Plan(
        kind="patrol",
        vehicle_id=vehicle_id,
        profile_name=profile.name,
        area=area,
        sorties=(sortie,),
        alt_rel_m=sortie.alt_rel_m,
        duration_s=sortie.duration_s,
        work_path_m=tuple(pts[i] for i in order),
        notes=(f"cycle of {n} visits, {cycle_s / 60:.1f} min between repeats",),
    )
    return PatrolCycle(
        order=tuple(names[i] for i in order),
        cycle_s=cycle_s,
        visits={h.name: order.count(i) for i, h in enumerate(hotspots)},
        mean_revisit_s=mean,
        max_revisit_s=worst,
        plan=plan,
    )


def _visit_times(
    area: OperatingArea,
    profile: VehicleProfile,
    pts: list[Point2],
    order: list[int],
    dwell_s: float,
) -> tuple[float, list[float]]:
    """Arrival time of each visit in a repeating cycle, and the cycle's length."""
    times: list[float] = []
    t = 0.0
    for k, i in enumerate(order):
        times.append(t)
        nxt = pts[order[(k + 1) % len(order)]]
        leg = area.router.route_length_m(pts[i], nxt) if pts[i] != nxt else 0.0
        t += dwell_s + leg / profile.cruise_speed_m_s
    return t, times
