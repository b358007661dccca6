"""The dispatch decision: earliest on-scene time, pre-emption by priority, no double booking.

On-scene time of a vehicle for an incident is what physics allows plus, on the ground, the
profile's launch overhead::

    eta = overhead (on the ground only) + |orbit altitude - altitude| / climb rate
          + great-circle distance / cruise speed

A vehicle can go if its link is up, it is not held back, an airborne mission it flies has a
strictly lower priority than the incident, and its battery covers the flight there, the time
on station, the way home and the descent, above the profile's reserve.

Incidents are assigned by priority tier, highest first; inside a tier the vehicles are
assigned to incidents with :func:`scipy.optimize.linear_sum_assignment` on the on-scene
times, so no vehicle is booked twice and the tier's total time to scene is minimal.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from missions.dispatch.errors import (
    InvalidCandidateError,
    InvalidIncidentError,
    NoVehicleAvailableError,
)
from missions.dispatch.model import Alternative, Candidate, DispatchDecision, DispatchRequest

__all__ = ["EARTH_RADIUS_M", "dispatch", "dispatch_one", "great_circle_m", "physical_limit_s"]

EARTH_RADIUS_M = 6_371_008.8
_INFEASIBLE = 1e12
FloatArray = npt.NDArray[np.float64]


class _Refusal(enum.IntEnum):
    OK = 0
    UNAVAILABLE = 1
    LINK_DOWN = 2
    BUSY = 3
    BATTERY = 4
    BOOKED = 5


def great_circle_m(
    lat1_deg: FloatArray | float,
    lon1_deg: FloatArray | float,
    lat2_deg: FloatArray | float,
    lon2_deg: FloatArray | float,
) -> FloatArray:
    """Haversine distance on the mean Earth sphere (0.5 % of WGS84 at worst), broadcasting."""
    lat1, lon1, lat2, lon2 = (
        np.radians(np.asarray(v, dtype=np.float64))
        for v in (lat1_deg, lon1_deg, lat2_deg, lon2_deg)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def physical_limit_s(candidate: Candidate, request: DispatchRequest) -> float:
    """Climb plus distance at cruise speed: the vehicle's own limit, with no overhead."""
    distance = float(
        great_circle_m(candidate.lat_deg, candidate.lon_deg, request.lat_deg, request.lon_deg)
    )
    climb = abs(request.orbit_alt_rel_m - candidate.alt_rel_m) / candidate.profile.climb_rate_m_s
    return climb + distance / candidate.profile.cruise_speed_m_s


