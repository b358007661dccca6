"""Errors of the simulated gimbal cameras.

::

    CameraError                  anything a simulated camera cannot do
    ├── CameraConfigError        a camera setting is wrong (no FOV, bad resolution, ...)
    ├── PoseError                the pose cannot be rendered (looking at the sky, NaN, ...)
    ├── WhipError                the WHIP endpoint refused or failed the session
    │   └── WhipAuthError        401/403: the Bearer token was refused
    └── DatasetError             a data set cannot be written where asked
"""

from __future__ import annotations

__all__ = [
    "CameraConfigError",
    "CameraError",
    "DatasetError",
    "PoseError",
    "WhipAuthError",
    "WhipError",
]


class CameraError(Exception):
    """Base of every error raised by :mod:`sim.camera`."""


class CameraConfigError(CameraError):
    """A camera setting is wrong; nothing was changed."""


class PoseError(CameraError):
    """A camera pose cannot be rendered."""


class WhipError(CameraError):
    """The WHIP endpoint refused or failed the session."""

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class WhipAuthError(WhipError):
    """The WHIP endpoint refused the Bearer token (401 or 403)."""


class DatasetError(CameraError):
    """A data set cannot be written where asked."""
