"""The fusion service: detections and reports in from the bus, tracks, coverage, incidents out.

::

    async with FusionService(bus, frame=LocalFrame(52.0, 5.0), clock=clock) as fusion:
        ...  # runs until the block ends

Tracks are published when they changed, at most ``tracks_rate_hz`` times a second
(detections reach the map within one publish interval); coverage every
``coverage_period_s``; an incident whenever a report or a linked track changes it. Fusion
follows the incidents on the bus: the status and the drone the mission controller publishes
(dispatched, on scene, open again) are kept in every re-publication of fusion's own.
Fusion's own publications come back to it from the broker and are told apart by content.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from skyeye import topics
from skyeye.bus import Bus, Subscription
from skyeye.clock import Clock, WallClock
from skyeye.contracts import DetectionBatch, Incident, Report, TrackList
from vision.fusion.coverage import CoverageGrid
from vision.fusion.frame import LocalFrame
from vision.fusion.incidents import IncidentBook
from vision.fusion.tracker import GeoTracker, TrackerSettings

__all__ = ["FusionService", "FusionSettings"]

logger = logging.getLogger(__name__)
_UNECHOED_KEPT = 16  # own incident publications per incident not yet back from the broker


@dataclass(frozen=True, slots=True, kw_only=True)
class FusionSettings:
    tracks_rate_hz: float = 10.0
    coverage_period_s: float = 5.0
    coverage_radius_m: float = 50_000.0
    coverage_cell_m: float = 250.0
    tracker: TrackerSettings = field(default_factory=TrackerSettings)


class FusionService:
    def __init__(
        self,
        bus: Bus,
        *,
        frame: LocalFrame,
        clock: Clock | None = None,
        settings: FusionSettings | None = None,
    ) -> None:
        self._bus = bus
        self._clock = clock or WallClock()
        self.settings = settings or FusionSettings()
        self.tracker = GeoTracker(frame, self.settings.tracker)
        self.coverage = CoverageGrid(
            frame, radius_m=self.settings.coverage_radius_m, cell_m=self.settings.coverage_cell_m
        )
        self.incidents = IncidentBook(frame)
        self._dirty = asyncio.Event()
        self._stack = contextlib.AsyncExitStack()
        self._tasks: asyncio.TaskGroup | None = None
        self._running: list[asyncio.Task[None]] = []
        self._unechoed: collections.defaultdict[str, collections.deque[Incident]] = (
            collections.defaultdict(lambda: collections.deque(maxlen=_UNECHOED_KEPT))
        )

    async def __aenter__(self) -> Self:
        # Subscribed before the block starts, so nothing published after it is missed.
        batches = await self._stack.enter_async_context(self._bus.subscribe(topics.detections("+")))
        reports = await self._stack.enter_async_context(self._bus.subscribe(topics.reports()))
        incidents = await self._stack.enter_async_context(self._bus.subscribe(topics.incident("+")))
        self._tasks = await self._stack.enter_async_context(asyncio.TaskGroup())
        for name, work in (
            ("detections", self._consume_detections(batches)),
            ("reports", self._consume_reports(reports)),
            ("incidents", self._follow_incidents(incidents)),
            ("tracks", self._publish_tracks()),
            ("coverage", self._publish_coverage()),
        ):
            self._running.append(self._tasks.create_task(work, name=f"fusion.{name}"))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in self._running:
            task.cancel()
        await self._stack.__aexit__(exc_type, exc, tb)

    async def _consume_detections(self, batches: Subscription[DetectionBatch]) -> None:
        async for message in batches:
            self.ingest(message.payload)

    def ingest(self, batch: DetectionBatch) -> None:
        """Fuse one frame's detections and mark its footprint as imaged."""
        self.tracker.update_batch(batch)
        if batch.footprint:
            self.coverage.add_footprint(batch.footprint, batch.capture_time)
        self._dirty.set()

    async def _consume_reports(self, reports: Subscription[Report]) -> None:
        async for message in reports:
            await self.add_report(message.payload)

    async def add_report(self, report: Report) -> Incident:
        """File a ground report (from the bus or the API) and publish its incident."""
        incident = self.incidents.add_report(report)
        await self._publish_incident(incident)
        return incident

    async def _follow_incidents(self, incidents: Subscription[Incident]) -> None:
        async for message in incidents:
            incident = message.payload
            unechoed = self._unechoed[incident.incident_id]
            if incident in unechoed:  # our own, back from the broker
                while unechoed.popleft() != incident:
                    pass
                continue
            self.incidents.follow(incident)

    async def _publish_incident(self, incident: Incident) -> None:
        self._unechoed[incident.incident_id].append(incident)
        await self._bus.publish(topics.incident(incident.incident_id), incident)

    async def _publish_tracks(self) -> None:
        interval = 1.0 / self.settings.tracks_rate_hz
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            tracks = self.tracker.tracks()
            await self._bus.publish(
                topics.tracks(), TrackList(time=self._clock.now(), tracks=tuple(tracks))
            )
            for incident in self.incidents.link_tracks(tracks):
                await self._publish_incident(incident)
            await self._clock.sleep(interval)

    async def _publish_coverage(self) -> None:
        while True:
            await self._clock.sleep(self.settings.coverage_period_s)
            await self._bus.publish(topics.coverage(), self.coverage.layer(self._clock.now()))