class _Matrices:
    """Every (incident, vehicle) figure, computed once with numpy."""

    def __init__(
        self, requests: Sequence[DispatchRequest], candidates: Sequence[Candidate]
    ) -> None:
        n = len(candidates)
        c_lat = np.fromiter((c.lat_deg for c in candidates), np.float64, n)
        c_lon = np.fromiter((c.lon_deg for c in candidates), np.float64, n)
        h_lat = np.fromiter((c.home_lat_deg for c in candidates), np.float64, n)
        h_lon = np.fromiter((c.home_lon_deg for c in candidates), np.float64, n)
        alt = np.fromiter((c.alt_rel_m for c in candidates), np.float64, n)
        airborne = np.fromiter((c.airborne for c in candidates), np.bool_, n)
        battery = np.fromiter((c.battery_pct for c in candidates), np.float64, n)
        cruise = np.fromiter((c.profile.cruise_speed_m_s for c in candidates), np.float64, n)
        climb = np.fromiter((c.profile.climb_rate_m_s for c in candidates), np.float64, n)
        descent = np.fromiter((c.profile.descent_rate_m_s for c in candidates), np.float64, n)
        use = np.fromiter((c.profile.battery_use_pct_per_s for c in candidates), np.float64, n)
        reserve = np.fromiter((c.profile.reserve_pct for c in candidates), np.float64, n)
        overhead = np.fromiter((c.profile.launch_overhead_s for c in candidates), np.float64, n)
        mission_prio = np.fromiter(
            (0 if c.mission_priority is None else int(c.mission_priority) for c in candidates),
            np.int64,
            n,
        )
        m = len(requests)
        r_lat = np.fromiter((r.lat_deg for r in requests), np.float64, m)[:, None]
        r_lon = np.fromiter((r.lon_deg for r in requests), np.float64, m)[:, None]
        r_alt = np.fromiter((r.orbit_alt_rel_m for r in requests), np.float64, m)[:, None]
        r_stay = np.fromiter((r.on_station_s for r in requests), np.float64, m)[:, None]
        r_prio = np.fromiter((int(r.priority) for r in requests), np.int64, m)[:, None]

        self.distance_m = great_circle_m(c_lat[None, :], c_lon[None, :], r_lat, r_lon)
        home_m = great_circle_m(h_lat[None, :], h_lon[None, :], r_lat, r_lon)
        self.climb_s = np.abs(r_alt - alt[None, :]) / climb[None, :]
        self.cruise_s = self.distance_m / cruise[None, :]
        self.limit_s = self.climb_s + self.cruise_s
        self.overhead_s = np.where(airborne, 0.0, overhead)[None, :] * np.ones((m, 1))
        self.eta_s = self.limit_s + self.overhead_s
        flight_s = self.limit_s + r_stay + home_m / cruise[None, :] + r_alt / descent[None, :]
        self.needed_pct = flight_s * use[None, :] + reserve[None, :]

        refusal = np.zeros((m, n), dtype=np.int64)
        refusal[self.needed_pct > battery[None, :]] = _Refusal.BATTERY
        busy = airborne[None, :] & (mission_prio[None, :] > 0) & (mission_prio[None, :] >= r_prio)
        refusal[busy] = _Refusal.BUSY
        link_ok = np.fromiter((c.link_ok for c in candidates), np.bool_, n)
        refusal[:, ~link_ok] = _Refusal.LINK_DOWN
        held = np.fromiter((c.unavailable_reason is not None for c in candidates), np.bool_, n)
        refusal[:, held] = _Refusal.UNAVAILABLE
        self.refusal = refusal
        self.battery_pct = battery


def _validate(requests: Sequence[DispatchRequest], candidates: Sequence[Candidate]) -> None:
    seen: set[str] = set()
    for request in requests:
        if request.incident_id in seen:
            raise InvalidIncidentError(request.incident_id, "listed twice in one dispatch")
        seen.add(request.incident_id)
    seen.clear()
    for candidate in candidates:
        if candidate.vehicle_id in seen:
            raise InvalidCandidateError(candidate.vehicle_id, "listed twice in one dispatch")
        seen.add(candidate.vehicle_id)


def dispatch(
    requests: Sequence[DispatchRequest],
    candidates: Sequence[Candidate],
    *,
    alternatives: int = 3,
) -> tuple[DispatchDecision, ...]:
    """Decide, for every request, which vehicle goes (or that none can), with reasons.

    Decisions come back in the order of ``requests``. Nothing is mutated; the caller books
    the vehicles it then sends.
    """
    _validate(requests, candidates)
    if not requests:
        return ()
    if not candidates:
        return tuple(
            DispatchDecision(
                incident_id=r.incident_id,
                priority=r.priority,
                vehicle_id=None,
                eta_s=None,
                physical_limit_s=None,
                distance_m=None,
                preempted_mission_id=None,
                reasons=("no drones known",),
            )
            for r in requests
        )
    mats = _Matrices(requests, candidates)
    chosen: dict[int, int] = {}
    taken_by: dict[int, int] = {}
    for tier in sorted({int(r.priority) for r in requests}, reverse=True):
        rows = [i for i, r in enumerate(requests) if int(r.priority) == tier]
        cols = [j for j in range(len(candidates)) if j not in taken_by]
        if not cols:
            break
        cost = mats.eta_s[np.ix_(rows, cols)].copy()
        cost[mats.refusal[np.ix_(rows, cols)] != _Refusal.OK] = _INFEASIBLE
        row_idx, col_idx = linear_sum_assignment(cost)
        for r, c in zip(row_idx, col_idx, strict=True):
            if cost[r, c] < _INFEASIBLE:
                chosen[rows[r]] = cols[c]
                taken_by[cols[c]] = rows[r]
    return tuple(
        _decision(i, requests, candidates, mats, chosen, taken_by, alternatives)
        for i in range(len(requests))
    )


