"""A standing patrol for the demo: the first drone flies a square around its base.

It is a part of the demo (see ``skyeye.app``), after the controller: it creates the patrol,
approves it as the demo's duty officer and launches it, as a pilot would from the console.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from missions.controller.controller import Controller
from missions.controller.errors import ControllerError
from missions.controller.settings import MissionType
from missions.controller.vehicle import FenceSpec, FlightPlan, PlanItem, PlanItemKind
from skyeye.app import AppContext

__all__ = ["patrol_part", "square_patrol"]

logger = logging.getLogger(__name__)

_M_PER_DEG_LAT = 111_320.0


def square_patrol(
    lat_deg: float, lon_deg: float, *, half_side_m: float, alt_rel_m: float, speed_m_s: float
) -> FlightPlan:
    """Take off, fly a square of ``2 × half_side_m`` around the point once, come home.

    The fence is a circle of twice the square's size around the point."""
    dlat = half_side_m / _M_PER_DEG_LAT
    dlon = half_side_m / (_M_PER_DEG_LAT * math.cos(math.radians(lat_deg)))
    corners = [(dlat, dlon), (dlat, -dlon), (-dlat, -dlon), (-dlat, dlon), (dlat, dlon)]
    items = [
        PlanItem(kind=PlanItemKind.TAKEOFF, alt_rel_m=alt_rel_m),
        PlanItem(kind=PlanItemKind.SPEED, speed_m_s=speed_m_s),
        *(
            PlanItem(
                kind=PlanItemKind.WAYPOINT,
                lat_deg=lat_deg + a,
                lon_deg=lon_deg + b,
                alt_rel_m=alt_rel_m,
            )
            for a, b in corners
        ),
        PlanItem(kind=PlanItemKind.RTL),
    ]
    fence = FenceSpec(radius_m=4 * half_side_m, alt_max_m=max(120.0, alt_rel_m + 20.0))
    return FlightPlan(items=tuple(items), fence=fence)


async def _fly(controller: Controller, vehicle_id: str, plan: FlightPlan) -> None:
    mission = await controller.create_mission(
        MissionType.PATROL, plan, vehicle_id=vehicle_id, actor="demo:duty-officer"
    )
    await controller.approve(mission.mission_id, actor="demo:duty-officer")
    try:
        await controller.launch(mission.mission_id, actor="demo:duty-officer")
    except ControllerError as exc:
        logger.warning("the demo patrol did not launch: %s", exc)


@asynccontextmanager
async def patrol_part(context: AppContext) -> AsyncIterator[None]:
    controller: Controller = context.services["controller"]
    names: dict[int, str] = context.services.get("vehicle_names", {})
    if not names:
        yield
        return
    vehicle_id = names[min(names)]
    state = context.services["fleet"].vehicle(vehicle_id).state
    if state.lat_deg is None or state.lon_deg is None:
        logger.warning("no patrol in the demo: %s has no position yet", vehicle_id)
        yield
        return
    plan = square_patrol(
        state.lat_deg, state.lon_deg, half_side_m=1_000.0, alt_rel_m=80.0, speed_m_s=12.0
    )
    async with asyncio.TaskGroup() as tasks:
        launch = tasks.create_task(_fly(controller, vehicle_id, plan), name="demo.patrol")
        context.announce("Patrol", f"{vehicle_id} flies a 2 km square around its base")
        try:
            yield
        finally:
            launch.cancel()
