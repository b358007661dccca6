"""A standing patrol for the demo: the first drone covers the ground around its base.

It is a part of the demo (see ``skyeye.app``), after the controller and before the console.
It makes the demo's planner (:func:`~missions.controller.plans.planner_for`: the scenario's
bases and no-fly zones, the simulated airframe with its camera) and leaves it in
``context.services["planner"]`` for the console. Then it plans a coverage of the square
around the first drone's base at the altitude its camera needs to recognise cars, and
creates, approves and launches it as the demo's duty officer would from the console. A
higher-priority incident pre-empts the patrol like any other (the controller's dispatch).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from missions.console.ports import ControlRefusedError
from missions.controller.controller import Controller
from missions.controller.errors import ControllerError
from missions.controller.plans import FlightPlanner, flight_plan, planner_for
from missions.controller.settings import MissionType
from missions.controller.vehicle import FlightPlan
from missions.planning import Camera, PlanningError, VehicleProfile
from skyeye.app import AppContext

__all__ = ["DEMO_PROFILE", "PATROL_HALF_SIDE_M", "PATROL_PLANNER", "patrol_part", "patrol_plan"]

logger = logging.getLogger(__name__)

# The simulator's police_multirotor (sim/scenario.py) with the demo's gimbal camera
# (sim/part.py: 640 × 360 px, 60° across).
DEMO_PROFILE = VehicleProfile(
    name="police-multirotor",
    cruise_speed_m_s=15.0,
    survey_speed_m_s=10.0,
    climb_rate_m_s=5.0,
    descent_rate_m_s=3.0,
    endurance_s=35 * 60.0,
    accel_m_s2=5.0,
    camera=Camera(name="demo-640", image_width_px=640, image_height_px=360, hfov_deg=60.0),
)
PATROL_PLANNER = "coverage-car"
PATROL_HALF_SIDE_M = 300.0


async def patrol_plan(
    planner: FlightPlanner, vehicle_id: str, *, half_side_m: float = PATROL_HALF_SIDE_M
) -> FlightPlan:
    """Coverage of the square of ``2 × half_side_m`` centred on the vehicle's base, for cars.

    Raises :class:`ControlRefusedError` or :class:`PlanningError` when it cannot be planned.
    """
    area = planner.area_of(vehicle_id)
    corners = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    lat, lon = area.frame.to_geo(
        [half_side_m * e for e, _ in corners], [half_side_m * n for _, n in corners]
    )
    square = [(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]
    plan = await planner.plan(PATROL_PLANNER, vehicle_id=vehicle_id, points=square, alt_rel_m=0.0)
    if len(plan.sorties) > 1:
        logger.warning(
            "the demo patrol needs %d sorties; %s flies the first", len(plan.sorties), vehicle_id
        )
    return flight_plan(plan.items, fence=planner.fence_for(plan))


async def _fly(controller: Controller, planner: FlightPlanner, vehicle_id: str) -> None:
    try:
        plan = await patrol_plan(planner, vehicle_id)
    except (ControlRefusedError, PlanningError, ControllerError) as exc:
        logger.warning("no patrol in the demo: %s", exc)
        return
    try:
        mission = await controller.create_mission(
            MissionType.PATROL, plan, vehicle_id=vehicle_id, actor="demo:duty-officer"
        )
        await controller.approve(mission.mission_id, actor="demo:duty-officer")
        await controller.launch(mission.mission_id, actor="demo:duty-officer")
    except ControllerError as exc:
        logger.warning("the demo patrol did not launch: %s", exc)


@asynccontextmanager
async def patrol_part(context: AppContext) -> AsyncIterator[None]:
    controller: Controller = context.services["controller"]
    planner = planner_for(context, profile_for=lambda _: DEMO_PROFILE)
    context.services["planner"] = planner
    names: dict[int, str] = context.services.get("vehicle_names", {})
    if not names:
        yield
        return
    vehicle_id = names[min(names)]
    async with asyncio.TaskGroup() as tasks:
        launch = tasks.create_task(_fly(controller, planner, vehicle_id), name="demo.patrol")
        side_km = 2 * PATROL_HALF_SIDE_M / 1000
        context.announce(
            "Patrol", f"{vehicle_id} covers {side_km:g} km × {side_km:g} km around its base"
        )
        try:
            yield
        finally:
            launch.cancel()
