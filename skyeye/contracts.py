"""Message contracts: every payload that crosses the bus or the HTTP API.

Each model is a frozen pydantic model with a ``schema_version`` and units in its field
names (``lat_deg``, ``alt_rel_m``, ``speed_m_s``). Times are timezone-aware UTC datetimes.
Unknown fields are rejected so that a producer on a newer schema fails loudly instead of
being half understood.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "SCHEMA_VERSION",
    "Contract",
    "CoverageCell",
    "CoverageLayer",
    "Detection",
    "DetectionBatch",
    "GeoPoint",
    "Incident",
    "IncidentStatus",
    "LinkQuality",
    "MissionState",
    "MissionStatus",
    "Priority",
    "Report",
    "ReportSource",
    "StatusText",
    "Track",
    "TrackList",
    "VehicleEvent",
    "VehicleEventKind",
    "VehicleState",
]

SCHEMA_VERSION = 1


def _require_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamps must be timezone-aware (UTC)")
    return value


UtcDatetime = Annotated[datetime, AfterValidator(_require_utc)]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0)]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0)]
Percent = Annotated[float, Field(ge=0.0, le=100.0)]
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class Contract(BaseModel):
    """Base of every message: frozen, strict about unknown keys, versioned."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = Field(
        default=1, title="Schema version", description="Version of this message's schema."
    )


class GeoPoint(BaseModel):
    """A WGS84 position; ``alt_amsl_m`` is optional for ground points."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lat_deg: Latitude
    lon_deg: Longitude
    alt_amsl_m: float | None = None


# --------------------------------------------------------------------------- fleet


class LinkQuality(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    connected: bool
    last_heard_age_s: float = Field(ge=0.0)
    packet_loss_pct: Percent = 0.0
    rtt_ms: float | None = Field(default=None, ge=0.0)


class StatusText(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    time: UtcDatetime
    severity: int = Field(ge=0, le=7, description="MAV_SEVERITY: 0 emergency … 7 debug")
    text: str = Field(max_length=200)


class VehicleState(Contract):
    """Aggregated live state of one vehicle, published retained on ``fleet/{vehicle}/state``."""

    vehicle_id: Identifier
    system_id: int = Field(ge=1, le=255)
    time: UtcDatetime
    lat_deg: Latitude | None = None
    lon_deg: Longitude | None = None
    alt_rel_m: float | None = None
    alt_amsl_m: float | None = None
    vel_north_m_s: float = 0.0
    vel_east_m_s: float = 0.0
    vel_down_m_s: float = 0.0
    ground_speed_m_s: float = Field(default=0.0, ge=0.0)
    heading_deg: float | None = Field(default=None, ge=0.0, lt=360.0)
    roll_deg: float = 0.0
    pitch_deg: float = 0.0
    yaw_deg: float = 0.0
    battery_voltage_v: float | None = Field(default=None, ge=0.0)
    battery_pct: Percent | None = None
    battery_time_left_s: float | None = Field(default=None, ge=0.0)
    gps_fix_type: int = Field(default=0, ge=0, le=8)
    gps_satellites: int = Field(default=0, ge=0, le=255)
    mode: str = "UNKNOWN"
    armed: bool = False
    system_status: str = "UNINIT"
    home: GeoPoint | None = None
    mission_seq: int | None = Field(default=None, ge=0)
    gimbal_pitch_deg: float | None = None
    gimbal_yaw_deg: float | None = None
    status_texts: tuple[StatusText, ...] = ()
    link: LinkQuality


class VehicleEventKind(enum.StrEnum):
    ARMED = "armed"
    DISARMED = "disarmed"
    MODE_CHANGED = "mode_changed"
    FAILSAFE = "failsafe"
    MISSION_ITEM_REACHED = "mission_item_reached"
    LINK_LOST = "link_lost"
    LINK_RESTORED = "link_restored"
    STATUSTEXT = "statustext"
    DISCOVERED = "discovered"


class VehicleEvent(Contract):
    """Something that happened to a vehicle, published on ``fleet/{vehicle}/event``."""

    vehicle_id: Identifier
    time: UtcDatetime
    kind: VehicleEventKind
    detail: str = Field(default="", max_length=500)
    mode: str | None = None
    mission_seq: int | None = Field(default=None, ge=0)
    severity: int | None = Field(default=None, ge=0, le=7)


# --------------------------------------------------------------------------- vision


class Detection(BaseModel):
    """One object seen in one frame, with its ground position when it could be projected."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    class_name: str = Field(min_length=1, max_length=32)
    confidence: float = Field(ge=0.0, le=1.0)
    x_min_px: float
    y_min_px: float
    x_max_px: float
    y_max_px: float
    feed_track_id: int | None = None
    lat_deg: Latitude | None = None
    lon_deg: Longitude | None = None
    ground_sigma_m: float | None = Field(default=None, ge=0.0)


