"""Conversions between the controller's view and other packages' values.

Fleet states and missions → dispatch candidates, an incident → a dispatch request, a
decision → its stored record, a mission record → its bus/API status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from missions.dispatch import Candidate, DispatchDecision, DispatchRequest, VehicleProfile
from missions.store import DecisionRecord, MissionRecord
from skyeye.contracts import Incident, MissionState, MissionStatus, Priority, VehicleState

__all__ = ["decision_record", "dispatch_candidates", "incident_request", "mission_status"]

_FLYING = frozenset({MissionState.EN_ROUTE, MissionState.ON_STATION})


def incident_request(
    incident: Incident, *, orbit_alt_rel_m: float, on_station_s: float
) -> DispatchRequest:
    return DispatchRequest(
        incident_id=incident.incident_id,
        lat_deg=incident.lat_deg,
        lon_deg=incident.lon_deg,
        priority=incident.priority,
        category=incident.category,
        orbit_alt_rel_m=orbit_alt_rel_m,
        on_station_s=on_station_s,
    )


def decision_record(
    decision: DispatchDecision, *, decided_at: datetime, decision_time_ms: float
) -> DecisionRecord:
    return DecisionRecord(
        incident_id=decision.incident_id,
        vehicle_id=decision.vehicle_id,
        decided_at=decided_at,
        eta_s=decision.eta_s,
        physical_limit_s=decision.physical_limit_s,
        preempted_mission_id=decision.preempted_mission_id,
        reasons=decision.reasons,
        alternatives=tuple(
            {"vehicle_id": a.vehicle_id, "eta_s": a.eta_s, "reason": a.reason}
            for a in decision.alternatives
        ),
        decision_time_ms=decision_time_ms,
    )


def dispatch_candidates(
    states: Mapping[str, VehicleState | None],
    missions: Mapping[str, MissionRecord | None],
    *,
    profile_for: Callable[[str], VehicleProfile],
    wheels_up_alt_m: float,
    held_back: Mapping[str, str] | None = None,
) -> list[Candidate]:
    """Every vehicle with a position as dispatch sees it: free, pre-emptable or held back.

    ``held_back`` maps vehicles that must not be sent on their own (a failed launch) to why.
    """
    candidates = []
    for vehicle_id, state in states.items():
        if state is None or state.lat_deg is None or state.lon_deg is None:
            continue
        alt = state.alt_rel_m or 0.0
        airborne = state.armed and alt > wheels_up_alt_m
        mission = missions.get(vehicle_id)
        unavailable: str | None = None
        mission_id: str | None = None
        mission_priority: Priority | None = None
        if mission is not None and mission.state in _FLYING and airborne:
            mission_id, mission_priority = mission.mission_id, mission.priority
        elif mission is not None:
            unavailable = f"mission {mission.mission_id} is {mission.state.value}"
        elif state.armed:
            unavailable = f"flying without a mission (mode {state.mode})"
        elif held_back and vehicle_id in held_back:
            unavailable = held_back[vehicle_id]
        home = state.home
        candidates.append(
            Candidate(
                vehicle_id=vehicle_id,
                lat_deg=state.lat_deg,
                lon_deg=state.lon_deg,
                alt_rel_m=alt,
                airborne=airborne,
                battery_pct=state.battery_pct or 0.0,
                profile=profile_for(vehicle_id),
                home_lat_deg=state.lat_deg if home is None else home.lat_deg,
                home_lon_deg=state.lon_deg if home is None else home.lon_deg,
                link_ok=state.link.connected,
                mission_id=mission_id,
                mission_priority=mission_priority,
                unavailable_reason=unavailable,
            )
        )
    return candidates


def mission_status(mission: MissionRecord, now: datetime, cause: str) -> MissionStatus:
    """The bus/API view of a mission."""
    count = mission.item_count
    done = mission.current_item or 0
    if mission.state in (MissionState.LANDED, MissionState.COMPLETED):
        progress = 100.0
    else:
        progress = min(100.0, 100.0 * done / count) if count else 0.0
    return MissionStatus(
        mission_id=mission.mission_id,
        time=now,
        mission_type=mission.mission_type,
        state=mission.state,
        vehicle_id=mission.vehicle_id,
        incident_id=mission.incident_id,
        progress_pct=progress,
        current_item=mission.current_item,
        item_count=count,
        cause=cause[:500],
    )
