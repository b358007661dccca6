"""The vision service from config: hub on an app, recording, telemetry followed from the bus."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from skyeye import topics
from skyeye.bus import Bus, BusSettings
from skyeye.clock import WallClock
from skyeye.contracts import LinkQuality, VehicleState
from tests.test_vision_hub import CountingCamera
from vision.server import HttpServer
from vision.service import VisionConfig, VisionService
from vision.webrtc import WhipPublisher


def test_config_rejects_unknown_keys_with_their_path() -> None:
    with pytest.raises(ValidationError, match="colour"):
        VisionConfig.model_validate(
            {"hub": {"publish_tokens": {"d": "t"}, "view_token": "v"}, "colour": "red"}
        )
    with pytest.raises(ValidationError, match="detector"):
        VisionConfig.model_validate(
            {
                "hub": {"publish_tokens": {"d": "t"}, "view_token": "v"},
                "detector": {"type": "tflite", "weights": "x"},
            }
        )


async def test_service_records_feeds_and_follows_telemetry(mqtt_url: str, tmp_path: Path) -> None:
    config = VisionConfig.single(
        {"drone-1": "secret"},
        "view",
        recording={"out_dir": str(tmp_path), "segment_s": 0.5},
    )
    clock = WallClock()
    now = clock.now()
    state = VehicleState(
        vehicle_id="drone-1",
        system_id=1,
        time=now,
        lat_deg=52.0,
        lon_deg=5.0,
        alt_amsl_m=120.0,
        yaw_deg=45.0,
        link=LinkQuality(connected=True, last_heard_age_s=0.0),
    )
    async with (
        Bus(BusSettings(url=mqtt_url), clock=clock) as bus,
        VisionService(config, bus=bus, clock=clock) as vision,
    ):
        app = FastAPI()
        app.include_router(vision.router)
        async with HttpServer(app) as server:
            await bus.publish(topics.vehicle_state("drone-1"), state)
            async with WhipPublisher(
                f"{server.url}/whip/drone-1", token="secret", produce=CountingCamera()
            ):
                recorder = vision.recorders["drone-1"]
                async with asyncio.timeout(30):
                    while not recorder.segments:  # noqa: ASYNC110 - closed on a thread
                        await asyncio.sleep(0.05)
            pose = vision.telemetry.pose_at("drone-1", now + timedelta(seconds=0.1))
    assert pose.yaw_deg == pytest.approx(45.0)
    assert pose.pitch_deg == -90.0
    assert recorder.segments[0].frames > 0
    assert recorder.segments[0].video.exists()
