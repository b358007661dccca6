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
fast they send. A feed is inferred on by at most one lane at a time, so its tracker sees
frames in order.

The pose at capture time is looked up on the loop (where the telemetry lives) as a frame
comes in. Each lane owns one detector on its own thread and takes the next frame from the
scheduler itself the moment its previous inference ends; it hands what it found straight to
one post-processing thread (tracking and projection, in the order inference finished),
which hands the batch to the loop for publishing in the same order. A lane never wakes the
event loop, so the loop's Python work does not sit between two of its inferences holding
the GIL. A lane waits only when ``2 × workers`` frames are inferred but not yet published,
so a slow bus holds the detectors back instead of piling up batches.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import queue
import threading
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
    counters: FeedCounters = field(default_factory=FeedCounters)


@dataclass(frozen=True, slots=True)
class _Job:
    """A frame to detect on, with the camera pose at its capture time (None: unknown)."""

    feed: _FeedState
    frame: Frame
    pose: CameraPose | None


@dataclass(frozen=True, slots=True)
class _Inferred:
    job: _Job
    detections: tuple[Detection, ...]
    inference_s: float


@dataclass(frozen=True, slots=True)
class _Located:
    inferred: _Inferred
    batch: DetectionBatch
    postprocess_s: float


class _Scheduler:
    """Latest frame per feed, feeds round-robin, shared by the loop and the lanes' threads.

    The loop offers jobs; a lane takes them, blocking until there is one and fewer than
    ``in_flight_max`` frames are inferred but not yet published.
    """

    def __init__(self, in_flight_max: int) -> None:
        self._condition = threading.Condition()
        self._pending: dict[_FeedState, _Job] = {}
        self._ready: collections.deque[_FeedState] = collections.deque()
        self._busy: set[_FeedState] = set()
        self._in_flight = 0
        self._in_flight_max = in_flight_max
        self._closed = False

    def offer(self, job: _Job) -> bool:
        """Make ``job`` its feed's next one; True when it replaced an unprocessed one."""
        feed = job.feed
        with self._condition:
            replaced = feed in self._pending
            self._pending[feed] = job
            if not replaced and feed not in self._busy:
                self._ready.append(feed)
                self._condition.notify()
            return replaced

    def take(self) -> _Job | None:
        """The next feed's newest job (the feed is busy until :meth:`inferred`); None once
        closed."""
        with self._condition:
            while not self._closed and (not self._ready or self._in_flight >= self._in_flight_max):
                self._condition.wait()
            if self._closed:
                return None
            feed = self._ready.popleft()
            self._busy.add(feed)
            self._in_flight += 1
            return self._pending.pop(feed)

    def inferred(self, feed: _FeedState) -> None:
        """The feed's frame is inferred on: its next frame may go to any lane."""
        with self._condition:
            self._busy.discard(feed)
            if feed in self._pending:
                self._ready.append(feed)
                self._condition.notify()

    def published(self) -> None:
        with self._condition:
            self._in_flight -= 1
            self._condition.notify()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()


