"""Simulated gimbal cameras: perspective rendering with ground truth, WHIP streaming, data sets."""

from sim.camera.errors import (
    CameraConfigError,
    CameraError,
    DatasetError,
    PoseError,
    WhipAuthError,
    WhipError,
)
from sim.camera.model import CameraConfig, CameraEffects, CameraPose, Intrinsics
from sim.camera.render import RenderedFrame, Renderer, TargetTruth

__all__ = [
    "CameraConfig",
    "CameraConfigError",
    "CameraEffects",
    "CameraError",
    "CameraPose",
    "DatasetError",
    "Intrinsics",
    "PoseError",
    "RenderedFrame",
    "Renderer",
    "TargetTruth",
    "WhipAuthError",
    "WhipError",
]
