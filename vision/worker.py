"""The detection worker: frames of many feeds → detector → tracks → ground → bus.

::

    async with DetectionWorker(
        detector_factory=lambda: create_detector(config),
        publisher=bus,                     # anything with `async publish(topic, payload)`
        projector=Projector(FlatTerrain(0.0)),
        workers=2,
    ) as worker:
        worker.add_feed("drone-1", hub.frames("drone-1"))

Scheduling: each feed holds only its newest unprocessed frame (latest wins; the replaced
ones are counted as dropped); feeds with a frame wait in one first-in-first-out queue and a
feed re-enters at the back after being served, so feeds are served round-robin however
fast they send. A feed is processed by at most one worker at a time, so its tracker sees
frames in order. Each worker owns one detector instance on its own thread: inference,
tracking and projection never run on the event loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, Self

from skyeye import topics
from skyeye.clock import Clock, WallClock
from skyeye.contracts import Detection as DetectionContract
from skyeye.contracts import DetectionBatch, GeoPoint
from skyeye.topics import Topic
from vision.camera import CameraIntrinsics, CameraPose, Projector
from vision.detectors import Detection, Detector
from vision.errors import PoseUnavailableError, ProjectionError, VisionError
from vision.metadata import Frame
from vision.pose import PoseSource, pose_for_frame
from vision.tracking import FeedTracker, TrackerSettings

__all__ = ["BatchPublisher", "DetectionWorker", "FeedCounters", "ProcessedFrame"]

logger = logging.getLogger(__name__)


_DEFAULT_TRACKING = TrackerSettings()


class BatchPublisher(Protocol):
    async def publish(self, topic: Topic[Any], payload: Any) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessedFrame:
    """What the worker made of one frame, with where the time went."""

    batch: DetectionBatch
    inference_s: float
    postprocess_s: float
    latency_s: float


@dataclass(slots=True)
class FeedCounters:
    frames_received: int = 0
    frames_processed: int = 0
    frames_dropped: int = 0
    frames_without_pose: int = 0
    detections: int = 0
    latencies_s: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=2000)
    )
    inference_s: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=2000)
    )
    postprocess_s: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=2000)
    )


@dataclass(eq=False, slots=True)
class _FeedState:
    vehicle_id: str
    tracker: FeedTracker | None
    pending: Frame | None = None
    queued: bool = False
    busy: bool = False
    counters: FeedCounters = field(default_factory=FeedCounters)


class _Lane:
    """One detector on its own thread."""

    def __init__(self, index: int, factory: Callable[[], Detector]) -> None:
        self.index = index
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"vision-det{index}")
        self._factory = factory
        self.detector: Detector | None = None

    def load(self) -> None:
        self.detector = self._factory()


class DetectionWorker:
    """Runs a detector over any number of feeds and publishes a batch per processed frame."""

    def __init__(
        self,
        *,
        detector_factory: Callable[[], Detector],
        publisher: BatchPublisher | None,
        projector: Projector,
        telemetry: PoseSource | None = None,
        clock: Clock | None = None,
        workers: int = 1,
        default_hfov_deg: float = 70.0,
        tracking: TrackerSettings | None = _DEFAULT_TRACKING,
        on_processed: Callable[[ProcessedFrame], None] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"at least one worker is needed, got {workers}")
        self._factory = detector_factory
        self._publisher = publisher
        self._projector = projector
        self._telemetry = telemetry
        self._clock = clock or WallClock()
        self._workers = workers
        self._default_hfov_deg = default_hfov_deg
        self._tracking = tracking
        self._on_processed = on_processed
        self._feeds: dict[str, _FeedState] = {}
        self._ready: asyncio.Queue[_FeedState] = asyncio.Queue()
        self._lanes: list[_Lane] = []
        self._task_group: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        self._lanes = [_Lane(i, self._factory) for i in range(self._workers)]
        try:
            await asyncio.gather(
                *(loop.run_in_executor(lane.executor, lane.load) for lane in self._lanes)
            )
        except BaseException:
            self._shutdown_lanes()
            raise
        self._task_group = asyncio.TaskGroup()
        await self._task_group.__aenter__()
        for lane in self._lanes:
            self._tasks.append(
                self._task_group.create_task(self._serve(lane), name=f"vision.worker[{lane.index}]")
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._task_group is not None
        for task in self._tasks:
            task.cancel()
        try:
            await self._task_group.__aexit__(exc_type, exc, tb)
        finally:
            self._task_group = None
            self._tasks = []
            self._shutdown_lanes()

    def _shutdown_lanes(self) -> None:
        for lane in self._lanes:
            lane.executor.shutdown(wait=True, cancel_futures=True)
        self._lanes = []

    # ------------------------------------------------------------------ feeds

    def add_feed(
        self,
        vehicle_id: str,
        frames: contextlib.AbstractAsyncContextManager[AsyncIterator[Frame]],
    ) -> None:
        """Start reading a feed; its frames are processed until the worker stops."""
        if self._task_group is None:
            raise VisionError("add feeds inside `async with DetectionWorker(...)`")
        if vehicle_id in self._feeds:
            raise VisionError(f"feed {vehicle_id!r} is already being processed")
        tracker = FeedTracker(self._tracking) if self._tracking is not None else None
        feed = _FeedState(vehicle_id, tracker)
        self._feeds[vehicle_id] = feed
        self._tasks.append(
            self._task_group.create_task(
                self._read(feed, frames), name=f"vision.feed[{vehicle_id}]"
            )
        )

    def counters(self, vehicle_id: str) -> FeedCounters:
        return self._feeds[vehicle_id].counters

    async def _read(
        self,
        feed: _FeedState,
        frames: contextlib.AbstractAsyncContextManager[AsyncIterator[Frame]],
    ) -> None:
        async with frames as iterator:
            async for frame in iterator:
                feed.counters.frames_received += 1
                if feed.pending is not None:
                    feed.counters.frames_dropped += 1
                feed.pending = frame
                if not feed.queued and not feed.busy:
                    feed.queued = True
                    self._ready.put_nowait(feed)

    # ------------------------------------------------------------------ processing

    async def _serve(self, lane: _Lane) -> None:
        loop = asyncio.get_running_loop()
        while True:
            feed = await self._ready.get()
            feed.queued = False
            frame, feed.pending = feed.pending, None
            if frame is None:
                continue
            feed.busy = True
            try:
                pose = self._pose(frame, feed)
                result = await loop.run_in_executor(
                    lane.executor, self._process, lane, feed, frame, pose
                )
                await self._emit(feed, frame, *result)
            finally:
                feed.busy = False
                if feed.pending is not None and not feed.queued:
                    feed.queued = True
                    self._ready.put_nowait(feed)

    def _pose(self, frame: Frame, feed: _FeedState) -> CameraPose | None:
        try:
            return pose_for_frame(frame, self._telemetry)
        except PoseUnavailableError as exc:
            feed.counters.frames_without_pose += 1
            logger.debug("feed %s: %s", feed.vehicle_id, exc)
            return None

    def _intrinsics(self, frame: Frame) -> CameraIntrinsics:
        metadata = frame.metadata
        return CameraIntrinsics.from_fov(
            width_px=frame.width_px,
            height_px=frame.height_px,
            hfov_deg=metadata.hfov_deg if metadata else self._default_hfov_deg,
            vfov_deg=metadata.vfov_deg if metadata else None,
        )

    def _process(
        self, lane: _Lane, feed: _FeedState, frame: Frame, pose: CameraPose | None
    ) -> tuple[DetectionBatch, float, float]:
        """On the lane's thread: detect, track, project."""
        assert lane.detector is not None
        started = time.perf_counter()
        detections = lane.detector.detect(frame.image_bgr)
        inferred = time.perf_counter()
        if feed.tracker is not None:
            detections = feed.tracker.update(detections)
        located = [self._locate(detection, frame, pose) for detection in detections]
        footprint: tuple[GeoPoint, ...] = ()
        if pose is not None:
            corners = self._projector.footprint(self._intrinsics(frame), pose)
            footprint = tuple(GeoPoint(lat_deg=lat, lon_deg=lon) for lat, lon in corners)
        batch = DetectionBatch(
            vehicle_id=frame.vehicle_id,
            frame_id=frame.frame_id,
            capture_time=frame.capture_time,
            image_width_px=frame.width_px,
            image_height_px=frame.height_px,
            footprint=footprint,
            detections=tuple(located),
        )
        return batch, inferred - started, time.perf_counter() - inferred

    def _locate(
        self, detection: Detection, frame: Frame, pose: CameraPose | None
    ) -> DetectionContract:
        lat = lon = sigma = None
        if pose is not None:
            try:
                ground = self._projector.project(self._intrinsics(frame), pose, detection.center_px)
            except ProjectionError:
                pass
            else:
                lat, lon, sigma = ground.lat_deg, ground.lon_deg, ground.sigma_m
        return DetectionContract(
            class_name=detection.class_name,
            confidence=detection.confidence,
            x_min_px=detection.x_min_px,
            y_min_px=detection.y_min_px,
            x_max_px=detection.x_max_px,
            y_max_px=detection.y_max_px,
            feed_track_id=detection.track_id,
            lat_deg=lat,
            lon_deg=lon,
            ground_sigma_m=sigma,
        )

    async def _emit(
        self,
        feed: _FeedState,
        frame: Frame,
        batch: DetectionBatch,
        inference_s: float,
        postprocess_s: float,
    ) -> None:
        if self._publisher is not None:
            await self._publisher.publish(topics.detections(frame.vehicle_id), batch)
        latency = (self._clock.now() - frame.capture_time).total_seconds()
        counters = feed.counters
        counters.frames_processed += 1
        counters.detections += len(batch.detections)
        counters.latencies_s.append(latency)
        counters.inference_s.append(inference_s)
        counters.postprocess_s.append(postprocess_s)
        if self._on_processed is not None:
            self._on_processed(
                ProcessedFrame(
                    batch=batch,
                    inference_s=inference_s,
                    postprocess_s=postprocess_s,
                    latency_s=latency,
                )
            )
