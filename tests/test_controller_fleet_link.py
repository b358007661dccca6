"""The controller's plans as MAVLink mission items (fleet.MissionItem) and back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

import fleet
from missions.controller import ControllerError, FenceSpec, FlightPlan, PlanItem, PlanItemKind
from missions.controller.fleet_link import ORBIT_TURNS, plan_from_items, plan_to_items
from missions.controller.part import controller_part
from skyeye.app import AppContext
from skyeye.bus import Bus, BusSettings
from skyeye.clock import WallClock
from skyeye.config import SkyeyeConfig
from skyeye.contracts import Incident, Priority

PLAN = FlightPlan(
    items=(
        PlanItem(kind=PlanItemKind.TAKEOFF, alt_rel_m=60),
        PlanItem(kind=PlanItemKind.SPEED, speed_m_s=15),
        PlanItem(kind=PlanItemKind.WAYPOINT, lat_deg=52.0123456, lon_deg=5.0654321, alt_rel_m=60),
        PlanItem(kind=PlanItemKind.ROI, lat_deg=52.02, lon_deg=5.07),
        PlanItem(kind=PlanItemKind.ORBIT, lat_deg=52.02, lon_deg=5.07, alt_rel_m=60, radius_m=80),
        PlanItem(kind=PlanItemKind.RTL),
    ),
    fence=FenceSpec(radius_m=5000, alt_max_m=120),
)


def test_items_follow_ardupilot_conventions() -> None:
    items = plan_to_items(PLAN)
    assert [i.command for i in items] == [
        mavlink.MAV_CMD_NAV_WAYPOINT,  # home placeholder, overwritten by the autopilot
        mavlink.MAV_CMD_NAV_TAKEOFF,
        mavlink.MAV_CMD_DO_CHANGE_SPEED,
        mavlink.MAV_CMD_NAV_WAYPOINT,
        mavlink.MAV_CMD_DO_SET_ROI_LOCATION,
        mavlink.MAV_CMD_NAV_LOITER_TURNS,
        mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH,
    ]
    speed, orbit = items[2], items[5]
    assert (speed.param1, speed.param2) == (1.0, 15.0)
    assert (orbit.param1, orbit.param3, orbit.z) == (ORBIT_TURNS, 80.0, 60.0)
    assert (orbit.x, orbit.y) == (520_200_000, 50_700_000)


def test_a_round_trip_through_items_matches_the_plan() -> None:
    back = plan_from_items(plan_to_items(PLAN), PLAN.fence)
    assert PLAN.matches(back)


def test_an_item_no_plan_contains_is_refused_by_name() -> None:
    foreign = [*plan_to_items(PLAN), fleet.MissionItem(command=mavlink.MAV_CMD_DO_JUMP)]
    with pytest.raises(ValueError, match="MAV_CMD_DO_JUMP"):
        plan_from_items(foreign, None)


async def test_the_controller_part_runs_over_a_fleet_and_serves_the_console(
    tmp_path: Path, mqtt_url: str
) -> None:
    config = SkyeyeConfig.model_validate(
        {"database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"}}
    )
    clock = WallClock()
    async with (
        Bus(BusSettings(url=mqtt_url), clock=clock) as bus,
        fleet.Fleet(clock=clock, settings=fleet.FleetSettings()) as running_fleet,
    ):
        context = AppContext(mode="serve", config=config, clock=clock, bus=bus, bus_url=mqtt_url)
        context.services["fleet"] = running_fleet
        async with controller_part(context) as controller:
            assert context.services["controller"] is controller
            (decision,) = await controller.dispatch(
                [
                    Incident(
                        incident_id="i1",
                        time=datetime.now(UTC),
                        category="test",
                        priority=Priority.HIGH,
                        lat_deg=52.0,
                        lon_deg=5.0,
                    )
                ],
                actor="dispatcher:ops",
            )
    assert decision.vehicle_id is None
    assert decision.reasons == ("no drones known",)


async def test_the_controller_part_needs_the_fleet(tmp_path: Path, mqtt_url: str) -> None:
    clock = WallClock()
    async with Bus(BusSettings(url=mqtt_url), clock=clock) as bus:
        context = AppContext(
            mode="serve", config=SkyeyeConfig(), clock=clock, bus=bus, bus_url=mqtt_url
        )
        with pytest.raises(ControllerError, match="needs the fleet part"):
            async with controller_part(context):
                pass
