"""Configuration of the fleet link, validated at the edge (unknown keys are refused)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["DATA_STREAMS", "FleetSettings", "SigningSettings"]

# MAV_DATA_STREAM ids ArduPilot understands in REQUEST_DATA_STREAM (its SRn_* groups).
DATA_STREAMS: dict[str, int] = {
    "RAW_SENSORS": 1,
    "EXTENDED_STATUS": 2,
    "RC_CHANNELS": 3,
    "RAW_CONTROLLER": 4,
    "POSITION": 6,
    "EXTRA1": 10,
    "EXTRA2": 11,
    "EXTRA3": 12,
}
_KEY = re.compile(r"^[0-9a-fA-F]{64}$")


class SigningSettings(BaseModel):
    """MAVLink 2 signing: one 32-byte key per vehicle system id, given as 64 hex digits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    keys: dict[int, SecretStr] = Field(
        default_factory=dict,
        title="Keys",
        description="System id → 64 hex digits. Once a vehicle has a key, nothing unsigned is "
        "sent to it and unsigned or badly signed messages from it are dropped and counted.",
    )
    timestamp_path: Path | None = Field(
        default=None,
        title="Timestamp file",
        description="Where the last signing timestamp is kept so it never goes backwards "
        "across restarts (None: start from the wall clock).",
    )
    link_id: int = Field(default=0, ge=0, le=255, title="Link id", description="Signing link id.")

    @field_validator("keys")
    @classmethod
    def _check_keys(cls, keys: dict[int, SecretStr]) -> dict[int, SecretStr]:
        for system_id, key in keys.items():
            if not 1 <= system_id <= 255:
                raise ValueError(f"system id {system_id} is outside 1..255")
            if not _KEY.match(key.get_secret_value()):
                raise ValueError(f"the key for system {system_id} is not 64 hex digits")
        return keys


class FleetSettings(BaseModel):
    """How the fleet talks to its vehicles.

    Link-level times (heartbeat, link timeout, command/mission/parameter timeouts) are wall
    seconds: network latency does not speed up with a simulation. ``command_expiry_s`` is
    in the injected clock's seconds, like the decisions that issue commands.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    gcs_system_id: int = Field(
        default=255,
        ge=1,
        le=255,
        title="Ground-station system id",
        description="Our MAVLink system id; ArduPilot only counts heartbeats from its "
        "MAV_GCS_SYSID (255 by default) for its ground-station failsafe.",
    )
    gcs_component_id: int = Field(
        default=190, ge=1, le=255, title="Component id", description="MAV_COMP_ID we send as."
    )
    heartbeat_period_s: float = Field(
        default=1.0, gt=0, le=5, title="Heartbeat period", description="GCS heartbeat period."
    )
    link_timeout_s: float = Field(
        default=2.0,
        gt=0,
        title="Link timeout",
        description="Silence after which a vehicle's link is declared down.",
    )
    state_rate_hz: float = Field(
        default=2.0,
        gt=0,
        le=50,
        title="State rate",
        description="How often each vehicle's aggregated state is published on the bus.",
    )
    command_timeout_s: float = Field(
        default=1.0, gt=0, title="Command timeout", description="Wait for COMMAND_ACK per try."
    )
    command_retries: int = Field(
        default=3, ge=0, le=20, title="Command retries", description="Resends after the first."
    )
    command_in_progress_timeout_s: float = Field(
        default=30.0,
        gt=0,
        title="In-progress timeout",
        description="How long a command reported IN_PROGRESS may take to finish.",
    )
    command_expiry_s: float = Field(
        default=5.0,
        gt=0,
        title="Command expiry",
        description="Default lifetime of a command: past it, it is dropped, never sent late.",
    )
    mission_item_timeout_s: float = Field(
        default=0.4,
        gt=0,
        title="Mission item timeout",
        description="Wait for the next request/item of a mission transfer before resending.",
    )
    mission_retries: int = Field(
        default=10,
        ge=0,
        le=100,
        title="Mission retries",
        description="Consecutive resends without progress before a transfer fails.",
    )
    param_timeout_s: float = Field(
        default=0.5, gt=0, title="Parameter timeout", description="Wait for PARAM_VALUE per try."
    )
    param_retries: int = Field(
        default=5, ge=0, le=50, title="Parameter retries", description="Resends after the first."
    )
    stream_rates_hz: dict[str, float] = Field(
        default_factory=lambda: {
            "EXTENDED_STATUS": 2.0,
            "POSITION": 4.0,
            "EXTRA1": 4.0,
            "EXTRA2": 4.0,
            "EXTRA3": 2.0,
        },
        title="Stream rates",
        description="REQUEST_DATA_STREAM rates asked of each vehicle on discovery and after "
        "a link is restored; keys are " + ", ".join(DATA_STREAMS) + ".",
    )
    vehicle_ids: dict[int, str] = Field(
        default_factory=dict,
        title="Vehicle ids",
        description="System id → vehicle id; others are named '<prefix><system id>'.",
    )
    vehicle_id_prefix: str = Field(
        default="mav-", pattern=r"^[A-Za-z0-9_.:-]*$", title="Vehicle id prefix"
    )
    status_texts_kept: int = Field(default=8, ge=0, le=50, title="STATUSTEXTs kept in state")
    signing: SigningSettings = Field(default_factory=SigningSettings, title="Signing")

    @field_validator("stream_rates_hz")
    @classmethod
    def _check_streams(cls, rates: dict[str, float]) -> dict[str, float]:
        for name, rate in rates.items():
            if name not in DATA_STREAMS:
                raise ValueError(f"unknown data stream {name!r}; use one of {list(DATA_STREAMS)}")
            if not 0 <= rate <= 50:
                raise ValueError(f"stream {name} rate {rate} Hz is outside 0..50")
        return rates

    def vehicle_id_for(self, system_id: int) -> str:
        return self.vehicle_ids.get(system_id, f"{self.vehicle_id_prefix}{system_id}")
