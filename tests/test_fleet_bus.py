"""The fleet's state and events on a real Mosquitto, from a scripted vehicle over UDP."""

from __future__ import annotations

import asyncio

from fleet import Fleet, FleetSettings
from fleet.testing import ScriptedVehicle
from skyeye import topics
from skyeye.bus import Bus, BusSettings
from skyeye.clock import WallClock
from skyeye.contracts import VehicleEventKind


async def test_state_at_the_configured_rate_and_events_as_they_happen(mqtt_url: str) -> None:
    clock = WallClock()
    settings = FleetSettings(state_rate_hz=5.0, command_timeout_s=0.3)
    async with (
        Bus(BusSettings(url=mqtt_url), clock=clock) as bus,
        bus.subscribe(topics.vehicle_state("+")) as states,
        bus.subscribe(topics.vehicle_event("+")) as events,
        Fleet(settings=settings, clock=clock, bus=bus) as fleet,
    ):
        link = await fleet.connect("udp:127.0.0.1:0")
        async with ScriptedVehicle(udp_to=("127.0.0.1", link.local_port)) as sim:
            vehicle = await fleet.wait_vehicle(1, timeout_s=5)
            async with asyncio.timeout(10):
                async for message in states:
                    if message.payload.lat_deg is not None:
                        break
            assert message.topic == topics.vehicle_state("mav-1").name
            assert message.payload.vehicle_id == "mav-1"
            assert message.payload.lat_deg == sim.script.lat_deg
            await vehicle.set_mode("GUIDED")
            kinds = []
            async with asyncio.timeout(10):
                async for event in events:
                    kinds.append(event.payload.kind)
                    if event.payload.kind is VehicleEventKind.MODE_CHANGED:
                        assert event.payload.mode == "GUIDED"
                        break
            assert kinds[0] is VehicleEventKind.DISCOVERED
