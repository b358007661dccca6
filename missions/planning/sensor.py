"""From a target and the pixels needed on it to altitude, swath and coverage rate."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from missions.planning.errors import InvalidRequestError
from missions.planning.vehicles import Camera

__all__ = ["TARGETS", "LimitedBy", "SensorGeometry", "TargetClass", "sensor_geometry"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetClass:
    """A kind of target: its critical dimension and the pixels across it to recognise it."""

    name: str
    size_m: float
    pixels_on_target: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.size_m) and self.size_m > 0):
            raise InvalidRequestError(f"target {self.name!r}: size_m must be positive")
        if not (math.isfinite(self.pixels_on_target) and self.pixels_on_target > 0):
            raise InvalidRequestError(f"target {self.name!r}: pixels_on_target must be positive")

    @property
    def gsd_m(self) -> float:
        return self.size_m / self.pixels_on_target


TARGETS: dict[str, TargetClass] = {
    "car": TargetClass(name="car", size_m=1.8, pixels_on_target=24.0),
    "person": TargetClass(name="person", size_m=0.5, pixels_on_target=16.0),
    "boat": TargetClass(name="boat", size_m=2.5, pixels_on_target=20.0),
}


class LimitedBy(enum.Enum):
    RESOLUTION = "resolution"  # flown at the altitude the target needs
    CEILING = "ceiling"  # the ceiling is lower: finer pixels, narrower swath


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorGeometry:
    """Altitude and image geometry for one camera, target and ceiling."""

    required_gsd_m: float
    gsd_m: float
    agl_m: float
    swath_m: float
    footprint_length_m: float
    line_spacing_m: float
    coverage_rate_km2_h: float
    limited_by: LimitedBy


def sensor_geometry(
    camera: Camera,
    target: TargetClass,
    *,
    ceiling_agl_m: float,
    survey_speed_m_s: float,
    min_agl_m: float = 20.0,
    side_overlap: float = 0.0,
) -> SensorGeometry:
    """Highest altitude that still puts ``target.pixels_on_target`` pixels on the target.

    Raises :class:`InvalidRequestError` when even ``min_agl_m`` is too high for the resolution,
    or when the ceiling is below ``min_agl_m``; the message gives what is achievable.
    """
    if not 0.0 <= side_overlap < 0.9:
        raise InvalidRequestError(f"side_overlap must be in [0, 0.9), got {side_overlap}")
    if not (math.isfinite(survey_speed_m_s) and survey_speed_m_s > 0):
        raise InvalidRequestError("survey_speed_m_s must be positive")
    need = target.gsd_m
    agl_needed = camera.agl_for_gsd_m(need)
    if agl_needed < min_agl_m:
        raise InvalidRequestError(
            f"{target.name}: {target.pixels_on_target:g} px on {target.size_m:g} m needs "
            f"{agl_needed:.1f} m above ground, below the {min_agl_m:g} m minimum; at "
            f"{min_agl_m:g} m the camera gives {target.size_m / camera.gsd_m(min_agl_m):.1f} px"
        )
    if ceiling_agl_m < min_agl_m:
        raise InvalidRequestError(
            f"ceiling {ceiling_agl_m:g} m is below the {min_agl_m:g} m minimum altitude"
        )
    limited = LimitedBy.CEILING if agl_needed > ceiling_agl_m else LimitedBy.RESOLUTION
    agl = min(agl_needed, ceiling_agl_m)
    swath = camera.footprint_width_m(agl)
    spacing = swath * (1.0 - side_overlap)
    return SensorGeometry(
        required_gsd_m=need,
        gsd_m=camera.gsd_m(agl),
        agl_m=agl,
        swath_m=swath,
        footprint_length_m=camera.footprint_length_m(agl),
        line_spacing_m=spacing,
        coverage_rate_km2_h=spacing * survey_speed_m_s * 3600.0 / 1e6,
        limited_by=limited,
    )