class DetectionBatch(Contract):
    """Every detection of one frame, published on ``vision/{vehicle}/detections``."""

    vehicle_id: Identifier
    frame_id: int = Field(ge=0)
    capture_time: UtcDatetime
    image_width_px: int = Field(gt=0)
    image_height_px: int = Field(gt=0)
    footprint: tuple[GeoPoint, ...] = Field(
        default=(), description="Camera footprint corners on the ground, if projectable."
    )
    detections: tuple[Detection, ...] = ()


class Track(BaseModel):
    """A fused object on the ground, maintained across drones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    track_id: Identifier
    class_name: str
    class_confidence: float = Field(ge=0.0, le=1.0)
    lat_deg: Latitude
    lon_deg: Longitude
    vel_north_m_s: float = 0.0
    vel_east_m_s: float = 0.0
    position_sigma_m: float = Field(ge=0.0)
    first_seen: UtcDatetime
    last_seen: UtcDatetime
    seen_by: tuple[str, ...] = ()
    trail: tuple[GeoPoint, ...] = ()


class TrackList(Contract):
    """The current set of confirmed tracks, published on ``map/tracks``."""

    time: UtcDatetime
    tracks: tuple[Track, ...] = ()


class CoverageCell(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    cell_id: str
    lat_deg: Latitude
    lon_deg: Longitude
    last_imaged: UtcDatetime | None


class CoverageLayer(Contract):
    """Time since each cell was last imaged, published on ``map/coverage``."""

    time: UtcDatetime
    cell_size_m: float = Field(gt=0.0)
    cells: tuple[CoverageCell, ...] = ()


# --------------------------------------------------------------------------- incidents


class Priority(enum.IntEnum):
    LOW = 1
    NORMAL = 2
    HIGH = 3
    CRITICAL = 4


class ReportSource(enum.StrEnum):
    CITIZEN_APP = "citizen_app"
    EMERGENCY_LINE = "emergency_line"
    MUNICIPAL_HOTLINE = "municipal_hotline"
    OFFICER = "officer"
    SIMULATION = "simulation"


class Report(Contract):
    """A ground report, published on ``reports`` or posted to the API."""

    report_id: Identifier
    time: UtcDatetime
    source: ReportSource
    category: str = Field(min_length=1, max_length=64)
    text: str = Field(default="", max_length=2000)
    lat_deg: Latitude
    lon_deg: Longitude
    priority: Priority = Priority.NORMAL


class IncidentStatus(enum.StrEnum):
    OPEN = "open"
    DISPATCHED = "dispatched"
    ON_SCENE = "on_scene"
    CLOSED = "closed"


class Incident(Contract):
    """Something that needs a drone, published on ``incidents/{id}``."""

    incident_id: Identifier
    time: UtcDatetime
    category: str = Field(min_length=1, max_length=64)
    priority: Priority
    lat_deg: Latitude
    lon_deg: Longitude
    status: IncidentStatus = IncidentStatus.OPEN
    report_ids: tuple[str, ...] = ()
    track_ids: tuple[str, ...] = ()
    assigned_vehicle_id: str | None = None
    summary: str = Field(default="", max_length=500)


# --------------------------------------------------------------------------- missions


class MissionState(enum.StrEnum):
    DRAFT = "draft"
    PLANNED = "planned"
    APPROVED = "approved"
    UPLOADING = "uploading"
    LAUNCHING = "launching"
    EN_ROUTE = "en_route"
    ON_STATION = "on_station"
    RETURNING = "returning"
    LANDED = "landed"
    COMPLETED = "completed"
    ABORTED = "aborted"
    FAILED = "failed"


class MissionStatus(Contract):
    """A mission's state and progress, published on ``missions/{id}``."""

    mission_id: Identifier
    time: UtcDatetime
    mission_type: str = Field(min_length=1, max_length=32)
    state: MissionState
    vehicle_id: str | None = None
    incident_id: str | None = None
    progress_pct: Percent = 0.0
    current_item: int | None = Field(default=None, ge=0)
    item_count: int = Field(default=0, ge=0)
    cause: str = Field(default="", max_length=500)
