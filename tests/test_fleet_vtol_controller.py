"""A VTOL flown by the controller: controller → fleet (MAVLink over TCP) → the simulator's
QuadPlane at a 20× speed-up. A dispatch takes off vertically in GUIDED, flies the plan in AUTO
on the wing, orbits the incident, and an abort brings it home (RTL on the wing, QRTL, a
vertical landing); a plan ending in RTL is flown to completion."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pymavlink.dialects.v20 import ardupilotmega as mavlink

import fleet
from missions.controller import (
    Controller,
    ControllerSettings,
    FenceSpec,
    FlightPlan,
    MissionType,
    PlanItem,
    PlanItemKind,
)
from missions.controller.fleet_link import FleetLinks
from missions.dispatch import VehicleProfile
from missions.store import MissionStore
from sim import Simulator
from sim.quadplane import PlaneMode, QuadPlaneVehicle
from sim.scenario import parse_scenario
from skyeye.clock import WallClock
from skyeye.contracts import Incident, MissionState, Priority

S = MissionState
BASE = (52.0907, 5.1214)
M_PER_DEG_LAT = 111_195.0
VTOL = VehicleProfile(
    name="vtol_fixed_wing",
    cruise_speed_m_s=25.0,
    climb_rate_m_s=2.5,
    descent_rate_m_s=2.5,
    battery_use_pct_per_s=100.0 / (120 * 60),
)
SETTINGS = ControllerSettings(step_timeout_s=200.0, upload_timeout_s=400.0, on_station_s=300.0)
PARAMS = {
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
    sim: Simulator
    link: fleet.Fleet
    store: MissionStore
    plane: QuadPlaneVehicle

    def controller(self) -> Controller:
        return Controller(
            store=self.store,
            fleet=FleetLinks(self.link),
            clock=self.sim.clock,
            profiles=lambda _: VTOL,
            settings=SETTINGS,
        )


@asynccontextmanager
async def flying(tmp_path: Path) -> AsyncIterator[Flight]:
    scenario = parse_scenario(
        {
            "seed": 4,
            "bases": [{"id": "base", "lat_deg": BASE[0], "lon_deg": BASE[1]}],
            "vehicles": [
                {
                    "id": "vtol-1",
                    "base": "base",
                    "profile": "vtol_fixed_wing",
                    "params": {"Q_RTL_MODE": 1, "BATT_FS_LOW_ACT": 1, "BATT_FS_CRT_ACT": 2},
                }
            ],
            "params": PARAMS,
            "wind": {"speed_m_s": 4.0, "direction_deg": 240, "gust_m_s": 1.0},
        }
    )
    async with AsyncExitStack() as stack:
        sim = await stack.enter_async_context(Simulator(scenario, speedup=20.0, tcp_base_port=0))
        link = await stack.enter_async_context(
            fleet.Fleet(clock=WallClock(), settings=fleet.FleetSettings(vehicle_ids={1: "vtol-1"}))
        )
        await link.connect(f"tcp:127.0.0.1:{sim.tcp_port('vtol-1')}")
        await link.wait_vehicle(1, timeout_s=20)
        store = await stack.enter_async_context(
            MissionStore(f"sqlite+aiosqlite:///{tmp_path / 'missions.db'}")
        )
        plane = sim.vehicle("vtol-1")
        assert isinstance(plane, QuadPlaneVehicle)
        yield Flight(sim, link, store, plane)


def _north(north_m: float) -> tuple[float, float]:
    return BASE[0] + north_m / M_PER_DEG_LAT, BASE[1]


async def test_vtol_dispatch_orbits_the_incident_on_the_wing_and_comes_home_vertically(
    tmp_path: Path,
) -> None:
    lat, lon = _north(4000.0)
    target = Incident(
        incident_id="vtol-4km",
        time=datetime.now(UTC),
        category="robbery",
        priority=Priority.HIGH,
        lat_deg=lat,
        lon_deg=lon,
    )
    async with flying(tmp_path) as f, f.controller() as ctl:
        vtol_states: list[int] = []

        def watch() -> bool:
            if not vtol_states or vtol_states[-1] != f.plane.vtol_state:
                vtol_states.append(f.plane.vtol_state)
            return False

        (decision,) = await ctl.dispatch([target], actor="dispatcher:ops")
        assert decision.vehicle_id == "vtol-1"
        mission = ctl.mission_for_incident("vtol-4km")
        assert mission is not None
        await f.sim.run_until(lambda: watch() or f.plane.armed, timeout_s=120)
        await f.sim.run_until(lambda: watch() or f.plane.alt_rel_m > 5.0, timeout_s=60)
        took_off_hovering = f.plane.vtol_state == mavlink.MAV_VTOL_STATE_MC
        await ctl.wait_for(mission.mission_id, [S.ON_STATION], timeout_s=600)
        state = f.link.vehicle("vtol-1").state
        await f.sim.run_until(watch, timeout_s=30)  # circling the incident
        assert state.mode == "AUTO"
        east, north = f.plane.frame.to_local(lat, lon)
        orbit_m = math.hypot(f.plane.air.east_m - east, f.plane.air.north_m - north)
        aborted = await ctl.abort(mission.mission_id, actor="pilot:anna")
        assert aborted.state is S.ABORTED
        modes: list[str] = []

        def home() -> bool:
            watch()
            mode = f.link.vehicle("vtol-1").state.mode
            if not modes or modes[-1] != mode:
                modes.append(mode)
            return not f.plane.armed

        assert await f.sim.run_until(home, timeout_s=900)
        history = await f.store.transitions(mission.mission_id)
    assert took_off_hovering
    assert [t.to_state for t in history] == [
        S.DRAFT,
        S.PLANNED,
        S.UPLOADING,
        S.LAUNCHING,
        S.EN_ROUTE,
        S.ON_STATION,
        S.ABORTED,
    ]
    assert f.plane.vtol_state == mavlink.MAV_VTOL_STATE_MC
    assert orbit_m < SETTINGS.orbit_radius_m + SETTINGS.on_station_margin_m
    # hovering up, on the wing round the incident (its transition unwatched), back to hover
    assert vtol_states == [
        mavlink.MAV_VTOL_STATE_MC,
        mavlink.MAV_VTOL_STATE_FW,
        mavlink.MAV_VTOL_STATE_TRANSITION_TO_MC,
        mavlink.MAV_VTOL_STATE_MC,
    ]
    assert modes[:2] == ["RTL", "QRTL"]
    assert math.hypot(f.plane.air.east_m, f.plane.air.north_m) < 3.0
    assert f.plane.on_ground


async def test_vtol_plan_ending_in_rtl_is_flown_to_completion(tmp_path: Path) -> None:
    lat, lon = _north(2500.0)
    plan = FlightPlan(
        items=(
            PlanItem(kind=PlanItemKind.TAKEOFF, alt_rel_m=40),
            PlanItem(kind=PlanItemKind.WAYPOINT, lat_deg=lat, lon_deg=lon, alt_rel_m=70),
            PlanItem(kind=PlanItemKind.RTL),
        ),
        fence=FenceSpec(radius_m=5000, alt_max_m=120),
    )
    async with flying(tmp_path) as f, f.controller() as ctl:
        mission = await ctl.create_mission(
            MissionType.PATROL, plan, vehicle_id="vtol-1", actor="pilot:anna"
        )
        await ctl.approve(mission.mission_id, actor="sergeant:bo")
        await ctl.launch(mission.mission_id, actor="pilot:anna")
        done = await ctl.wait_for(mission.mission_id, [S.COMPLETED, S.FAILED], timeout_s=900)
        history = await f.store.transitions(mission.mission_id)
    assert done.state is S.COMPLETED
    assert [t.to_state for t in history][-4:] == [S.EN_ROUTE, S.RETURNING, S.LANDED, S.COMPLETED]
    returning = next(t for t in history if t.to_state is S.RETURNING)
    assert returning.cause == "plan finished, returning"
    assert f.plane.mode is PlaneMode.QRTL
    assert math.hypot(f.plane.air.east_m, f.plane.air.north_m) < 3.0
