"""Every simulated drone's camera, published to a WHIP hub, rendering on a shared thread pool.

::

    async with CameraStreams(world=world, targets=targets, vehicles=sim,
                             vehicle_ids=["drone-1", "drone-2"], camera=CameraConfig(hfov_deg=70),
                             url_template="http://127.0.0.1:8000/whip/{vehicle_id}",
                             token=token, clock=sim.clock) as streams:
        ...

Rendering runs on ``render_threads`` worker threads (OpenCV and NumPy release the GIL), so
several drones share two cores without touching the event loop. Each camera renders what it
truly sees; each frame's metadata carries the pose its drone reported at that instant (its
navigation estimate, with the scenario's ``navigation`` errors), as a real drone's would.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Protocol

from sim.camera.errors import CameraConfigError
from sim.camera.glue import PoseFeed, VehicleLike
from sim.camera.model import CameraConfig, CameraPose
from sim.camera.record import Mp4Writer
from sim.camera.render import RenderedFrame, Renderer
from sim.camera.whip import WhipPublisher
from sim.world.targets import TargetField
from sim.world.world import World
from skyeye.clock import Clock

__all__ = ["CameraStreams"]


class _Fleet(Protocol):
    def vehicle(self, vehicle_id: str) -> VehicleLike: ...


class _ReportingRenderer(Renderer):
    """Renders the true view; the frame carries the pose ``reported`` gives for it."""

    def __init__(
        self,
        world: World,
        targets: TargetField | None,
        config: CameraConfig,
        *,
        seed: int,
        reported: Callable[[CameraPose], CameraPose],
    ) -> None:
        super().__init__(world, targets, config, seed=seed)
        self._reported = reported

    def render(self, pose: CameraPose, t_s: float) -> RenderedFrame:
        frame = super().render(pose, t_s)
        return dataclasses.replace(frame, pose=self._reported(pose))

    def blank(self, pose: CameraPose, t_s: float) -> RenderedFrame:
        frame = super().blank(pose, t_s)
        return dataclasses.replace(frame, pose=self._reported(pose))


class CameraStreams:
    """One :class:`WhipPublisher` per vehicle, for as long as the block runs."""

    def __init__(
        self,
        *,
        world: World,
        targets: TargetField | None,
        vehicles: _Fleet,
        vehicle_ids: Sequence[str],
        camera: CameraConfig | Mapping[str, CameraConfig],
        url_template: str,
        token: str | None,
        clock: Clock,
        render_threads: int = 2,
        record_dir: Path | None = None,
    ) -> None:
        if "{vehicle_id}" not in url_template:
            raise CameraConfigError(f"WHIP URL template {url_template!r} lacks {{vehicle_id}}")
        if render_threads < 1:
            raise CameraConfigError(f"render_threads must be at least 1, got {render_threads}")
        if isinstance(camera, Mapping):
            missing = [v for v in vehicle_ids if v not in camera]
            if missing:
                raise CameraConfigError(f"no camera configured for {', '.join(missing)}")
        self._world = world
        self._targets = targets
        self._vehicles = vehicles
        self._ids = list(vehicle_ids)
        self._camera = camera
        self._url_template = url_template
        self._token = token
        self._clock = clock
        self._threads = render_threads
        self._record_dir = record_dir
        self._stack: contextlib.AsyncExitStack | None = None
        self._executor: ThreadPoolExecutor | None = None
        self.publishers: dict[str, WhipPublisher] = {}

    def _config(self, vehicle_id: str) -> CameraConfig:
        if isinstance(self._camera, Mapping):
            return self._camera[vehicle_id]
        return self._camera

    async def __aenter__(self) -> CameraStreams:
        if self._stack is not None:
            raise CameraConfigError("camera streams were already started")
        self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="sim-render")
        stack = contextlib.AsyncExitStack()
        self._stack = stack
        try:
            for n, vehicle_id in enumerate(self._ids):
                config = self._config(vehicle_id)
                feed = PoseFeed(self._vehicles.vehicle(vehicle_id))
                renderer = _ReportingRenderer(
                    self._world, self._targets, config, seed=n, reported=feed.reported
                )
                record = None
                if self._record_dir is not None:
                    mp4 = stack.enter_context(
                        Mp4Writer(self._record_dir / f"{vehicle_id}.mp4", fps=config.fps)
                    )
                    record = mp4.write
                publisher = WhipPublisher(
                    renderer,
                    feed,
                    url=self._url_template.format(vehicle_id=vehicle_id),
                    token=self._token,
                    clock=self._clock,
                    name=vehicle_id,
                    executor=self._executor,
                    record=record,
                )
                self.publishers[vehicle_id] = await stack.enter_async_context(publisher)
        except BaseException:
            await self._close(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close(exc_type, exc, tb)

    async def _close(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._stack is not None:
                await self._stack.__aexit__(exc_type, exc, tb)
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None
