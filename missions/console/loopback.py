"""In-process stand-ins for the controller and the planners, for tests and a console on its own.

They implement :class:`~missions.console.ports.MissionControl` and
:class:`~missions.console.ports.Planner` with the same refusals a real controller gives
(commands out of order raise :class:`ControlRefusedError`) and publish every mission
change and every incident they send a drone to on the bus, like the controller does.
Nothing flies: vehicle positions come from the ``positions`` callable (the console's live
feed, for instance).
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from missions.console.ports import ControlRefusedError, PlanProposal, Publisher
from skyeye import topics
from skyeye.clock import Clock
from skyeye.contracts import Incident, IncidentStatus, MissionState, MissionStatus

__all__ = ["LoopbackControl", "LoopbackDecision", "LoopbackPlanner"]

S = MissionState
_EARTH_RADIUS_M = 6_371_000.0
_ALLOWED: dict[str, tuple[MissionState, ...]] = {
    "approve": (S.PLANNED,),
    "launch": (S.APPROVED,),
    "abort": (S.PLANNED, S.APPROVED, S.EN_ROUTE, S.ON_STATION),
    "rtl": (S.EN_ROUTE, S.ON_STATION),
    "land": (S.EN_ROUTE, S.ON_STATION, S.RETURNING),
}
_RESULT = {
    "approve": S.APPROVED,
    "launch": S.EN_ROUTE,
    "abort": S.ABORTED,
    "rtl": S.RETURNING,
    "land": S.RETURNING,
}
_TERMINAL = (S.LANDED, S.COMPLETED, S.ABORTED, S.FAILED)


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat_deg, lon_deg) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_M * math.asin(math.sqrt(h))


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopbackDecision:
    incident_id: str
    vehicle_id: str | None
    eta_s: float | None
    reasons: tuple[str, ...]


class LoopbackControl:
    """Missions as a table of states; dispatch sends the nearest idle vehicle."""

    def __init__(
        self,
        *,
        clock: Clock,
        publisher: Publisher,
        positions: Callable[[], Mapping[str, tuple[float, float]]],
        cruise_m_s: float = 15.0,
    ) -> None:
        self._clock = clock
        self._publisher = publisher
        self._positions = positions
        self._cruise_m_s = cruise_m_s
        self._missions: dict[str, MissionStatus] = {}
        self.plans: dict[str, Any] = {}

    def list_missions(self, *, active_only: bool = False) -> list[MissionStatus]:
        return [m for m in self._missions.values() if not (active_only and m.state in _TERMINAL)]

    def _busy(self, vehicle_id: str) -> str | None:
        return next(
            (
                m.mission_id
                for m in self._missions.values()
                if m.vehicle_id == vehicle_id and m.state not in _TERMINAL
            ),
            None,
        )

    async def _put(self, status: MissionStatus) -> MissionStatus:
        self._missions[status.mission_id] = status
        await self._publisher.publish(topics.mission(status.mission_id), status)
        return status

    async def create_mission(
        self,
        mission_type: Any,
        plan: Any,
        *,
        vehicle_id: str,
        actor: str,
        incident_id: str | None = None,
        state: MissionState = S.PLANNED,
    ) -> MissionStatus:
        if vehicle_id not in self._positions():
            raise ControlRefusedError(f"the fleet has no vehicle {vehicle_id!r}")
        busy = self._busy(vehicle_id)
        if busy is not None:
            raise ControlRefusedError(f"vehicle {vehicle_id!r} is busy with mission {busy!r}")
        mission_id = f"m-{uuid.uuid4().hex[:10]}"
        self.plans[mission_id] = plan
        items = len(plan) if isinstance(plan, Sequence) else 1
        return await self._put(
            MissionStatus(
                mission_id=mission_id,
                time=self._clock.now(),
                mission_type=str(mission_type),
                state=state,
                vehicle_id=vehicle_id,
                incident_id=incident_id,
                item_count=items,
                cause=f"created by {actor}",
            )
        )

    async def _move(self, action: str, mission_id: str, actor: str) -> MissionStatus:
        mission = self._missions.get(mission_id)
        if mission is None:
            raise ControlRefusedError(f"no mission {mission_id!r}")
        if mission.state not in _ALLOWED[action]:
            allowed = ", ".join(s.value for s in _ALLOWED[action])
            raise ControlRefusedError(
                f"mission {mission_id} is {mission.state.value}: {action} is allowed from {allowed}"
            )
        return await self._put(
            mission.model_copy(
                update={
                    "state": _RESULT[action],
                    "time": self._clock.now(),
                    "cause": f"{action} by {actor}",
                }
            )
        )

    async def approve(self, mission_id: str, *, actor: str) -> MissionStatus:
        return await self._move("approve", mission_id, actor)

    async def launch(self, mission_id: str, *, actor: str) -> MissionStatus:
        return await self._move("launch", mission_id, actor)

    async def abort(self, mission_id: str, *, actor: str) -> MissionStatus:
        return await self._move("abort", mission_id, actor)

    async def rtl(self, mission_id: str, *, actor: str) -> MissionStatus:
        return await self._move("rtl", mission_id, actor)

    async def land(self, mission_id: str, *, actor: str) -> MissionStatus:
        return await self._move("land", mission_id, actor)

    async def dispatch(
        self, incidents: Sequence[Incident], *, actor: str
    ) -> list[LoopbackDecision]:
        decisions = []
        taken: set[str] = set()
        for incident in incidents:
            target = (incident.lat_deg, incident.lon_deg)
            idle = [
                (distance_m(position, target), vid)
                for vid, position in sorted(self._positions().items())
                if vid not in taken and self._busy(vid) is None
            ]
            if not idle:
                decisions.append(
                    LoopbackDecision(
                        incident_id=incident.incident_id,
                        vehicle_id=None,
                        eta_s=None,
                        reasons=("no idle vehicle",),
                    )
                )
                continue
            distance, vid = min(idle)
            taken.add(vid)
            await self.create_mission(
                "first_response",
                [target],
                vehicle_id=vid,
                actor=actor,
                incident_id=incident.incident_id,
                state=S.EN_ROUTE,
            )
            dispatched = incident.model_copy(
                update={"status": IncidentStatus.DISPATCHED, "assigned_vehicle_id": vid}
            )
            await self._publisher.publish(topics.incident(incident.incident_id), dispatched)
            decisions.append(
                LoopbackDecision(
                    incident_id=incident.incident_id,
                    vehicle_id=vid,
                    eta_s=distance / self._cruise_m_s,
                    reasons=(f"nearest idle vehicle, {distance:.0f} m away",),
                )
            )
        return decisions


class LoopbackPlanner:
    """``route``: the points in order; ``perimeter``: around the area and back to the start."""

    def __init__(
        self,
        *,
        positions: Callable[[], Mapping[str, tuple[float, float]]],
        cruise_m_s: float = 15.0,
        endurance_s: float = 1800.0,
    ) -> None:
        self._positions = positions
        self._cruise_m_s = cruise_m_s
        self._endurance_s = endurance_s

    def names(self) -> Sequence[str]:
        return ("route", "perimeter")

    async def propose(
        self,
        name: str,
        *,
        vehicle_id: str,
        geometry_type: str,
        points: Sequence[tuple[float, float]],
        alt_rel_m: float,
    ) -> PlanProposal:
        start = self._positions().get(vehicle_id)
        if start is None:
            raise ControlRefusedError(f"vehicle {vehicle_id!r} has not reported a position")
        path = [start, *points]
        if name == "perimeter" or geometry_type == "area":
            path.append(points[0])
        path.append(start)
        length = sum(distance_m(a, b) for a, b in itertools.pairwise(path))
        duration = length / self._cruise_m_s
        reasons = []
        if duration > self._endurance_s:
            reasons.append(f"needs {duration / 60:.0f} min, endurance {self._endurance_s / 60:.0f}")
        far = max(distance_m(start, p) for p in points)
        if far > 50_000:
            reasons.append(f"goes {far / 1000:.1f} km from the vehicle, beyond 50 km")
        line = [[lon, lat] for lat, lon in path]
        return PlanProposal(
            mission_type="patrol",
            plan=[(lat, lon, alt_rel_m) for lat, lon in path],
            feasible=not reasons,
            reasons=tuple(reasons),
            duration_s=duration,
            distance_m=length,
            path=tuple(path),
            geojson={"type": "Feature", "geometry": {"type": "LineString", "coordinates": line}},
        )
