"""Alert to dispatch with no one in the loop: open incidents from the bus go to the controller.

::

    async with Controller(..., publisher=bus) as controller, IncidentFeed(
        bus, controller, clock=clock
    ):
        ...  # every open incident published on incidents/{id} gets a drone

Incidents that arrive within ``gather_s`` of each other are dispatched together, so
simultaneous alerts are assigned jointly without double booking. An incident that already
has a mission (also one a previous controller started) is not dispatched again; the
controller publishes it with its status and the drone flying it (also after a relief), and
corrects a re-publication by someone else (fusion linking a track to it) that says otherwise.
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType
from typing import Self

from missions.controller.controller import Controller
from skyeye import topics
from skyeye.bus import Bus, Subscription
from skyeye.clock import Clock
from skyeye.contracts import Incident, IncidentStatus

__all__ = ["IncidentFeed"]

log = logging.getLogger(__name__)


class IncidentFeed:
    """Subscribes to ``incidents/+`` and dispatches every open incident once."""

    def __init__(
        self,
        bus: Bus,
        controller: Controller,
        *,
        clock: Clock,
        actor: str = "auto-dispatch",
        gather_s: float = 0.2,
    ) -> None:
        if gather_s < 0:
            raise ValueError(f"gather_s must be >= 0, got {gather_s}")
        self._bus = bus
        self._controller = controller
        self._clock = clock
        self._actor = actor
        self._gather_s = gather_s
        self._subscription: Subscription[Incident] | None = None
        self._tasks: asyncio.TaskGroup | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        subscription = self._bus.subscribe(topics.incident("+"))
        await subscription.__aenter__()
        self._subscription = subscription
        self._tasks = asyncio.TaskGroup()
        await self._tasks.__aenter__()
        self._task = self._tasks.create_task(self._run(subscription), name="incidents.dispatch")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._tasks is not None:
                if self._task is not None:
                    self._task.cancel()
                await self._tasks.__aexit__(exc_type, exc, tb)
                self._tasks = None
        finally:
            if self._subscription is not None:
                await self._subscription.__aexit__(exc_type, exc, tb)
                self._subscription = None

    async def _run(self, subscription: Subscription[Incident]) -> None:
        while True:
            batch = [(await subscription.get()).payload]
            try:
                async with asyncio.timeout(self._gather_s / self._clock.speedup):
                    while True:
                        batch.append((await subscription.get()).payload)
            except TimeoutError:
                pass
            await self._dispatch(batch)

    async def _dispatch(self, batch: list[Incident]) -> None:
        fresh: dict[str, Incident] = {}
        for incident in batch:
            if incident.status is IncidentStatus.CLOSED:
                continue
            if self._controller.mission_for_incident(incident.incident_id) is not None:
                await self._controller.observe_incident(incident)
            elif incident.status is IncidentStatus.OPEN:
                fresh[incident.incident_id] = incident
        if not fresh:
            return
        decisions = await self._controller.dispatch(list(fresh.values()), actor=self._actor)
        for decision in decisions:
            if decision.vehicle_id is None:
                log.warning("incident %s unserved: %s", decision.incident_id, decision.reasons)
