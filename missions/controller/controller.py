"""The mission controller: missions from plan to landing, dispatch to incidents, supervision.

::

    async with Controller(store=store, fleet=fleet, clock=clock, profiles=profiles) as ctl:
        decision = await ctl.dispatch(incident, actor="dispatcher:ops")
        mission = await ctl.create_mission(MissionType.PATROL, plan, vehicle_id="d2",
                                           actor="pilot:anna")
        await ctl.approve(mission.mission_id, actor="pilot:anna")
        await ctl.launch(mission.mission_id, actor="pilot:anna")

Every state change goes through :meth:`_move`, which checks the transition table, writes it
with its cause to the store and publishes the mission's status. Every command to a vehicle
goes through :meth:`_command`, which writes the audit log. Each flying mission has one task,
``mission[{id}].fly``, that launches it (when asked to) and then supervises it to the end.
A controller that starts finds the missions a previous one left in flight: those whose
vehicle still flies are supervised again without sending a single command, those whose
vehicle is on the ground (or not linked) are failed with the state they were left in.
The status and drone of the incidents the missions fly are kept, stored and published by
:class:`~missions.controller.incident_status.IncidentLedger`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

from missions.controller.conversions import (
    decision_record,
    dispatch_candidates,
    incident_request,
    mission_status,
)
from missions.controller.errors import (
    ControllerError,
    InvalidTransitionError,
    LaunchError,
    LaunchTimeoutError,
    PreflightError,
    UnknownMissionError,
    UnknownVehicleError,
    VehicleBusyError,
    VehicleCommandError,
)
from missions.controller.incident_status import IncidentLedger, Publisher
from missions.controller.preflight import preflight_checks
from missions.controller.settings import ControllerSettings, MissionType
from missions.controller.states import PRE_FLIGHT, TERMINAL, check_transition
from missions.controller.vehicle import (
    FenceSpec,
    FleetView,
    FlightPlan,
    PlanItem,
    PlanItemKind,
    VehicleLink,
)
from missions.dispatch import (
    Candidate,
    DispatchDecision,
    DispatchRequest,
    VehicleProfile,
    dispatch,
    great_circle_m,
)
from missions.store import AuditEntry, MissionRecord, MissionStore
from skyeye import topics
from skyeye.clock import Clock
from skyeye.contracts import (
    Incident,
    MissionState,
    MissionStatus,
    Priority,
    VehicleState,
)

__all__ = ["Controller", "Publisher"]

log = logging.getLogger(__name__)
S = MissionState
T = TypeVar("T")
_FLYING = frozenset({S.EN_ROUTE, S.ON_STATION})
_LAUNCH_STATES = frozenset({S.UPLOADING, S.LAUNCHING})
# Modes that bring a vehicle home or down: ArduCopter's, and a VTOL's (ArduPlane QuadPlane)
_RETURN_MODES = frozenset({"RTL", "LAND", "QRTL", "QLAND"})


_TARGET_KINDS = frozenset({PlanItemKind.WAYPOINT, PlanItemKind.ORBIT})
_CAMERA_KINDS = frozenset({PlanItemKind.GIMBAL, PlanItemKind.ROI})


def _what_is_left(items: Sequence[PlanItem], done: int) -> list[PlanItem]:
    """The waypoints and orbits from item ``done`` on, with the camera items among them.

    The camera is set up as it was when the plan got there: the last gimbal and ROI items
    before ``done`` come first, in plan order, so a relief images as the plan it continues.
    """
    in_effect = {
        item.kind: index for index, item in enumerate(items[:done]) if item.kind in _CAMERA_KINDS
    }
    return [items[i] for i in sorted(in_effect.values())] + [
        item for item in items[done:] if item.kind in _TARGET_KINDS | _CAMERA_KINDS
    ]


class Controller:
    """One state machine per mission over the fleet, persisted, supervised to landing."""

    def __init__(
        self,
        *,
        store: MissionStore,
        fleet: FleetView,
        clock: Clock,
        profiles: Mapping[str, VehicleProfile] | Callable[[str], VehicleProfile],
        settings: ControllerSettings | None = None,
        publisher: Publisher | None = None,
    ) -> None:
        self._store = store
        self._fleet = fleet
        self._clock = clock
        self._profile_for: Callable[[str], VehicleProfile] = (
            profiles.__getitem__ if isinstance(profiles, Mapping) else profiles
        )
        self._settings = settings or ControllerSettings()
        self._publisher = publisher
        self._missions: dict[str, MissionRecord] = {}
        self._plans: dict[str, FlightPlan] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._guards: dict[str, asyncio.Lock] = {}
        self._flights: dict[str, asyncio.Task[None]] = {}
        self._relief: dict[str, str] = {}
        self._held_back: dict[str, str] = {}
        self._link_lost_since: dict[str, float] = {}
        self._incidents = IncidentLedger(
            store=store, clock=clock, publisher=publisher, missions=self._missions.values
        )
        self._tasks: asyncio.TaskGroup | None = None

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Self:
        self._tasks = asyncio.TaskGroup()
        await self._tasks.__aenter__()
        try:
            await self._reattach()
        except BaseException as error:
            await self._tasks.__aexit__(type(error), error, error.__traceback__)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in self._flights.values():
            task.cancel()
        if self._tasks is not None:
            await self._tasks.__aexit__(exc_type, exc, tb)
            self._tasks = None

    async def _reattach(self) -> None:
        """Take over the missions a previous controller left; never relaunch anything.

        All of them are loaded before any is supervised, so a hand-off from one sees the
        others' vehicles as busy. One whose vehicle is not flying (on the ground, disarmed or
        not linked) ended while nobody watched: it fails with the state it was left in, and
        its vehicle is free again. One whose vehicle flies is supervised again, as if the
        controller had never stopped (supervision commands nothing while the vehicle flies
        its plan). Missions not yet launched wait for their pilot as before.
        """
        active = [s for s in S if s not in TERMINAL]
        records = await self._store.list_missions(states=active)
        for record in records:
            self._missions[record.mission_id] = record
            self._plans[record.mission_id] = FlightPlan.from_json(record.plan)
            if record.relieves_mission_id is not None:
                self._relief[record.relieves_mission_id] = record.mission_id
        for record in records:
            if record.state not in PRE_FLIGHT:
                await self._reattach_one(record)

    async def _reattach_one(self, record: MissionRecord) -> None:
        mid = record.mission_id
        state = self._vehicle_state(record.vehicle_id)
        left = f"controller restarted while the mission was {record.state.value}"
        if record.state is S.LANDED:
            await self._move(mid, S.COMPLETED, f"{left}; flight ended")
            return
        if state is None or not state.link.connected:
            await self._end_left_mission(mid, f"{left}; vehicle not linked")
            return
        if not state.armed:
            await self._end_left_mission(mid, f"{left}; vehicle on the ground")
            return
        if record.state in _LAUNCH_STATES:
            in_auto = state.mode == "AUTO" and (
                (state.alt_rel_m or 0.0) > self._settings.wheels_up_alt_m
            )
            if not in_auto:
                await self._end_left_mission(
                    mid, f"{left}; the vehicle is not flying it in AUTO; not relaunched"
                )
                return
            await self._move(mid, S.EN_ROUTE, "re-attached after restart: airborne in AUTO")
        await self._audit("controller", "reattach", mid, "ok", "supervising")
        self._start_flight(mid, launch=False)

    async def _end_left_mission(self, mission_id: str, cause: str) -> None:
        """Fail a mission a previous controller left, audited; its incident opens again."""
        await self._audit("controller", "reattach", mission_id, "ended", cause)
        await self._move(mission_id, S.FAILED, cause)
        await self._reopen_incident(mission_id, cause)

    # ----------------------------------------------------------------- queries

    def mission(self, mission_id: str) -> MissionRecord:
        try:
            return self._missions[mission_id]
        except KeyError:
            raise UnknownMissionError(mission_id) from None

    def plan(self, mission_id: str) -> FlightPlan:
        self.mission(mission_id)
        return self._plans[mission_id]

    def list_missions(self, *, active_only: bool = False) -> list[MissionStatus]:
        return [
            mission_status(m, self._clock.now(), "")
            for m in self._missions.values()
            if not (active_only and m.state in TERMINAL)
        ]

    def active_mission_of(self, vehicle_id: str) -> MissionRecord | None:
        return next(
            (
                m
                for m in self._missions.values()
                if m.vehicle_id == vehicle_id and m.state not in TERMINAL
            ),
            None,
        )

    def mission_for_incident(self, incident_id: str) -> MissionRecord | None:
        """The mission (not ended) that serves an incident, if any."""
        return next(
            (
                m
                for m in self._missions.values()
                if m.incident_id == incident_id and m.state not in TERMINAL
            ),
            None,
        )

    async def wait_for(
        self, mission_id: str, states: Sequence[MissionState], *, timeout_s: float
    ) -> MissionRecord:
        """Wait (in clock seconds) until the mission is in one of ``states``."""
        deadline = self._clock.monotonic() + timeout_s
        while self.mission(mission_id).state not in states:
            if self._clock.monotonic() > deadline:
                raise TimeoutError(
                    f"mission {mission_id} still {self.mission(mission_id).state} "
                    f"after {timeout_s:g} s, not {[s.value for s in states]}"
                )
            await self._clock.sleep(self._settings.poll_s / 2)
        return self.mission(mission_id)

    # ----------------------------------------------------------------- pilot API

    async def create_mission(
        self,
        mission_type: MissionType,
        plan: FlightPlan,
        *,
        vehicle_id: str,
        actor: str,
        priority: Priority = Priority.NORMAL,
        incident_id: str | None = None,
        mission_id: str | None = None,
        relieves_mission_id: str | None = None,
    ) -> MissionRecord:
        """Store a mission in draft, attach its plan (planned) and return it."""
        self._vehicle(vehicle_id)
        busy = self.active_mission_of(vehicle_id)
        if busy is not None:
            raise VehicleBusyError(vehicle_id, busy.mission_id)
        mission_id = mission_id or f"m-{uuid.uuid4().hex[:12]}"
        now = self._clock.now()
        record = MissionRecord(
            mission_id=mission_id,
            mission_type=mission_type.value,
            state=S.DRAFT,
            priority=priority,
            requires_approval=mission_type in self._settings.approval_required,
            created_at=now,
            updated_at=now,
            vehicle_id=vehicle_id,
            incident_id=incident_id,
            relieves_mission_id=relieves_mission_id,
            item_count=len(plan.items),
            plan=tuple(plan.items_json()),
        )
        await self._store.create_mission(record, cause=f"created by {actor}")
        self._missions[mission_id] = record
        self._plans[mission_id] = plan
        await self._move(mission_id, S.PLANNED, f"plan of {len(plan.items)} items attached")
        await self._audit(actor, "create", mission_id, "ok", mission_type.value)
        return self._missions[mission_id]

    async def approve(self, mission_id: str, *, actor: str) -> MissionRecord:
        await self._move(mission_id, S.APPROVED, f"approved by {actor}")
        await self._audit(actor, "approve", mission_id, "ok")
        return self.mission(mission_id)

    async def launch(self, mission_id: str, *, actor: str) -> MissionRecord:
        """Run the launch sequence; returns once the vehicle flies the plan in AUTO."""
        mission = self.mission(mission_id)
        if mission.state is S.PLANNED and mission.requires_approval:
            raise InvalidTransitionError(
                mission_id, S.PLANNED.value, S.UPLOADING.value, [S.APPROVED.value]
            )
        if mission.state not in (S.PLANNED, S.APPROVED):
            check_transition(mission_id, mission.state, S.UPLOADING)
        await self._audit(actor, "launch", mission_id, "ok", "launch requested")
        outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._start_flight(mission_id, launch=True, outcome=outcome)
        await outcome
        return self.mission(mission_id)

    async def abort(self, mission_id: str, *, actor: str) -> MissionRecord:
        """Stop a mission; a flying vehicle is sent home (RTL)."""
        check_transition(mission_id, self.mission(mission_id).state, S.ABORTED)
        await self._stop_flight(mission_id)
        async with self._guard(mission_id):
            return await self._abort(mission_id, actor)

    async def _abort(self, mission_id: str, actor: str) -> MissionRecord:
        cause = f"aborted by {actor}"
        if self.mission(mission_id).state not in PRE_FLIGHT:
            cause += await self._make_safe(actor, mission_id)
        await self._move(mission_id, S.ABORTED, cause)
        return self.mission(mission_id)

    async def rtl(self, mission_id: str, *, actor: str) -> MissionRecord:
        return await self._return(mission_id, actor, "rtl")

    async def land(self, mission_id: str, *, actor: str) -> MissionRecord:
        return await self._return(mission_id, actor, "land")

    async def _return(self, mission_id: str, actor: str, how: str) -> MissionRecord:
        async with self._guard(mission_id):
            mission = self.mission(mission_id)
            check_transition(mission_id, mission.state, S.RETURNING)
            vehicle = self._vehicle(mission.vehicle_id)
            command = vehicle.rtl if how == "rtl" else vehicle.land
            await self._command(actor, mission_id, how, command)
            await self._move(mission_id, S.RETURNING, f"{how.upper()} ordered by {actor}")
            return self.mission(mission_id)

    def _guard(self, mission_id: str) -> asyncio.Lock:
        """Held while someone acts on a mission, so supervision never sees half an action."""
        return self._guards.setdefault(mission_id, asyncio.Lock())

    # ----------------------------------------------------------------- dispatch

    async def dispatch(
        self, incidents: Sequence[Incident], *, actor: str
    ) -> tuple[DispatchDecision, ...]:
        """Choose a drone for each incident at once (no double booking) and send them."""
        requests = [
            incident_request(
                i,
                orbit_alt_rel_m=self._settings.orbit_alt_rel_m,
                on_station_s=self._settings.on_station_s,
            )
            for i in incidents
        ]
        started = time.perf_counter()
        decisions = dispatch(requests, self._candidates(exclude=frozenset()))
        decision_ms = (time.perf_counter() - started) * 1000.0
        now = self._clock.now()
        for incident, decision in zip(incidents, decisions, strict=True):
            await self._store.record_decision(
                decision_record(decision, decided_at=now, decision_time_ms=decision_ms)
            )
            if decision.vehicle_id is None:
                incident = incident.model_copy(
                    update={"summary": "; ".join(decision.reasons)[:500]}
                )
            await self._store.save_incident(incident, at=now)
            await self._audit(
                actor,
                "dispatch",
                None,
                "ok" if decision.vehicle_id else "unserved",
                "; ".join(decision.reasons),
                vehicle_id=decision.vehicle_id,
                arguments={"incident_id": incident.incident_id},
            )
            if decision.vehicle_id is not None:
                await self._send(
                    decision.vehicle_id,
                    PlanItem(
                        kind=PlanItemKind.ORBIT,
                        lat_deg=incident.lat_deg,
                        lon_deg=incident.lon_deg,
                        alt_rel_m=self._settings.orbit_alt_rel_m,
                        radius_m=self._settings.orbit_radius_m,
                    ),
                    mission_type=MissionType.FIRST_RESPONSE,
                    priority=incident.priority,
                    incident_id=incident.incident_id,
                    preempted_mission_id=decision.preempted_mission_id,
                    actor=actor,
                    cause=f"incident {incident.incident_id} ({incident.priority.name})",
                )
        return decisions

    async def _send(
        self,
        vehicle_id: str,
        *targets: PlanItem,
        mission_type: MissionType,
        priority: Priority,
        incident_id: str | None,
        preempted_mission_id: str | None,
        actor: str,
        cause: str,
        relieves_mission_id: str | None = None,
    ) -> MissionRecord:
        if preempted_mission_id is not None:
            await self._stop_flight(preempted_mission_id)
            relief = await self._hand_off(preempted_mission_id, f"pre-empted by {cause}")
            await self._move(preempted_mission_id, S.ABORTED, f"pre-empted by {cause}")
            if relief is None:
                await self._reopen_incident(preempted_mission_id, f"pre-empted by {cause}")
        state = self._vehicle_state(vehicle_id)
        airborne = (
            state is not None
            and state.armed
            and (state.alt_rel_m or 0.0) > self._settings.wheels_up_alt_m
        )
        items: list[PlanItem] = []
        if not airborne:
            first = next(t for t in targets if t.kind in _TARGET_KINDS)
            items.append(PlanItem(kind=PlanItemKind.TAKEOFF, alt_rel_m=first.alt_rel_m))
        cruise = self._profile_for(vehicle_id).cruise_speed_m_s
        items.append(PlanItem(kind=PlanItemKind.SPEED, speed_m_s=cruise))
        for target in targets:
            if target.kind is PlanItemKind.ORBIT:
                items.append(
                    PlanItem(
                        kind=PlanItemKind.ROI,
                        lat_deg=target.lat_deg,
                        lon_deg=target.lon_deg,
                    )
                )
            items.append(target)
        if items[-1].kind is not PlanItemKind.ORBIT:
            items.append(PlanItem(kind=PlanItemKind.RTL))
        mission = await self.create_mission(
            mission_type,
            FlightPlan(items=tuple(items), fence=self._default_fence()),
            vehicle_id=vehicle_id,
            actor=actor,
            priority=priority,
            incident_id=incident_id,
            relieves_mission_id=relieves_mission_id,
        )
        if not mission.requires_approval:
            self._start_flight(mission.mission_id, launch=True)
        return mission

    def _candidates(self, *, exclude: frozenset[str]) -> list[Candidate]:
        return dispatch_candidates(
            {v: self._vehicle_state(v) for v in self._fleet.vehicle_ids() if v not in exclude},
            {v: self.active_mission_of(v) for v in self._fleet.vehicle_ids()},
            profile_for=self._profile_for,
            wheels_up_alt_m=self._settings.wheels_up_alt_m,
            held_back=self._held_back,
        )

    async def _hand_off(self, mission_id: str, reason: str) -> str | None:
        """Send another drone to do what is left of a mission; record either way."""
        mission = self.mission(mission_id)
        plan = self._plans[mission_id]
        done = mission.current_item or 0
        remaining = (
            [plan.items[plan.orbit_index]]
            if plan.orbit_index is not None
            else _what_is_left(plan.items, done)
        )
        first = next((i for i in remaining if i.kind in _TARGET_KINDS), None)
        if first is None:
            await self._audit("supervisor", "handoff", mission_id, "none", "nothing left to do")
            return None
        request = DispatchRequest(
            incident_id=mission.incident_id or mission_id,
            lat_deg=first.lat_deg,
            lon_deg=first.lon_deg,
            priority=mission.priority,
            orbit_alt_rel_m=min(120.0, max(10.0, first.alt_rel_m)),
            on_station_s=self._settings.on_station_s,
        )
        exclude = frozenset({mission.vehicle_id} if mission.vehicle_id else ())
        started = time.perf_counter()
        (decision,) = dispatch([request], self._candidates(exclude=exclude))
        decision_ms = (time.perf_counter() - started) * 1000.0
        if decision.vehicle_id is None:
            detail = "; ".join(f"{a.vehicle_id}: {a.reason}" for a in decision.alternatives)
            await self._audit(
                "supervisor",
                "handoff",
                mission_id,
                "failed",
                f"{reason}; nobody can take over: " + (detail or "no drones"),
            )
            return None
        if mission.incident_id is not None:
            replaced = f"replaces {mission.vehicle_id} (mission {mission_id}): {reason}"
            await self._store.record_decision(
                decision_record(
                    dataclasses.replace(decision, reasons=(replaced, *decision.reasons)),
                    decided_at=self._clock.now(),
                    decision_time_ms=decision_ms,
                )
            )
            await self._incidents.note(
                mission.incident_id,
                f"{decision.vehicle_id} sent instead of {mission.vehicle_id}: {reason}",
            )
        try:
            relief = await self._send(
                decision.vehicle_id,
                *remaining,
                mission_type=MissionType.RELIEF,
                priority=mission.priority,
                incident_id=mission.incident_id,
                preempted_mission_id=decision.preempted_mission_id,
                actor="supervisor",
                cause=f"relief of mission {mission_id}",
                relieves_mission_id=mission_id,
            )
        except ControllerError as error:
            await self._audit(
                "supervisor",
                "handoff",
                mission_id,
                "failed",
                f"{reason}; {decision.vehicle_id} could not take over: {error}",
            )
            return None
        self._relief[mission_id] = relief.mission_id
        await self._audit(
            "supervisor",
            "handoff",
            mission_id,
            "ok",
            f"{reason}; {len(remaining)} items handed to mission {relief.mission_id} on "
            f"{decision.vehicle_id}",
        )
        return relief.mission_id

    # ----------------------------------------------------------------- launch

    def _start_flight(
        self,
        mission_id: str,
        *,
        launch: bool,
        outcome: asyncio.Future[None] | None = None,
    ) -> asyncio.Task[None]:
        if self._tasks is None:
            raise RuntimeError("the controller is not running (use `async with Controller(...)`)")
        task = self._tasks.create_task(
            self._fly(mission_id, launch, outcome), name=f"mission[{mission_id}].fly"
        )
        self._flights[mission_id] = task
        task.add_done_callback(lambda _: self._forget_flight(mission_id, task))
        return task

    def _forget_flight(self, mission_id: str, task: asyncio.Task[None]) -> None:
        if self._flights.get(mission_id) is task:
            del self._flights[mission_id]

    async def _stop_flight(self, mission_id: str) -> None:
        task = self._flights.get(mission_id)
        if task is None or task is asyncio.current_task():
            return
        task.cancel()
        await asyncio.wait([task])

    async def _fly(
        self, mission_id: str, launch: bool, outcome: asyncio.Future[None] | None
    ) -> None:
        if launch:
            try:
                await self._launch(mission_id)
            except (PreflightError, LaunchError) as error:
                vehicle_id = self.mission(mission_id).vehicle_id
                if vehicle_id is not None:
                    self._held_back[vehicle_id] = f"its last launch failed: {error}"
                if outcome is not None:
                    outcome.set_exception(error)
                    return
                relief = await self._hand_off(mission_id, f"not launched: {error}")
                handed = f"work handed to mission {relief}" if relief else "nobody could take over"
                if self.mission(mission_id).state in PRE_FLIGHT:
                    await self._move(mission_id, S.ABORTED, f"not launched: {error}; {handed}")
                if relief is None:
                    await self._reopen_incident(mission_id, f"not launched: {error}; {handed}")
                return
            except asyncio.CancelledError:
                if outcome is not None and not outcome.done():
                    outcome.set_exception(
                        LaunchError(mission_id, "launch", "stopped before the vehicle flew")
                    )
                raise
            if outcome is not None:
                outcome.set_result(None)
        await self._supervise(mission_id)

    async def _launch(self, mission_id: str) -> None:
        mission = self.mission(mission_id)
        vehicle = self._vehicle(mission.vehicle_id)
        plan = self._plans[mission_id]
        airborne = not plan.starts_with_takeoff
        try:
            passed = await preflight_checks(
                vehicle,
                plan,
                settings=self._settings,
                profile=self._profile_for(vehicle.vehicle_id),
                airborne=airborne,
                read_failsafes=functools.partial(
                    self._command,
                    "controller",
                    mission_id,
                    "failsafe_settings",
                    vehicle.failsafe_settings,
                ),
            )
        except PreflightError as error:
            await self._audit("controller", "preflight", mission_id, "failed", str(error))
            raise
        self._held_back.pop(vehicle.vehicle_id, None)
        await self._move(mission_id, S.UPLOADING, f"pre-flight checks passed ({passed})")
        try:
            await self._step(mission_id, "upload", vehicle.upload_plan, plan)
            readback = await self._step(mission_id, "verify", vehicle.download_plan)
            if not plan.matches(readback):
                raise LaunchError(mission_id, "verify", "mission or fence read back differs")
            if airborne:
                await self._step(mission_id, "set_mode AUTO", vehicle.set_mode, "AUTO")
                await self._step(mission_id, "start_mission", vehicle.start_mission)
                await self._move(mission_id, S.EN_ROUTE, "re-tasked in flight, plan in AUTO")
                return
            await self._move(mission_id, S.LAUNCHING, "plan and fence uploaded and verified")
            await self._step(mission_id, "set_mode GUIDED", vehicle.set_mode, "GUIDED")
            await self._step(mission_id, "arm", vehicle.arm)
            await self._step(mission_id, "takeoff", vehicle.takeoff, plan.items[0].alt_rel_m)
            await self._step(mission_id, "wheels-up", self._wheels_up, vehicle)
            await self._step(mission_id, "set_mode AUTO", vehicle.set_mode, "AUTO")
            await self._step(mission_id, "start_mission", vehicle.start_mission)
        except LaunchError as error:
            await self._launch_failed(mission_id, error)
            raise
        await self._move(mission_id, S.EN_ROUTE, "airborne, flying the plan in AUTO")

    async def _launch_failed(self, mission_id: str, error: LaunchError) -> None:
        cause = f"launch failed: {error.step}: {error.reason}"
        cause += await self._make_safe("controller", mission_id)
        await self._move(mission_id, S.FAILED, cause)

    async def _make_safe(self, actor: str, mission_id: str) -> str:
        """An armed vehicle returns (RTL) above wheels-up and lands in place below it."""
        state = self._vehicle_state(self.mission(mission_id).vehicle_id)
        if state is None or not state.armed:
            return ""
        vehicle = self._vehicle(self.mission(mission_id).vehicle_id)
        high = (state.alt_rel_m or 0.0) > self._settings.wheels_up_alt_m
        name, command = ("rtl", vehicle.rtl) if high else ("land", vehicle.land)
        try:
            await self._command(actor, mission_id, name, command)
        except VehicleCommandError as error:
            return f"; {name.upper()} refused ({error.reason})"
        return f"; {name.upper()} commanded"

    async def _wheels_up(self, vehicle: VehicleLink) -> None:
        while (vehicle.state.alt_rel_m or 0.0) < self._settings.wheels_up_alt_m:
            await self._clock.sleep(0.05)

    async def _step(
        self, mission_id: str, step: str, fn: Callable[..., Awaitable[T]], *args: Any
    ) -> T:
        timeout = (
            self._settings.upload_timeout_s
            if step in ("upload", "verify")
            else self._settings.step_timeout_s
        )
        mission = self.mission(mission_id)
        try:
            async with asyncio.timeout(timeout / self._clock.speedup):
                return await self._command("controller", mission_id, step, fn, *args)
        except TimeoutError:
            await self._audit(
                "controller",
                step,
                mission_id,
                "timeout",
                f"{timeout:g} s",
                vehicle_id=mission.vehicle_id,
            )
            raise LaunchTimeoutError(mission_id, step, timeout) from None
        except VehicleCommandError as error:
            raise LaunchError(mission_id, step, error.reason) from error

    def _default_fence(self) -> FenceSpec:
        return FenceSpec(
            radius_m=self._settings.fence_radius_m, alt_max_m=self._settings.fence_alt_max_m
        )

    # ----------------------------------------------------------------- supervision

    async def _supervise(self, mission_id: str) -> None:
        """Watch one mission's vehicle until the mission ends."""
        while self.mission(mission_id).state not in TERMINAL:
            async with self._guard(mission_id):
                if self.mission(mission_id).state not in TERMINAL:
                    await self._observe(self.mission(mission_id))
            await self._clock.sleep(self._settings.poll_s)

    async def _observe(self, mission: MissionRecord) -> None:
        mid = mission.mission_id
        state = self._vehicle_state(mission.vehicle_id)
        now = self._clock.monotonic()
        if state is None or not state.link.connected:
            since = self._link_lost_since.setdefault(mid, now)
            if since == now:
                wait = self._settings.link_loss_timeout_s
                await self._audit("supervisor", "link_lost", mid, "marked", f"waiting {wait:g} s")
                await self._publish(mission, f"link lost; waiting {wait:g} s before handing off")
            elif now - since > self._settings.link_loss_timeout_s:
                relief = await self._hand_off(mid, "link lost")
                await self._move(
                    mid,
                    S.FAILED,
                    f"link lost for {now - since:.0f} s; "
                    + (f"work handed to mission {relief}" if relief else "nobody could take over")
                    + "; the vehicle's own failsafe brings it home",
                )
                self._link_lost_since.pop(mid, None)
                if relief is None:
                    await self._reopen_incident(mid, "link lost; nobody could take over")
            return
        if self._link_lost_since.pop(mid, None) is not None:
            await self._audit("supervisor", "link_restored", mid, "ok", f"mode {state.mode}")
            await self._publish(mission, f"link restored (mode {state.mode})")
        plan = self._plans[mid]
        if state.mission_seq is not None and state.mission_seq != mission.current_item:
            await self._store.update_progress(
                mid,
                current_item=state.mission_seq,
                item_count=len(plan.items),
                at=self._clock.now(),
            )
            self._missions[mid] = mission = self._replace(mission, current_item=state.mission_seq)
            await self._publish(mission, "progress")
        if mission.state in _FLYING:
            await self._observe_flying(mission, plan, state)
        elif mission.state is S.RETURNING and not state.armed and (state.alt_rel_m or 0.0) < 1.0:
            await self._move(mid, S.LANDED, "landed and disarmed")
            await self._move(mid, S.COMPLETED, "flight ended")

    async def _observe_flying(
        self, mission: MissionRecord, plan: FlightPlan, state: VehicleState
    ) -> None:
        mid = mission.mission_id
        current = mission.current_item or 0
        rtl_item = current < len(plan.items) and plan.items[current].kind is PlanItemKind.RTL
        if state.mode == "AUTO" and rtl_item:  # ArduCopter flies the plan's RTL item in AUTO
            await self._move(mid, S.RETURNING, "plan finished, returning")
            return
        if state.mode in _RETURN_MODES and rtl_item:  # ArduPlane switches to RTL at that item
            await self._move(mid, S.RETURNING, "plan finished, returning")
            return
        if state.mode != "AUTO":
            last_text = state.status_texts[-1].text if state.status_texts else "no message"
            plan_rtl = any(
                i.kind is PlanItemKind.RTL for i in plan.items[(mission.current_item or 0) :]
            )
            if state.mode in _RETURN_MODES and plan_rtl and plan.orbit_index is None:
                await self._move(mid, S.RETURNING, "plan finished, returning")
                return
            relief = await self._hand_off(mid, f"vehicle switched to {state.mode}")
            handed = f"work handed to mission {relief}" if relief else "nobody could take over"
            if state.mode in _RETURN_MODES:
                cause = f"vehicle failsafe: {state.mode} ({last_text}); {handed}"
                await self._move(mid, S.RETURNING, cause)
            else:
                cause = f"vehicle left its mission (mode {state.mode}); {handed}"
                await self._move(mid, S.FAILED, cause)
            if relief is None:
                await self._reopen_incident(mid, f"{mission.vehicle_id}: {cause}")
            return
        orbit = plan.orbit_index
        if mission.state is S.EN_ROUTE and orbit is not None:
            center = plan.items[orbit]
            distance = float(
                great_circle_m(
                    state.lat_deg or 0.0, state.lon_deg or 0.0, center.lat_deg, center.lon_deg
                )
            )
            near = distance <= center.radius_m + self._settings.on_station_margin_m
            if near and abs((state.alt_rel_m or 0.0) - center.alt_rel_m) < 5.0:
                await self._move(mid, S.ON_STATION, f"orbiting {center.radius_m:g} m around target")
        if mission.state is S.ON_STATION:
            await self._watch_relief(mission, state)

    async def _watch_relief(self, mission: MissionRecord, state: VehicleState) -> None:
        mid = mission.mission_id
        relief_id = self._relief.get(mid)
        if relief_id is None:
            battery = state.battery_pct
            if battery is not None and battery <= self._settings.handoff_battery_pct:
                await self._hand_off(mid, f"battery {battery:.0f}%")
            return
        relief = self.mission(relief_id)
        if relief.state is S.ON_STATION:
            vehicle = self._vehicle(mission.vehicle_id)
            await self._command("supervisor", mid, "rtl", vehicle.rtl)
            await self._move(mid, S.RETURNING, f"relieved by mission {relief_id}, now on station")
        elif relief.state in TERMINAL:
            del self._relief[mid]

    # ----------------------------------------------------------------- plumbing

    async def _move(self, mission_id: str, new: MissionState, cause: str) -> None:
        """Check, persist and publish one transition."""
        lock = self._locks.setdefault(mission_id, asyncio.Lock())
        async with lock:
            current = self.mission(mission_id)
            check_transition(mission_id, current.state, new)
            record = await self._store.transition(
                mission_id, expected=current.state, new=new, cause=cause, at=self._clock.now()
            )
            self._missions[mission_id] = self._replace(record, current_item=current.current_item)
            log.info("mission %s: %s → %s (%s)", mission_id, current.state, new, cause)
            await self._publish(self._missions[mission_id], cause)
        if record.incident_id is not None:
            await self._incidents.sync(record.incident_id)

    # ----------------------------------------------------------------- incidents

    async def observe_incident(self, incident: Incident) -> Incident | None:
        """Take in an incident someone published; correct it when a mission flies it.

        Another publisher (fusion linking a track, a console) may re-publish an incident
        with its own idea of the status and drone. Its content is kept; when the missions
        of this controller disagree with its status or drone, the corrected incident is
        stored, published and returned. ``None`` when there was nothing to correct.
        """
        return await self._incidents.observe(incident)

    async def _reopen_incident(self, mission_id: str, cause: str) -> None:
        incident_id = self.mission(mission_id).incident_id
        if incident_id is not None:
            await self._incidents.sync(incident_id, unserved_because=cause)

    # ----------------------------------------------------------------- plumbing

    async def _command(
        self, actor: str, mission_id: str, action: str, fn: Callable[..., Awaitable[T]], *args: Any
    ) -> T:
        mission = self.mission(mission_id)
        try:
            result = await fn(*args)
        except VehicleCommandError as error:
            await self._audit(
                actor, action, mission_id, "refused", error.reason, vehicle_id=mission.vehicle_id
            )
            raise
        except TimeoutError:
            await self._audit(
                actor, action, mission_id, "timeout", "", vehicle_id=mission.vehicle_id
            )
            raise
        await self._audit(
            actor,
            action,
            mission_id,
            "ok",
            "",
            vehicle_id=mission.vehicle_id,
            arguments={"args": [a for a in args if isinstance(a, (str, int, float))]},
        )
        return result

    async def _audit(
        self,
        actor: str,
        action: str,
        mission_id: str | None,
        result: str,
        detail: str = "",
        *,
        vehicle_id: str | None = None,
        arguments: Mapping[str, Any] | None = None,
    ) -> None:
        if vehicle_id is None and mission_id is not None and mission_id in self._missions:
            vehicle_id = self._missions[mission_id].vehicle_id
        await self._store.audit(
            AuditEntry(
                at=self._clock.now(),
                actor=actor,
                action=action,
                result=result,
                vehicle_id=vehicle_id,
                mission_id=mission_id,
                detail=detail,
                arguments=dict(arguments or {}),
            )
        )

    async def _publish(self, mission: MissionRecord, cause: str) -> None:
        if self._publisher is not None:
            await self._publisher.publish(
                topics.mission(mission.mission_id),
                mission_status(mission, self._clock.now(), cause),
            )

    @staticmethod
    def _replace(record: MissionRecord, *, current_item: int | None) -> MissionRecord:
        return dataclasses.replace(record, current_item=current_item)

    def _vehicle(self, vehicle_id: str | None) -> VehicleLink:
        if vehicle_id is None:
            raise UnknownVehicleError("(none)")
        try:
            return self._fleet.vehicle(vehicle_id)
        except KeyError:
            raise UnknownVehicleError(vehicle_id) from None

    def _vehicle_state(self, vehicle_id: str | None) -> VehicleState | None:
        try:
            return self._vehicle(vehicle_id).state
        except UnknownVehicleError:
            return None
