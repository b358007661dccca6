"""Fusion throughput and detection → map latency.

Throughput: 2,000 moving cars over 3 km × 3 km (a large event), 20 drones each imaging a
400 m × 300 m patch at 5 Hz; detections fused per second of one core by the ground tracker
(``update_batch`` on the real contracts: projection into the local frame, gating,
assignment, Kalman update). Baseline in the same run: 200 cars at the same density (the
same detections per frame, 10× fewer tracks), to show what the track count costs. Also
the sparse case, 2,000 cars over 100 km², where a frame holds two or three detections and
the per-frame overhead dominates.
Latency: a DetectionBatch published on a real Mosquitto → the TrackList that contains its
object received by a subscriber (what the console pushes to the browser).

    .venv/bin/python bench/fusion.py
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from skyeye import topics  # noqa: E402
from skyeye.bus import Bus, BusSettings  # noqa: E402
from skyeye.contracts import Detection, DetectionBatch  # noqa: E402
from tests.mosquitto import MosquittoServer  # noqa: E402
from vision.fusion import FusionService, FusionSettings, GeoTracker, LocalFrame  # noqa: E402

FRAME = LocalFrame(52.0, 5.0)
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _batches(
    cars: int, side: float, drones: int, steps: int, seed: int = 1
) -> list[DetectionBatch]:
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-side / 2, side / 2, size=(cars, 2))
    heading = rng.uniform(0, 2 * np.pi, cars)
    vel = np.stack([np.cos(heading), np.sin(heading)], axis=1) * rng.uniform(5, 15, (cars, 1))
    centres = rng.uniform(-side / 2 + 300, side / 2 - 300, size=(drones, 2))
    batches = []
    for step in range(steps):
        t = step * 0.2
        now = pos + vel * t
        for d in range(drones):
            centre = centres[d] + np.array([8.0, 0.0]) * t
            seen = np.flatnonzero(
                (np.abs(now[:, 0] - centre[0]) < 200) & (np.abs(now[:, 1] - centre[1]) < 150)
            )
            noisy = now[seen] + rng.normal(0, 1.5, size=(len(seen), 2))
            lat, lon = FRAME.to_geo(noisy[:, 0], noisy[:, 1])
            detections = tuple(
                Detection(
                    class_name="car",
                    confidence=0.8,
                    x_min_px=0,
                    y_min_px=0,
                    x_max_px=10,
                    y_max_px=10,
                    lat_deg=float(a),
                    lon_deg=float(b),
                    ground_sigma_m=3.0,
                )
                for a, b in zip(lat, lon, strict=True)
            )
            batches.append(
                DetectionBatch(
                    vehicle_id=f"drone-{d}",
                    frame_id=step,
                    capture_time=T0 + timedelta(seconds=t + d * 0.005),
                    image_width_px=1280,
                    image_height_px=720,
                    detections=detections,
                )
            )
    return batches


def _throughput(batches: list[DetectionBatch]) -> tuple[float, int]:
    tracker = GeoTracker(FRAME)
    count = sum(len(b.detections) for b in batches)
    start = time.process_time()
    for batch in batches:
        tracker.update_batch(batch)
    elapsed = time.process_time() - start
    return count / elapsed, tracker.track_count


async def _latency(samples: int) -> list[float]:
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        server = MosquittoServer(Path(tmp))
        server.start()
        try:
            settings = FusionSettings(tracks_rate_hz=10, coverage_period_s=3600)
            async with (
                Bus(BusSettings(url=server.url)) as bus,
                bus.subscribe(topics.tracks()) as track_lists,
                FusionService(bus, frame=FRAME, settings=settings),
            ):
                for n in range(samples):
                    east = 50.0 * n
                    lat, lon = FRAME.to_geo(np.array([east]), np.array([0.0]))
                    det = Detection(
                        class_name="person",
                        confidence=0.9,
                        x_min_px=0,
                        y_min_px=0,
                        x_max_px=4,
                        y_max_px=8,
                        lat_deg=float(lat[0]),
                        lon_deg=float(lon[0]),
                        ground_sigma_m=2.0,
                    )
                    for k in range(3):  # confirmation needs three hits
                        batch = DetectionBatch(
                            vehicle_id="drone-l",
                            frame_id=3 * n + k,
                            capture_time=datetime.now(UTC),
                            image_width_px=640,
                            image_height_px=360,
                            detections=(det,),
                        )
                        sent = time.perf_counter()
                        await bus.publish(topics.detections("drone-l"), batch)
                    while True:
                        message = await track_lists.get()
                        if len(message.payload.tracks) == n + 1:
                            latencies.append((time.perf_counter() - sent) * 1000)
                            break
        finally:
            server.stop()
    return latencies


def main() -> dict[str, float]:
    dense = _batches(cars=2000, side=3_000.0, drones=20, steps=100)
    baseline = _batches(cars=200, side=950.0, drones=20, steps=100)
    sparse = _batches(cars=2000, side=10_000.0, drones=20, steps=100)
    rate_dense, tracks_dense = _throughput(dense)
    rate_baseline, _ = _throughput(baseline)
    rate_sparse, _ = _throughput(sparse)
    latencies = asyncio.run(_latency(40))
    return {
        "fused_detections_per_s_2000_cars": round(rate_dense, 1),
        "fused_detections_per_s_2000_cars_target": 20_000,
        "fused_detections_per_s_200_cars_baseline": round(rate_baseline, 1),
        "throughput_ratio_2000_to_200_cars": round(rate_dense / rate_baseline, 3),
        "confirmed_tracks_2000_cars": tracks_dense,
        "detections_per_batch_2000_cars": round(
            sum(len(b.detections) for b in dense) / len(dense), 1
        ),
        "fused_detections_per_s_sparse_2000_cars_100_km2": round(rate_sparse, 1),
        "detections_per_batch_sparse": round(
            sum(len(b.detections) for b in sparse) / len(sparse), 1
        ),
        "detection_to_tracks_on_bus_p50_ms": round(statistics.median(latencies), 2),
        "detection_to_tracks_on_bus_p95_ms": round(statistics.quantiles(latencies, n=20)[18], 2),
    }


def report(results: dict[str, float]) -> None:
    table = Table(title="fusion")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    for key, value in results.items():
        if key.endswith("_target"):
            continue
        target = results.get(f"{key}_target")
        table.add_row(key, f"{value:,.2f}", "" if target is None else f"{target:,}")
    Console().print(table)


if __name__ == "__main__":
    figures = main()
    report(figures)
    out = ROOT / "bench" / "results" / "fusion.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
