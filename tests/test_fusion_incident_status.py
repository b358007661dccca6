"""Fusion keeps the status and drone the controller gives an incident.

Ground reports go to fusion over a real Mosquitto; fusion opens an incident, the
controller's feed dispatches a loopback copter to it and publishes it as dispatched, then on
scene. Further reports on the same incident make fusion re-publish it: every one of those
keeps the controller's status and drone, so nobody on the bus ever sees it open again.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

from missions.controller import Controller, IncidentFeed, LoopbackFleet, LoopbackVehicle
from missions.store import MissionStore
from skyeye import topics
from skyeye.bus import Bus, BusSettings, Subscription
from skyeye.clock import ScaledClock
from skyeye.contracts import Incident, IncidentStatus, Priority, Report, ReportSource
from tests.test_controller import QUAD, SETTINGS, SPEEDUP, offset
from vision.fusion import FusionService, LocalFrame

S = IncidentStatus
SOURCES = (ReportSource.CITIZEN_APP, ReportSource.EMERGENCY_LINE, ReportSource.OFFICER)


def report(n: int, source: ReportSource) -> Report:
    lat, lon = offset(1000.0 + 10.0 * n)
    return Report(
        report_id=f"R{n}",
        time=datetime.now(UTC),
        source=source,
        category="robbery",
        text=f"report {n}",
        lat_deg=lat,
        lon_deg=lon,
        priority=Priority.HIGH,
    )


def has_report(report_id: str) -> Callable[[Incident], bool]:
    return lambda incident: report_id in incident.report_ids


async def record_until(
    incidents: Subscription[Incident],
    seen: list[Incident],
    done: Callable[[Incident], bool],
    clock: ScaledClock,
) -> Incident:
    """Append every incident message to ``seen`` until one for which ``done`` holds."""
    deadline = clock.monotonic() + 300.0
    while clock.monotonic() < deadline:
        incident = (await incidents.get()).payload
        seen.append(incident)
        if done(incident):
            return incident
    raise AssertionError(f"never seen; seen: {[(i.status, i.report_ids) for i in seen]}")


async def test_no_open_incident_without_a_drone_is_published_after_dispatch(
    tmp_path: Path, mqtt_url: str
) -> None:
    clock = ScaledClock(SPEEDUP)
    seen: list[Incident] = []
    async with AsyncExitStack() as stack:
        lat, lon = offset(0.0)
        copter = await stack.enter_async_context(
            LoopbackVehicle("d1", clock=clock, lat_deg=lat, lon_deg=lon, profile=QUAD, system_id=1)
        )
        store = await stack.enter_async_context(
            MissionStore(f"sqlite+aiosqlite:///{tmp_path / 'missions.db'}")
        )
        bus = await stack.enter_async_context(Bus(BusSettings(url=mqtt_url), clock=clock))
        incidents = await stack.enter_async_context(bus.subscribe(topics.incident("+")))
        fusion = await stack.enter_async_context(
            FusionService(bus, frame=LocalFrame(*offset(0.0)), clock=clock)
        )
        controller = await stack.enter_async_context(
            Controller(
                store=store,
                fleet=LoopbackFleet([copter]),
                clock=clock,
                profiles=lambda _: QUAD,
                settings=SETTINGS,
                publisher=bus,
            )
        )
        await stack.enter_async_context(IncidentFeed(bus, controller, clock=clock))

        await bus.publish(topics.reports(), report(1, SOURCES[0]))
        dispatched = await record_until(incidents, seen, lambda i: i.status is S.DISPATCHED, clock)
        for n in (2, 3):  # corroborated by two more sources: fusion raises the priority
            await bus.publish(topics.reports(), report(n, SOURCES[n - 1]))
            await record_until(incidents, seen, has_report(f"R{n}"), clock)
        await record_until(incidents, seen, lambda i: i.status is S.ON_SCENE, clock)
        await bus.publish(topics.reports(), report(4, SOURCES[0]))
        last = await record_until(incidents, seen, has_report("R4"), clock)
        (book,) = fusion.incidents.incidents()

    after = seen[seen.index(dispatched) :]
    assert dispatched.assigned_vehicle_id == "d1"
    assert [(i.status, i.assigned_vehicle_id) for i in after if i.status is S.OPEN] == []
    assert all(i.assigned_vehicle_id == "d1" for i in after)
    # only fusion adds a report: the first message with each is fusion's re-publication
    from_fusion = [next(i for i in after if f"R{n}" in i.report_ids) for n in (2, 3, 4)]
    assert [i.status for i in from_fusion] == [S.DISPATCHED, S.DISPATCHED, S.ON_SCENE]
    assert from_fusion[1].priority is Priority.CRITICAL
    assert (last.status, last.assigned_vehicle_id) == (S.ON_SCENE, "d1")
    assert (book.status, book.assigned_vehicle_id) == (S.ON_SCENE, "d1")
