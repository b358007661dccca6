"""Console bench: map frame rate in headless Chromium, and detection → WebSocket push latency.

Frame rate: the command map as a viewer in Debian's Chromium (headless, no GPU) while 50
drones report at 2 Hz each and a track list of 2,000 tracks (8-point trails) arrives at
2 Hz, all through Mosquitto and the console's WebSocket. Two figures: the view held still
(only the data moves), and the view panning every frame (everything is redrawn every
frame). Target ≥ 30 fps.

Latency: a drone's detections at 10 Hz through Mosquitto. (a) detections → the console's
WebSocket (the boxes on the video wall and the footprint on the map): WebSocket receipt
minus the frame's capture time; (b) detections → fusion (``vision.fusion``) → tracks →
WebSocket: receipt of a track list minus the capture time of the newest detection fused
into it. Baseline in the same run: a plain bus subscriber's receipt of the detections.

    .venv/bin/python bench/console_map.py
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import async_playwright
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from missions.console import ConsoleServer, ConsoleSettings, Role, create_app  # noqa: E402
from skyeye import topics  # noqa: E402
from skyeye.bus import Bus, BusSettings  # noqa: E402
from skyeye.clock import WallClock  # noqa: E402
from skyeye.contracts import (  # noqa: E402
    Detection,
    DetectionBatch,
    GeoPoint,
    LinkQuality,
    Track,
    TrackList,
    VehicleState,
)
from tests.mosquitto import MosquittoServer  # noqa: E402
from vision.fusion.frame import LocalFrame  # noqa: E402
from vision.fusion.service import FusionService  # noqa: E402

DRONES = 50
TRACKS = 2_000
TRAIL_POINTS = 8
MEASURE_S = 8.0
LATENCY_S = 8.0
CENTRE = (47.3769, 8.5417)
M_PER_DEG = 111_195.0
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _at(north_m: float, east_m: float) -> tuple[float, float]:
    lat = CENTRE[0] + north_m / M_PER_DEG
    return lat, CENTRE[1] + east_m / (M_PER_DEG * math.cos(math.radians(CENTRE[0])))


def _drone(index: int, t: float) -> VehicleState:
    angle = index * 2 * math.pi / DRONES + t * 0.05
    lat, lon = _at(4000 * math.sin(angle), 6000 * math.cos(angle))
    return VehicleState(
        vehicle_id=f"drone-{index:02d}",
        system_id=index + 1,
        time=datetime.now(UTC),
        lat_deg=lat,
        lon_deg=lon,
        alt_rel_m=80.0,
        heading_deg=math.degrees(angle + math.pi / 2) % 360,
        battery_pct=90.0 - index % 40,
        mode="AUTO",
        armed=True,
        link=LinkQuality(connected=True, last_heard_age_s=0.2),
    )


def _tracks(t: float) -> TrackList:
    now = datetime.now(UTC)
    tracks = []
    for i in range(TRACKS):
        north = ((i * 7919) % 12000) - 6000 + 8 * t * math.sin(i)
        east = ((i * 104729) % 16000) - 8000 + 8 * t * math.cos(i)
        trail = tuple(
            GeoPoint(
                lat_deg=_at(north - 15 * k * math.sin(i), east - 15 * k * math.cos(i))[0],
                lon_deg=_at(north - 15 * k * math.sin(i), east - 15 * k * math.cos(i))[1],
            )
            for k in range(1, TRAIL_POINTS + 1)
        )
        lat, lon = _at(north, east)
        tracks.append(
            Track(
                track_id=f"t{i}",
                class_name=("car", "person", "truck", "boat")[i % 4],
                class_confidence=0.8,
                lat_deg=lat,
                lon_deg=lon,
                position_sigma_m=3.0,
                first_seen=now - timedelta(seconds=30),
                last_seen=now,
                trail=trail,
            )
        )
    return TrackList(time=now, tracks=tuple(tracks))


async def _feed_map(bus: Bus, stop: asyncio.Event) -> None:
    start = time.monotonic()
    while not stop.is_set():
        t = time.monotonic() - start
        for index in range(DRONES):
            await bus.publish(topics.vehicle_state(f"drone-{index:02d}"), _drone(index, t))
        await bus.publish(topics.tracks(), _tracks(t))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


async def _frame_rates(url: str, token: dict[str, Any]) -> dict[str, float]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = await browser.new_page(viewport={"width": 1600, "height": 900})
        await page.goto(f"{url}/login")
        await page.evaluate("t => sessionStorage.setItem('skyeye.token', JSON.stringify(t))", token)
        await page.goto(f"{url}/map")
        await page.wait_for_function(
            f"window.__skyeye && window.__skyeye.stats.drones >= {DRONES}"
            f" && window.__skyeye.stats.tracks >= {TRACKS}",
            timeout=60_000,
        )
        await page.evaluate("window.__skyeye.map.setView([47.3769, 8.5417], 13, {animate: false})")
        measure = """async ([seconds, pan]) => {
            const stats = window.__skyeye.stats, map = window.__skyeye.map;
            const frames0 = stats.frames, batches0 = stats.batches, t0 = performance.now();
            let worst = 0, last = t0, step = 0;
            await new Promise((resolve) => {
              const tick = (now) => {
                worst = Math.max(worst, now - last); last = now;
                if (pan) {
                  step += 1;
                  map.panBy([Math.cos(step / 20) * 6, Math.sin(step / 20) * 6], { animate: false });
                }
                if (now - t0 < seconds * 1000) requestAnimationFrame(tick); else resolve();
              };
              requestAnimationFrame(tick);
            });
            const elapsed = (performance.now() - t0) / 1000;
            return { fps: (stats.frames - frames0) / elapsed, worst_ms: worst,
                     batches_per_s: (stats.batches - batches0) / elapsed,
                     drones: stats.drones, tracks: stats.tracks };
        }"""
        still = await page.evaluate(measure, [MEASURE_S, False])
        panning = await page.evaluate(measure, [MEASURE_S, True])
        shots = ROOT / "test-artifacts"
        shots.mkdir(exist_ok=True)
        await page.screenshot(path=shots / "bench-console-map.png")
        await browser.close()
    return {
        "map_fps_still": still["fps"],
        "map_fps_still_target": 30.0,
        "map_worst_frame_still_ms": still["worst_ms"],
        "map_fps_panning": panning["fps"],
        "map_fps_panning_target": 30.0,
        "map_worst_frame_panning_ms": panning["worst_ms"],
        "ws_batches_per_s": still["batches_per_s"],
        "drones_on_map": float(still["drones"]),
        "tracks_on_map": float(still["tracks"]),
    }


def _percentiles(name: str, values: list[float]) -> dict[str, float]:
    values = sorted(values)
    if not values:
        return {f"{name}_samples": 0.0}
    return {
        f"{name}_p50_ms": statistics.median(values),
        f"{name}_p95_ms": values[min(len(values) - 1, int(0.95 * len(values)))],
        f"{name}_samples": float(len(values)),
    }


async def _latency(url: str, bus: Bus, token: str) -> dict[str, float]:
    direct: list[float] = []
    fused: list[float] = []
    baseline: list[float] = []
    stop = asyncio.Event()

    async def detections() -> None:
        frame_id = 0
        while not stop.is_set():
            frame_id += 1
            lat, lon = _at(20 * frame_id * 0.1, 100.0)
            batch = DetectionBatch(
                vehicle_id="drone-00",
                frame_id=frame_id,
                capture_time=datetime.now(UTC),
                image_width_px=1280,
                image_height_px=720,
                detections=(
                    Detection(
                        class_name="car",
                        confidence=0.9,
                        x_min_px=600,
                        y_min_px=300,
                        x_max_px=680,
                        y_max_px=360,
                        lat_deg=lat,
                        lon_deg=lon,
                        ground_sigma_m=3.0,
                    ),
                ),
            )
            await bus.publish(topics.detections("drone-00"), batch)
            await asyncio.sleep(0.1)

    async def plain_subscriber() -> None:
        async with bus.subscribe(topics.detections("+")) as messages:
            async for message in messages:
                received = datetime.now(UTC)
                baseline.append((received - message.payload.capture_time).total_seconds() * 1e3)

    async def websocket() -> None:
        seen_last: set[str] = set()
        ws_url = url.replace("http", "ws") + f"/ws?token={token}&detections=1"
        async with connect(ws_url, max_size=None) as ws:
            await ws.recv()
            async for raw in ws:
                received = datetime.now(UTC)
                batch = json.loads(raw)
                for d in batch.get("detections", {}).values():
                    captured = datetime.fromisoformat(d["capture_time"])
                    direct.append((received - captured).total_seconds() * 1e3)
                for listing in batch.get("tracks", {}).values():
                    newest = max((t["last_seen"] for t in listing["tracks"]), default=None)
                    if newest is not None and newest not in seen_last:
                        seen_last.add(newest)
                        captured = datetime.fromisoformat(newest)
                        fused.append((received - captured).total_seconds() * 1e3)

    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(websocket(), name="bench.ws"),
            group.create_task(plain_subscriber(), name="bench.baseline"),
        ]
        await asyncio.sleep(0.5)
        tasks.append(group.create_task(detections(), name="bench.detections"))
        await asyncio.sleep(LATENCY_S)
        stop.set()
        for task in tasks:
            task.cancel()
    results = _percentiles("detection_to_ws", direct[5:])
    results |= _percentiles("detection_fusion_to_ws", fused[5:])
    results |= _percentiles("detection_to_bus_subscriber_baseline", baseline[5:])
    results["detection_fusion_to_ws_p95_ms_target"] = 500.0
    return results


async def main() -> dict[str, float]:
    clock = WallClock()
    results: dict[str, float] = {"drones": float(DRONES), "tracks": float(TRACKS)}
    with tempfile.TemporaryDirectory() as tmp:
        server = MosquittoServer(Path(tmp))
        server.start()
        try:
            async with Bus(BusSettings(url=server.url), clock=clock) as bus:
                app = create_app(
                    ConsoleSettings(
                        database_url=f"sqlite+aiosqlite:///{tmp}/console.sqlite3",
                        token_secret=SecretStr("bench-secret-0123456789abcdef"),
                    ),
                    bus=bus,
                    clock=clock,
                    initial_users=[("viewer", "viewer-password", Role.VIEWER)],
                )
                async with ConsoleServer(app) as console:
                    async with httpx.AsyncClient(base_url=console.url) as http:
                        response = await http.post(
                            "/api/auth/token",
                            json={"username": "viewer", "password": "viewer-password"},
                        )
                        token = response.json()
                    stop = asyncio.Event()
                    async with asyncio.TaskGroup() as group:
                        feeder = group.create_task(_feed_map(bus, stop), name="bench.feed")
                        try:
                            results |= await _frame_rates(console.url, token)
                        finally:
                            stop.set()
                            await feeder
                    async with FusionService(bus, frame=LocalFrame(*CENTRE), clock=clock):
                        results |= await _latency(console.url, bus, token["access_token"])
        finally:
            server.stop()
    return results


def _print(results: dict[str, float]) -> None:
    table = Table(title="Console: map frame rate and detection → WebSocket latency")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    for name, value in results.items():
        if name.endswith("_target"):
            continue
        target = results.get(f"{name}_target")
        table.add_row(name, f"{value:,.1f}", "" if target is None else f"{target:,.0f}")
    Console().print(table)


if __name__ == "__main__":
    figures = asyncio.run(main())
    _print(figures)
    out = ROOT / "bench" / "results" / "console_map.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
