"""What the store keeps, as frozen values: missions, transitions, decisions, audit entries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from skyeye.contracts import MissionState, Priority

__all__ = ["AuditEntry", "DecisionRecord", "MissionRecord", "TransitionRecord"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MissionRecord:
    """A mission as persisted. ``plan`` is the flight plan as JSON-ready items."""

    mission_id: str
    mission_type: str
    state: MissionState
    priority: Priority
    requires_approval: bool
    created_at: datetime
    updated_at: datetime
    vehicle_id: str | None = None
    incident_id: str | None = None
    relieves_mission_id: str | None = None
    current_item: int | None = None
    item_count: int = 0
    plan: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TransitionRecord:
    """One state change of one mission and why it happened (``from_state`` None: created)."""

    mission_id: str
    from_state: MissionState | None
    to_state: MissionState
    cause: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionRecord:
    """One dispatch decision for one incident, with its reasons and the runners-up."""

    incident_id: str
    vehicle_id: str | None
    decided_at: datetime
    eta_s: float | None
    physical_limit_s: float | None
    preempted_mission_id: str | None
    reasons: tuple[str, ...]
    alternatives: tuple[Mapping[str, Any], ...] = ()
    decision_time_ms: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """A command someone gave: who, what, to what, when, and how it ended."""

    at: datetime
    actor: str
    action: str
    result: str
    vehicle_id: str | None = None
    mission_id: str | None = None
    detail: str = ""
    arguments: Mapping[str, Any] = field(default_factory=dict)
