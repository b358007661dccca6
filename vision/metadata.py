"""Per-frame metadata: what the camera knew when it captured a frame.

Publishers send one JSON object per frame on the WebRTC data channel labelled
``metadata``, keyed by the frame's RTP timestamp. Because every receiver sees RTP
timestamps relative to the first frame it received (aiortc hands out ``frame.pts`` that
way), the key is the frame's ``pts`` on the 90 kHz clock counted from the stream's first
frame: the publisher sends its first frame with ``pts = 0``. The hub re-keys metadata for
each WHEP viewer so that viewers join frames the same way.

The fields follow MISB ST 0601 semantics (platform position and attitude, sensor
relative angles, fields of view), with units in their names::

    {"rtp_timestamp": 3000, "capture_time": "2026-01-01T12:00:00.033Z",
     "lat_deg": 52.0, "lon_deg": 5.0, "alt_amsl_m": 110.0,
     "roll_deg": 0.0, "pitch_deg": 0.0, "yaw_deg": 90.0,
     "gimbal_pitch_deg": -90.0, "gimbal_yaw_deg": 0.0,
     "hfov_deg": 70.0, "vfov_deg": 43.0}

``gimbal_pitch_deg`` is -90 when the camera looks straight down; gimbal angles are those of
a stabilised gimbal: pitch against the horizon, yaw relative to the vehicle's heading
unless ``gimbal_yaw_absolute`` is true.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from skyeye.contracts import UtcDatetime
from vision.errors import MetadataError

__all__ = ["RTP_CLOCK_HZ", "Frame", "FrameMetadata", "MetadataIndex", "parse_metadata"]

RTP_CLOCK_HZ = 90_000
#: Decoders may round a frame's pts by a tick or two on the way through libav.
RTP_JOIN_TOLERANCE = 3


class FrameMetadata(BaseModel):
    """Camera pose and optics at one frame's capture time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rtp_timestamp: int = Field(
        ge=0,
        title="RTP timestamp",
        description="Frame pts on the 90 kHz clock, counted from the stream's first frame.",
    )
    capture_time: UtcDatetime = Field(title="Capture time", description="UTC capture instant.")
    lat_deg: float = Field(ge=-90.0, le=90.0, title="Platform latitude")
    lon_deg: float = Field(ge=-180.0, le=180.0, title="Platform longitude")
    alt_amsl_m: float = Field(title="Platform altitude", description="Metres above mean sea level.")
    roll_deg: float = Field(default=0.0, ge=-180.0, le=180.0, title="Platform roll")
    pitch_deg: float = Field(default=0.0, ge=-90.0, le=90.0, title="Platform pitch")
    yaw_deg: float = Field(default=0.0, ge=-360.0, le=360.0, title="Platform heading")
    gimbal_pitch_deg: float = Field(
        default=-90.0, ge=-180.0, le=90.0, title="Gimbal pitch", description="-90 looks down."
    )
    gimbal_yaw_deg: float = Field(default=0.0, ge=-360.0, le=360.0, title="Gimbal yaw")
    gimbal_yaw_absolute: bool = Field(
        default=False,
        title="Gimbal yaw is absolute",
        description="True: gimbal yaw is a heading from north; false: relative to the vehicle.",
    )
    hfov_deg: float = Field(gt=0.0, lt=180.0, title="Horizontal field of view")
    vfov_deg: float | None = Field(default=None, gt=0.0, lt=180.0, title="Vertical field of view")

    @property
    def camera_yaw_deg(self) -> float:
        """The camera's heading from north, degrees in [0, 360)."""
        yaw = (
            self.gimbal_yaw_deg if self.gimbal_yaw_absolute else self.yaw_deg + self.gimbal_yaw_deg
        )
        return yaw % 360.0


def parse_metadata(raw: str | bytes) -> FrameMetadata:
    """Parse one data-channel message; raise :class:`MetadataError` saying what is wrong."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MetadataError(f"frame metadata is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MetadataError("frame metadata must be a JSON object")
    try:
        return FrameMetadata.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "message"
        raise MetadataError(f"frame metadata field {where}: {first['msg']}") from None


class MetadataIndex:
    """Recent metadata of one stream keyed by RTP timestamp; lookups wait for late arrivals."""

    def __init__(self, keep: int = 512) -> None:
        self._items: collections.OrderedDict[int, FrameMetadata] = collections.OrderedDict()
        self._keep = keep
        self._arrived = asyncio.Event()
        self.rejected = 0

    def put(self, metadata: FrameMetadata) -> None:
        self._items[metadata.rtp_timestamp] = metadata
        while len(self._items) > self._keep:
            self._items.popitem(last=False)
        self._arrived.set()

    def find(self, rtp_timestamp: int) -> FrameMetadata | None:
        for delta in range(RTP_JOIN_TOLERANCE + 1):
            for key in (rtp_timestamp - delta, rtp_timestamp + delta):
                found = self._items.get(key)
                if found is not None:
                    return found
        return None

    async def get(self, rtp_timestamp: int, wait_s: float) -> FrameMetadata | None:
        """The metadata of the frame at ``rtp_timestamp``, waiting up to ``wait_s`` for it."""
        found = self.find(rtp_timestamp)
        if found is not None or wait_s <= 0:
            return found
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_s):
                while found is None:
                    self._arrived.clear()
                    await self._arrived.wait()
                    found = self.find(rtp_timestamp)
        return found


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """One decoded video frame of a feed, joined with its metadata when that arrived."""

    vehicle_id: str
    frame_id: int
    rtp_timestamp: int
    image_bgr: npt.NDArray[np.uint8]
    capture_time: datetime
    received_monotonic_s: float
    metadata: FrameMetadata | None

    @property
    def width_px(self) -> int:
        return int(self.image_bgr.shape[1])

    @property
    def height_px(self) -> int:
        return int(self.image_bgr.shape[0])