def dispatch_one(request: DispatchRequest, candidates: Sequence[Candidate]) -> DispatchDecision:
    """One incident: the decision, or :class:`NoVehicleAvailableError` with every refusal."""
    (decision,) = dispatch([request], candidates, alternatives=len(candidates))
    if decision.vehicle_id is None:
        raise NoVehicleAvailableError(
            request.incident_id,
            {a.vehicle_id: a.reason for a in decision.alternatives},
        )
    return decision


def _refusal_text(
    code: int,
    i: int,
    j: int,
    requests: Sequence[DispatchRequest],
    candidates: Sequence[Candidate],
    mats: _Matrices,
    taken_by: dict[int, int],
) -> str:
    candidate = candidates[j]
    if code == _Refusal.UNAVAILABLE:
        return f"unavailable: {candidate.unavailable_reason}"
    if code == _Refusal.LINK_DOWN:
        return "link down"
    if code == _Refusal.BUSY:
        assert candidate.mission_priority is not None
        return (
            f"busy on mission {candidate.mission_id} of priority "
            f"{candidate.mission_priority.name}, not below {requests[i].priority.name}"
        )
    if code == _Refusal.BATTERY:
        return (
            f"battery {mats.battery_pct[j]:.0f}% below the {mats.needed_pct[i, j]:.0f}% "
            f"needed (there, on station, home, reserve)"
        )
    other = requests[taken_by[j]]
    return f"assigned to incident {other.incident_id} (priority {other.priority.name})"


def _decision(
    i: int,
    requests: Sequence[DispatchRequest],
    candidates: Sequence[Candidate],
    mats: _Matrices,
    chosen: dict[int, int],
    taken_by: dict[int, int],
    alternatives: int,
) -> DispatchDecision:
    request = requests[i]
    j_best = chosen.get(i)
    order = np.argsort(mats.eta_s[i], kind="stable")
    alts: list[Alternative] = []
    for j in order:
        j = int(j)
        if j == j_best or len(alts) >= alternatives:
            continue
        code = int(mats.refusal[i, j])
        if code == _Refusal.OK and j in taken_by:
            code = _Refusal.BOOKED
        eta = float(mats.eta_s[i, j])
        reason = (
            f"on scene in {eta:.1f} s, later than the chosen drone"
            if code == _Refusal.OK
            else _refusal_text(code, i, j, requests, candidates, mats, taken_by)
        )
        alts.append(Alternative(candidates[j].vehicle_id, eta, reason))
    if j_best is None:
        return DispatchDecision(
            incident_id=request.incident_id,
            priority=request.priority,
            vehicle_id=None,
            eta_s=None,
            physical_limit_s=None,
            distance_m=None,
            preempted_mission_id=None,
            reasons=(f"none of {len(candidates)} drones can go",),
            alternatives=tuple(alts),
        )
    best = candidates[j_best]
    eta = float(mats.eta_s[i, j_best])
    reasons = [
        f"on scene in {eta:.1f} s: "
        + (f"launch {mats.overhead_s[i, j_best]:.1f} s + " if not best.airborne else "")
        + f"climb {mats.climb_s[i, j_best]:.1f} s + {mats.distance_m[i, j_best] / 1000:.2f} km "
        f"at {best.profile.cruise_speed_m_s:g} m/s",
        f"battery {best.battery_pct:.0f}% covers the {mats.needed_pct[i, j_best]:.0f}% needed",
        "airborne, no launch needed" if best.airborne else "on the ground, ready",
    ]
    fastest = int(order[0])
    if fastest != j_best and int(mats.refusal[i, fastest]) == _Refusal.OK and fastest in taken_by:
        other = requests[taken_by[fastest]]
        reasons.append(
            f"faster drone {candidates[fastest].vehicle_id} went to incident "
            f"{other.incident_id} (priority {other.priority.name})"
        )
    if best.mission_id is not None:
        assert best.mission_priority is not None
        reasons.append(
            f"pre-empts mission {best.mission_id} (priority {best.mission_priority.name} "
            f"below {request.priority.name})"
        )
    return DispatchDecision(
        incident_id=request.incident_id,
        priority=request.priority,
        vehicle_id=best.vehicle_id,
        eta_s=eta,
        physical_limit_s=float(mats.limit_s[i, j_best]),
        distance_m=float(mats.distance_m[i, j_best]),
        preempted_mission_id=best.mission_id,
        reasons=tuple(reasons),
        alternatives=tuple(alts),
    )
