"""Request and response bodies of the console API (the bus contracts come from skyeye)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from shapely.geometry import Polygon

from missions.console.auth import Role
from skyeye.contracts import Incident, Priority, ReportSource

__all__ = [
    "Alert",
    "AlertKind",
    "AuditRecord",
    "BaseZone",
    "CeilingZone",
    "DispatchOutcome",
    "Feed",
    "IncidentOutcome",
    "LoginRequest",
    "MissionAction",
    "MissionActionRequest",
    "MissionCreateRequest",
    "NoFlyZone",
    "PlanPreview",
    "PlanPreviewRequest",
    "RaiseIncidentRequest",
    "ReportRequest",
    "TokenResponse",
    "UserCreate",
    "UserOut",
    "UserUpdate",
    "Zone",
    "ZoneCreate",
]

Username = Annotated[str, Field(min_length=2, max_length=32, pattern=r"^[a-z0-9_.-]+$")]
Password = Annotated[SecretStr, Field(min_length=8, max_length=128)]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0)]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ----------------------------------------------------------------- auth and users


class LoginRequest(_Body):
    username: str = Field(min_length=1, max_length=64)
    password: SecretStr = Field(min_length=1, max_length=128)


class TokenResponse(_Body):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    username: str
    role: Role


class UserCreate(_Body):
    username: Username
    password: Password
    role: Role


class UserUpdate(_Body):
    password: Password | None = None
    role: Role | None = None
    disabled: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> UserUpdate:
        if self.password is None and self.role is None and self.disabled is None:
            raise ValueError("give at least one of password, role, disabled")
        return self


class UserOut(_Body):
    username: str
    role: Role
    disabled: bool
    created_at: datetime


# ----------------------------------------------------------------- zones


class BaseZone(_Body):
    """A base and the radius its drones patrol within."""

    kind: Literal["base"] = "base"
    name: str = Field(min_length=1, max_length=64)
    lat_deg: Latitude
    lon_deg: Longitude
    radius_m: float = Field(default=50_000.0, gt=0, le=50_000.0)


Vertices = Annotated[
    tuple[tuple[Latitude, Longitude], ...],
    Field(min_length=3, max_length=500, description="Vertices as (lat_deg, lon_deg)."),
]


def _simple(polygon: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
    shape = Polygon([(lon, lat) for lat, lon in polygon])
    if not shape.is_valid or shape.area == 0.0:
        raise ValueError("the polygon must be simple (no self-crossing) and have an area")
    return polygon


class NoFlyZone(_Body):
    """A polygon drones must never enter (a margin is kept around it)."""

    kind: Literal["no_fly"] = "no_fly"
    name: str = Field(min_length=1, max_length=64)
    polygon: Vertices

    _simple_polygon = field_validator("polygon")(_simple)


class CeilingZone(_Body):
    """A polygon drones fly over only below ``ceiling_agl_m`` above the ground."""

    kind: Literal["ceiling"] = "ceiling"
    name: str = Field(min_length=1, max_length=64)
    polygon: Vertices
    ceiling_agl_m: float = Field(ge=0.0, le=120.0, description="Metres above the ground.")

    _simple_polygon = field_validator("polygon")(_simple)


ZoneCreate = Annotated[BaseZone | NoFlyZone | CeilingZone, Field(discriminator="kind")]


class Zone(_Body):
    zone_id: str
    created_at: datetime
    zone: ZoneCreate


# ----------------------------------------------------------------- audit


class AuditRecord(_Body):
    at: datetime
    actor: str
    action: str
    target: str
    result: str
    detail: str


# ----------------------------------------------------------------- incidents


class RaiseIncidentRequest(_Body):
    lat_deg: Latitude
    lon_deg: Longitude
    category: str = Field(min_length=1, max_length=64)
    priority: Priority = Priority.NORMAL
    summary: str = Field(default="", max_length=500)
    dispatch: bool = Field(default=True, description="Send the best drone at once.")


class ReportRequest(_Body):
    """A ground report (citizen app, emergency line, hotline) for fusion to cluster."""

    source: ReportSource
    category: str = Field(min_length=1, max_length=64)
    text: str = Field(default="", max_length=2000)
    lat_deg: Latitude
    lon_deg: Longitude
    priority: Priority = Priority.NORMAL


class DispatchOutcome(_Body):
    incident_id: str
    vehicle_id: str | None
    eta_s: float | None
    reasons: tuple[str, ...]


class IncidentOutcome(_Body):
    incident: Incident
    dispatch: DispatchOutcome | None = None


# ----------------------------------------------------------------- missions


class PlanPreviewRequest(_Body):
    planner: str = Field(min_length=1, max_length=64)
    vehicle_id: str = Field(min_length=1, max_length=64)
    geometry_type: Literal["area", "route"]
    points: tuple[tuple[Latitude, Longitude], ...] = Field(
        min_length=2, max_length=1000, description="(lat_deg, lon_deg) vertices."
    )
    alt_rel_m: float = Field(default=60.0, ge=10.0, le=120.0)

    @model_validator(mode="after")
    def _shape(self) -> PlanPreviewRequest:
        if self.geometry_type == "area":
            if len(self.points) < 3:
                raise ValueError("an area needs at least 3 points")
            shape = Polygon([(lon, lat) for lat, lon in self.points])
            if not shape.is_valid or shape.area == 0.0:
                raise ValueError("the area must be a simple polygon with an area")
        return self


class PlanPreview(_Body):
    """What a planner proposes, before anyone approves it."""

    preview_id: str
    planner: str
    vehicle_id: str
    feasible: bool
    reasons: tuple[str, ...] = ()
    duration_s: float = Field(ge=0)
    distance_m: float = Field(ge=0)
    path: tuple[tuple[Latitude, Longitude], ...] = ()
    geojson: dict[str, Any] = Field(default_factory=dict)


class MissionCreateRequest(_Body):
    preview_id: str = Field(min_length=1, max_length=64)


class MissionAction(enum.StrEnum):
    APPROVE = "approve"
    LAUNCH = "launch"
    ABORT = "abort"
    RTL = "rtl"
    LAND = "land"


class MissionActionRequest(_Body):
    confirm: bool = Field(
        default=False, description="Launch, abort, RTL and land need confirm=true."
    )


# ----------------------------------------------------------------- live


class AlertKind(enum.StrEnum):
    FAILSAFE = "failsafe"
    LOW_BATTERY = "low_battery"
    LINK_LOST = "link_lost"
    EMERGENCY = "emergency"


class Alert(_Body):
    alert_id: str
    vehicle_id: str
    kind: AlertKind
    time: datetime
    text: str


class Feed(_Body):
    vehicle_id: str
    whep_url: str
    token: str | None
