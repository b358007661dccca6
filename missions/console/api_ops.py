"""The live picture, incidents and dispatch, planning and flight commands, feeds and alerts."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

from fastapi import APIRouter, Path

from missions.console.auth import Principal
from missions.console.context import ConsoleContext
from missions.console.deps import Commander, Console, Pilot, Viewer
from missions.console.errors import ConflictError, NotFoundError
from missions.console.models import (
    Alert,
    DispatchOutcome,
    Feed,
    IncidentOutcome,
    MissionAction,
    MissionActionRequest,
    MissionCreateRequest,
    PlanPreview,
    PlanPreviewRequest,
    RaiseIncidentRequest,
    ReportRequest,
)
from missions.console.ports import PlanSource
from skyeye import topics
from skyeye.contracts import (
    CoverageLayer,
    Incident,
    IncidentStatus,
    MissionStatus,
    Report,
    TrackList,
    VehicleState,
)

__all__ = ["router"]

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api")

Ident = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
_CONFIRMED = (MissionAction.LAUNCH, MissionAction.ABORT, MissionAction.RTL, MissionAction.LAND)


@router.get("/config", tags=["live"], summary="What the pages need to draw the map")
async def config(viewer: Viewer, console: Console) -> dict[str, object]:
    return {
        "tile_url": console.settings.tile_url,
        "low_battery_pct": console.settings.low_battery_pct,
        "frame_interval_s": console.settings.frame_interval_s,
        "planners": list(console.planner.names()) if console.planner else [],
        "username": viewer.username,
        "role": viewer.role.value,
    }


@router.get("/vehicles", tags=["live"], summary="The latest state of every vehicle")
async def vehicles(viewer: Viewer, console: Console) -> list[VehicleState]:
    return sorted(console.live.vehicles.values(), key=lambda v: v.vehicle_id)


@router.get("/vehicles/{vehicle_id}", tags=["live"], summary="The latest state of one vehicle")
async def vehicle(vehicle_id: Ident, viewer: Viewer, console: Console) -> VehicleState:
    state = console.live.vehicles.get(vehicle_id)
    if state is None:
        raise NotFoundError(f"no vehicle {vehicle_id!r} has reported")
    return state


@router.get("/tracks", tags=["live"], summary="The fused tracks on the ground")
async def tracks(viewer: Viewer, console: Console) -> TrackList:
    return console.live.tracks or TrackList(time=console.clock.now())


@router.get("/coverage", tags=["live"], summary="When each cell was last imaged")
async def coverage(viewer: Viewer, console: Console) -> CoverageLayer | None:
    return console.live.coverage


@router.get("/alerts", tags=["live"], summary="Alerts not yet acknowledged or cleared")
async def alerts(viewer: Viewer, console: Console) -> list[Alert]:
    return sorted(console.live.alerts.values(), key=lambda a: a.time)


@router.post("/alerts/{alert_id}/ack", tags=["live"], summary="Acknowledge an alert")
async def acknowledge(
    alert_id: Annotated[str, Path(min_length=1, max_length=128)], viewer: Viewer, console: Console
) -> Alert:
    alert = console.live.acknowledge(alert_id)
    if alert is None:
        raise NotFoundError(f"no active alert {alert_id!r}")
    await console.audit(viewer.actor, "acknowledge_alert", f"alert:{alert_id}", "ok", alert.text)
    return alert


@router.get("/feeds", tags=["video"], summary="Where to play each vehicle's video (WHEP)")
async def feeds(viewer: Viewer, console: Console) -> list[Feed]:
    token = console.settings.whep_token
    await console.audit(viewer.actor, "list_feeds", "video", "ok", "WHEP token handed out")
    return [
        Feed(
            vehicle_id=vid,
            whep_url=f"{console.settings.whep_base_url}/whep/{vid}",
            token=None if token is None else token.get_secret_value(),
        )
        for vid in sorted(console.live.vehicles)
    ]


# ----------------------------------------------------------------- incidents


@router.get("/incidents", tags=["incidents"], summary="Every incident seen")
async def incidents(viewer: Viewer, console: Console) -> list[Incident]:
    return sorted(console.live.incidents.values(), key=lambda i: i.time)


@router.post("/incidents", tags=["incidents"], status_code=201, summary="Raise an incident")
async def raise_incident(
    body: RaiseIncidentRequest, commander: Commander, console: Console
) -> IncidentOutcome:
    if body.dispatch:
        console.need_control()
    incident = Incident(
        incident_id=f"inc-{uuid.uuid4().hex[:10]}",
        time=console.clock.now(),
        category=body.category,
        priority=body.priority,
        lat_deg=body.lat_deg,
        lon_deg=body.lon_deg,
        summary=body.summary or f"raised by {commander.username}",
    )
    await console.bus.publish(topics.incident(incident.incident_id), incident)
    console.live.incidents[incident.incident_id] = incident
    await console.audit(
        commander.actor,
        "raise_incident",
        f"incident:{incident.incident_id}",
        "ok",
        f"{body.category} P{int(body.priority)} at {body.lat_deg:.5f},{body.lon_deg:.5f}",
    )
    if not body.dispatch:
        return IncidentOutcome(incident=incident)
    return await _dispatch(console, commander, incident)


@router.post(
    "/reports", tags=["incidents"], status_code=202, summary="File a ground report for fusion"
)
async def file_report(body: ReportRequest, commander: Commander, console: Console) -> Report:
    report = Report(
        report_id=f"r-{uuid.uuid4().hex[:10]}",
        time=console.clock.now(),
        **body.model_dump(),
    )
    await console.bus.publish(topics.reports(), report)
    await console.audit(
        commander.actor,
        "file_report",
        f"report:{report.report_id}",
        "ok",
        f"{body.source.value}: {body.category} at {body.lat_deg:.5f},{body.lon_deg:.5f}",
    )
    return report


@router.post(
    "/incidents/{incident_id}/dispatch", tags=["incidents"], summary="Send a drone to an incident"
)
async def dispatch(incident_id: Ident, commander: Commander, console: Console) -> IncidentOutcome:
    incident = console.live.incidents.get(incident_id)
    if incident is None:
        raise NotFoundError(f"no incident {incident_id!r}")
    if incident.status is IncidentStatus.CLOSED:
        raise ConflictError(f"incident {incident_id!r} is closed")
    return await _dispatch(console, commander, incident)


async def _dispatch(
    console: ConsoleContext, commander: Principal, incident: Incident
) -> IncidentOutcome:
    control = console.need_control()
    decisions = await console.audited(
        commander,
        "dispatch",
        f"incident:{incident.incident_id}",
        lambda: control.dispatch([incident], actor=commander.actor),
    )
    decision = decisions[0]
    outcome = DispatchOutcome(
        incident_id=incident.incident_id,
        vehicle_id=decision.vehicle_id,
        eta_s=decision.eta_s,
        reasons=tuple(decision.reasons),
    )
    if decision.vehicle_id is not None:
        # The controller publishes the incident with the drone that flies it (also after a
        # relief); the answer says what this dispatch did.
        incident = incident.model_copy(
            update={"status": IncidentStatus.DISPATCHED, "assigned_vehicle_id": decision.vehicle_id}
        )
    return IncidentOutcome(incident=incident, dispatch=outcome)


# ----------------------------------------------------------------- missions


@router.get("/missions", tags=["missions"], summary="Every mission and its state")
async def missions(viewer: Viewer, console: Console) -> list[MissionStatus]:
    if console.control is not None:
        return console.control.list_missions()
    return list(console.live.missions.values())


@router.get("/planners", tags=["missions"], summary="The planners a pilot can pick")
async def planners(pilot: Pilot, console: Console) -> list[str]:
    return list(console.need_planner().names())


@router.post("/plans/preview", tags=["missions"], summary="Plan, and show before approving")
async def preview(body: PlanPreviewRequest, pilot: Pilot, console: Console) -> PlanPreview:
    planner = console.need_planner()
    if body.planner not in planner.names():
        raise NotFoundError(f"no planner {body.planner!r}: pick one of {list(planner.names())}")
    proposal = await console.audited(
        pilot,
        "preview_plan",
        f"vehicle:{body.vehicle_id}",
        lambda: planner.propose(
            body.planner,
            vehicle_id=body.vehicle_id,
            geometry_type=body.geometry_type,
            points=body.points,
            alt_rel_m=body.alt_rel_m,
        ),
    )
    result = PlanPreview(
        preview_id=f"p-{uuid.uuid4().hex[:10]}",
        planner=body.planner,
        vehicle_id=body.vehicle_id,
        feasible=proposal.feasible,
        reasons=proposal.reasons,
        duration_s=proposal.duration_s,
        distance_m=proposal.distance_m,
        path=proposal.path,
        geojson=proposal.geojson,
    )
    console.keep_preview(result, proposal)
    return result


@router.post("/missions", tags=["missions"], status_code=201, summary="Create from a preview")
async def create_mission(
    body: MissionCreateRequest, pilot: Pilot, console: Console
) -> MissionStatus:
    control = console.need_control()
    kept = console.previews.get(body.preview_id)
    if kept is None:
        raise NotFoundError(f"no plan preview {body.preview_id!r}: preview the plan again")
    preview, proposal = kept
    if not preview.feasible:
        raise ConflictError("the plan is not feasible: " + "; ".join(preview.reasons))
    record = await console.audited(
        pilot,
        "create_mission",
        f"vehicle:{preview.vehicle_id}",
        lambda: control.create_mission(
            proposal.mission_type, proposal.plan, vehicle_id=preview.vehicle_id, actor=pilot.actor
        ),
    )
    del console.previews[body.preview_id]
    mission_id = str(record.mission_id)
    console.mission_paths[mission_id] = preview.path
    return _status_of(console, mission_id)


@router.get("/missions/{mission_id}/path", tags=["missions"], summary="A planned mission's path")
async def mission_path(
    mission_id: Ident, viewer: Viewer, console: Console
) -> list[tuple[float, float]]:
    path = console.mission_paths.get(mission_id)
    if path is None and isinstance(console.control, PlanSource):
        path = _path_of(console.control, mission_id)
    if path is None:
        raise NotFoundError(f"no known path for mission {mission_id!r}")
    return list(path)


def _path_of(control: PlanSource, mission_id: str) -> tuple[tuple[float, float], ...] | None:
    """Waypoints of the controller's plan; items without a position (take-off, RTL) skipped."""
    try:
        items = control.plan(mission_id).items
    except LookupError:
        return None
    except Exception as exc:  # the controller's own "unknown mission" error
        logger.info("no plan for mission %s: %s", mission_id, exc)
        return None
    points = tuple(
        (float(item.lat_deg), float(item.lon_deg))
        for item in items
        if getattr(item, "lat_deg", 0.0) or getattr(item, "lon_deg", 0.0)
    )
    return points or None


@router.post("/missions/{mission_id}/{action}", tags=["missions"], summary="Command a mission")
async def command_mission(
    mission_id: Ident,
    action: MissionAction,
    body: MissionActionRequest,
    pilot: Pilot,
    console: Console,
) -> MissionStatus:
    control = console.need_control()
    target = f"mission:{mission_id}"
    if action in _CONFIRMED and not body.confirm:
        await console.audit(pilot.actor, action.value, target, "refused", "not confirmed")
        raise ConflictError(f"{action.value} needs confirmation: send confirm=true")
    command = {
        MissionAction.APPROVE: control.approve,
        MissionAction.LAUNCH: control.launch,
        MissionAction.ABORT: control.abort,
        MissionAction.RTL: control.rtl,
        MissionAction.LAND: control.land,
    }[action]
    await console.audited(
        pilot, action.value, target, lambda: command(mission_id, actor=pilot.actor)
    )
    return _status_of(console, mission_id)


def _status_of(console: ConsoleContext, mission_id: str) -> MissionStatus:
    for status in console.need_control().list_missions():
        if status.mission_id == mission_id:
            return status
    raise NotFoundError(f"no mission {mission_id!r}")
