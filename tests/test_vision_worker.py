"""The detection worker: scheduling, off-loop inference, tracking, projection, bus delivery.

The detector here is a real (if simple) one implementing the same interface as the YOLO
and ONNX plugins: it finds bright blobs with OpenCV. The scene is drawn with an independent
pinhole projection (pyproj for the geodesy), so detections that come back near the truth
prove the whole chain: WHIP → hub → worker → projection → broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from pyproj import Geod

from skyeye import topics
from skyeye.bus import Bus, BusSettings
from skyeye.clock import WallClock
from skyeye.contracts import DetectionBatch, LinkQuality, VehicleState
from vision.camera import FlatTerrain, PoseUncertainty, Projector
from vision.detectors import Detection
from vision.hub import HubSettings, MediaHub
from vision.metadata import Frame, FrameMetadata
from vision.pose import PoseSource
from vision.server import HttpServer
from vision.webrtc import PublishedFrame, WhepViewer, WhipPublisher
from vision.worker import DetectionWorker, ProcessedFrame

GEOD = Geod(ellps="WGS84")
WIDTH, HEIGHT, HFOV_DEG = 480, 360, 70.0
CAMERA_LAT, CAMERA_LON, GROUND_AMSL_M, AGL_M = 52.05, 5.05, 5.0, 100.0
# Targets as (north, east) metres from the point under the camera.
TARGETS_NE_M = ((20.0, -30.0), (-25.0, 40.0), (0.0, 10.0))


class BlobDetector:
    """Bright rectangles are 'car's; confidence from their fill ratio."""

    model_class_names = ("car",)

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.threads: set[str] = set()
        self.calls = 0

    def detect(self, image_bgr: npt.NDArray[np.uint8]) -> tuple[Detection, ...]:
        self.threads.add(threading.current_thread().name)
        self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
        _, mask = cv2.threshold(grey, 160, 255, cv2.THRESH_BINARY)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        found = []
        for contour in contours:
            x, y, w, h = cv2.boundingRect(contour)
            if w * h < 12:
                continue
            fill = min(1.0, cv2.contourArea(contour) / float(w * h))
            found.append(
                Detection(
                    class_name="car",
                    confidence=max(0.3, fill),
                    x_min_px=float(x),
                    y_min_px=float(y),
                    x_max_px=float(x + w),
                    y_max_px=float(y + h),
                )
            )
        return tuple(found)


def fx_px() -> float:
    return (WIDTH / 2) / math.tan(math.radians(HFOV_DEG / 2))


def target_positions() -> list[tuple[float, float]]:
    """(lat, lon) of each target, through pyproj's geodesic."""
    positions = []
    for north, east in TARGETS_NE_M:
        azimuth = math.degrees(math.atan2(east, north))
        lon, lat, _ = GEOD.fwd(CAMERA_LON, CAMERA_LAT, azimuth, math.hypot(north, east))
        positions.append((lat, lon))
    return positions


