"""The incident a drone was sent to shows the drone that actually flies it.

A first choice that refuses a mode at launch is replaced by another drone; the incident on
the bus (what the console's incident table shows) and in the store follow the replacement,
and the failed first choice is in the decisions, the audit log and the incident's summary.
These run the controller over loopback vehicles with a real Mosquitto.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from missions.controller import (
    Controller,
    IncidentFeed,
    LoopbackFleet,
    LoopbackVehicle,
    VehicleCommandError,
)
from missions.store import MissionStore
from skyeye import topics
from skyeye.bus import Bus, BusSettings, Subscription
from skyeye.clock import ScaledClock
from skyeye.contracts import Incident, IncidentStatus, MissionState
from tests.test_controller import QUAD, SETTINGS, SPEEDUP, incident, offset

S = MissionState


class GuidedRefusingVehicle(LoopbackVehicle):
    """A loopback copter whose autopilot refuses GUIDED, as one with a pre-arm fault does."""

    async def set_mode(self, mode: str) -> None:
        if mode == "GUIDED":
            self.commands.append(f"set_mode {mode}")
            raise VehicleCommandError(self.vehicle_id, "set_mode GUIDED", "mode change denied")
        await super().set_mode(mode)


@dataclass
class Room:
    clock: ScaledClock
    store: MissionStore
    bus: Bus
    controller: Controller
    incidents: Subscription[Incident]

    async def incident_until(
        self, incident_id: str, done: Callable[[Incident], bool], *, timeout_s: float = 300.0
    ) -> Incident:
        """The first incident on the bus for which ``done`` holds (waiting in clock seconds)."""
        deadline = self.clock.monotonic() + timeout_s
        while self.clock.monotonic() < deadline:
            message = await self.incidents.get()
            if message.payload.incident_id == incident_id and done(message.payload):
                return message.payload
        raise AssertionError(f"incident {incident_id} never reached the expected state")


@asynccontextmanager
async def room(
    tmp_path: Path, mqtt_url: str, *vehicles: tuple[str, float], refusing: str
) -> AsyncIterator[Room]:
    """Loopback copters (``refusing`` refuses GUIDED), the controller, its feed and the bus."""
    clock = ScaledClock(SPEEDUP)
    async with AsyncExitStack() as stack:
        fleet = []
        for index, (vehicle_id, north_m) in enumerate(vehicles):
            lat, lon = offset(north_m)
            kind = GuidedRefusingVehicle if vehicle_id == refusing else LoopbackVehicle
            fleet.append(
                await stack.enter_async_context(
                    kind(
                        vehicle_id,
                        clock=clock,
                        lat_deg=lat,
                        lon_deg=lon,
                        profile=QUAD,
                        system_id=index + 1,
                    )
                )
            )
        store = await stack.enter_async_context(
            MissionStore(f"sqlite+aiosqlite:///{tmp_path / 'missions.db'}")
        )
        bus = await stack.enter_async_context(Bus(BusSettings(url=mqtt_url), clock=clock))
        incidents = await stack.enter_async_context(bus.subscribe(topics.incident("+")))
        controller = await stack.enter_async_context(
            Controller(
                store=store,
                fleet=LoopbackFleet(fleet),
                clock=clock,
                profiles=lambda _: QUAD,
                settings=SETTINGS,
                publisher=bus,
            )
        )
        await stack.enter_async_context(IncidentFeed(bus, controller, clock=clock))
        yield Room(clock, store, bus, controller, incidents)


async def test_a_first_choice_that_refuses_a_mode_is_replaced_on_the_incident(
    tmp_path: Path, mqtt_url: str
) -> None:
    alert = incident("robbery", 1000.0)
    async with room(
        tmp_path, mqtt_url, ("first", 900.0), ("second", -900.0), refusing="first"
    ) as r:
        await r.bus.publish(topics.incident(alert.incident_id), alert)
        first_shown = await r.incident_until(
            "robbery", lambda i: i.status is IncidentStatus.DISPATCHED
        )
        relief_shown = await r.incident_until(
            "robbery", lambda i: i.assigned_vehicle_id == "second"
        )
        on_scene = await r.incident_until("robbery", lambda i: i.status is IncidentStatus.ON_SCENE)
        stored = await r.store.get_incident("robbery")
        decisions = await r.store.decisions("robbery")
        audit = await r.store.audit_log()
        missions = {m.vehicle_id: m for m in r.controller.list_missions()}
        history = await r.store.transitions(missions["first"].mission_id)
    assert first_shown.assigned_vehicle_id == "first"
    assert relief_shown.status is IncidentStatus.DISPATCHED
    assert relief_shown.summary.startswith("second sent instead of first: not launched:")
    assert "set_mode GUIDED" in relief_shown.summary
    assert (on_scene.assigned_vehicle_id, stored) == ("second", on_scene)
    assert [d.vehicle_id for d in decisions] == ["first", "second"]
    assert (
        decisions[1]
        .reasons[0]
        .startswith(f"replaces first (mission {missions['first'].mission_id}): not launched:")
    )
    assert missions["first"].state is S.FAILED
    assert history[-1].cause == "launch failed: set_mode GUIDED: mode change denied"
    refused = [e for e in audit if e.result == "refused"]
    assert [(e.vehicle_id, e.action, e.detail) for e in refused] == [
        ("first", "set_mode GUIDED", "mode change denied")
    ]
    handoffs = [e for e in audit if e.action == "handoff"]
    assert [(e.vehicle_id, e.result) for e in handoffs] == [("first", "ok")]
    assert handoffs[0].detail.endswith(
        f"handed to mission {missions['second'].mission_id} on second"
    )


async def test_a_republication_that_says_open_is_corrected_and_keeps_its_content(
    tmp_path: Path, mqtt_url: str
) -> None:
    alert = incident("chase", 1000.0)
    async with room(
        tmp_path, mqtt_url, ("first", 900.0), ("second", -900.0), refusing="second"
    ) as r:
        await r.bus.publish(topics.incident(alert.incident_id), alert)
        await r.incident_until("chase", lambda i: i.status is IncidentStatus.DISPATCHED)
        # fusion links a track to the incident and re-publishes it as it knows it: open
        linked = alert.model_copy(update={"track_ids": ("T-7",), "summary": "car fleeing"})
        await r.bus.publish(topics.incident("chase"), linked)
        corrected = await r.incident_until(
            "chase", lambda i: i.track_ids == ("T-7",) and i.status is not IncidentStatus.OPEN
        )
        stored = await r.store.get_incident("chase")
        decisions = await r.store.decisions("chase")
    assert corrected.assigned_vehicle_id == "first"
    assert corrected.summary == "car fleeing"
    assert stored == corrected
    assert len(decisions) == 1


async def test_a_first_choice_nobody_can_replace_leaves_the_incident_open_with_why(
    tmp_path: Path, mqtt_url: str
) -> None:
    alert = incident("fire", 600.0)
    async with room(tmp_path, mqtt_url, ("only", 0.0), refusing="only") as r:
        await r.bus.publish(topics.incident(alert.incident_id), alert)
        await r.incident_until("fire", lambda i: i.assigned_vehicle_id == "only")
        reopened = await r.incident_until("fire", lambda i: i.status is IncidentStatus.OPEN)
        # the feed tries the open incident once more; the failed drone is held back
        while len(await r.store.decisions("fire")) < 2:
            await r.clock.sleep(0.5)
        await r.clock.sleep(5.0)
        decisions = await r.store.decisions("fire")
        (mission,) = r.controller.list_missions()
    assert reopened.assigned_vehicle_id is None
    assert reopened.summary.startswith("not launched: launch of mission")
    assert reopened.summary.endswith("mode change denied; nobody could take over")
    assert mission.state is S.FAILED
    assert [d.vehicle_id for d in decisions] == ["only", None]
    (held,) = decisions[1].alternatives
    assert str(held["reason"]).startswith("unavailable: its last launch failed:")
