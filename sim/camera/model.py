"""Gimbal camera geometry: intrinsics, pose, and the pinhole projection the renderer uses.

Conventions (shared with ``vision``): image ``u`` right, ``v`` down, continuous pixel
coordinates with pixel centres at integer + 0.5 and the principal point at the image centre.
The gimbal is stabilised: the camera looks along heading ``yaw + gimbal_yaw`` (degrees from
north) and pitch ``gimbal_pitch`` against the horizon (-90 = straight down); the vehicle's
roll and pitch are reported but do not move the picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.camera.errors import CameraConfigError, PoseError

__all__ = ["CameraConfig", "CameraEffects", "CameraPose", "Intrinsics", "rotation_enu_to_camera"]

F64 = npt.NDArray[np.float64]


class CameraEffects(BaseModel):
    """What a real sensor and encoder do to a clean picture."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    noise_sigma: float = Field(default=3.0, ge=0.0, le=50.0, title="Sensor noise (8-bit sigma)")
    vignetting: float = Field(default=0.25, ge=0.0, le=0.9, title="Corner darkening")
    motion_blur: bool = Field(default=True, title="Motion blur from camera motion")
    exposure_s: float = Field(default=1 / 250, gt=0.0, le=0.1, title="Exposure time")
    jpeg_quality: int | None = Field(
        default=None, ge=5, le=100, title="JPEG quality", description="Null: no JPEG pass."
    )


class CameraConfig(BaseModel):
    """A gimbal camera: optics from FOV, or from sensor size, focal length and zoom."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    width_px: int = Field(default=640, ge=16, le=7680, title="Width")
    height_px: int = Field(default=360, ge=16, le=4320, title="Height")
    fps: float = Field(default=15.0, gt=0.0, le=120.0, title="Frames per second")
    hfov_deg: float | None = Field(default=None, gt=0.5, lt=170.0, title="Horizontal FOV")
    sensor_width_mm: float | None = Field(default=None, gt=0.0, le=100.0, title="Sensor width")
    focal_length_mm: float | None = Field(default=None, gt=0.0, le=2000.0, title="Focal length")
    zoom: float = Field(default=1.0, ge=1.0, le=200.0, title="Zoom factor")
    max_range_m: float = Field(
        default=3_000.0, gt=10.0, le=50_000.0, title="Farthest ground drawn", description="m."
    )
    effects: CameraEffects = Field(default_factory=CameraEffects, title="Sensor effects")

    @model_validator(mode="after")
    def _optics(self) -> CameraConfig:
        has_fov = self.hfov_deg is not None
        has_lens = self.sensor_width_mm is not None and self.focal_length_mm is not None
        if has_fov == has_lens:
            raise ValueError("give either hfov_deg, or both sensor_width_mm and focal_length_mm")
        return self

    def intrinsics(self) -> Intrinsics:
        if self.hfov_deg is not None:
            half = math.tan(math.radians(self.hfov_deg) / 2) / self.zoom
        elif self.sensor_width_mm is not None and self.focal_length_mm is not None:
            half = self.sensor_width_mm / 2 / (self.focal_length_mm * self.zoom)
        else:
            raise CameraConfigError("camera has neither a FOV nor a lens")
        fx = self.width_px / 2 / half
        return Intrinsics(
            self.width_px, self.height_px, fx, fx, self.width_px / 2, self.height_px / 2
        )


@dataclass(frozen=True, slots=True)
class Intrinsics:
    width_px: int
    height_px: int
    fx_px: float
    fy_px: float
    cx_px: float
    cy_px: float

    @property
    def hfov_deg(self) -> float:
        return math.degrees(2 * math.atan(self.width_px / 2 / self.fx_px))

    @property
    def vfov_deg(self) -> float:
        return math.degrees(2 * math.atan(self.height_px / 2 / self.fy_px))

    def matrix(self) -> F64:
        return np.array(
            [[self.fx_px, 0.0, self.cx_px], [0.0, self.fy_px, self.cy_px], [0.0, 0.0, 1.0]]
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraPose:
    """Platform position and attitude plus gimbal angles, at one instant."""

    lat_deg: float
    lon_deg: float
    alt_amsl_m: float
    roll_deg: float = 0.0
    pitch_deg: float = 0.0
    yaw_deg: float = 0.0
    gimbal_pitch_deg: float = -90.0
    gimbal_yaw_deg: float = 0.0

    def __post_init__(self) -> None:
        values = (
            self.lat_deg,
            self.lon_deg,
            self.alt_amsl_m,
            self.roll_deg,
            self.pitch_deg,
            self.yaw_deg,
            self.gimbal_pitch_deg,
            self.gimbal_yaw_deg,
        )
        if not all(math.isfinite(v) for v in values):
            raise PoseError(f"camera pose has a non-finite value: {values}")
        if not -90.0 <= self.lat_deg <= 90.0 or not -180.0 <= self.lon_deg <= 180.0:
            raise PoseError(f"camera position {self.lat_deg}, {self.lon_deg} is not on Earth")
        if not -90.0 <= self.gimbal_pitch_deg <= 30.0:
            raise PoseError(f"gimbal pitch {self.gimbal_pitch_deg}° is outside -90..30°")

    @property
    def camera_yaw_deg(self) -> float:
        return (self.yaw_deg + self.gimbal_yaw_deg) % 360.0


def rotation_enu_to_camera(yaw_deg: float, pitch_deg: float) -> F64:
    """Rows: the camera's right, down and forward axes in east-north-up."""
    psi, theta = math.radians(yaw_deg), math.radians(pitch_deg)
    forward = np.array(
        [math.sin(psi) * math.cos(theta), math.cos(psi) * math.cos(theta), math.sin(theta)]
    )
    right = np.array([math.cos(psi), -math.sin(psi), 0.0])
    down = np.cross(forward, right)
    return np.vstack([right, down, forward])
