"""Full flights of the controller over in-process loopback vehicles at speed-up.

These run the controller's real launch sequence, supervision and persistence; the vehicles
are :class:`LoopbackVehicle` (point-mass kinematics with ArduCopter's modes and failsafes),
not MAVLink simulator vehicles.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from missions.controller import (
    Controller,
    ControllerSettings,
    FailsafeSettings,
    FenceSpec,
    FlightPlan,
    IncidentFeed,
    InvalidTransitionError,
    LaunchError,
    LaunchTimeoutError,
    LoopbackFleet,
    LoopbackVehicle,
    MissionType,
    PlanItem,
    PlanItemKind,
    PreflightError,
    VehicleBusyError,
)
from missions.dispatch import VehicleProfile
from missions.store import MissionStore
from skyeye import topics
from skyeye.bus import Bus, BusSettings
from skyeye.clock import ScaledClock
from skyeye.contracts import Incident, IncidentStatus, MissionState, MissionStatus, Priority
from tests.test_store import fresh_database

S = MissionState
BASE = (52.0, 5.0)
M_PER_DEG_LAT = 111_195.0
SPEEDUP = 40.0
QUAD = VehicleProfile(
    name="quad",
    cruise_speed_m_s=15.0,
    climb_rate_m_s=5.0,
    descent_rate_m_s=3.0,
    battery_use_pct_per_s=0.04,
    launch_overhead_s=3.0,
)
SETTINGS = ControllerSettings(
    step_timeout_s=120.0,
    upload_timeout_s=120.0,
    on_station_s=300.0,
    link_loss_timeout_s=15.0,
)


def offset(north_m: float, east_m: float = 0.0) -> tuple[float, float]:
    lat = BASE[0] + north_m / M_PER_DEG_LAT
    return lat, BASE[1] + east_m / (M_PER_DEG_LAT * math.cos(math.radians(BASE[0])))


def incident(incident_id: str, north_m: float, priority: Priority = Priority.HIGH) -> Incident:
    lat, lon = offset(north_m)
    return Incident(
        incident_id=incident_id,
        time=datetime.now(UTC),
        category="robbery",
        priority=priority,
        lat_deg=lat,
        lon_deg=lon,
    )


@dataclass
class World:
    clock: ScaledClock
    fleet: LoopbackFleet
    store: MissionStore
    vehicles: dict[str, LoopbackVehicle]

    def controller(self, **extra: object) -> Controller:
        return Controller(
            store=self.store,
            fleet=self.fleet,
            clock=self.clock,
            profiles=lambda _: QUAD,
            settings=SETTINGS,
            **extra,  # type: ignore[arg-type]
        )


@asynccontextmanager
async def world(
    tmp_path: Path,
    *vehicles: tuple[str, float],
    failsafes_off: str = "",
    database: str = "sqlite",
    gcs_timeout_s: float = 5.0,
) -> AsyncIterator[World]:
    clock = ScaledClock(SPEEDUP)
    async with AsyncExitStack() as stack:
        loopbacks = {}
        for index, (vehicle_id, north_m) in enumerate(vehicles):
            lat, lon = offset(north_m)
            off = vehicle_id == failsafes_off
            loopbacks[vehicle_id] = await stack.enter_async_context(
                LoopbackVehicle(
                    vehicle_id,
                    clock=clock,
                    lat_deg=lat,
                    lon_deg=lon,
                    profile=QUAD,
                    system_id=index + 1,
                    gcs_timeout_s=gcs_timeout_s,
                    failsafes=FailsafeSettings(
                        gcs_failsafe_enabled=not off,
                        battery_failsafe_enabled=not off,
                        fence_enabled=not off,
                    ),
                )
            )
        url = await stack.enter_async_context(fresh_database(database, tmp_path))
        store = await stack.enter_async_context(MissionStore(url))
        yield World(clock, LoopbackFleet(list(loopbacks.values())), store, loopbacks)


def distance_m(vehicle: LoopbackVehicle, target: Incident) -> float:
    state = vehicle.state
    assert state.lat_deg is not None
    assert state.lon_deg is not None
    north = (state.lat_deg - target.lat_deg) * M_PER_DEG_LAT
    east = (state.lon_deg - target.lon_deg) * M_PER_DEG_LAT * math.cos(math.radians(BASE[0]))
    return math.hypot(north, east)


async def test_dispatch_to_an_incident_3_km_away_flies_there_and_orbits(tmp_path: Path) -> None:
    target = incident("inc-3km", 3000.0)
    async with world(tmp_path, ("near", 0.0), ("far", -4000.0)) as w, w.controller() as ctl:
        (decision,) = await ctl.dispatch([target], actor="dispatcher:ops")
        assert decision.vehicle_id == "near"
        mission = ctl.active_mission_of("near")
        assert mission is not None
        assert mission.mission_type == MissionType.FIRST_RESPONSE
        await ctl.wait_for(mission.mission_id, [S.ON_STATION], timeout_s=400)
        assert distance_m(w.vehicles["near"], target) < SETTINGS.orbit_radius_m + 25
        assert w.vehicles["near"].state.mode == "AUTO"
        history = await w.store.transitions(mission.mission_id)
        audit = await w.store.audit_log(mission_id=mission.mission_id)
        decisions = await w.store.decisions("inc-3km")
        stored_incident = await w.store.get_incident("inc-3km")
    assert [t.to_state for t in history] == [
        S.DRAFT,
        S.PLANNED,
        S.UPLOADING,
        S.LAUNCHING,
        S.EN_ROUTE,
        S.ON_STATION,
    ]
    assert all(t.cause for t in history)
    commands = [(e.action, e.result) for e in audit if e.actor == "controller"]
    assert [a for a, _ in commands] == [
        "failsafe_settings",
        "upload",
        "verify",
        "set_mode GUIDED",
        "arm",
        "takeoff",
        "wheels-up",
        "set_mode AUTO",
        "start_mission",
    ]
    assert all(result == "ok" for _, result in commands)
    assert decisions[0].vehicle_id == "near"
    assert decisions[0].alternatives[0]["vehicle_id"] == "far"
    assert stored_incident is not None
    assert stored_incident.status is IncidentStatus.ON_SCENE
    assert stored_incident.assigned_vehicle_id == "near"


async def test_two_simultaneous_incidents_with_three_drones(tmp_path: Path) -> None:
    north, south = incident("north", 2000.0), incident("south", -1500.0)
    async with (
        world(tmp_path, ("a", 500.0), ("b", 0.0), ("c", -500.0)) as w,
        w.controller() as ctl,
    ):
        decisions = await ctl.dispatch([north, south], actor="dispatcher:ops")
        assert [d.vehicle_id for d in decisions] == ["a", "c"]
        missions = [ctl.active_mission_of(v) for v in ("a", "c")]
        for mission in missions:
            assert mission is not None
            await ctl.wait_for(mission.mission_id, [S.ON_STATION], timeout_s=300)
        assert ctl.active_mission_of("b") is None
        assert not w.vehicles["b"].state.armed
        assert distance_m(w.vehicles["a"], north) < 110
        assert distance_m(w.vehicles["c"], south) < 110


async def test_battery_handoff_during_overwatch_leaves_no_gap(tmp_path: Path) -> None:
    target = incident("inc", 1500.0)
    async with world(tmp_path, ("first", 1000.0), ("second", -1000.0)) as w, w.controller() as ctl:
        await ctl.dispatch([target], actor="dispatcher:ops")
        first = ctl.active_mission_of("first")
        assert first is not None
        await ctl.wait_for(first.mission_id, [S.ON_STATION], timeout_s=200)
        w.vehicles["first"].set_battery(SETTINGS.handoff_battery_pct - 1)
        relief = None
        while relief is None:
            await w.clock.sleep(1.0)
            relief = ctl.active_mission_of("second")
        assert relief.mission_type == MissionType.RELIEF
        assert relief.incident_id == "inc"
        await ctl.wait_for(relief.mission_id, [S.ON_STATION], timeout_s=300)
        await ctl.wait_for(first.mission_id, [S.COMPLETED], timeout_s=300)
        first_history = await w.store.transitions(first.mission_id)
        relief_history = await w.store.transitions(relief.mission_id)
    relief_on_station = next(t.at for t in relief_history if t.to_state is S.ON_STATION)
    first_leaves = next(t for t in first_history if t.to_state is S.RETURNING)
    assert first_leaves.at >= relief_on_station
    assert f"relieved by mission {relief.mission_id}" in first_leaves.cause
    assert [t.to_state for t in first_history][-3:] == [S.RETURNING, S.LANDED, S.COMPLETED]


async def test_link_cut_mid_mission_marks_waits_and_hands_off(tmp_path: Path) -> None:
    target = incident("inc", 1200.0)
    async with world(tmp_path, ("cut", 800.0), ("spare", -800.0)) as w, w.controller() as ctl:
        await ctl.dispatch([target], actor="dispatcher:ops")
        mission = ctl.active_mission_of("cut")
        assert mission is not None
        await ctl.wait_for(mission.mission_id, [S.ON_STATION], timeout_s=200)
        w.vehicles["cut"].cut_link()
        failed = await ctl.wait_for(mission.mission_id, [S.FAILED], timeout_s=120)
        assert failed.state is S.FAILED
        relief = ctl.active_mission_of("spare")
        assert relief is not None
        await ctl.wait_for(relief.mission_id, [S.ON_STATION], timeout_s=300)
        history = await w.store.transitions(mission.mission_id)
        audit = await w.store.audit_log(mission_id=mission.mission_id)
        # the vehicle's own ground-station failsafe brought it home
        assert w.vehicles["cut"].state.mode == "RTL"
    assert "link lost for" in history[-1].cause
    assert f"work handed to mission {relief.mission_id}" in history[-1].cause
    assert [e.action for e in audit if e.actor == "supervisor"][:1] == ["link_lost"]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_restarted_controller_reattaches_without_relaunching(
    tmp_path: Path, database: str
) -> None:
    target = incident("inc", 2500.0)
    async with world(tmp_path, ("d1", 0.0), database=database) as w:
        async with w.controller() as first:
            await first.dispatch([target], actor="dispatcher:ops")
            mission = first.active_mission_of("d1")
            assert mission is not None
            await first.wait_for(mission.mission_id, [S.EN_ROUTE], timeout_s=60)
        commands_before = list(w.vehicles["d1"].commands)
        assert w.vehicles["d1"].state.armed
        async with w.controller() as second:
            resumed = second.mission(mission.mission_id)
            assert resumed.state in (S.EN_ROUTE, S.ON_STATION)
            await second.wait_for(mission.mission_id, [S.ON_STATION], timeout_s=300)
            await second.rtl(mission.mission_id, actor="pilot:anna")
            await second.wait_for(mission.mission_id, [S.COMPLETED], timeout_s=400)
        history = await w.store.transitions(mission.mission_id)
    assert w.vehicles["d1"].commands == [*commands_before, "set_mode RTL"]
    states = [t.to_state for t in history]
    assert states.count(S.LAUNCHING) == 1
    assert states[-4:] == [S.ON_STATION, S.RETURNING, S.LANDED, S.COMPLETED]


async def test_pilot_abort_of_an_approved_patrol(tmp_path: Path) -> None:
    lat1, lon1 = offset(800.0, 800.0)
    lat2, lon2 = offset(1600.0, 0.0)
    plan = FlightPlan(
        items=(
            PlanItem(kind=PlanItemKind.TAKEOFF, alt_rel_m=50),
            PlanItem(kind=PlanItemKind.WAYPOINT, lat_deg=lat1, lon_deg=lon1, alt_rel_m=50),
            PlanItem(kind=PlanItemKind.WAYPOINT, lat_deg=lat2, lon_deg=lon2, alt_rel_m=50),
            PlanItem(kind=PlanItemKind.RTL),
        ),
        fence=FenceSpec(radius_m=5000, alt_max_m=120),
    )
    async with world(tmp_path, ("p1", 0.0)) as w, w.controller() as ctl:
        mission = await ctl.create_mission(
            MissionType.PATROL, plan, vehicle_id="p1", actor="pilot:anna"
        )
        assert mission.requires_approval
        with pytest.raises(InvalidTransitionError, match="cannot become uploading"):
            await ctl.launch(mission.mission_id, actor="pilot:anna")
        with pytest.raises(VehicleBusyError):
            await ctl.create_mission(MissionType.PATROL, plan, vehicle_id="p1", actor="x")
        await ctl.approve(mission.mission_id, actor="sergeant:bo")
        flying = await ctl.launch(mission.mission_id, actor="pilot:anna")
        assert flying.state is S.EN_ROUTE
        assert w.vehicles["p1"].state.armed
        aborted = await ctl.abort(mission.mission_id, actor="pilot:anna")
        assert aborted.state is S.ABORTED
        with pytest.raises(InvalidTransitionError, match="it is finished"):
            await ctl.approve(mission.mission_id, actor="pilot:anna")
        while w.vehicles["p1"].state.armed:
            await w.clock.sleep(2.0)
        history = await w.store.transitions(mission.mission_id)
        audit = await w.store.audit_log(mission_id=mission.mission_id)
    assert history[-1].cause == "aborted by pilot:anna; RTL commanded"
    assert ("pilot:anna", "rtl", "ok") in [(e.actor, e.action, e.result) for e in audit]
    assert ("sergeant:bo", "approve") in [(e.actor, e.action) for e in audit]


async def test_preflight_refuses_a_vehicle_whose_failsafes_are_off(tmp_path: Path) -> None:
    plan = FlightPlan(
        items=(PlanItem(kind=PlanItemKind.TAKEOFF, alt_rel_m=30), PlanItem(kind=PlanItemKind.RTL)),
        fence=FenceSpec(radius_m=1000, alt_max_m=100),
    )
    async with world(tmp_path, ("unsafe", 0.0), failsafes_off="unsafe") as w, w.controller() as ctl:
        mission = await ctl.create_mission(
            MissionType.FIRST_RESPONSE, plan, vehicle_id="unsafe", actor="pilot:anna"
        )
        with pytest.raises(PreflightError) as raised:
            await ctl.launch(mission.mission_id, actor="pilot:anna")
        assert raised.value.check == "failsafes"
        assert "ground-station loss failsafe, battery failsafe, geofence off" in str(raised.value)
        assert ctl.mission(mission.mission_id).state is S.PLANNED
        assert w.vehicles["unsafe"].commands == ["failsafe_settings"]
        assert not w.vehicles["unsafe"].state.armed


async def test_higher_priority_incident_preempts_a_patrol_and_its_work_is_handed_on(
    tmp_path: Path,
) -> None:
    lat, lon = offset(3000.0)
    patrol_plan = FlightPlan(
        items=(
            PlanItem(kind=PlanItemKind.TAKEOFF, alt_rel_m=60),
            PlanItem(kind=PlanItemKind.GIMBAL, pitch_deg=-90.0),
            PlanItem(kind=PlanItemKind.WAYPOINT, lat_deg=lat, lon_deg=lon, alt_rel_m=60),
            PlanItem(kind=PlanItemKind.RTL),
        ),
        fence=FenceSpec(radius_m=10_000, alt_max_m=120),
    )
    async with (
        world(tmp_path, ("patroller", 0.0), ("reserve", -3000.0)) as w,
        w.controller() as ctl,
    ):
        patrol = await ctl.create_mission(
            MissionType.PATROL,
            patrol_plan,
            vehicle_id="patroller",
            actor="pilot:anna",
            priority=Priority.LOW,
        )
        await ctl.approve(patrol.mission_id, actor="pilot:anna")
        await ctl.launch(patrol.mission_id, actor="pilot:anna")
        await w.clock.sleep(20.0)
        assert (ctl.mission(patrol.mission_id).current_item or 0) > 1  # past the camera item
        (decision,) = await ctl.dispatch([incident("urgent", 600.0)], actor="dispatcher:ops")
        assert decision.vehicle_id == "patroller"
        assert decision.preempted_mission_id == patrol.mission_id
        assert ctl.mission(patrol.mission_id).state is S.ABORTED
        response = ctl.active_mission_of("patroller")
        relief = ctl.active_mission_of("reserve")
        assert response is not None
        assert relief is not None
        assert relief.mission_type == MissionType.RELIEF
        await ctl.wait_for(response.mission_id, [S.ON_STATION], timeout_s=200)
        history = await w.store.transitions(patrol.mission_id)
    assert history[-1].cause == "pre-empted by incident urgent (HIGH)"
    relief_items = ctl.plan(relief.mission_id).items
    assert relief_items[-2].lat_deg == pytest.approx(lat)
    # the relief images as the patrol did: camera straight down before its first waypoint
    kinds = [item.kind for item in relief_items]
    camera = kinds.index(PlanItemKind.GIMBAL)
    assert camera < kinds.index(PlanItemKind.WAYPOINT)
    assert relief_items[camera].pitch_deg == -90.0


async def test_mission_status_is_published_on_the_bus(tmp_path: Path, mqtt_url: str) -> None:
    async with (
        world(tmp_path, ("d1", 0.0)) as w,
        Bus(BusSettings(url=mqtt_url), clock=w.clock) as bus,
        bus.subscribe(topics.mission("+")) as messages,
        w.controller(publisher=bus) as ctl,
    ):
        await ctl.dispatch([incident("inc", 400.0)], actor="dispatcher:ops")
        seen: list[MissionStatus] = []
        async for message in messages:
            seen.append(message.payload)
            if message.payload.state is S.EN_ROUTE:
                break
    assert [s.state for s in seen] == [S.PLANNED, S.UPLOADING, S.LAUNCHING, S.EN_ROUTE]
    assert seen[-1].vehicle_id == "d1"
    assert seen[-1].incident_id == "inc"


async def test_vehicle_failsafe_rtl_en_route_is_followed_and_the_work_handed_on(
    tmp_path: Path,
) -> None:
    target = incident("inc", 2500.0)
    async with world(tmp_path, ("weak", 0.0), ("spare", -1500.0)) as w, w.controller() as ctl:
        await ctl.dispatch([target], actor="dispatcher:ops")
        mission = ctl.active_mission_of("weak")
        assert mission is not None
        await ctl.wait_for(mission.mission_id, [S.EN_ROUTE], timeout_s=60)
        w.vehicles["weak"].set_battery(10.0)  # below the vehicle's own battery failsafe
        returning = await ctl.wait_for(mission.mission_id, [S.RETURNING], timeout_s=60)
        relief = ctl.active_mission_of("spare")
        assert relief is not None
        await ctl.wait_for(mission.mission_id, [S.COMPLETED], timeout_s=600)
        history = await w.store.transitions(mission.mission_id)
    assert returning.state is S.RETURNING
    cause = next(t.cause for t in history if t.to_state is S.RETURNING)
    assert cause.startswith("vehicle failsafe: RTL (Failsafe: battery low, RTL)")
    assert f"work handed to mission {relief.mission_id}" in cause


async def test_a_drone_that_leaves_its_mission_is_noticed(tmp_path: Path) -> None:
    async with world(tmp_path, ("d1", 0.0), ("d2", -500.0)) as w, w.controller() as ctl:
        await ctl.dispatch([incident("inc", 2000.0)], actor="dispatcher:ops")
        mission = ctl.active_mission_of("d1")
        assert mission is not None
        await ctl.wait_for(mission.mission_id, [S.EN_ROUTE], timeout_s=60)
        await w.vehicles["d1"].set_mode("LOITER")  # a pilot on the sticks takes over
        failed = await ctl.wait_for(mission.mission_id, [S.FAILED], timeout_s=60)
        history = await w.store.transitions(mission.mission_id)
        relief = ctl.active_mission_of("d2")
    assert failed.state is S.FAILED
    assert relief is not None
    assert history[-1].cause.startswith("vehicle left its mission (mode LOITER)")


async def test_restart_during_a_launch_fails_the_mission_and_sends_nothing(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, ("d1", 0.0)) as w:
        async with w.controller() as first:
            plan = FlightPlan(
                items=(
                    PlanItem(kind=PlanItemKind.TAKEOFF, alt_rel_m=40),
                    PlanItem(kind=PlanItemKind.RTL),
                ),
                fence=FenceSpec(radius_m=1000, alt_max_m=100),
            )
            mission = await first.create_mission(
                MissionType.FIRST_RESPONSE, plan, vehicle_id="d1", actor="pilot:anna"
            )
        # the previous controller died after moving the mission to uploading
        await w.store.transition(
            mission.mission_id,
            expected=S.PLANNED,
            new=S.UPLOADING,
            cause="pre-flight checks passed",
            at=datetime.now(UTC),
        )
        async with w.controller() as second:
            resumed = second.mission(mission.mission_id)
        assert w.vehicles["d1"].commands == []
        assert not w.vehicles["d1"].state.armed
    assert resumed.state is S.FAILED


async def test_preflight_refuses_a_battery_short_of_the_plan_and_a_lost_link(
    tmp_path: Path,
) -> None:
    lat, lon = offset(20_000.0)
    far_plan = FlightPlan(
        items=(
            PlanItem(kind=PlanItemKind.TAKEOFF, alt_rel_m=60),
            PlanItem(kind=PlanItemKind.WAYPOINT, lat_deg=lat, lon_deg=lon, alt_rel_m=60),
            PlanItem(kind=PlanItemKind.RTL),
        ),
        fence=FenceSpec(radius_m=30_000, alt_max_m=120),
    )
    async with world(tmp_path, ("d1", 0.0), ("d2", 10.0)) as w, w.controller() as ctl:
        w.vehicles["d1"].set_battery(50.0)
        short = await ctl.create_mission(
            MissionType.FIRST_RESPONSE, far_plan, vehicle_id="d1", actor="pilot:anna"
        )
        with pytest.raises(PreflightError, match=r"'battery' failed on d1: 50.0% < \d+%"):
            await ctl.launch(short.mission_id, actor="pilot:anna")
        w.vehicles["d2"].cut_link()
        lost = await ctl.create_mission(
            MissionType.FIRST_RESPONSE, far_plan, vehicle_id="d2", actor="pilot:anna"
        )
        with pytest.raises(PreflightError, match="'link' failed on d2"):
            await ctl.launch(lost.mission_id, actor="pilot:anna")
        audit = await w.store.audit_log()
    assert [e.result for e in audit if e.action == "preflight"] == ["failed", "failed"]
    assert not w.vehicles["d1"].state.armed


async def test_an_incident_nobody_can_reach_is_recorded_unserved(tmp_path: Path) -> None:
    async with world(tmp_path, ("d1", 0.0)) as w, w.controller() as ctl:
        w.vehicles["d1"].set_battery(25.0)
        (decision,) = await ctl.dispatch([incident("far", 30_000.0)], actor="dispatcher:ops")
        stored = await w.store.get_incident("far")
        (record,) = await w.store.decisions("far")
    assert decision.vehicle_id is None
    assert record.vehicle_id is None
    assert record.alternatives[0]["reason"].startswith("battery 25% below")
    assert stored is not None
    assert stored.status is IncidentStatus.OPEN
    assert "none of 1 drones can go" in stored.summary
    assert ctl.list_missions() == []


async def test_a_launch_step_that_times_out_fails_the_mission_and_lands(tmp_path: Path) -> None:
    sluggish = VehicleProfile(
        name="sluggish",
        cruise_speed_m_s=10.0,
        climb_rate_m_s=0.01,
        descent_rate_m_s=3.0,
        battery_use_pct_per_s=0.01,
    )
    clock = ScaledClock(SPEEDUP)
    plan = FlightPlan(
        items=(PlanItem(kind=PlanItemKind.TAKEOFF, alt_rel_m=30), PlanItem(kind=PlanItemKind.RTL)),
        fence=FenceSpec(radius_m=1000, alt_max_m=100),
    )
    async with (
        LoopbackVehicle(
            "slow", clock=clock, lat_deg=BASE[0], lon_deg=BASE[1], profile=sluggish
        ) as vehicle,
        MissionStore(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}") as store,
        Controller(
            store=store,
            fleet=LoopbackFleet([vehicle]),
            clock=clock,
            profiles=lambda _: sluggish,
            settings=ControllerSettings(step_timeout_s=10.0, upload_timeout_s=60.0),
        ) as ctl,
    ):
        mission = await ctl.create_mission(
            MissionType.FIRST_RESPONSE, plan, vehicle_id="slow", actor="pilot:anna"
        )
        with pytest.raises(LaunchTimeoutError, match="failed at 'wheels-up': no result within 10"):
            await ctl.launch(mission.mission_id, actor="pilot:anna")
        failed = ctl.mission(mission.mission_id)
        history = await store.transitions(mission.mission_id)
        while vehicle.state.armed:
            await clock.sleep(1.0)
    assert failed.state is S.FAILED
    assert history[-1].cause == "launch failed: wheels-up: no result within 10 s; LAND commanded"
    assert vehicle.commands[-1] == "set_mode LAND"


async def test_incidents_from_the_bus_are_dispatched_once_and_together(
    tmp_path: Path, mqtt_url: str
) -> None:
    north, south = incident("bus-north", 1500.0), incident("bus-south", -1500.0)
    async with (
        world(tmp_path, ("a", 1000.0), ("b", 0.0), ("c", -1000.0)) as w,
        Bus(BusSettings(url=mqtt_url), clock=w.clock) as bus,
        w.controller(publisher=bus) as ctl,
        bus.subscribe(topics.incident("+")) as echoes,
        IncidentFeed(bus, ctl, clock=w.clock, gather_s=1.0),
    ):
        await bus.publish(topics.incident(north.incident_id), north)
        await bus.publish(topics.incident(south.incident_id), south)
        dispatched: dict[str, str | None] = {}
        async for message in echoes:
            if message.payload.status is IncidentStatus.DISPATCHED:
                dispatched[message.payload.incident_id] = message.payload.assigned_vehicle_id
                if len(dispatched) == 2:
                    break
        # the same alert again (a re-publication) sends nobody else
        await bus.publish(topics.incident(north.incident_id), north)
        north_mission = ctl.mission_for_incident("bus-north")
        assert north_mission is not None
        await ctl.wait_for(north_mission.mission_id, [S.ON_STATION], timeout_s=200)
        decisions = await w.store.decisions("bus-north")
        missions = ctl.list_missions()
    assert dispatched == {"bus-north": "a", "bus-south": "c"}
    assert len(decisions) == 1
    assert sorted(m.incident_id or "" for m in missions) == ["bus-north", "bus-south"]


async def test_a_short_link_outage_is_marked_and_the_mission_carries_on(tmp_path: Path) -> None:
    async with (
        world(tmp_path, ("d1", 0.0), ("d2", -500.0), gcs_timeout_s=60.0) as w,
        w.controller() as ctl,
    ):
        await ctl.dispatch([incident("inc", 600.0)], actor="dispatcher:ops")
        mission = ctl.active_mission_of("d1")
        assert mission is not None
        await ctl.wait_for(mission.mission_id, [S.ON_STATION], timeout_s=200)
        w.vehicles["d1"].cut_link()
        while not [e for e in await w.store.audit_log() if e.action == "link_lost"]:
            await w.clock.sleep(0.5)
        w.vehicles["d1"].restore_link()
        while not [e for e in await w.store.audit_log() if e.action == "link_restored"]:
            await w.clock.sleep(0.5)
        await w.clock.sleep(SETTINGS.link_loss_timeout_s + 2)
        assert ctl.mission(mission.mission_id).state is S.ON_STATION
        assert ctl.active_mission_of("d2") is None
        assert w.vehicles["d1"].state.mode == "AUTO"


async def test_a_relief_under_way_survives_a_controller_restart(tmp_path: Path) -> None:
    target = incident("inc", 1500.0)
    async with world(tmp_path, ("first", 1000.0), ("second", -1500.0)) as w:
        async with w.controller() as before:
            await before.dispatch([target], actor="dispatcher:ops")
            first = before.active_mission_of("first")
            assert first is not None
            await before.wait_for(first.mission_id, [S.ON_STATION], timeout_s=200)
            w.vehicles["first"].set_battery(SETTINGS.handoff_battery_pct - 1)
            relief = None
            while relief is None:
                await w.clock.sleep(0.5)
                relief = before.active_mission_of("second")
            await before.wait_for(relief.mission_id, [S.EN_ROUTE], timeout_s=60)
        async with w.controller() as after:
            assert after.mission(first.mission_id).state is S.ON_STATION
            await after.wait_for(relief.mission_id, [S.ON_STATION], timeout_s=300)
            await after.wait_for(first.mission_id, [S.RETURNING], timeout_s=30)
        history = await w.store.transitions(first.mission_id)
        stored_relief = await w.store.get_mission(relief.mission_id)
    assert stored_relief.relieves_mission_id == first.mission_id
    assert history[-1].cause == f"relieved by mission {relief.mission_id}, now on station"


async def test_a_dispatched_drone_that_fails_preflight_is_replaced_and_held_back(
    tmp_path: Path,
) -> None:
    async with (
        world(tmp_path, ("unsafe", 900.0), ("safe", -900.0), failsafes_off="unsafe") as w,
        w.controller() as ctl,
    ):
        (first,) = await ctl.dispatch([incident("inc", 1000.0)], actor="dispatcher:ops")
        assert first.vehicle_id == "unsafe"
        replacement = None
        while replacement is None:
            await w.clock.sleep(0.5)
            replacement = ctl.active_mission_of("safe")
        assert replacement.incident_id == "inc"
        await ctl.wait_for(replacement.mission_id, [S.ON_STATION], timeout_s=300)
        unsafe_missions = [m for m in ctl.list_missions() if m.vehicle_id == "unsafe"]
        (second,) = await ctl.dispatch([incident("next", 1200.0)], actor="dispatcher:ops")
        history = await w.store.transitions(unsafe_missions[0].mission_id)
    assert [m.state for m in unsafe_missions] == [S.ABORTED]
    assert history[-1].cause.startswith("not launched: pre-flight check 'failsafes' failed")
    assert history[-1].cause.endswith(f"work handed to mission {replacement.mission_id}")
    assert not w.vehicles["unsafe"].state.armed
    assert second.vehicle_id is None
    held = {a.vehicle_id: a.reason for a in second.alternatives}
    assert held["unsafe"].startswith("unavailable: its last launch failed: pre-flight check")


async def test_a_pilot_abort_during_the_launch_lands_the_vehicle(tmp_path: Path) -> None:
    sluggish = VehicleProfile(
        name="sluggish",
        cruise_speed_m_s=10.0,
        climb_rate_m_s=0.05,
        descent_rate_m_s=3.0,
        battery_use_pct_per_s=0.01,
    )
    clock = ScaledClock(SPEEDUP)
    plan = FlightPlan(
        items=(PlanItem(kind=PlanItemKind.TAKEOFF, alt_rel_m=30), PlanItem(kind=PlanItemKind.RTL)),
        fence=FenceSpec(radius_m=1000, alt_max_m=100),
    )
    async with (
        LoopbackVehicle(
            "slow", clock=clock, lat_deg=BASE[0], lon_deg=BASE[1], profile=sluggish
        ) as vehicle,
        MissionStore(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}") as store,
        Controller(
            store=store,
            fleet=LoopbackFleet([vehicle]),
            clock=clock,
            profiles=lambda _: sluggish,
            settings=SETTINGS,
        ) as ctl,
    ):
        mission = await ctl.create_mission(
            MissionType.FIRST_RESPONSE, plan, vehicle_id="slow", actor="pilot:anna"
        )
        launching = asyncio.create_task(ctl.launch(mission.mission_id, actor="pilot:anna"))
        while "takeoff" not in vehicle.commands:
            await clock.sleep(0.2)
        aborted = await ctl.abort(mission.mission_id, actor="pilot:anna")
        with pytest.raises(LaunchError, match="stopped before the vehicle flew"):
            await launching
        history = await store.transitions(mission.mission_id)
        while vehicle.state.armed:
            await clock.sleep(0.5)
    assert aborted.state is S.ABORTED
    assert history[-2].to_state is S.LAUNCHING
    assert history[-1].cause == "aborted by pilot:anna; LAND commanded"
    assert vehicle.commands[-1] == "set_mode LAND"
