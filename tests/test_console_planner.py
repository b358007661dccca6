"""The planners' mission items as the controller's FlightPlan, and that plan flown in the
simulator over real MAVLink: the vehicle holds the planner's items, flies its sweeps with the
camera straight down, and comes home."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from missions.controller import FlightPlan, InvalidPlanError, MissionType, PlanItemKind
from missions.controller.demo import DEMO_PROFILE
from missions.controller.fleet_link import FleetLinks
from missions.controller.plans import FlightPlanner, flight_plan, operating_areas
from missions.geo import Base, OperatingArea
from missions.planning import (
    PROFILES,
    TARGETS,
    CoverageOptions,
    MissionBuilder,
    MissionItem,
    plan_coverage,
)
from missions.planning.overwatch import Hotspot, plan_priority_patrol
from missions.planning.patterns import plan_containment, plan_orbit, plan_route_patrol
from skyeye.contracts import MissionState
from tests.test_controller_sim import BASE, flying

M = mavlink
S = MissionState
AREA = OperatingArea(Base.at("utrecht", *BASE))
QUAD = PROFILES["quad"]
KIND_OF = {
    M.MAV_CMD_NAV_TAKEOFF: PlanItemKind.TAKEOFF,
    M.MAV_CMD_NAV_WAYPOINT: PlanItemKind.WAYPOINT,
    M.MAV_CMD_DO_CHANGE_SPEED: PlanItemKind.SPEED,
    M.MAV_CMD_DO_SET_ROI_LOCATION: PlanItemKind.ROI,
    M.MAV_CMD_DO_SET_ROI_NONE: PlanItemKind.ROI,
    M.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW: PlanItemKind.GIMBAL,
    M.MAV_CMD_NAV_LOITER_TURNS: PlanItemKind.ORBIT,
    M.MAV_CMD_NAV_RETURN_TO_LAUNCH: PlanItemKind.RTL,
}


def local(north_m: float, east_m: float) -> tuple[float, float]:
    lat, lon = AREA.frame.to_geo(east_m, north_m)
    return float(lat), float(lon)


def rectangle(
    north_m: float, east_m: float, height_m: float, width_m: float
) -> list[tuple[float, float]]:
    return [
        local(north_m, east_m),
        local(north_m, east_m + width_m),
        local(north_m + height_m, east_m + width_m),
        local(north_m + height_m, east_m),
    ]


def assert_item_for_item(items: Sequence[MissionItem], plan: FlightPlan) -> None:
    assert len(plan.items) == len(items)
    for source, item in zip(items, plan.items, strict=True):
        assert item.kind is KIND_OF[source.command], source.command_name
        if source.command == M.MAV_CMD_DO_SET_ROI_NONE:
            assert (item.lat_deg, item.lon_deg) == (0.0, 0.0)
        elif source.has_position:
            assert (item.lat_deg, item.lon_deg) == (source.lat_deg, source.lon_deg)
            if source.is_nav:
                assert item.alt_rel_m == source.z
    for source, item in zip(items, plan.items, strict=True):
        if item.kind is PlanItemKind.SPEED:
            assert item.speed_m_s == source.param2
        if item.kind is PlanItemKind.GIMBAL:
            assert item.pitch_deg == source.param1
        if item.kind is PlanItemKind.ORBIT:
            assert item.radius_m == source.param3


def test_a_coverage_sortie_becomes_the_same_items_with_the_camera_down() -> None:
    plan = plan_coverage(
        AREA,
        rectangle(300, -200, 300, 400),
        profile=QUAD,
        options=CoverageOptions(target=TARGETS["car"]),
    )
    flight = flight_plan(plan.items, fence=None)
    assert_item_for_item(plan.items, flight)
    kinds = [item.kind for item in flight.items]
    assert kinds[:2] == [PlanItemKind.TAKEOFF, PlanItemKind.SPEED]
    assert kinds[-1] is PlanItemKind.RTL
    assert PlanItemKind.GIMBAL in kinds
    first_sweep = kinds.index(PlanItemKind.GIMBAL)
    assert flight.items[first_sweep].pitch_deg == -90.0


def test_a_route_patrol_keeps_its_camera_on_the_road_and_lets_go_after() -> None:
    plan = plan_route_patrol(
        AREA, [local(500, -500), local(800, 0), local(600, 700)], profile=QUAD, agl_m=70
    )
    flight = flight_plan(plan.items, fence=None)
    assert_item_for_item(plan.items, flight)
    rois = [item for item in flight.items if item.kind is PlanItemKind.ROI]
    assert len(rois) > 3
    assert (rois[-1].lat_deg, rois[-1].lon_deg) == (0.0, 0.0)  # ROI_NONE before going home
    assert all(r.lat_deg != 0.0 for r in rois[:-1])


def test_an_orbit_until_told_is_the_controllers_orbit() -> None:
    plan = plan_orbit(AREA, *local(1000, 200), profile=QUAD, radius_m=90, agl_m=60)
    flight = flight_plan(plan.items, fence=None)
    assert_item_for_item(plan.items, flight)
    assert flight.orbit_index is not None
    orbit = flight.items[flight.orbit_index]
    assert orbit.radius_m == 90.0
    roi = [i for i in flight.items[: flight.orbit_index] if i.kind is PlanItemKind.ROI][-1]
    assert (roi.lat_deg, roi.lon_deg) == (orbit.lat_deg, orbit.lon_deg)  # gimbal on the centre


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (
            lambda: plan_orbit(AREA, *local(1000, 0), profile=QUAD, time_s=300).items,
            "NAV_LOITER_TURNS",
        ),
        (
            lambda: (
                plan_priority_patrol(
                    AREA,
                    [
                        Hotspot(
                            name="a", lat_deg=local(800, 0)[0], lon_deg=local(800, 0)[1], weight=2
                        ),
                        Hotspot(
                            name="b", lat_deg=local(0, 900)[0], lon_deg=local(0, 900)[1], weight=1
                        ),
                    ],
                    profile=QUAD,
                ).plan.items
            ),
            "NAV_LOITER_TURNS",
        ),
        (
            lambda: (
                plan_containment(
                    AREA, *local(1500, 0), drones=[("d1", QUAD, (0.0, 0.0))], ring_m=300
                )[0][0].plan.items
            ),
            "NAV_LOITER_UNLIM",
        ),
        (lambda: MissionBuilder().takeoff(50).jump(0, 2).build(), "DO_JUMP"),
        (lambda: MissionBuilder().takeoff(50).land(*local(10, 10)).build(), "NAV_LAND"),
        (
            lambda: MissionBuilder().takeoff(50).waypoint(*local(10, 10), 50, hold_s=5).build(),
            "NAV_WAYPOINT",
        ),
        (lambda: MissionBuilder().gimbal(-45.0, 30.0).build(), "DO_GIMBAL_MANAGER_PITCHYAW"),
    ],
)
def test_what_the_controller_cannot_fly_is_refused_by_name(
    make: Callable[[], Sequence[MissionItem]], named: str
) -> None:
    items = make()
    with pytest.raises(InvalidPlanError, match=f"MAV_CMD_{named}"):
        flight_plan(items, fence=None)


@pytest.mark.slow
async def test_a_coverage_plan_is_held_by_the_vehicle_and_flown_in_the_simulator(
    tmp_path: Path,
) -> None:
    areas = operating_areas(
        [{"name": "utrecht", "lat_deg": BASE[0], "lon_deg": BASE[1], "radius_m": 50_000}]
    )
    async with flying(tmp_path, "d1") as f, f.controller() as ctl:
        planner = FlightPlanner(
            areas=areas, fleet=FleetLinks(f.fleet), profile_for=lambda _: DEMO_PROFILE
        )
        points = rectangle(250, -120, 160, 240)
        proposal = await planner.propose(
            "coverage-car", vehicle_id="d1", geometry_type="area", points=points, alt_rel_m=60
        )
        assert proposal.feasible, proposal.reasons
        plan = await planner.plan("coverage-car", vehicle_id="d1", points=points, alt_rel_m=60)
        mission = await ctl.create_mission(
            MissionType.PATROL, proposal.plan, vehicle_id="d1", actor="pilot:anna"
        )
        await ctl.approve(mission.mission_id, actor="pilot:anna")
        await ctl.launch(mission.mission_id, actor="pilot:anna")
        held = await f.fleet.vehicle("d1").download_mission()
        assert held[0].command == M.MAV_CMD_NAV_WAYPOINT  # home
        assert [(i.command, i.x, i.y) for i in held[1:]] == [
            (i.command, i.x, i.y) for i in plan.items
        ]
        assert all(
            math.isclose(a.z, b.z, abs_tol=1e-3) for a, b in zip(held[1:], plan.items, strict=True)
        )
        imaging: list[tuple[float, float]] = []
        sim_vehicle = f.sim.vehicle("d1")
        async with asyncio.timeout(120):  # wall seconds, at 20× speed-up
            while ctl.mission(mission.mission_id).state is not S.COMPLETED:
                state = f.fleet.vehicle("d1").state
                if sim_vehicle.gimbal_pitch_deg < -89.0 and state.lat_deg is not None:
                    east, north = AREA.frame.to_local(state.lat_deg, state.lon_deg)
                    imaging.append((float(east), float(north)))
                await f.sim.clock.sleep(0.5)
        history = [t.to_state for t in await f.store.transitions(mission.mission_id)]
    assert history[-3:] == [S.RETURNING, S.LANDED, S.COMPLETED]
    track = np.asarray(imaging, dtype=np.float64)
    assert len(track) > 20
    for (ax, ay), (bx, by) in plan.sweeps_m:
        middle = np.array([(ax + bx) / 2, (ay + by) / 2])
        assert np.min(np.hypot(*(track - middle).T)) < 10.0, "a sweep was not flown looking down"
