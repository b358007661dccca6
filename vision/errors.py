"""Errors of the vision pipeline.

::

    VisionError
    ├── MediaError
    │   ├── SignalingError          a WHIP/WHEP request was refused (carries the HTTP status)
    │   │   ├── UnauthorizedError   missing or wrong Bearer token (401)
    │   │   ├── FeedNotFoundError   no such vehicle or no live feed for it (404)
    │   │   ├── BadOfferError       the SDP offer cannot be used (400)
    │   │   └── FeedBusyError       the vehicle already publishes a feed (409)
    │   ├── PeerConnectionError     ICE/DTLS failed or the peer went away
    │   └── SourceError             an RTSP/UDP/file source could not be opened or read
    ├── MetadataError               a frame-metadata message is malformed
    ├── ProjectionError             a pixel cannot be put on the ground (ray misses terrain)
    ├── PoseUnavailableError        no pose is known at a frame's capture time
    ├── DetectorError
    │   ├── DetectorConfigError     the detector configuration is invalid
    │   └── ModelLoadError          weights cannot be loaded
    ├── RecordingError              a recording cannot be written
    └── TrainingError               data set or training/evaluation failed
"""

from __future__ import annotations

from datetime import datetime

__all__ = [
    "BadOfferError",
    "DetectorConfigError",
    "DetectorError",
    "FeedBusyError",
    "FeedNotFoundError",
    "MediaError",
    "MetadataError",
    "ModelLoadError",
    "PeerConnectionError",
    "PoseUnavailableError",
    "ProjectionError",
    "RecordingError",
    "SignalingError",
    "SourceError",
    "TrainingError",
    "UnauthorizedError",
    "VisionError",
]


class VisionError(Exception):
    """Base of every error raised by ``vision``."""


class MediaError(VisionError):
    """Video transport failed."""


class SignalingError(MediaError):
    """A WHIP/WHEP exchange was refused; ``status`` is the HTTP status that says why."""

    status: int = 400

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if status is not None:
            self.status = status


class UnauthorizedError(SignalingError):
    status = 401


class FeedNotFoundError(SignalingError):
    status = 404

    def __init__(self, vehicle_id: str, reason: str | None = None) -> None:
        super().__init__(reason or f"no live feed for vehicle {vehicle_id!r}")
        self.vehicle_id = vehicle_id


class BadOfferError(SignalingError):
    status = 400


class FeedBusyError(SignalingError):
    status = 409

    def __init__(self, vehicle_id: str) -> None:
        super().__init__(
            f"vehicle {vehicle_id!r} already publishes a feed; DELETE its session first"
        )
        self.vehicle_id = vehicle_id


class PeerConnectionError(MediaError):
    """The WebRTC connection failed or the peer went away."""


class SourceError(MediaError):
    """A non-WebRTC video source (RTSP, UDP, file) could not be opened or read."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"video source {url}: {reason}")
        self.url = url


class MetadataError(VisionError):
    """A per-frame metadata message is malformed."""


class ProjectionError(VisionError):
    """A pixel's viewing ray does not reach the ground (above the horizon, or too far)."""


class PoseUnavailableError(VisionError):
    def __init__(self, vehicle_id: str, capture_time: datetime, reason: str) -> None:
        super().__init__(f"no camera pose for {vehicle_id} at {capture_time.isoformat()}: {reason}")
        self.vehicle_id = vehicle_id
        self.capture_time = capture_time


class DetectorError(VisionError):
    """A detector failed."""


class DetectorConfigError(DetectorError):
    """The detector configuration is invalid."""


class ModelLoadError(DetectorError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot load detector weights {path}: {reason}")
        self.path = path


class RecordingError(VisionError):
    """A recording cannot be written."""


class TrainingError(VisionError):
    """Building the data set, training or evaluating failed."""