class _Lane:
    """One detector on its own thread, inferring on whatever the scheduler hands it."""

    def __init__(self, index: int, factory: Callable[[], Detector]) -> None:
        self.index = index
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"vision-det{index}")
        self._factory = factory
        self.detector: Detector | None = None

    def load(self) -> None:
        self.detector = self._factory()

    def run(self, scheduler: _Scheduler, deliver: Callable[[_Inferred], None]) -> None:
        """On the lane's thread until the scheduler closes."""
        assert self.detector is not None
        while (job := scheduler.take()) is not None:
            started = time.perf_counter()
            detections = self.detector.detect(job.frame.image_bgr)
            deliver(_Inferred(job, detections, time.perf_counter() - started))
            scheduler.inferred(job.feed)


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
        self._scheduler = _Scheduler(in_flight_max=2 * workers)
        self._lanes: list[_Lane] = []
        self._post_executor: ThreadPoolExecutor | None = None
        self._to_post: queue.SimpleQueue[_Inferred | None] = queue.SimpleQueue()
        self._located: asyncio.Queue[_Located] = asyncio.Queue()
        self._task_group: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        self._scheduler = _Scheduler(in_flight_max=2 * self._workers)
        self._to_post = queue.SimpleQueue()
        self._lanes = [_Lane(i, self._factory) for i in range(self._workers)]
        self._post_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vision-post")
        try:
            await asyncio.gather(
                *(loop.run_in_executor(lane.executor, lane.load) for lane in self._lanes)
            )
        except BaseException:
            self._shutdown_threads()
            raise
        self._task_group = asyncio.TaskGroup()
        await self._task_group.__aenter__()
        for lane in self._lanes:
            self._tasks.append(
                self._task_group.create_task(
                    self._run_lane(lane), name=f"vision.worker[{lane.index}]"
                )
            )
        for stage, name in ((self._run_post, "post"), (self._publish, "publish")):
            self._tasks.append(self._task_group.create_task(stage(), name=f"vision.{name}"))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._task_group is not None
        self._scheduler.close()
        for task in self._tasks:
            task.cancel()
        try:
            await self._task_group.__aexit__(exc_type, exc, tb)
        finally:
            self._task_group = None
            self._tasks = []
            self._shutdown_threads()

    def _shutdown_threads(self) -> None:
        self._scheduler.close()
        self._to_post.put(None)
        for lane in self._lanes:
            lane.executor.shutdown(wait=True, cancel_futures=True)
        self._lanes = []
        if self._post_executor is not None:
            self._post_executor.shutdown(wait=True, cancel_futures=True)
            self._post_executor = None

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
                if self._scheduler.offer(_Job(feed, frame, self._pose(frame, feed))):
                    feed.counters.frames_dropped += 1

    # ------------------------------------------------------------------ processing

    async def _run_lane(self, lane: _Lane) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(lane.executor, lane.run, self._scheduler, self._to_post.put)
        finally:
            self._scheduler.close()

    async def _run_post(self) -> None:
        loop = asyncio.get_running_loop()
        executor = self._post_executor
        assert executor is not None
        try:
            await loop.run_in_executor(executor, self._post, loop)
        finally:
            self._scheduler.close()

    def _post(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the post-processing thread, in the order inference finished, until stopped."""
        while (inferred := self._to_post.get()) is not None:
            located = self._locate_all(inferred)
            loop.call_soon_threadsafe(self._located.put_nowait, located)

    async def _publish(self) -> None:
        while True:
            located = await self._located.get()
            try:
                await self._emit(located)
            finally:
                self._scheduler.published()

    def _pose(self, frame: Frame, feed: _FeedState) -> CameraPose | None:
        try:
            return pose_for_frame(frame, self._telemetry)
        except PoseUnavailableError as exc:
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

    def _locate_all(self, inferred: _Inferred) -> _Located:
        """Track, project, build the batch."""
        started = time.perf_counter()
        feed, frame, pose = inferred.job.feed, inferred.job.frame, inferred.job.pose
        detections = inferred.detections
        if feed.tracker is not None:
            detections = feed.tracker.update(detections)
        intrinsics = self._intrinsics(frame)
        located = [self._locate(detection, intrinsics, pose) for detection in detections]
        footprint: tuple[GeoPoint, ...] = ()
        if pose is not None:
            corners = self._projector.footprint(intrinsics, pose)
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
        return _Located(inferred, batch, time.perf_counter() - started)

    def _locate(
        self, detection: Detection, intrinsics: CameraIntrinsics, pose: CameraPose | None
    ) -> DetectionContract:
        lat = lon = sigma = None
        if pose is not None:
            try:
                ground = self._projector.project(intrinsics, pose, detection.center_px)
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

    async def _emit(self, located: _Located) -> None:
        inferred, batch = located.inferred, located.batch
        frame = inferred.job.frame
        if self._publisher is not None:
            await self._publisher.publish(topics.detections(frame.vehicle_id), batch)
        latency = (self._clock.now() - frame.capture_time).total_seconds()
        counters = inferred.job.feed.counters
        counters.frames_processed += 1
        counters.frames_without_pose += inferred.job.pose is None
        counters.detections += len(batch.detections)
        counters.latencies_s.append(latency)
        counters.inference_s.append(inferred.inference_s)
        counters.postprocess_s.append(located.postprocess_s)
        if self._on_processed is not None:
            self._on_processed(
                ProcessedFrame(
                    batch=batch,
                    inference_s=inferred.inference_s,
                    postprocess_s=located.postprocess_s,
                    latency_s=latency,
                )
            )
