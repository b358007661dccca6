"""The controller as a part of a running Skyeye (see ``skyeye.app``).

It needs the fleet part before it (``context.services["fleet"]``, a running ``fleet.Fleet``),
opens the store at ``database.url``, runs the controller with the bus as its publisher and
the incident feed (auto-dispatch of open incidents), and leaves the controller in
``context.services["controller"]`` for the console. Vehicle profiles come from
``context.services["vehicle_profiles"]`` (id → :class:`VehicleProfile`) when a part put
them there, else ArduCopter's default navigation speeds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from missions.controller.controller import Controller
from missions.controller.errors import ControllerError
from missions.controller.fleet_link import FleetLinks
from missions.controller.incidents import IncidentFeed
from missions.dispatch import VehicleProfile
from missions.store import MissionStore
from skyeye.app import AppContext

__all__ = ["ARDUCOPTER_DEFAULTS", "controller_part"]

ARDUCOPTER_DEFAULTS = VehicleProfile(
    name="arducopter-defaults",
    cruise_speed_m_s=10.0,  # WPNAV_SPEED 1000 cm/s
    climb_rate_m_s=2.5,  # WPNAV_SPEED_UP 250 cm/s
    descent_rate_m_s=1.5,  # WPNAV_SPEED_DN 150 cm/s
    battery_use_pct_per_s=100.0 / (25 * 60),  # a 25-minute pack
    reserve_pct=20.0,
    launch_overhead_s=3.0,
)


@asynccontextmanager
async def controller_part(context: AppContext) -> AsyncIterator[Controller]:
    running_fleet = context.services.get("fleet")
    if running_fleet is None:
        raise ControllerError(
            "the mission controller needs the fleet part to start before it "
            "(context.services['fleet'] is missing)"
        )
    profiles: Mapping[str, VehicleProfile] = context.services.get("vehicle_profiles", {})

    def profile_for(vehicle_id: str) -> VehicleProfile:
        return profiles.get(vehicle_id, ARDUCOPTER_DEFAULTS)

    async with (
        MissionStore(context.config.database.url) as store,
        Controller(
            store=store,
            fleet=FleetLinks(running_fleet),
            clock=context.clock,
            profiles=profile_for,
            publisher=context.bus,
        ) as controller,
        IncidentFeed(context.bus, controller, clock=context.clock),
    ):
        context.services["controller"] = controller
        yield controller
