"""Full flights: controller → fleet (MAVLink over TCP) → simulated ArduCopter vehicles (sim/).

Simulated time runs at a speed-up; the controller runs on the simulator's clock, the fleet
link on wall time (as the simulator counts its link-level timeouts).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import fleet
from missions.controller import (
    Controller,
    ControllerSettings,
    FenceSpec,
    FlightPlan,
    MissionType,
    PlanItem,
    PlanItemKind,
    PreflightError,
)
from missions.controller.fleet_link import FleetLinks
from missions.dispatch import VehicleProfile
from missions.store import MissionStore
from sim import Simulator
from sim.scenario import parse_scenario
from skyeye.clock import WallClock
from skyeye.contracts import Incident, MissionState, Priority

S = MissionState
BASE = (52.0907, 5.1214)
M_PER_DEG_LAT = 111_195.0
SPEEDUP = 20.0
POLICE_QUAD = VehicleProfile(
    name="police_multirotor",
    cruise_speed_m_s=15.0,
    climb_rate_m_s=5.0,
    descent_rate_m_s=3.0,
    battery_use_pct_per_s=100.0 / (35 * 60),
)
SETTINGS = ControllerSettings(step_timeout_s=200.0, upload_timeout_s=400.0, on_station_s=300.0)
FAILSAFES_ON = {
    "FS_GCS_ENABLE": 1,
    "FS_GCS_TIMEOUT": 5,
    "BATT_FS_LOW_ACT": 2,
    "BATT_FS_CRT_ACT": 1,
    "FENCE_ENABLE": 1,
    "FENCE_RADIUS": 50000,
    "FENCE_ALT_MAX": 120,
}


@dataclass
class Flight:
    sim: Any
    fleet: fleet.Fleet
    store: MissionStore

    def controller(self) -> Controller:
        return Controller(
            store=self.store,
            fleet=FleetLinks(self.fleet),
            clock=self.sim.clock,
            profiles=lambda _: POLICE_QUAD,
            settings=SETTINGS,
        )


@asynccontextmanager
async def flying(
    tmp_path: Path, *vehicle_ids: str, params: dict[str, float] | None = None
) -> AsyncIterator[Flight]:
    scenario = parse_scenario(
        {
            "seed": 1,
            "bases": [{"id": "base", "lat_deg": BASE[0], "lon_deg": BASE[1]}],
            "vehicles": [{"id": v, "base": "base"} for v in vehicle_ids],
            "params": FAILSAFES_ON if params is None else params,
        }
    )
    async with AsyncExitStack() as stack:
        sim = await stack.enter_async_context(Simulator(scenario, speedup=SPEEDUP, tcp_base_port=0))
        names = {sim.vehicle(v).system_id: v for v in vehicle_ids}
        link = await stack.enter_async_context(
            fleet.Fleet(clock=WallClock(), settings=fleet.FleetSettings(vehicle_ids=names))
        )
        for system_id, vehicle_id in names.items():
            await link.connect(f"tcp:127.0.0.1:{sim.tcp_port(vehicle_id)}")
            await link.wait_vehicle(system_id, timeout_s=20)
        store = await stack.enter_async_context(
            MissionStore(f"sqlite+aiosqlite:///{tmp_path / 'missions.db'}")
        )
        yield Flight(sim, link, store)


def incident(incident_id: str, north_m: float) -> Incident:
    return Incident(
        incident_id=incident_id,
        time=datetime.now(UTC),
        category="robbery",
        priority=Priority.HIGH,
        lat_deg=BASE[0] + north_m / M_PER_DEG_LAT,
        lon_deg=BASE[1],
    )


def distance_m(state: Any, target: Incident) -> float:
    north = (state.lat_deg - target.lat_deg) * M_PER_DEG_LAT
    east = (state.lon_deg - target.lon_deg) * M_PER_DEG_LAT * math.cos(math.radians(BASE[0]))
    return math.hypot(north, east)


async def test_dispatch_to_an_incident_3_km_away_in_the_simulator(tmp_path: Path) -> None:
    target = incident("sim-3km", 3000.0)
    async with flying(tmp_path, "drone-1") as f, f.controller() as ctl:
        (decision,) = await ctl.dispatch([target], actor="dispatcher:ops")
        assert decision.vehicle_id == "drone-1"
        mission = ctl.mission_for_incident("sim-3km")
        assert mission is not None
        await ctl.wait_for(mission.mission_id, [S.ON_STATION], timeout_s=400)
        state = f.fleet.vehicle("drone-1").state
        history = await f.store.transitions(mission.mission_id)
    assert state.mode == "AUTO"
    assert state.armed
    assert distance_m(state, target) < SETTINGS.orbit_radius_m + SETTINGS.on_station_margin_m
    assert [t.to_state for t in history] == [
        S.DRAFT,
        S.PLANNED,
        S.UPLOADING,
        S.LAUNCHING,
        S.EN_ROUTE,
        S.ON_STATION,
    ]


async def test_the_simulators_shipped_failsafes_off_are_refused(tmp_path: Path) -> None:
    plan = FlightPlan(
        items=(PlanItem(kind=PlanItemKind.TAKEOFF, alt_rel_m=30), PlanItem(kind=PlanItemKind.RTL)),
        fence=FenceSpec(radius_m=1000, alt_max_m=100),
    )
    async with flying(tmp_path, "drone-1", params={}) as f, f.controller() as ctl:
        mission = await ctl.create_mission(
            MissionType.FIRST_RESPONSE, plan, vehicle_id="drone-1", actor="pilot:anna"
        )
        with pytest.raises(PreflightError, match="failsafes") as raised:
            await ctl.launch(mission.mission_id, actor="pilot:anna")
        assert "ground-station loss failsafe, battery failsafe, geofence off" in str(raised.value)
        assert not f.fleet.vehicle("drone-1").state.armed


async def test_two_simultaneous_incidents_with_three_drones_in_the_simulator(
    tmp_path: Path,
) -> None:
    north, south = incident("north", 1500.0), incident("south", -1200.0)
    async with flying(tmp_path, "drone-1", "drone-2", "drone-3") as f, f.controller() as ctl:
        decisions = await ctl.dispatch([north, south], actor="dispatcher:ops")
        chosen = [d.vehicle_id for d in decisions]
        assert None not in chosen
        assert len(set(chosen)) == 2
        for target in (north, south):
            mission = ctl.mission_for_incident(target.incident_id)
            assert mission is not None
            await ctl.wait_for(mission.mission_id, [S.ON_STATION], timeout_s=300)
        spare = ({"drone-1", "drone-2", "drone-3"} - set(chosen)).pop()
        states = {v: f.fleet.vehicle(v).state for v in ("drone-1", "drone-2", "drone-3")}
    assert not states[spare].armed
    for decision, target in zip(decisions, (north, south), strict=True):
        assert decision.vehicle_id is not None
        assert distance_m(states[decision.vehicle_id], target) < 110


async def test_link_cut_mid_mission_in_the_simulator(tmp_path: Path) -> None:
    target = incident("cut", 800.0)
    async with flying(tmp_path, "drone-1", "drone-2") as f, f.controller() as ctl:
        (decision,) = await ctl.dispatch([target], actor="dispatcher:ops")
        mission = ctl.mission_for_incident("cut")
        assert mission is not None
        assert decision.vehicle_id is not None
        await ctl.wait_for(mission.mission_id, [S.ON_STATION], timeout_s=300)
        f.sim.faults(decision.vehicle_id).cut(4.0)  # wall seconds; shorter than FS_GCS_TIMEOUT
        failed = await ctl.wait_for(mission.mission_id, [S.FAILED], timeout_s=600)
        relief = ctl.mission_for_incident("cut")
        assert relief is not None
        await ctl.wait_for(relief.mission_id, [S.ON_STATION], timeout_s=300)
        history = await f.store.transitions(mission.mission_id)
    assert failed.state is S.FAILED
    assert relief.vehicle_id != decision.vehicle_id
    assert history[-1].cause.startswith("link lost for")
    assert f"work handed to mission {relief.mission_id}" in history[-1].cause


async def test_controller_restarted_mid_mission_in_the_simulator(tmp_path: Path) -> None:
    target = incident("restart", 2000.0)
    async with flying(tmp_path, "drone-1") as f:
        async with f.controller() as first:
            await first.dispatch([target], actor="dispatcher:ops")
            mission = first.mission_for_incident("restart")
            assert mission is not None
            await first.wait_for(mission.mission_id, [S.EN_ROUTE], timeout_s=120)
        entries_before = len(await f.store.audit_log())
        assert f.fleet.vehicle("drone-1").state.mode == "AUTO"
        async with f.controller() as second:
            await second.wait_for(mission.mission_id, [S.ON_STATION], timeout_s=400)
        after = (await f.store.audit_log())[entries_before:]
        history = await f.store.transitions(mission.mission_id)
    assert [(e.actor, e.action) for e in after] == [("controller", "reattach")]
    assert [t.to_state for t in history].count(S.LAUNCHING) == 1
    assert history[-1].to_state is S.ON_STATION


async def test_pilot_abort_in_the_simulator(tmp_path: Path) -> None:
    lat, lon = BASE[0] + 2000.0 / M_PER_DEG_LAT, BASE[1]
    plan = FlightPlan(
        items=(
            PlanItem(kind=PlanItemKind.TAKEOFF, alt_rel_m=40),
            PlanItem(kind=PlanItemKind.WAYPOINT, lat_deg=lat, lon_deg=lon, alt_rel_m=40),
            PlanItem(kind=PlanItemKind.RTL),
        ),
        fence=FenceSpec(radius_m=5000, alt_max_m=120),
    )
    async with flying(tmp_path, "drone-1") as f, f.controller() as ctl:
        mission = await ctl.create_mission(
            MissionType.PATROL, plan, vehicle_id="drone-1", actor="pilot:anna"
        )
        await ctl.approve(mission.mission_id, actor="sergeant:bo")
        await ctl.launch(mission.mission_id, actor="pilot:anna")
        await f.sim.clock.sleep(20.0)
        aborted = await ctl.abort(mission.mission_id, actor="pilot:anna")
        state = f.fleet.vehicle("drone-1").state
        history = await f.store.transitions(mission.mission_id)
    assert aborted.state is S.ABORTED
    assert state.mode == "RTL"
    assert history[-1].cause == "aborted by pilot:anna; RTL commanded"


async def test_battery_handoff_during_overwatch_in_the_simulator(tmp_path: Path) -> None:
    target = incident("watch", 1000.0)
    async with flying(tmp_path, "drone-1", "drone-2") as f, f.controller() as ctl:
        (decision,) = await ctl.dispatch([target], actor="dispatcher:ops")
        assert decision.vehicle_id is not None
        first = ctl.mission_for_incident("watch")
        assert first is not None
        await ctl.wait_for(first.mission_id, [S.ON_STATION], timeout_s=300)
        f.sim.vehicle(decision.vehicle_id).drain_battery(0.7)
        await ctl.wait_for(first.mission_id, [S.RETURNING], timeout_s=600)
        first_history = await f.store.transitions(first.mission_id)
        (relief,) = [m for m in ctl.list_missions() if m.mission_type == MissionType.RELIEF]
        relief_id = relief.mission_id
        relief_history = await f.store.transitions(relief_id)
    assert relief.vehicle_id != decision.vehicle_id
    assert first_history[-1].cause == f"relieved by mission {relief_id}, now on station"
    relief_on_station = next(t.at for t in relief_history if t.to_state is S.ON_STATION)
    assert first_history[-1].at >= relief_on_station
