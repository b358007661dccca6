"""Settings of the mission controller, validated at the edge (pydantic, unknown keys refused)."""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ControllerSettings", "MissionType"]


class MissionType(enum.StrEnum):
    FIRST_RESPONSE = "first_response"  # dispatched to an incident: fly there and orbit
    RELIEF = "relief"  # takes over another mission's remaining work or overwatch
    PATROL = "patrol"  # planned route or coverage


class ControllerSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    approval_required: frozenset[MissionType] = Field(
        default=frozenset({MissionType.PATROL}),
        title="Types that need a pilot's approval",
        description="Mission types a pilot must approve before launch; others launch at once.",
    )
    orbit_radius_m: float = Field(
        default=80.0, ge=5, le=2000, title="Orbit radius", description="Around an incident."
    )
    orbit_alt_rel_m: float = Field(
        default=60.0, ge=10, le=120, title="Orbit altitude", description="Above home."
    )
    on_station_s: float = Field(
        default=600.0, ge=0, title="Time on station", description="Budgeted for battery checks."
    )
    on_station_margin_m: float = Field(
        default=20.0, gt=0, title="On-station margin", description="Beyond the orbit radius."
    )
    poll_s: float = Field(
        default=0.5, gt=0, title="Supervision period", description="Clock seconds per look."
    )
    wheels_up_alt_m: float = Field(
        default=2.0, gt=0, title="Wheels-up altitude", description="Airborne above this."
    )
    step_timeout_s: float = Field(
        default=15.0, gt=0, title="Launch step timeout", description="Per command step."
    )
    upload_timeout_s: float = Field(
        default=30.0, gt=0, title="Upload timeout", description="Upload and read-back."
    )
    link_loss_timeout_s: float = Field(
        default=15.0, gt=0, title="Link loss wait", description="Before the work is handed off."
    )
    handoff_battery_pct: float = Field(
        default=35.0, ge=0, le=100, title="Hand-off battery", description="Relief is sent here."
    )
    min_gps_satellites: int = Field(
        default=6, ge=0, title="Minimum satellites", description="Pre-flight GPS check."
    )
    fence_radius_m: float = Field(
        default=50_000.0, ge=30, le=60_000, title="Fence radius", description="Around home."
    )
    fence_alt_max_m: float = Field(
        default=120.0, ge=10, le=1000, title="Fence ceiling", description="Above home."
    )
