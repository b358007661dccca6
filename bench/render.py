"""Camera rendering speed per core, and the memory the world holds after a 50 km flight.

    .venv/bin/python bench/render.py

A drone flies at 15 m/s, 100 m above the ground, over a town and out into the country, with
its gimbal nadir and then 45° oblique; every frame is rendered with the default sensor
effects (noise, vignetting, motion blur), tile generation for new ground included. Frames per
second per core = frames / CPU seconds of this process with OpenCV on one thread. Then a
second drone flies 50 km in a straight line and the world's memory is measured (resident set
growth and the tile cache's bytes), which the tile cache's budget bounds.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import cv2
import numpy as np
import psutil  # type: ignore[import-untyped]

from sim.camera import CameraConfig, CameraPose, Renderer
from sim.world import TargetField, TargetsConfig, World, WorldConfig

ORIGIN = (52.0, 5.0)
SPEED_M_S = 15.0
FPS = 15.0
TARGET_FPS_PER_CORE = 30.0


def _fly(
    renderer: Renderer, world: World, pitch: float, frames: int, start: tuple[float, float]
) -> float:
    cpu0 = time.process_time()
    for n in range(frames):
        t = n / FPS
        x, y = start[0] + SPEED_M_S * t * 0.8, start[1] + SPEED_M_S * t * 0.6
        ground = float(world.height_m(np.array(x), np.array(y)))
        lat, lon = world.frame.to_latlon(x, y)
        pose = CameraPose(
            lat_deg=lat,
            lon_deg=lon,
            alt_amsl_m=ground + 100.0,
            yaw_deg=53.13,
            gimbal_pitch_deg=pitch,
        )
        renderer.render(pose, t)
    return time.process_time() - cpu0


def fps_per_core(
    world: World, targets: TargetField, width: int, height: int, frames: int
) -> dict[str, float]:
    out = {}
    town = world.layout.town(0, 0)
    start = (town.x_m - 300.0, town.y_m - 200.0)
    for label, pitch in (("nadir", -90.0), ("oblique", -45.0)):
        config = CameraConfig(hfov_deg=70.0, width_px=width, height_px=height, fps=FPS)
        renderer = Renderer(world, targets, config)
        _fly(renderer, world, pitch, 5, start)  # the first ground under the drone
        cpu = _fly(renderer, world, pitch, frames, start)
        out[label] = frames / cpu
    return out


def memory_after_flight(distance_m: float, step_m: float) -> dict[str, float]:
    process = psutil.Process()
    world = World(WorldConfig(origin=ORIGIN, radius_m=60_000.0), seed=2)
    targets = TargetField(world, TargetsConfig())
    renderer = Renderer(world, targets, CameraConfig(hfov_deg=70.0))
    rss0 = process.memory_info().rss
    peak_cache = 0
    steps = int(distance_m / step_m)
    for n in range(steps + 1):
        d = n * step_m - distance_m / 2
        x, y = d * math.cos(0.3), d * math.sin(0.3)
        ground = float(world.height_m(np.array(x), np.array(y)))
        lat, lon = world.frame.to_latlon(x, y)
        renderer.render(
            CameraPose(
                lat_deg=lat,
                lon_deg=lon,
                alt_amsl_m=ground + 100.0,
                gimbal_pitch_deg=-60.0,
                yaw_deg=73.0,
            ),
            n * step_m / SPEED_M_S,
        )
        peak_cache = max(peak_cache, world.cache_bytes)
    rss1 = process.memory_info().rss
    return {
        "world_rss_growth_mb": (rss1 - rss0) / 2**20,
        "tile_cache_mb": world.cache_bytes / 2**20,
        "tile_cache_peak_mb": peak_cache / 2**20,
        "tile_cache_budget_mb": world.config.tile_cache_mb,
        "tiles_rendered": float(world.tiles_rendered),
        "tiles_cached": float(world.cached_tiles),
    }


def main() -> None:
    cv2.setNumThreads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    wall0 = time.monotonic()
    world = World(WorldConfig(origin=ORIGIN), seed=1)
    targets = TargetField(world, TargetsConfig())
    small = fps_per_core(world, targets, 640, 360, 100)
    large = fps_per_core(world, targets, 1280, 720, 40)
    memory = memory_after_flight(50_000.0, 1_250.0)
    results = {
        "fps_per_core_640x360_nadir": small["nadir"],
        "fps_per_core_640x360_oblique": small["oblique"],
        "fps_per_core_640x360_min": min(small.values()),
        "fps_per_core_640x360_min_target": TARGET_FPS_PER_CORE,
        "fps_per_core_1280x720_nadir": large["nadir"],
        "fps_per_core_1280x720_oblique": large["oblique"],
        "flight_km": 50.0,
        **memory,
        "world_memory_bounded_target_mb": memory["tile_cache_budget_mb"],
    }
    print(f"{'figure':<36}{'value':>12}")
    for key, value in results.items():
        print(f"{key:<36}{value:>12.1f}")
    print(f"(bench wall time {time.monotonic() - wall0:.0f} s)")
    out = Path(__file__).parent / "results" / "render.json"
    out.write_text(json.dumps({k: round(v, 2) for k, v in results.items()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