def render() -> npt.NDArray[np.uint8]:
    """A nadir view, image top to the north: 4×2 m bright cars on a dark, textured ground."""
    rng = np.random.default_rng(7)
    image = rng.integers(30, 70, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    scale = fx_px() / AGL_M
    for north, east in TARGETS_NE_M:
        u = WIDTH / 2 + east * scale
        v = HEIGHT / 2 - north * scale
        half_w, half_h = 1.0 * scale, 2.0 * scale
        cv2.rectangle(
            image,
            (round(u - half_w), round(v - half_h)),
            (round(u + half_w) - 1, round(v + half_h) - 1),
            (230, 230, 230),
            thickness=-1,
        )
    return image


class SceneCamera:
    """Publishes the scene at 10 fps with exact metadata (or none)."""

    def __init__(self, *, with_metadata: bool = True) -> None:
        self._clock = WallClock()
        self._image = render()
        self._with_metadata = with_metadata

    async def __call__(self) -> PublishedFrame:
        await asyncio.sleep(0.1)
        metadata = None
        if self._with_metadata:
            metadata = FrameMetadata(
                rtp_timestamp=0,
                capture_time=self._clock.now(),
                lat_deg=CAMERA_LAT,
                lon_deg=CAMERA_LON,
                alt_amsl_m=GROUND_AMSL_M + AGL_M,
                yaw_deg=0.0,
                gimbal_pitch_deg=-90.0,
                hfov_deg=HFOV_DEG,
            )
        return PublishedFrame(self._image, metadata)


def nearest_truth_m(lat: float, lon: float, truth: list[tuple[float, float]]) -> float:
    return min(float(GEOD.inv(lon, lat, t_lon, t_lat)[2]) for t_lat, t_lon in truth)


@contextlib.asynccontextmanager
async def running_hub() -> AsyncIterator[tuple[MediaHub, str]]:
    settings = HubSettings(
        publish_tokens={"drone-1": SecretStr("pub")}, view_token=SecretStr("view")
    )
    async with MediaHub(settings) as hub:
        app = FastAPI()
        app.include_router(hub.router)
        async with HttpServer(app) as server:
            yield hub, server.url


async def test_camera_to_bus_with_geo_positions_and_a_whep_viewer(mqtt_url: str) -> None:
    projector = Projector(FlatTerrain(GROUND_AMSL_M), uncertainty=PoseUncertainty(pixel_px=1.0))
    truth = target_positions()
    async with (
        running_hub() as (hub, url),
        Bus(BusSettings(url=mqtt_url), clock=WallClock()) as bus,
        bus.subscribe(topics.detections("+")) as messages,
        DetectionWorker(
            detector_factory=BlobDetector, publisher=bus, projector=projector
        ) as worker,
        WhipPublisher(f"{url}/whip/drone-1", token="pub", produce=SceneCamera()),
        WhepViewer(f"{url}/whep/drone-1", token="view", vehicle_id="drone-1") as viewer,
    ):
        worker.add_feed("drone-1", hub.frames("drone-1"))
        batches: list[DetectionBatch] = []

        async def read_bus() -> None:
            async for message in messages:
                if message.payload.footprint:
                    batches.append(message.payload)
                if len(batches) == 6:
                    return

        async def read_viewer() -> list[Frame]:
            frames = []
            async for frame in viewer.frames():
                frames.append(frame)
                if len(frames) == 6:
                    break
            return frames

        async with asyncio.timeout(60):
            _, viewed = await asyncio.gather(read_bus(), read_viewer())
    assert len(viewed) == 6
    assert any(frame.metadata is not None for frame in viewed)
    for batch in batches:
        assert batch.vehicle_id == "drone-1"
        assert len(batch.detections) == len(TARGETS_NE_M)
        assert len(batch.footprint) == 4
        for detection in batch.detections:
            assert detection.lat_deg is not None
            assert detection.lon_deg is not None
            assert nearest_truth_m(detection.lat_deg, detection.lon_deg, truth) < 1.0
            assert detection.ground_sigma_m is not None
            assert detection.ground_sigma_m < 1.0
    last = batches[-1]
    assert all(d.feed_track_id is not None for d in last.detections)
    assert len({d.feed_track_id for d in last.detections}) == len(TARGETS_NE_M)


def frame_at(vehicle_id: str, index: int, when: datetime, *, with_metadata: bool) -> Frame:
    metadata = None
    if with_metadata:
        metadata = FrameMetadata(
            rtp_timestamp=index * 3000,
            capture_time=when,
            lat_deg=CAMERA_LAT,
            lon_deg=CAMERA_LON,
            alt_amsl_m=GROUND_AMSL_M + AGL_M,
            hfov_deg=HFOV_DEG,
        )
    image = render()
    image.flags.writeable = False
    return Frame(
        vehicle_id=vehicle_id,
        frame_id=index,
        rtp_timestamp=index * 3000,
        image_bgr=image,
        capture_time=when,
        received_monotonic_s=0.0,
        metadata=metadata,
    )


@contextlib.asynccontextmanager
async def synthetic_feed(
    vehicle_id: str, period_s: float, count: int, *, with_metadata: bool = True
) -> AsyncIterator[AsyncIterator[Frame]]:
    clock = WallClock()

    async def frames() -> AsyncIterator[Frame]:
        for index in range(count):
            await asyncio.sleep(period_s)
            yield frame_at(vehicle_id, index, clock.now(), with_metadata=with_metadata)

    yield frames()


class Collector:
    """A publisher that keeps batches; ``processed`` is the worker's per-frame callback."""

    def __init__(self) -> None:
        self.batches: list[DetectionBatch] = []
        self._changed = asyncio.Event()

    async def publish(self, topic: topics.Topic[DetectionBatch], payload: DetectionBatch) -> None:
        assert topic.name == topics.detections(payload.vehicle_id).name
        self.batches.append(payload)

    def processed(self, _: ProcessedFrame) -> None:
        self._changed.set()

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(30):
            while not condition():
                self._changed.clear()
                await self._changed.wait()


async def test_latest_frame_wins_and_feeds_are_served_fairly() -> None:
    detectors: list[BlobDetector] = []

    def slow_detector() -> BlobDetector:
        detectors.append(BlobDetector(delay_s=0.04))
        return detectors[-1]

    collector = Collector()
    async with DetectionWorker(
        detector_factory=slow_detector,
        publisher=collector,
        on_processed=collector.processed,
        projector=Projector(FlatTerrain(GROUND_AMSL_M)),
        tracking=None,
    ) as worker:
        worker.add_feed("fast", synthetic_feed("fast", 0.005, 200))
        worker.add_feed("slow", synthetic_feed("slow", 0.1, 12))
        await collector.wait_until(lambda: worker.counters("slow").frames_processed >= 12)
        fast, slow = worker.counters("fast"), worker.counters("slow")
    assert slow.frames_processed == 12
    assert slow.frames_dropped == 0
    assert fast.frames_dropped > 0
    assert fast.frames_processed + fast.frames_dropped <= fast.frames_received
    frame_ids = [b.frame_id for b in collector.batches if b.vehicle_id == "fast"]
    assert frame_ids == sorted(frame_ids)
    assert threading.main_thread().name not in detectors[0].threads


async def test_two_workers_share_the_feeds() -> None:
    detectors: list[BlobDetector] = []

    def make() -> BlobDetector:
        detectors.append(BlobDetector(delay_s=0.03))
        return detectors[-1]

    collector = Collector()
    async with DetectionWorker(
        detector_factory=make,
        publisher=None,
        on_processed=collector.processed,
        projector=Projector(FlatTerrain(GROUND_AMSL_M)),
        workers=2,
        tracking=None,
    ) as worker:
        for name in ("a", "b", "c"):
            worker.add_feed(name, synthetic_feed(name, 0.02, 40))
        await collector.wait_until(
            lambda: sum(worker.counters(n).frames_processed for n in "abc") >= 30
        )
    assert len(detectors) == 2
    assert all(detector.calls > 0 for detector in detectors)
    assert detectors[0].threads.isdisjoint(detectors[1].threads)


def vehicle_state(when: datetime) -> VehicleState:
    return VehicleState(
        vehicle_id="drone-1",
        system_id=1,
        time=when,
        lat_deg=CAMERA_LAT,
        lon_deg=CAMERA_LON,
        alt_amsl_m=GROUND_AMSL_M + AGL_M,
        yaw_deg=0.0,
        gimbal_pitch_deg=-90.0,
        link=LinkQuality(connected=True, last_heard_age_s=0.0),
    )


async def test_frames_without_metadata_use_interpolated_telemetry() -> None:
    telemetry = PoseSource()
    start = WallClock().now() - timedelta(seconds=1)
    for step in range(40):
        telemetry.add(vehicle_state(start + timedelta(seconds=0.25 * step)))
    collector = Collector()
    async with DetectionWorker(
        detector_factory=BlobDetector,
        publisher=collector,
        on_processed=collector.processed,
        projector=Projector(FlatTerrain(GROUND_AMSL_M)),
        telemetry=telemetry,
        default_hfov_deg=HFOV_DEG,
    ) as worker:
        worker.add_feed("drone-1", synthetic_feed("drone-1", 0.05, 5, with_metadata=False))
        await collector.wait_until(lambda: worker.counters("drone-1").frames_processed >= 5)
    truth = target_positions()
    located = [d for b in collector.batches for d in b.detections]
    assert located
    for detection in located:
        assert detection.lat_deg is not None
        assert detection.lon_deg is not None
        assert nearest_truth_m(detection.lat_deg, detection.lon_deg, truth) < 1.0


async def test_frames_without_any_pose_are_published_unlocated() -> None:
    collector = Collector()
    async with DetectionWorker(
        detector_factory=BlobDetector,
        publisher=collector,
        on_processed=collector.processed,
        projector=Projector(FlatTerrain(GROUND_AMSL_M)),
    ) as worker:
        worker.add_feed("drone-1", synthetic_feed("drone-1", 0.05, 3, with_metadata=False))
        await collector.wait_until(lambda: worker.counters("drone-1").frames_processed >= 3)
        assert worker.counters("drone-1").frames_without_pose == 3
    detections = [d for b in collector.batches for d in b.detections]
    assert len(detections) == 3 * len(TARGETS_NE_M)
    assert all(d.lat_deg is None and d.ground_sigma_m is None for d in detections)
    assert all(b.footprint == () for b in collector.batches)


class SlowBus:
    """A publisher that takes 50 ms per batch; notes how far the detector ran ahead of it."""

    def __init__(self, detector: BlobDetector) -> None:
        self.detector = detector
        self.published = 0
        self.most_ahead = 0

    async def publish(self, topic: topics.Topic[DetectionBatch], payload: DetectionBatch) -> None:
        self.most_ahead = max(self.most_ahead, self.detector.calls - self.published)
        await asyncio.sleep(0.05)
        self.published += 1


async def test_a_slow_bus_holds_the_detector_back_and_frames_are_dropped() -> None:
    detector = BlobDetector()
    bus = SlowBus(detector)
    collector = Collector()
    async with DetectionWorker(
        detector_factory=lambda: detector,
        publisher=bus,
        on_processed=collector.processed,
        projector=Projector(FlatTerrain(GROUND_AMSL_M)),
    ) as worker:
        worker.add_feed("drone-1", synthetic_feed("drone-1", 0.005, 200))
        await collector.wait_until(lambda: worker.counters("drone-1").frames_processed >= 10)
        counters = worker.counters("drone-1")
    assert 1 <= bus.most_ahead <= 2
    assert counters.frames_dropped > counters.frames_processed


class BrokenDetector(BlobDetector):
    def detect(self, image_bgr: npt.NDArray[np.uint8]) -> tuple[Detection, ...]:
        if self.calls == 3:
            raise RuntimeError("inference backend lost its device")
        return super().detect(image_bgr)


async def run_until_the_worker_fails() -> None:
    async with (
        asyncio.timeout(30),
        DetectionWorker(
            detector_factory=BrokenDetector,
            publisher=None,
            projector=Projector(FlatTerrain(GROUND_AMSL_M)),
        ) as worker,
    ):
        worker.add_feed("drone-1", synthetic_feed("drone-1", 0.02, 1000))
        await asyncio.sleep(60)


async def test_a_failing_detector_stops_the_worker_with_its_error() -> None:
    with pytest.raises(ExceptionGroup) as caught:
        await run_until_the_worker_fails()
    assert caught.group_contains(RuntimeError, match="lost its device")
