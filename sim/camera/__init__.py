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
from sim.camera.record import Mp4Writer
from sim.camera.render import RenderedFrame, Renderer, TargetTruth
from sim.camera.streams import CameraStreams
from sim.camera.whip import CameraTrack, PublisherState, WhipPublisher, frame_metadata

__all__ = [
    "CameraConfig",
    "CameraConfigError",
    "CameraEffects",
    "CameraError",
    "CameraPose",
    "CameraStreams",
    "CameraTrack",
    "DatasetError",
    "Intrinsics",
    "Mp4Writer",
    "PoseError",
    "PublisherState",
    "RenderedFrame",
    "Renderer",
    "TargetTruth",
    "WhipAuthError",
    "WhipError",
    "WhipPublisher",
    "frame_metadata",
]
