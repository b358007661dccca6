"""Values that dispatch reasons about: vehicle profiles, candidates, incidents and decisions."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from missions.dispatch.errors import InvalidCandidateError, InvalidIncidentError
from skyeye.contracts import Priority

__all__ = [
    "Alternative",
    "Candidate",
    "DispatchDecision",
    "DispatchRequest",
    "VehicleProfile",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class VehicleProfile:
    """What a vehicle type can physically do, as dispatch needs it.

    ``launch_overhead_s`` is the time from the order to the start of the climb on the ground
    (arming, spool-up); ``battery_use_pct_per_s`` is the average drain in flight.
    """

    name: str
    cruise_speed_m_s: float
    climb_rate_m_s: float
    descent_rate_m_s: float
    battery_use_pct_per_s: float
    reserve_pct: float = 20.0
    launch_overhead_s: float = 3.0

    def __post_init__(self) -> None:
        for label, value in (
            ("cruise_speed_m_s", self.cruise_speed_m_s),
            ("climb_rate_m_s", self.climb_rate_m_s),
            ("descent_rate_m_s", self.descent_rate_m_s),
            ("battery_use_pct_per_s", self.battery_use_pct_per_s),
        ):
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"profile {self.name!r}: {label} must be positive, got {value}")
        if not 0 <= self.reserve_pct < 100:
            raise ValueError(f"profile {self.name!r}: reserve_pct must be in [0, 100)")
        if not math.isfinite(self.launch_overhead_s) or self.launch_overhead_s < 0:
            raise ValueError(f"profile {self.name!r}: launch_overhead_s must be >= 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """One vehicle as dispatch sees it at decision time.

    An airborne vehicle busy on a mission carries that mission's id and priority: it may be
    pre-empted only by a strictly higher priority. ``unavailable_reason`` (maintenance,
    pre-flight failure, already assigned) takes it out of the choice with that reason.
    """

    vehicle_id: str
    lat_deg: float
    lon_deg: float
    alt_rel_m: float
    airborne: bool
    battery_pct: float
    profile: VehicleProfile
    home_lat_deg: float
    home_lon_deg: float
    link_ok: bool = True
    mission_id: str | None = None
    mission_priority: Priority | None = None
    unavailable_reason: str | None = None

    def __post_init__(self) -> None:
        if not (-90 <= self.lat_deg <= 90 and -180 <= self.lon_deg <= 180):
            raise InvalidCandidateError(self.vehicle_id, "position is outside WGS84 ranges")
        if not (-90 <= self.home_lat_deg <= 90 and -180 <= self.home_lon_deg <= 180):
            raise InvalidCandidateError(self.vehicle_id, "home is outside WGS84 ranges")
        if not math.isfinite(self.alt_rel_m):
            raise InvalidCandidateError(self.vehicle_id, "altitude is not a number")
        if not 0 <= self.battery_pct <= 100:
            raise InvalidCandidateError(
                self.vehicle_id, f"battery {self.battery_pct}% is outside 0..100"
            )
        if (self.mission_id is None) != (self.mission_priority is None):
            raise InvalidCandidateError(
                self.vehicle_id, "mission_id and mission_priority go together"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatchRequest:
    """An incident that needs a drone overhead: where, how urgent, for how long."""

    incident_id: str
    lat_deg: float
    lon_deg: float
    priority: Priority
    category: str = "incident"
    orbit_alt_rel_m: float = 60.0
    on_station_s: float = 600.0

    def __post_init__(self) -> None:
        if not (-90 <= self.lat_deg <= 90 and -180 <= self.lon_deg <= 180):
            raise InvalidIncidentError(self.incident_id, "location is outside WGS84 ranges")
        if not isinstance(self.priority, Priority):
            raise InvalidIncidentError(self.incident_id, f"unknown priority {self.priority!r}")
        if not math.isfinite(self.orbit_alt_rel_m) or not 10 <= self.orbit_alt_rel_m <= 120:
            raise InvalidIncidentError(
                self.incident_id, f"orbit altitude {self.orbit_alt_rel_m} m is outside 10..120 m"
            )
        if not math.isfinite(self.on_station_s) or self.on_station_s < 0:
            raise InvalidIncidentError(self.incident_id, "on_station_s must be >= 0")


@dataclass(frozen=True, slots=True)
class Alternative:
    """A vehicle that was considered and not chosen, with its on-scene time or its refusal."""

    vehicle_id: str
    eta_s: float | None
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatchDecision:
    """The choice for one incident and why; ``vehicle_id`` is None when nobody can go."""

    incident_id: str
    priority: Priority
    vehicle_id: str | None
    eta_s: float | None
    physical_limit_s: float | None
    distance_m: float | None
    preempted_mission_id: str | None
    reasons: tuple[str, ...]
    alternatives: tuple[Alternative, ...] = field(default=())
