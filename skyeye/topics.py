"""Topics of the bus: names under ``skyeye/v1/``, the model each carries, QoS and retain.

A :class:`Topic` is what you publish to; a topic built with a ``+`` wildcard is what you
subscribe to. Both carry the payload model, so publishing and receiving are typed::

    await bus.publish(topics.vehicle_state("drone-1"), state)
    async for message in bus.subscribe(topics.vehicle_state("+")):
        message.payload  # VehicleState

QoS and retain per topic: state is retained and QoS 0 (the next one supersedes it, so a
lost one costs nothing); everything that is a fact or an order (events, detections,
tracks, incidents, missions, reports) is QoS 1, so the bus keeps it through an outage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

from skyeye.contracts import (
    CoverageLayer,
    DetectionBatch,
    Incident,
    MissionStatus,
    Report,
    TrackList,
    VehicleEvent,
    VehicleState,
)

__all__ = [
    "PREFIX",
    "Topic",
    "coverage",
    "detections",
    "incident",
    "mission",
    "reports",
    "tracks",
    "vehicle_event",
    "vehicle_state",
]

PREFIX = "skyeye/v1"
_SEGMENT = re.compile(r"^[A-Za-z0-9_.:-]+$")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Topic(Generic[M]):
    """A bus topic (or a subscription filter) with its payload model and delivery policy."""

    name: str
    model: type[M]
    qos: int
    retain: bool

    @property
    def is_filter(self) -> bool:
        return "+" in self.name.split("/") or self.name.endswith("#")


def _segment(value: str) -> str:
    if value == "+":
        return value
    if not _SEGMENT.match(value):
        raise ValueError(f"invalid topic segment {value!r}: use letters, digits and _.:-")
    return value


def vehicle_state(vehicle_id: str) -> Topic[VehicleState]:
    return Topic(f"{PREFIX}/fleet/{_segment(vehicle_id)}/state", VehicleState, qos=0, retain=True)


def vehicle_event(vehicle_id: str) -> Topic[VehicleEvent]:
    return Topic(f"{PREFIX}/fleet/{_segment(vehicle_id)}/event", VehicleEvent, qos=1, retain=False)


def detections(vehicle_id: str) -> Topic[DetectionBatch]:
    name = f"{PREFIX}/vision/{_segment(vehicle_id)}/detections"
    return Topic(name, DetectionBatch, qos=1, retain=False)


def tracks() -> Topic[TrackList]:
    return Topic(f"{PREFIX}/map/tracks", TrackList, qos=1, retain=True)


def coverage() -> Topic[CoverageLayer]:
    return Topic(f"{PREFIX}/map/coverage", CoverageLayer, qos=1, retain=True)


def incident(incident_id: str) -> Topic[Incident]:
    return Topic(f"{PREFIX}/incidents/{_segment(incident_id)}", Incident, qos=1, retain=True)


def mission(mission_id: str) -> Topic[MissionStatus]:
    return Topic(f"{PREFIX}/missions/{_segment(mission_id)}", MissionStatus, qos=1, retain=True)


def reports() -> Topic[Report]:
    return Topic(f"{PREFIX}/reports", Report, qos=1, retain=False)
