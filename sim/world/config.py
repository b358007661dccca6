"""Scenario sections that describe the world: ``world``, ``targets``, ``weather``.

They are validated at the edge (unknown keys forbidden, every field described) and turned into
the frozen values the world runs on.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ActorConfig",
    "CrowdActor",
    "DensityConfig",
    "FleeingVehicleActor",
    "LatLon",
    "LoneActor",
    "TargetClass",
    "TargetsConfig",
    "WeatherConfig",
    "WorldConfig",
]

TargetClass = Literal["car", "van", "truck", "bus", "motorcycle", "person", "boat"]
LatLon = tuple[
    Annotated[float, Field(ge=-90.0, le=90.0)], Annotated[float, Field(ge=-180.0, le=180.0)]
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WorldConfig(_Model):
    """The ground: where it is centred, how far it reaches, what it looks like."""

    origin: LatLon = Field(
        title="Origin",
        description="[lat, lon] of the world plane's origin, usually the first base.",
    )
    radius_m: float = Field(
        default=60_000.0,
        gt=0.0,
        le=200_000.0,
        title="Radius",
        description="The world is generated within this distance of the origin, metres.",
    )
    coast_bearing_deg: float | None = Field(
        default=None,
        ge=0.0,
        lt=360.0,
        title="Coast bearing",
        description="Put sea on this side of the origin (degrees from north); null: inland.",
    )
    coast_distance_m: float = Field(
        default=20_000.0, gt=0.0, title="Coast distance", description="Origin to shoreline, m."
    )
    town_density: float = Field(
        default=1.0,
        ge=0.0,
        le=3.0,
        title="Town density",
        description="Multiplier on the share of road crossings that grow a village or town.",
    )
    relief_m: float = Field(
        default=25.0, ge=0.0, le=1_000.0, title="Relief", description="Hill amplitude, metres."
    )
    base_altitude_amsl_m: float = Field(
        default=20.0, title="Base altitude", description="Mean ground height above sea level, m."
    )
    tile_cache_mb: float = Field(
        default=96.0,
        gt=1.0,
        le=4096.0,
        title="Tile cache",
        description="Most memory the rendered ortho tiles may hold, megabytes.",
    )


class DensityConfig(_Model):
    """How many ambient targets the world grows."""

    vehicles_per_road_km: float = Field(default=3.0, ge=0.0, le=50.0, title="Road traffic")
    people_per_town_hectare: float = Field(default=0.4, ge=0.0, le=20.0, title="Pedestrians")
    boats_per_water_km2: float = Field(default=4.0, ge=0.0, le=100.0, title="Boats")


class FleeingVehicleActor(_Model):
    """A vehicle driving a fixed route, as a suspect fleeing would."""

    kind: Literal["fleeing_vehicle"] = "fleeing_vehicle"
    id: str = Field(min_length=1, max_length=64, title="Target id")
    target_class: Literal["car", "van", "truck", "motorcycle"] = Field(
        default="car", alias="class", title="Vehicle class"
    )
    route: list[LatLon] = Field(min_length=2, title="Route", description="[lat, lon] waypoints.")
    speed_m_s: float = Field(default=25.0, gt=0.0, le=70.0, title="Speed")
    start_s: float = Field(default=0.0, ge=0.0, title="Start", description="Scenario seconds.")


class CrowdActor(_Model):
    """People gathered at a venue, milling about."""

    kind: Literal["crowd"] = "crowd"
    id: str = Field(min_length=1, max_length=64, title="Crowd id")
    center: LatLon = Field(title="Centre")
    count: int = Field(default=40, ge=1, le=2_000, title="People")
    radius_m: float = Field(default=25.0, gt=0.0, le=1_000.0, title="Radius")


class LoneActor(_Model):
    """One person, for instance lost in a field, walking slowly around a spot."""

    kind: Literal["person"] = "person"
    id: str = Field(min_length=1, max_length=64, title="Target id")
    position: LatLon = Field(title="Position")
    wander_radius_m: float = Field(default=10.0, ge=0.0, le=1_000.0, title="Wander radius")


ActorConfig = Annotated[FleeingVehicleActor | CrowdActor | LoneActor, Field(discriminator="kind")]


class TargetsConfig(_Model):
    """Ambient traffic, people and boats, plus scripted actors."""

    density: DensityConfig = Field(default_factory=DensityConfig, title="Density")
    actors: list[ActorConfig] = Field(default_factory=list, title="Scripted actors")


class WeatherConfig(_Model):
    """Light and atmosphere as the cameras see them."""

    sun_elevation_deg: float = Field(default=45.0, ge=5.0, le=90.0, title="Sun elevation")
    sun_azimuth_deg: float = Field(default=135.0, ge=0.0, lt=360.0, title="Sun azimuth")
    visibility_m: float = Field(
        default=8_000.0, gt=100.0, le=100_000.0, title="Visibility", description="Haze distance."
    )
    brightness: float = Field(default=1.0, gt=0.1, le=2.0, title="Brightness multiplier")
