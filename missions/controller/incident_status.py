"""Which drone flies an incident, and whether it is open, dispatched or on scene.

::

    ledger = IncidentLedger(store=store, clock=clock, publisher=bus, missions=missions.values)
    await ledger.sync("INC-00001")  # after a mission of it changed state
    corrected = await ledger.observe(incident)  # someone else published it

The controller's missions are the truth: an incident is on scene while one of its missions
is on station, dispatched while one flies to it, and otherwise as it was stored, unless the
drone sent to it no longer flies it and nobody took over (then it is open again, with why).
Every change is stored and published; one lock per incident keeps the store and the bus in
step when a mission changes and a re-publication arrives at the same time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from missions.controller.states import TERMINAL
from missions.store import MissionRecord, MissionStore
from skyeye import topics
from skyeye.clock import Clock
from skyeye.contracts import Incident, IncidentStatus, MissionState
from skyeye.topics import Topic

__all__ = ["IncidentLedger", "Publisher", "noted"]

S = MissionState


class Publisher(Protocol):
    async def publish(self, topic: Topic[Any], payload: Any) -> None: ...


def noted(summary: str, note: str) -> str:
    """An incident summary with ``note`` in front (the field holds 500 characters)."""
    return (f"{note}; {summary}" if summary else note)[:500]


class IncidentLedger:
    """Incidents as the controller's missions fly them, stored and published."""

    def __init__(
        self,
        *,
        store: MissionStore,
        clock: Clock,
        publisher: Publisher | None,
        missions: Callable[[], Iterable[MissionRecord]],
    ) -> None:
        self._store = store
        self._clock = clock
        self._publisher = publisher
        self._missions = missions
        self._locks: dict[str, asyncio.Lock] = {}

    def serving(self, incident_id: str) -> MissionRecord | None:
        """The mission flying an incident: one on station, else the newest not yet returning."""
        serving = [
            m
            for m in self._missions()
            if m.incident_id == incident_id and m.state not in TERMINAL | {S.RETURNING}
        ]
        if not serving:
            return None
        return max(serving, key=lambda m: (m.state is S.ON_STATION, m.created_at))

    def as_flown(self, incident: Incident) -> Incident:
        """``incident`` with the status and drone of the mission flying it, if any."""
        serving = self.serving(incident.incident_id)
        if serving is None or incident.status is IncidentStatus.CLOSED:
            return incident
        status = (
            IncidentStatus.ON_SCENE if serving.state is S.ON_STATION else IncidentStatus.DISPATCHED
        )
        return incident.model_copy(
            update={"status": status, "assigned_vehicle_id": serving.vehicle_id}
        )

    async def observe(self, incident: Incident) -> Incident | None:
        """Take in an incident someone published; correct it when a mission flies it.

        Its content is kept; when the missions disagree with its status or drone, the
        corrected incident is stored, published and returned. ``None`` when there was
        nothing to correct.
        """
        async with self._lock(incident.incident_id):
            if self.serving(incident.incident_id) is None:
                return None
            corrected = self.as_flown(incident)
            await self._store.save_incident(corrected, at=self._clock.now())
            if corrected == incident:
                return None
            await self._publish(corrected)
            return corrected

    async def sync(self, incident_id: str, *, unserved_because: str = "") -> None:
        """Store and publish the incident's status and drone when its missions changed them.

        With no mission flying it, it is left as it is, unless ``unserved_because`` says
        why the drone sent to it no longer flies it: then it is open again, with no drone.
        """
        async with self._lock(incident_id):
            stored = await self._store.get_incident(incident_id)
            if stored is None or stored.status is IncidentStatus.CLOSED:
                return
            updated = self.as_flown(stored)
            if self.serving(incident_id) is None and unserved_because:
                updated = stored.model_copy(
                    update={
                        "status": IncidentStatus.OPEN,
                        "assigned_vehicle_id": None,
                        "summary": noted(stored.summary, unserved_because),
                    }
                )
            if updated == stored:
                return
            await self._store.save_incident(updated, at=self._clock.now())
            await self._publish(updated)

    async def note(self, incident_id: str, note: str) -> None:
        """Put ``note`` in front of the stored summary; it goes out with the next change."""
        async with self._lock(incident_id):
            stored = await self._store.get_incident(incident_id)
            if stored is not None:
                changed = stored.model_copy(update={"summary": noted(stored.summary, note)})
                await self._store.save_incident(changed, at=self._clock.now())

    def _lock(self, incident_id: str) -> asyncio.Lock:
        return self._locks.setdefault(incident_id, asyncio.Lock())

    async def _publish(self, incident: Incident) -> None:
        if self._publisher is not None:
            await self._publisher.publish(topics.incident(incident.incident_id), incident)
