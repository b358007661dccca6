"""Evidence recording: each feed to segmented MP4 files with its metadata alongside.

::

    async with FeedRecorder(RecorderSettings(out_dir=Path("evidence")), "drone-1",
                            hub.frames("drone-1")) as recorder:
        ...   # segments appear as evidence/drone-1/20260101T120000.000Z.mp4 (+ .jsonl)

A segment is closed after ``segment_s`` of capture time (or when the image size changes);
next to each ``.mp4`` a ``.jsonl`` file holds one line per frame: its index in the
segment, its capture time, its presentation time in the MP4 and the frame's metadata
(or ``null``). Retention deletes the oldest closed segments once the feed's recordings
exceed ``retention_bytes`` or are older than ``retention_s``. Encoding runs on the
recorder's own thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import av
from pydantic import BaseModel, ConfigDict, Field

from skyeye.clock import Clock, WallClock
from vision.errors import RecordingError
from vision.metadata import Frame

__all__ = ["FeedRecorder", "RecorderSettings", "Segment"]

logger = logging.getLogger(__name__)

_TIME_BASE = Fraction(1, 90_000)


class RecorderSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    out_dir: Path = Field(title="Directory", description="Recordings go to out_dir/<vehicle>/.")
    segment_s: float = Field(
        default=60.0, gt=0.0, le=3600.0, title="Segment length", description="Seconds per file."
    )
    retention_bytes: int = Field(
        default=2 * 1024**3, gt=0, title="Size limit", description="Bytes kept per feed."
    )
    retention_s: float | None = Field(
        default=None, gt=0.0, title="Age limit", description="Segments older are deleted."
    )
    codec: str = Field(default="libx264", title="Codec", description="PyAV/FFmpeg encoder.")
    bitrate_kbps: int = Field(default=2000, gt=0, title="Bitrate", description="Target bitrate.")


@dataclass(frozen=True, slots=True)
class Segment:
    video: Path
    metadata: Path
    started: datetime
    frames: int


@dataclass(slots=True)
class _OpenSegment:
    container: Any
    stream: Any
    sidecar: IO[str]
    video: Path
    metadata: Path
    started: datetime
    size: tuple[int, int]
    frames: int = 0
    last_pts: int = -1


@dataclass(slots=True)
class _State:
    current: _OpenSegment | None = None
    closed: list[Segment] = field(default_factory=list)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y%m%dT%H%M%S.") + f"{when.microsecond // 1000:03d}Z"


class FeedRecorder:
    """Records one feed; ``segments`` lists the closed segments still kept."""

    def __init__(
        self,
        settings: RecorderSettings,
        vehicle_id: str,
        frames: contextlib.AbstractAsyncContextManager[AsyncIterator[Frame]],
        *,
        clock: Clock | None = None,
    ) -> None:
        self._settings = settings
        self._vehicle_id = vehicle_id
        self._frames = frames
        self._clock = clock or WallClock()
        self._dir = settings.out_dir / vehicle_id
        self._state = _State()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vision-rec")
        self._task_group: asyncio.TaskGroup | None = None
        self._task: asyncio.Task[None] | None = None
        self.frames_written = 0

    @property
    def segments(self) -> tuple[Segment, ...]:
        return tuple(self._state.closed)

    async def __aenter__(self) -> Self:
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecordingError(f"cannot create {self._dir}: {exc}") from None
        self._state.closed = self._existing_segments()
        self._task_group = asyncio.TaskGroup()
        await self._task_group.__aenter__()
        self._task = self._task_group.create_task(
            self._record(), name=f"vision.recorder[{self._vehicle_id}]"
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._task_group is not None
        assert self._task is not None
        self._task.cancel()
        try:
            await self._task_group.__aexit__(exc_type, exc, tb)
        finally:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self._close_current)
            self._executor.shutdown(wait=True)
            self._task_group = None

    def _existing_segments(self) -> list[Segment]:
        found = []
        for video in sorted(self._dir.glob("*.mp4")):
            sidecar = video.with_suffix(".jsonl")
            try:
                started = datetime.strptime(video.stem, "%Y%m%dT%H%M%S.%fZ")
            except ValueError:
                continue
            found.append(Segment(video, sidecar, started.replace(tzinfo=UTC), 0))
        return found

    async def _record(self) -> None:
        loop = asyncio.get_running_loop()
        async with self._frames as frames:
            async for frame in frames:
                await loop.run_in_executor(self._executor, self._write, frame)
                self.frames_written += 1

    # ------------------------------------------------------------------ recorder thread

    def _write(self, frame: Frame) -> None:
        current = self._state.current
        size = (frame.width_px - frame.width_px % 2, frame.height_px - frame.height_px % 2)
        if current is not None and (
            size != current.size
            or (frame.capture_time - current.started).total_seconds() >= self._settings.segment_s
        ):
            self._close_current()
            current = None
        if current is None:
            current = self._open(frame.capture_time, size)
        pts = max(
            current.last_pts + 1,
            round((frame.capture_time - current.started).total_seconds() * 90_000),
        )
        image = frame.image_bgr[: size[1], : size[0]]
        video_frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        video_frame.pts = pts
        video_frame.time_base = _TIME_BASE
        try:
            for packet in current.stream.encode(video_frame):
                current.container.mux(packet)
        except av.FFmpegError as exc:
            raise RecordingError(f"cannot encode a frame of {self._vehicle_id}: {exc}") from None
        line = {
            "index": current.frames,
            "frame_id": frame.frame_id,
            "pts": pts,
            "capture_time": frame.capture_time.isoformat(),
            "metadata": frame.metadata.model_dump(mode="json") if frame.metadata else None,
        }
        current.sidecar.write(json.dumps(line) + "\n")
        current.frames += 1
        current.last_pts = pts

    def _open(self, started: datetime, size: tuple[int, int]) -> _OpenSegment:
        video = self._dir / f"{_stamp(started)}.mp4"
        metadata = video.with_suffix(".jsonl")
        try:
            container: Any = av.open(str(video), mode="w")
            stream: Any = container.add_stream(self._settings.codec, rate=30)
        except (av.FFmpegError, ValueError) as exc:
            raise RecordingError(
                f"cannot open {video} with {self._settings.codec}: {exc}"
            ) from None
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = _TIME_BASE
        stream.codec_context.time_base = _TIME_BASE
        stream.bit_rate = self._settings.bitrate_kbps * 1000
        segment = _OpenSegment(
            container=container,
            stream=stream,
            sidecar=metadata.open("w", encoding="utf-8"),
            video=video,
            metadata=metadata,
            started=started,
            size=size,
        )
        self._state.current = segment
        return segment

    def _close_current(self) -> None:
        current = self._state.current
        if current is None:
            return
        self._state.current = None
        try:
            for packet in current.stream.encode(None):
                current.container.mux(packet)
        finally:
            current.container.close()
            current.sidecar.close()
        self._state.closed.append(
            Segment(current.video, current.metadata, current.started, current.frames)
        )
        self._apply_retention()

    def _apply_retention(self) -> None:
        closed = self._state.closed
        now = self._clock.now()
        max_age = self._settings.retention_s

        def size_of(segment: Segment) -> int:
            return sum(p.stat().st_size for p in (segment.video, segment.metadata) if p.exists())

        total = sum(size_of(segment) for segment in closed)
        while closed and (
            total > self._settings.retention_bytes
            or (max_age is not None and (now - closed[0].started).total_seconds() > max_age)
        ):
            oldest = closed.pop(0)
            total -= size_of(oldest)
            for path in (oldest.video, oldest.metadata):
                path.unlink(missing_ok=True)
            logger.info("recording %s: deleted %s (retention)", self._vehicle_id, oldest.video.name)
