"""End to end with real peers: the simulator's camera publishes over WHIP, our trained YOLO
detects on the hub's feed, detections of ground-truth targets arrive on a real Mosquitto
with geo positions near the truth, while a WHEP viewer pulls the same feed.

The camera renders a frozen world (its clock barely advances), so the targets' true
positions are those the test renders itself at the same pose.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from pyproj import Geod

from sim.camera import CameraConfig, CameraPose, Renderer
from sim.camera.render import TargetTruth
from sim.camera.whip import WhipPublisher as SimWhipPublisher
from sim.world import TargetField, TargetsConfig, World, WorldConfig
from skyeye import topics
from skyeye.bus import Bus, BusSettings
from skyeye.clock import ScaledClock, WallClock
from skyeye.contracts import DetectionBatch
from vision.camera import FlatTerrain, PoseUncertainty, Projector
from vision.detectors import Detection, YoloDetectorConfig, create_detector
from vision.hub import HubSettings, MediaHub
from vision.metadata import Frame
from vision.server import HttpServer
from vision.webrtc import WhepViewer
from vision.worker import DetectionWorker

WEIGHTS = Path(__file__).resolve().parent.parent / "vision" / "models" / "skyeye-yolo.pt"
GEOD = Geod(ellps="WGS84")
SEEN = {"car", "van", "truck", "bus", "boat"}
AGL_M = 100.0
DETECTOR = YoloDetectorConfig(weights=WEIGHTS, imgsz=640, confidence=0.3)
# 6 cm per pixel at 100 m: the pixel size the planner flies for cars (a zoomed view)
CAMERA = CameraConfig(
    width_px=640, height_px=360, hfov_deg=2 * math.degrees(math.atan(320 * 0.06 / AGL_M))
)


def detected_spot(
    world: World, targets: TargetField, camera: CameraConfig
) -> tuple[CameraPose, float, list[TargetTruth]]:
    """A nadir pose 100 m above a place where our detector finds at least one true target.

    The detector's quality is measured separately (mAP in the model card); this test is
    about the chain: transport, metadata, detection, projection and the bus.
    """
    detector = create_detector(DETECTOR)
    renderer = Renderer(world, targets, camera, seed=1)
    rng = np.random.default_rng(3)
    for _ in range(2000):
        x, y = (float(v) for v in rng.uniform(-1500, 1500, 2))
        near = [s for s in targets.near(x, y, 30.0, 0.0) if s.target_class in SEEN]
        if not near:
            continue
        ground = float(world.height_m(np.array(near[0].x_m), np.array(near[0].y_m)))
        lat, lon = world.frame.to_latlon(near[0].x_m, near[0].y_m)
        pose = CameraPose(lat_deg=lat, lon_deg=lon, alt_amsl_m=ground + AGL_M)
        frame = renderer.render(pose, 0.0)
        found = detector.detect(frame.image_bgr)
        if any(_iou(d, t.box_px) > 0.4 for d in found for t in frame.truth):
            return pose, frame.ground_alt_amsl_m, list(frame.truth)
    raise AssertionError("no place where the detector sees a target")


def _iou(d: Detection, b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(d.x_max_px, b[2]) - max(d.x_min_px, b[0]))
    iy = max(0.0, min(d.y_max_px, b[3]) - max(d.y_min_px, b[1]))
    inter = ix * iy
    union = d.width_px * d.height_px + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@pytest.mark.slow
async def test_sim_camera_to_bus_near_truth_with_whep_viewer(mqtt_url: str) -> None:
    world = World(WorldConfig(origin=(52.0, 5.0)), seed=5)
    targets = TargetField(world, TargetsConfig())
    camera = CAMERA
    pose, ground, truth = detected_spot(world, targets, camera)

    settings = HubSettings(
        publish_tokens={"drone-1": SecretStr("pub")}, view_token=SecretStr("view")
    )
    detector_config = DETECTOR
    projector = Projector(FlatTerrain(ground), uncertainty=PoseUncertainty(pixel_px=2.0))
    frozen = ScaledClock(1e-6)
    batches: list[DetectionBatch] = []
    async with (
        MediaHub(settings) as hub,
        Bus(BusSettings(url=mqtt_url), clock=WallClock()) as bus,
        bus.subscribe(topics.detections("drone-1")) as messages,
        DetectionWorker(
            detector_factory=lambda: create_detector(detector_config),
            publisher=bus,
            projector=projector,
        ) as worker,
    ):
        app = FastAPI()
        app.include_router(hub.router)
        async with HttpServer(app) as server:
            worker.add_feed("drone-1", hub.frames("drone-1"))
            renderer = Renderer(world, targets, camera, seed=2)
            async with SimWhipPublisher(
                renderer,
                lambda: pose,
                url=f"{server.url}/whip/drone-1",
                token="pub",
                clock=frozen,
                name="drone-1",
            ) as publisher:
                await asyncio.wait_for(publisher.wait_streaming(), 30)
                async with WhepViewer(
                    f"{server.url}/whep/drone-1", token="view", vehicle_id="drone-1"
                ) as viewer:

                    async def read_bus() -> None:
                        async for message in messages:
                            if message.payload.footprint and message.payload.detections:
                                batches.append(message.payload)
                            if len(batches) >= 4:
                                return

                    async def read_viewer() -> list[Frame]:
                        frames = []
                        async for frame in viewer.frames():
                            frames.append(frame)
                            if len(frames) >= 4:
                                break
                        return frames

                    async with asyncio.timeout(90):
                        _, viewed = await asyncio.gather(read_bus(), read_viewer())
    assert len(viewed) >= 4
    assert any(frame.metadata is not None for frame in viewed)
    errors = []
    for batch in batches:
        for detection in batch.detections:
            if detection.lat_deg is None:
                continue
            assert detection.lon_deg is not None
            nearest = min(
                truth,
                key=lambda t: float(
                    GEOD.inv(detection.lon_deg, detection.lat_deg, t.lon_deg, t.lat_deg)[2]
                ),
            )
            errors.append(
                float(
                    GEOD.inv(
                        detection.lon_deg, detection.lat_deg, nearest.lon_deg, nearest.lat_deg
                    )[2]
                )
            )
    assert len(errors) >= len(batches)
    assert float(np.median(errors)) < 3.0
    assert math.isfinite(max(errors))
