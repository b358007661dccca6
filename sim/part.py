"""The simulator as a part of a running Skyeye demo (see ``skyeye.app``).

It plays the outside world: the scenario's vehicles on MAVLink TCP ports, the world and its
targets, every drone's gimbal camera published over WHIP to the console's media hub, the
basemap tiles, and the scenario's scripted incident reports phoned in on the bus. The rest
of Skyeye meets it only through what it leaves in ``context.services``:

- ``area_centre``: (lat, lon) of the first base;
- ``mavlink_links``: ``tcp:127.0.0.1:PORT`` per vehicle, and ``vehicle_names`` (system id →
  vehicle id) for the fleet;
- ``whip_tokens``: the Bearer token each camera publishes with, for the media hub;
- ``tiles_router`` and ``tile_url``: the basemap for the console;
- ``terrain_alt_amsl_m``: ground altitude at the first base, for the projection;
- ``bases`` (``name``, ``lat_deg``, ``lon_deg``, ``radius_m``) and ``no_fly_zones`` (``name``,
  ``polygon`` of (lat, lon)): the scenario's, for the planners.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sim.camera.model import CameraConfig
from sim.camera.streams import CameraStreams
from sim.scenario import Scenario, load_scenario
from sim.simulator import Simulator
from sim.world.config import WorldConfig
from sim.world.events import ScriptedEvents, parse_events
from sim.world.targets import TargetField
from sim.world.tiles import tiles_router
from sim.world.world import World
from skyeye import topics
from skyeye.app import AppContext

__all__ = ["DEMO_SCENARIO", "camera_part", "sim_part"]

logger = logging.getLogger(__name__)

DEMO_SCENARIO = Path(__file__).resolve().parent / "scenarios" / "demo.yaml"
_DEMO_CAMERA = CameraConfig(width_px=640, height_px=360, fps=5.0, hfov_deg=60.0)


@dataclass(frozen=True, slots=True)
class _Running:
    scenario: Scenario
    sim: Simulator
    world: World
    targets: TargetField


def _scenario(context: AppContext) -> Scenario:
    return load_scenario(context.config.sim.scenario or DEMO_SCENARIO)


async def _phone_in(context: AppContext, events: ScriptedEvents, sim: Simulator) -> None:
    """Publish each scripted report on the bus when the simulated clock reaches it."""
    done_s = 0.0
    while True:
        await sim.clock.sleep(1.0)
        now_s = sim.clock.monotonic()
        for report in events.due(done_s, now_s):
            logger.info("scripted report %s: %s", report.report_id, report.category)
            await context.bus.publish(topics.reports(), report)
        done_s = now_s


@contextlib.asynccontextmanager
async def sim_part(context: AppContext) -> AsyncIterator[Simulator]:
    """The vehicles, the world and its scripted reports (cameras: :func:`camera_part`)."""
    scenario = _scenario(context)
    base = scenario.bases[0]
    world_config = scenario.world or WorldConfig(origin=(base.lat_deg, base.lon_deg))
    world = World(world_config, seed=scenario.seed, weather=scenario.weather)
    targets = TargetField(world, scenario.targets)
    start = datetime.now(UTC)
    simulator = Simulator(
        scenario,
        speedup=context.config.sim.speedup,
        vehicles=context.config.sim.vehicles,
        tcp_base_port=0,
        start=start,
    )
    services = context.services
    services["area_centre"] = (base.lat_deg, base.lon_deg)
    services["terrain_alt_amsl_m"] = base.alt_amsl_m
    services["bases"] = [
        {"name": b.id, "lat_deg": b.lat_deg, "lon_deg": b.lon_deg, "radius_m": b.radius_m}
        for b in scenario.bases
    ]
    services["no_fly_zones"] = [
        {"name": z.id, "polygon": list(z.polygon)} for z in scenario.no_fly_zones
    ]
    services["tiles_router"] = tiles_router(world)
    services["tile_url"] = "/tiles/{z}/{x}/{y}.png"
    async with simulator as sim, asyncio.TaskGroup() as tasks:
        ids = list(sim.vehicles)
        services["mavlink_links"] = {vid: f"tcp:127.0.0.1:{sim.tcp_port(vid)}" for vid in ids}
        services["vehicle_names"] = {sim.vehicle(vid).system_id: vid for vid in ids}
        services["whip_tokens"] = dict.fromkeys(ids, secrets.token_urlsafe(24))
        services["sim"] = _Running(scenario, sim, world, targets)
        events = ScriptedEvents(parse_events(scenario.events), targets, start)
        reports = tasks.create_task(_phone_in(context, events, sim), name="sim.reports")
        context.announce("Simulator", f"{len(ids)} vehicles at {context.config.sim.speedup:g}×")
        try:
            yield sim
        finally:
            reports.cancel()


@contextlib.asynccontextmanager
async def camera_part(context: AppContext) -> AsyncIterator[CameraStreams]:
    """Every simulated camera, published over WHIP to the console's media hub.

    It comes after the console in the demo, so that the hub is up when the cameras call and
    the cameras hang up (WHIP DELETE) before the hub goes away.
    """
    running: _Running = context.services["sim"]
    ids = list(running.sim.vehicles)
    tokens: dict[str, str] = context.services["whip_tokens"]
    cameras = {vid: running.scenario.cameras.get(vid, _DEMO_CAMERA) for vid in ids}
    console = context.config.console
    async with CameraStreams(
        world=running.world,
        targets=running.targets,
        vehicles=running.sim,
        vehicle_ids=ids,
        camera=cameras,
        url_template=f"http://{console.host}:{console.port}/whip/{{vehicle_id}}",
        token=tokens[ids[0]],
        clock=running.sim.clock,
    ) as streams:
        context.announce("Cameras", f"{len(ids)} feeds over WHIP")
        yield streams
