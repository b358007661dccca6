"""What the controller needs from a vehicle, and the flight plans it hands over.

:class:`VehicleLink` is the narrow slice of ``fleet.Vehicle`` the controller uses; an adapter
maps :class:`FlightPlan` to MAVLink mission and fence items. :class:`FleetView` finds vehicles.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from missions.controller.errors import InvalidPlanError
from skyeye.contracts import VehicleState

__all__ = [
    "FailsafeSettings",
    "FenceSpec",
    "FleetView",
    "FlightPlan",
    "PlanItem",
    "PlanItemKind",
    "VehicleLink",
]


class PlanItemKind(enum.StrEnum):
    TAKEOFF = "takeoff"  # climb to alt_rel_m over the launch point
    WAYPOINT = "waypoint"  # fly to the point at cruise speed
    ROI = "roi"  # point the gimbal at the point from now on
    ORBIT = "orbit"  # circle the point at radius_m until told otherwise
    RTL = "rtl"  # return to launch and land
    SPEED = "speed"  # horizontal speed from now on (DO_CHANGE_SPEED)
    GIMBAL = "gimbal"  # camera pitch from now on, -90 straight down (DO_GIMBAL_MANAGER_PITCHYAW)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanItem:
    kind: PlanItemKind
    lat_deg: float = 0.0
    lon_deg: float = 0.0
    alt_rel_m: float = 0.0
    radius_m: float = 0.0
    speed_m_s: float = 0.0
    pitch_deg: float = 0.0

    def __post_init__(self) -> None:
        if not (-90 <= self.lat_deg <= 90 and -180 <= self.lon_deg <= 180):
            raise InvalidPlanError(f"{self.kind} item is outside WGS84 ranges")
        if not (math.isfinite(self.alt_rel_m) and 0 <= self.alt_rel_m <= 500):
            raise InvalidPlanError(f"{self.kind} altitude {self.alt_rel_m} m is outside 0..500 m")
        if self.kind is PlanItemKind.ORBIT and not 5 <= self.radius_m <= 2000:
            raise InvalidPlanError(f"orbit radius {self.radius_m} m is outside 5..2000 m")
        if self.kind is PlanItemKind.SPEED and not 0.5 <= self.speed_m_s <= 40:
            raise InvalidPlanError(f"speed {self.speed_m_s} m/s is outside 0.5..40 m/s")
        if not -90 <= self.pitch_deg <= 30:
            raise InvalidPlanError(f"gimbal pitch {self.pitch_deg}° is outside -90..30°")

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "lat_deg": self.lat_deg,
            "lon_deg": self.lon_deg,
            "alt_rel_m": self.alt_rel_m,
            "radius_m": self.radius_m,
            "speed_m_s": self.speed_m_s,
            "pitch_deg": self.pitch_deg,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlanItem:
        return cls(
            kind=PlanItemKind(data["kind"]),
            lat_deg=float(data["lat_deg"]),
            lon_deg=float(data["lon_deg"]),
            alt_rel_m=float(data["alt_rel_m"]),
            radius_m=float(data["radius_m"]),
            speed_m_s=float(data.get("speed_m_s", 0.0)),
            pitch_deg=float(data.get("pitch_deg", 0.0)),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class FenceSpec:
    """A cylinder around home the vehicle must not leave (ArduPilot FENCE_RADIUS/ALT_MAX)."""

    radius_m: float
    alt_max_m: float

    def __post_init__(self) -> None:
        if not (30 <= self.radius_m <= 60_000 and 10 <= self.alt_max_m <= 1000):
            raise InvalidPlanError(
                f"fence {self.radius_m} m × {self.alt_max_m} m is outside 30..60000 × 10..1000"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class FlightPlan:
    """Mission items in order, and the fence that goes with them."""

    items: tuple[PlanItem, ...]
    fence: FenceSpec | None = None

    def __post_init__(self) -> None:
        if not self.items:
            raise InvalidPlanError("a plan needs at least one item")

    @property
    def orbit_index(self) -> int | None:
        """Index of the first orbit item: reaching it means being on station."""
        return next(
            (i for i, item in enumerate(self.items) if item.kind is PlanItemKind.ORBIT), None
        )

    @property
    def starts_with_takeoff(self) -> bool:
        return self.items[0].kind is PlanItemKind.TAKEOFF

    def matches(self, other: FlightPlan) -> bool:
        """Same items and fence, up to the wire's precision (degE7, float32): a read-back."""
        if len(self.items) != len(other.items) or (self.fence is None) != (other.fence is None):
            return False
        for mine, theirs in zip(self.items, other.items, strict=True):
            if mine.kind is not theirs.kind:
                return False
            if (
                abs(mine.lat_deg - theirs.lat_deg) > 2e-7
                or abs(mine.lon_deg - theirs.lon_deg) > 2e-7
            ):
                return False
            if abs(mine.alt_rel_m - theirs.alt_rel_m) > 0.01:
                return False
            if abs(mine.radius_m - theirs.radius_m) > 0.01:
                return False
            if abs(mine.speed_m_s - theirs.speed_m_s) > 0.01:
                return False
            if abs(mine.pitch_deg - theirs.pitch_deg) > 0.01:
                return False
        if self.fence is not None and other.fence is not None:
            return (
                abs(self.fence.radius_m - other.fence.radius_m) < 0.5
                and abs(self.fence.alt_max_m - other.fence.alt_max_m) < 0.5
            )
        return True

    def items_json(self) -> list[dict[str, Any]]:
        fence = (
            []
            if self.fence is None
            else [
                {
                    "kind": "fence",
                    "radius_m": self.fence.radius_m,
                    "alt_max_m": self.fence.alt_max_m,
                }
            ]
        )
        return [item.to_json() for item in self.items] + fence

    @classmethod
    def from_json(cls, items: Sequence[Mapping[str, Any]]) -> FlightPlan:
        fence = next((i for i in items if i["kind"] == "fence"), None)
        return cls(
            items=tuple(PlanItem.from_json(i) for i in items if i["kind"] != "fence"),
            fence=None
            if fence is None
            else FenceSpec(radius_m=float(fence["radius_m"]), alt_max_m=float(fence["alt_max_m"])),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class FailsafeSettings:
    """The vehicle's own safety settings as read back from it (ArduPilot ships them off)."""

    gcs_failsafe_enabled: bool
    battery_failsafe_enabled: bool
    fence_enabled: bool

    def missing(self) -> list[str]:
        names = {
            "ground-station loss failsafe": self.gcs_failsafe_enabled,
            "battery failsafe": self.battery_failsafe_enabled,
            "geofence": self.fence_enabled,
        }
        return [name for name, on in names.items() if not on]


class VehicleLink(Protocol):
    """The commands and state the controller uses; every command raises when refused."""

    @property
    def vehicle_id(self) -> str: ...

    @property
    def state(self) -> VehicleState: ...

    async def failsafe_settings(self) -> FailsafeSettings: ...

    async def upload_plan(self, plan: FlightPlan) -> None: ...

    async def download_plan(self) -> FlightPlan: ...

    async def set_mode(self, mode: str) -> None: ...

    async def arm(self) -> None: ...

    async def takeoff(self, alt_rel_m: float) -> None: ...

    async def start_mission(self) -> None: ...

    async def rtl(self) -> None: ...

    async def land(self) -> None: ...


class FleetView(Protocol):
    """Where the controller finds vehicles by id."""

    def vehicle_ids(self) -> Sequence[str]: ...

    def vehicle(self, vehicle_id: str) -> VehicleLink: ...
