"""The fleet link as a part of a running Skyeye (see ``skyeye.app``).

It connects to every link in ``fleet.connections`` and every link a simulator part left in
``context.services["mavlink_links"]``, names vehicles by ``context.services["vehicle_names"]``
(system id → vehicle id) when given, waits for those vehicles' first heartbeats, publishes
their state and events on the bus, and leaves itself in ``context.services["fleet"]``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fleet.fleet import Fleet
from fleet.settings import FleetSettings
from skyeye.app import AppContext

__all__ = ["fleet_part"]


@asynccontextmanager
async def fleet_part(context: AppContext) -> AsyncIterator[Fleet]:
    config = context.config.fleet
    simulated: Mapping[str, str] = context.services.get("mavlink_links", {})
    names: Mapping[int, str] = context.services.get("vehicle_names", {})
    settings = FleetSettings(
        gcs_system_id=config.gcs_system_id,
        state_rate_hz=config.state_rate_hz,
        link_timeout_s=config.link_timeout_s,
        vehicle_ids=dict(names),
    )
    async with Fleet(settings=settings, clock=context.clock, bus=context.bus) as fleet:
        for spec in (*config.connections, *simulated.values()):
            await fleet.connect(spec)
        for vehicle_id in simulated:
            await fleet.wait_vehicle(vehicle_id, timeout_s=10.0)
        context.services["fleet"] = fleet
        context.announce("Fleet", f"{len(fleet.vehicle_ids())} vehicles linked over MAVLink")
        yield fleet
