"""The demo's standing patrol: a coverage plan from the planners, flown by the controller in
the simulator over real MAVLink, and pre-empted by a HIGH incident."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import Point, box

from missions.controller import MissionType, PlanItemKind
from missions.controller.demo import DEMO_PROFILE, PATROL_HALF_SIDE_M, patrol_plan
from missions.controller.fleet_link import FleetLinks
from missions.controller.plans import FlightPlanner, operating_areas
from missions.geo import OperatingArea
from missions.planning import TARGETS
from sim.part import DEMO_SCENARIO
from sim.scenario import load_scenario
from skyeye.contracts import MissionState, Priority
from tests.test_controller_sim import flying, incident

S = MissionState
CAR_AGL_M = DEMO_PROFILE.camera.agl_for_gsd_m(TARGETS["car"].gsd_m)


def demo_areas() -> tuple[OperatingArea, ...]:
    """A planner over the demo scenario's bases and no-fly zones (as the sim part hands them)."""
    scenario = load_scenario(DEMO_SCENARIO)
    return operating_areas(
        [
            {"name": b.id, "lat_deg": b.lat_deg, "lon_deg": b.lon_deg, "radius_m": b.radius_m}
            for b in scenario.bases
        ],
        [{"name": z.id, "polygon": z.polygon} for z in scenario.no_fly_zones],
    )


def test_the_demo_areas_carry_the_scenarios_bases_and_no_fly_zone() -> None:
    areas = demo_areas()
    assert [a.base.name for a in areas] == ["utrecht", "amersfoort"]
    assert all(not a.no_fly.is_empty for a in areas)
    assert all(a.radius_m == 50_000.0 for a in areas)


@pytest.mark.slow
async def test_the_patrol_covers_the_square_round_the_base_and_yields_to_a_high_incident(
    tmp_path: Path,
) -> None:
    async with flying(tmp_path, "drone-1") as f, f.controller() as ctl:
        planner = FlightPlanner(
            areas=demo_areas(), fleet=FleetLinks(f.fleet), profile_for=lambda _: DEMO_PROFILE
        )
        plan = await patrol_plan(planner, "drone-1")
        area = planner.area_of("drone-1")
        assert area.base.name == "utrecht"
        kinds = [item.kind for item in plan.items]
        assert kinds[0] is PlanItemKind.TAKEOFF
        assert kinds[-1] is PlanItemKind.RTL
        gimbal = [item for item in plan.items if item.kind is PlanItemKind.GIMBAL]
        assert [g.pitch_deg for g in gimbal] == [-90.0]
        sweeps = [item for item in plan.items if item.kind is PlanItemKind.WAYPOINT]
        # the camera's altitude for cars (24 px on 1.8 m), not a hand-picked one
        assert all(w.alt_rel_m == pytest.approx(CAR_AGL_M, abs=0.01) for w in sweeps)
        x, y = area.frame.to_local([w.lat_deg for w in sweeps], [w.lon_deg for w in sweeps])
        square = box(
            -PATROL_HALF_SIDE_M, -PATROL_HALF_SIDE_M, PATROL_HALF_SIDE_M, PATROL_HALF_SIDE_M
        )
        assert all(square.buffer(1.0).contains(Point(a, b)) for a, b in zip(x, y, strict=True))
        swath_m = DEMO_PROFILE.camera.footprint_width_m(CAR_AGL_M)
        lines = len(sweeps) // 2
        assert lines >= math.ceil(2 * PATROL_HALF_SIDE_M / swath_m)
        assert plan.fence is not None
        assert plan.fence.radius_m >= area.radius_m

        patrol = await ctl.create_mission(
            MissionType.PATROL, plan, vehicle_id="drone-1", actor="demo:duty-officer"
        )
        await ctl.approve(patrol.mission_id, actor="demo:duty-officer")
        await ctl.launch(patrol.mission_id, actor="demo:duty-officer")
        vehicle = f.sim.vehicle("drone-1")
        async with asyncio.timeout(60):  # wall seconds, at 20× speed-up
            while vehicle.gimbal_pitch_deg > -89.0:
                await f.sim.clock.sleep(1.0)
        state = f.fleet.vehicle("drone-1").state
        assert state.alt_rel_m == pytest.approx(CAR_AGL_M, abs=3.0)
        east, north = area.frame.to_local(state.lat_deg, state.lon_deg)
        assert np.hypot(east, north) < 1.5 * PATROL_HALF_SIDE_M

        target = incident("crash", 1200.0)
        assert target.priority is Priority.HIGH
        (decision,) = await ctl.dispatch([target], actor="dispatcher:ops")
        assert decision.vehicle_id == "drone-1"
        assert decision.preempted_mission_id == patrol.mission_id
        assert ctl.mission(patrol.mission_id).state is S.ABORTED
        response = ctl.mission_for_incident("crash")
        assert response is not None
        await ctl.wait_for(response.mission_id, [S.ON_STATION], timeout_s=300)
