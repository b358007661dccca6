"""The vision service: media hub + detection worker + recorders + telemetry, from one config.

::

    config = VisionConfig.model_validate(yaml.safe_load(text)["vision"])
    async with VisionService(config, bus=bus, clock=clock) as vision:
        app.include_router(vision.router)     # WHIP/WHEP/feeds on the console's FastAPI app

Every configured vehicle's feed is detected on (when a detector is configured) and, if
recording is on, recorded. Telemetry for frames without metadata comes from the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from types import TracebackType
from typing import Any, Self

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from skyeye import topics
from skyeye.bus import Bus
from skyeye.clock import Clock, WallClock
from vision.camera import FlatTerrain, PoseUncertainty, Projector
from vision.detectors import AnyDetectorConfig, create_detector
from vision.hub import HubSettings, MediaHub
from vision.pose import PoseSource
from vision.recording import FeedRecorder, RecorderSettings
from vision.worker import DetectionWorker

__all__ = ["UncertaintyConfig", "VisionConfig", "VisionService"]


class UncertaintyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    horizontal_m: float = Field(default=2.0, ge=0.0, title="GPS horizontal σ (m)")
    vertical_m: float = Field(default=3.0, ge=0.0, title="Altitude σ (m)")
    attitude_deg: float = Field(default=1.0, ge=0.0, title="Camera attitude σ (deg)")
    pixel_px: float = Field(default=2.0, ge=0.0, title="Box centre σ (px)")


class VisionConfig(BaseModel):
    """The ``vision`` section of the Skyeye configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hub: HubSettings = Field(title="Media hub", description="Who may publish and view.")
    detector: AnyDetectorConfig | None = Field(
        default=None, title="Detector", description="type: yolo | onnx; none: no detection."
    )
    workers: int = Field(
        default_factory=lambda: max(1, min(4, (os.cpu_count() or 2) // 2)),
        ge=1,
        le=32,
        title="Detector workers",
        description="Detector instances, each on its own thread (default: half the cores).",
    )
    terrain_alt_amsl_m: float = Field(
        default=0.0, title="Ground altitude", description="Flat terrain altitude AMSL (m)."
    )
    default_hfov_deg: float = Field(
        default=70.0, gt=0.0, lt=180.0, title="Default HFOV", description="Feeds without metadata."
    )
    uncertainty: UncertaintyConfig = Field(default_factory=UncertaintyConfig, title="Pose errors")
    recording: RecorderSettings | None = Field(
        default=None, title="Recording", description="Record every feed to segmented MP4."
    )

    @classmethod
    def single(cls, vehicles: dict[str, str], view_token: str, **values: Any) -> VisionConfig:
        """A config for tests and the demo: vehicle → publish token."""
        hub = HubSettings(
            publish_tokens={v: SecretStr(t) for v, t in vehicles.items()},
            view_token=SecretStr(view_token),
        )
        return cls.model_validate({"hub": hub, **values})


class VisionService:
    def __init__(
        self, config: VisionConfig, *, bus: Bus | None, clock: Clock | None = None
    ) -> None:
        self._config = config
        self._bus = bus
        self._clock = clock or WallClock()
        self.hub = MediaHub(config.hub, clock=self._clock)
        self.telemetry = PoseSource()
        self.worker: DetectionWorker | None = None
        self.recorders: dict[str, FeedRecorder] = {}
        self._stack: contextlib.AsyncExitStack | None = None

    @property
    def router(self) -> APIRouter:
        return self.hub.router

    async def __aenter__(self) -> Self:
        stack = contextlib.AsyncExitStack()
        await stack.__aenter__()
        try:
            await stack.enter_async_context(self.hub)
            config = self._config
            if config.detector is not None:
                detector_config = config.detector
                u = config.uncertainty
                projector = Projector(
                    FlatTerrain(config.terrain_alt_amsl_m),
                    uncertainty=PoseUncertainty(
                        horizontal_m=u.horizontal_m,
                        vertical_m=u.vertical_m,
                        yaw_deg=u.attitude_deg,
                        pitch_deg=u.attitude_deg,
                        roll_deg=u.attitude_deg,
                        pixel_px=u.pixel_px,
                    ),
                )
                self.worker = await stack.enter_async_context(
                    DetectionWorker(
                        detector_factory=lambda: create_detector(detector_config),
                        publisher=self._bus,
                        projector=projector,
                        telemetry=self.telemetry,
                        clock=self._clock,
                        workers=config.workers,
                        default_hfov_deg=config.default_hfov_deg,
                    )
                )
                for vehicle in self.hub.vehicles:
                    self.worker.add_feed(vehicle, self.hub.frames(vehicle))
            if config.recording is not None:
                for vehicle in self.hub.vehicles:
                    self.recorders[vehicle] = await stack.enter_async_context(
                        FeedRecorder(
                            config.recording, vehicle, self.hub.frames(vehicle), clock=self._clock
                        )
                    )
            if self._bus is not None:
                group = await stack.enter_async_context(asyncio.TaskGroup())
                telemetry_task = group.create_task(
                    self._follow_telemetry(self._bus), name="vision.telemetry"
                )
                stack.callback(telemetry_task.cancel)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.__aexit__(exc_type, exc, tb)

    async def _follow_telemetry(self, bus: Bus) -> None:
        async with bus.subscribe(topics.vehicle_state("+")) as messages:
            async for message in messages:
                self.telemetry.add(message.payload)
