"""Scripted events: incident reports at a time and a place, as the public would phone them in.

A scenario's ``events`` section lists them::

    events:
      - {kind: incident_report, id: r1, at_s: 90, position: [52.09, 5.12], category: burglary,
         text: "Two men climbing a fence", priority: high}
      - {kind: incident_report, id: r2, at_s: 300, actor: suspect, category: pursuit}

A report may name an ``actor`` instead of a position: it is made where that scripted actor
is at that moment (a witness seeing the fleeing car go by).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from sim.world.config import LatLon
from sim.world.errors import WorldConfigError
from sim.world.targets import TargetField
from skyeye.contracts import Priority, Report, ReportSource

__all__ = ["IncidentReportEvent", "ScriptedEvents", "parse_events"]


class IncidentReportEvent(BaseModel):
    """A ground report made at ``at_s`` scenario seconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["incident_report"] = "incident_report"
    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
    at_s: float = Field(ge=0.0, title="When", description="Scenario seconds.")
    position: LatLon | None = Field(default=None, title="Where, [lat, lon]")
    actor: str | None = Field(default=None, title="Or where this scripted actor is")
    category: str = Field(min_length=1, max_length=64, title="Category")
    text: str = Field(default="", max_length=2000, title="What the caller says")
    priority: Literal["low", "normal", "high", "critical"] = Field(default="normal")

    @model_validator(mode="after")
    def _where(self) -> IncidentReportEvent:
        if (self.position is None) == (self.actor is None):
            raise ValueError("give exactly one of position and actor")
        return self


_EVENTS = TypeAdapter(list[IncidentReportEvent])


def parse_events(raw: list[dict[str, object]]) -> list[IncidentReportEvent]:
    """Validate a scenario's ``events``; the error names the event's index and key."""
    try:
        return _EVENTS.validate_python(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise WorldConfigError(f"events.{where}: {error['msg']}") from None


class ScriptedEvents:
    """The reports due in a time window, located and stamped."""

    def __init__(
        self, events: list[IncidentReportEvent], targets: TargetField, start: datetime
    ) -> None:
        actors = targets.actor_ids
        for event in events:
            if event.actor is not None and event.actor not in actors:
                raise WorldConfigError(
                    f"event {event.id} refers to actor {event.actor!r}, which is not scripted"
                )
        self._events = sorted(events, key=lambda e: e.at_s)
        self._targets = targets
        self._start = start

    def due(self, after_s: float, until_s: float) -> list[Report]:
        """Reports with ``after_s < at_s <= until_s``."""
        out = []
        for event in self._events:
            if not after_s < event.at_s <= until_s:
                continue
            if event.position is not None:
                lat, lon = event.position
            else:
                assert event.actor is not None
                lat, lon = self._targets.actor_position(event.actor, event.at_s)
            out.append(
                Report(
                    report_id=event.id,
                    time=self._start + timedelta(seconds=event.at_s),
                    source=ReportSource.SIMULATION,
                    category=event.category,
                    text=event.text,
                    lat_deg=lat,
                    lon_deg=lon,
                    priority=Priority[event.priority.upper()],
                )
            )
        return out
