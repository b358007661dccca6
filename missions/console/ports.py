"""What the console needs from the rest of Skyeye, as narrow Protocols.

The console is handed these at construction; it never imports the controller, the planners,
the video hub or the simulator. ``missions.controller.Controller`` is a :class:`MissionControl`
as it is; a planner adapter is a :class:`Planner`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from skyeye.contracts import Incident, MissionStatus
from skyeye.topics import Topic

__all__ = [
    "ControlRefusedError",
    "DecisionLike",
    "MissionControl",
    "PlanProposal",
    "PlanSource",
    "Planner",
    "Publisher",
]


class ControlRefusedError(Exception):
    """Raised by a :class:`MissionControl` or :class:`Planner` that refuses what was asked."""


class Publisher(Protocol):
    async def publish(self, topic: Topic[Any], payload: Any) -> None: ...


class DecisionLike(Protocol):
    """One dispatch decision (``missions.dispatch.DispatchDecision``)."""

    @property
    def incident_id(self) -> str: ...

    @property
    def vehicle_id(self) -> str | None: ...

    @property
    def eta_s(self) -> float | None: ...

    @property
    def reasons(self) -> tuple[str, ...]: ...


class MissionControl(Protocol):
    """The mission controller's pilot and dispatch API."""

    def list_missions(self, *, active_only: bool = False) -> list[MissionStatus]: ...

    async def create_mission(
        self, mission_type: Any, plan: Any, *, vehicle_id: str, actor: str
    ) -> Any: ...

    async def approve(self, mission_id: str, *, actor: str) -> Any: ...

    async def launch(self, mission_id: str, *, actor: str) -> Any: ...

    async def abort(self, mission_id: str, *, actor: str) -> Any: ...

    async def rtl(self, mission_id: str, *, actor: str) -> Any: ...

    async def land(self, mission_id: str, *, actor: str) -> Any: ...

    async def dispatch(
        self, incidents: Sequence[Incident], *, actor: str
    ) -> Sequence[DecisionLike]: ...


@runtime_checkable
class PlanSource(Protocol):
    """A controller that can show a mission's plan (items with ``lat_deg``/``lon_deg``)."""

    def plan(self, mission_id: str) -> Any: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanProposal:
    """A planner's answer: the plan to hand to the controller, and what the pilot sees."""

    mission_type: Any
    plan: Any
    feasible: bool
    reasons: tuple[str, ...]
    duration_s: float
    distance_m: float
    path: tuple[tuple[float, float], ...]
    geojson: dict[str, Any]


class Planner(Protocol):
    """Planners by name; ``points`` are (lat_deg, lon_deg) of an area or a route."""

    def names(self) -> Sequence[str]: ...

    async def propose(
        self,
        name: str,
        *,
        vehicle_id: str,
        geometry_type: str,
        points: Sequence[tuple[float, float]],
        alt_rel_m: float,
    ) -> PlanProposal: ...
