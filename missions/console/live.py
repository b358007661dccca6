"""The live picture: the latest of everything on the bus, pushed to browsers in coalesced batches.

::

    async with LiveFeed(bus, clock=clock, frame_interval_s=1 / 30) as live:
        async with live.client(detections=False) as batches:
            async for batch in batches:   # JSON-ready dict, at most one per frame interval
                ...

Each bus message replaces the previous one with the same key (a vehicle's state, a
mission, an incident, the track list), so a slow browser gets the newest picture, never a
backlog. Alerts (failsafe, low battery, link loss, emergency status texts) are derived
here, so every page shows the same ones until they are acknowledged or cleared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from pydantic import BaseModel

from missions.console.models import Alert, AlertKind
from skyeye import topics
from skyeye.bus import Bus
from skyeye.clock import Clock
from skyeye.contracts import (
    CoverageLayer,
    DetectionBatch,
    Incident,
    MissionStatus,
    TrackList,
    VehicleEvent,
    VehicleEventKind,
    VehicleState,
)
from skyeye.topics import Topic

__all__ = ["LiveFeed"]

logger = logging.getLogger(__name__)

Json = dict[str, Any]
# channel → key → JSON-ready value (None: the key was removed)
Pending = dict[str, dict[str, Json | None]]


@dataclass(slots=True, eq=False)
class _Client:
    detections: bool
    pending: Pending = field(default_factory=dict)
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class LiveFeed:
    """Subscribes to the bus, keeps the newest state, and fans changes out to clients."""

    def __init__(
        self,
        bus: Bus,
        *,
        clock: Clock,
        frame_interval_s: float = 1 / 30,
        low_battery_pct: float = 25.0,
    ) -> None:
        self._bus = bus
        self._clock = clock
        self._interval_s = frame_interval_s
        self._low_battery_pct = low_battery_pct
        self.vehicles: dict[str, VehicleState] = {}
        self.incidents: dict[str, Incident] = {}
        self.missions: dict[str, MissionStatus] = {}
        self.tracks: TrackList | None = None
        self.coverage: CoverageLayer | None = None
        self.alerts: dict[str, Alert] = {}
        self._snapshot: Pending = {}
        self._acked_conditions: set[str] = set()
        self._clients: list[_Client] = []
        self._stack = contextlib.AsyncExitStack()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Self:
        await self._stack.__aenter__()
        try:
            group = await self._stack.enter_async_context(asyncio.TaskGroup())
            self._stack.callback(self._cancel_all)
            await self._follow(group, topics.vehicle_state("+"), self._on_state)
            await self._follow(group, topics.vehicle_event("+"), self._on_event)
            await self._follow(group, topics.tracks(), self._on_tracks)
            await self._follow(group, topics.coverage(), self._on_coverage)
            await self._follow(group, topics.incident("+"), self._on_incident)
            await self._follow(group, topics.mission("+"), self._on_mission)
            await self._follow(group, topics.detections("+"), self._on_detections)
        except BaseException as error:
            await self._stack.__aexit__(type(error), error, error.__traceback__)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.__aexit__(exc_type, exc, tb)

    def _cancel_all(self) -> None:
        for task in self._tasks:
            task.cancel()

    async def _follow(
        self, group: asyncio.TaskGroup, topic: Topic[Any], handle: Callable[[Any], None]
    ) -> None:
        subscription = await self._stack.enter_async_context(self._bus.subscribe(topic))

        async def pump() -> None:
            async for message in subscription:
                try:
                    handle(message.payload)
                except ValueError:
                    logger.exception("console could not use a message on %s", message.topic)

        self._tasks.append(group.create_task(pump(), name=f"console.live[{topic.name}]"))

    # ----------------------------------------------------------------- clients

    @contextlib.asynccontextmanager
    async def client(self, *, detections: bool = False) -> AsyncIterator[AsyncIterator[Json]]:
        """Batches for one browser: first the whole picture, then coalesced changes."""
        client = _Client(detections=detections)
        client.pending = {
            channel: dict(values)
            for channel, values in self._snapshot.items()
            if detections or channel != "detections"
        }
        client.ready.set()
        self._clients.append(client)
        try:
            yield self._batches(client)
        finally:
            self._clients.remove(client)

    async def _batches(self, client: _Client) -> AsyncIterator[Json]:
        loop = asyncio.get_running_loop()
        last_sent = -self._interval_s
        while True:
            await client.ready.wait()
            wait_s = last_sent + self._interval_s - loop.time()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            pending, client.pending = client.pending, {}
            client.ready.clear()
            last_sent = loop.time()
            batch: Json = {"time": self._clock.now().isoformat()}
            for channel, values in pending.items():
                batch[channel] = values
            yield batch

    def _push(self, channel: str, key: str, value: BaseModel | None) -> None:
        data = None if value is None else value.model_dump(mode="json")
        if data is None:
            self._snapshot.get(channel, {}).pop(key, None)
        else:
            self._snapshot.setdefault(channel, {})[key] = data
        for client in self._clients:
            if channel == "detections" and not client.detections:
                continue
            client.pending.setdefault(channel, {})[key] = data
            client.ready.set()

    # ----------------------------------------------------------------- bus handlers

    def _on_state(self, state: VehicleState) -> None:
        self.vehicles[state.vehicle_id] = state
        self._push("vehicles", state.vehicle_id, state)
        vid = state.vehicle_id
        low = state.battery_pct is not None and state.battery_pct <= self._low_battery_pct
        self._condition(
            vid,
            AlertKind.LOW_BATTERY,
            low,
            f"{vid}: battery {state.battery_pct or 0:.0f} % — bring it home",
            state,
        )
        self._condition(
            vid,
            AlertKind.LINK_LOST,
            not state.link.connected,
            f"{vid}: link lost {state.link.last_heard_age_s:.0f} s ago",
            state,
        )

    def _condition(
        self, vid: str, kind: AlertKind, active: bool, text: str, state: VehicleState
    ) -> None:
        alert_id = f"{vid}:{kind.value}"
        if active and alert_id not in self.alerts and alert_id not in self._acked_conditions:
            self._raise(
                Alert(alert_id=alert_id, vehicle_id=vid, kind=kind, time=state.time, text=text)
            )
        elif not active:
            self._acked_conditions.discard(alert_id)
            if alert_id in self.alerts:
                self._clear(alert_id)

    def _on_event(self, event: VehicleEvent) -> None:
        vid = event.vehicle_id
        self._push("events", vid, event)
        if event.kind is VehicleEventKind.FAILSAFE:
            alert_id = f"{vid}:failsafe:{event.time.isoformat()}"
            text = f"{vid}: FAILSAFE {event.detail}".strip()
            self._raise(
                Alert(
                    alert_id=alert_id,
                    vehicle_id=vid,
                    kind=AlertKind.FAILSAFE,
                    time=event.time,
                    text=text,
                )
            )
        elif event.kind is VehicleEventKind.LINK_LOST:
            alert_id = f"{vid}:{AlertKind.LINK_LOST.value}"
            if alert_id not in self.alerts:
                self._raise(
                    Alert(
                        alert_id=alert_id,
                        vehicle_id=vid,
                        kind=AlertKind.LINK_LOST,
                        time=event.time,
                        text=f"{vid}: link lost",
                    )
                )
        elif event.kind is VehicleEventKind.LINK_RESTORED:
            alert_id = f"{vid}:{AlertKind.LINK_LOST.value}"
            self._acked_conditions.discard(alert_id)
            if alert_id in self.alerts:
                self._clear(alert_id)
        elif event.kind is VehicleEventKind.STATUSTEXT and (event.severity or 7) <= 2:
            alert_id = f"{vid}:emergency:{event.time.isoformat()}"
            self._raise(
                Alert(
                    alert_id=alert_id,
                    vehicle_id=vid,
                    kind=AlertKind.EMERGENCY,
                    time=event.time,
                    text=f"{vid}: {event.detail}",
                )
            )

    def _raise(self, alert: Alert) -> None:
        self.alerts[alert.alert_id] = alert
        logger.warning("alert %s", alert.text)
        self._push("alerts", alert.alert_id, alert)

    def _clear(self, alert_id: str) -> None:
        del self.alerts[alert_id]
        self._push("alerts", alert_id, None)

    def acknowledge(self, alert_id: str) -> Alert | None:
        """Take an alert off every screen; a condition alert comes back only if it recurs."""
        alert = self.alerts.get(alert_id)
        if alert is None:
            return None
        if alert.kind in (AlertKind.LOW_BATTERY, AlertKind.LINK_LOST):
            self._acked_conditions.add(alert_id)
        self._clear(alert_id)
        return alert

    def _on_tracks(self, tracks: TrackList) -> None:
        self.tracks = tracks
        self._push("tracks", "all", tracks)

    def _on_coverage(self, coverage: CoverageLayer) -> None:
        self.coverage = coverage
        self._push("coverage", "all", coverage)

    def _on_incident(self, incident: Incident) -> None:
        self.incidents[incident.incident_id] = incident
        self._push("incidents", incident.incident_id, incident)

    def _on_mission(self, mission: MissionStatus) -> None:
        self.missions[mission.mission_id] = mission
        self._push("missions", mission.mission_id, mission)

    def _on_detections(self, batch: DetectionBatch) -> None:
        self._push("detections", batch.vehicle_id, batch)
