"""How many simulated vehicles one core flies at 1x, and the speed-up 10 vehicles reach.

    .venv/bin/python bench/sim_scale.py

Every vehicle is armed and flying (GUIDED, to a point 5 km away) with the default telemetry
rates, and every vehicle has a ground station connected over TCP. The ground stations run in
a separate process (they read and count bytes), so the simulator's process is the one being
measured. Figures:

- ``cost_per_vehicle_s_us``: CPU time of the simulator process per simulated vehicle-second
  with ``--vehicles`` (default 200) vehicles free-running as fast as they can;
- ``vehicles_at_1x``: 1 s / that cost, the vehicles one core keeps at real time (target 200);
- ``vehicles_at_1x_checked_speedup``: the speed-up actually achieved by a simulator started
  at 1x with that many vehicles (rounded down to 10s, at most 250: MAVLink system ids end at
  255) for a few seconds (should be ~1.0);
- ``speedup_10_vehicles``: simulated seconds per wall second with 10 vehicles run as fast as
  they go (target 50).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import selectors
import socket
import time
from pathlib import Path

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.scenario import Scenario, parse_scenario
from sim.simulator import Simulator
from sim.vehicle import CopterMode

RESULTS = Path(__file__).parent / "results" / "sim_scale.json"
TARGET_VEHICLES_AT_1X = 200
TARGET_SPEEDUP_10 = 50.0
MAX_VEHICLES = 250  # MAVLink system ids are 1..255


def _drain(
    ports: list[int],
    ready: mp.synchronize.Event,
    stop: mp.synchronize.Event,
    received: mp.sharedctypes.Synchronized[int],
) -> None:
    """Connect to every port and read everything (the ground stations), counting bytes."""
    sel = selectors.DefaultSelector()
    socks = []
    for port in ports:
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
    ready.set()
    while not stop.is_set():
        for key, _ in sel.select(timeout=0.2):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                n = len(sock.recv(1 << 16))
            except BlockingIOError:
                continue
            with received.get_lock():
                received.value += n
    for s in socks:
        s.close()


def _scenario(count: int) -> Scenario:
    return parse_scenario(
        {
            "seed": 1,
            "bases": [
                {"id": "a", "lat_deg": 52.09, "lon_deg": 5.12, "alt_amsl_m": 5.0},
                {"id": "b", "lat_deg": 52.16, "lon_deg": 5.39, "alt_amsl_m": 4.0},
            ],
            "vehicles": [{"id": "v0", "base": "a"}],
        }
    ).with_vehicles(count)


def _launch(sim: Simulator) -> None:
    """Arm, take off and send every vehicle 5 km out (a GUIDED position target)."""
    gcs = mavlink.MAVLink(None, srcSystem=255, srcComponent=190)
    for i, v in enumerate(sim.vehicles.values()):
        v.set_mode(CopterMode.GUIDED)
        if v.arm() != 0 or v.takeoff(40.0) != 0:
            raise RuntimeError(f"vehicle {v.vehicle_id} did not take off")
        angle = 2 * math.pi * i / len(sim.vehicles)
        lat, lon, _ = v.position
        lat += 5000 * math.cos(angle) / 111_320
        lon += 5000 * math.sin(angle) / (111_320 * math.cos(math.radians(lat)))
        msg = gcs.set_position_target_global_int_encode(
            0,
            v.system_id,
            1,
            mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
            0b110111111000,
            round(lat * 1e7),
            round(lon * 1e7),
            60.0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        )
        msg.pack(gcs)
        v.handle(msg)


async def _with_clients(sim: Simulator, body: object) -> tuple[float, float]:
    """``body()``'s figure, and telemetry bytes per simulated vehicle-second meanwhile."""
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    received = ctx.Value("q", 0)
    ports = [sim.tcp_port(vid) for vid in sim.vehicles]
    proc = ctx.Process(target=_drain, args=(ports, ready, stop, received), daemon=True)
    proc.start()
    try:
        if not await asyncio.to_thread(ready.wait, 60):
            raise RuntimeError("the ground-station process did not connect")
        await asyncio.sleep(0.2)
        bytes0, t0 = received.value, sim.time_s
        figure = float(await body())  # type: ignore[operator]
        await asyncio.sleep(0.5)  # the last bytes in flight
        rate = (received.value - bytes0) / max(1e-9, (sim.time_s - t0) * len(sim.vehicles))
        return figure, rate
    finally:
        stop.set()
        proc.join(5)


async def cost_per_vehicle_second(count: int, sim_s: float) -> tuple[float, float]:
    """CPU seconds per simulated vehicle-second, free-running flat out (lock-step ticks)."""
    async with Simulator(_scenario(count), lockstep=True, tcp_base_port=0) as sim:
        _launch(sim)

        async def body() -> float:
            await sim.step(2.0)  # take-off transients out of the way
            cpu0 = time.process_time()
            await sim.step(sim_s)
            return (time.process_time() - cpu0) / (sim_s * count)

        return await _with_clients(sim, body)


async def achieved_speedup(count: int, speedup: float, wall_s: float) -> tuple[float, float]:
    async with Simulator(_scenario(count), speedup=speedup, tcp_base_port=0) as sim:
        _launch(sim)

        async def body() -> float:
            t0, w0 = sim.time_s, time.monotonic()
            await asyncio.sleep(wall_s)
            return (sim.time_s - t0) / (time.monotonic() - w0)

        return await _with_clients(sim, body)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vehicles", type=int, default=200)
    parser.add_argument("--sim-seconds", type=float, default=10.0)
    args = parser.parse_args()

    cost, bytes_rate = await cost_per_vehicle_second(args.vehicles, args.sim_seconds)
    at_1x = int(1.0 / cost)
    check_n = max(10, min(at_1x, MAX_VEHICLES) // 10 * 10)
    checked, _ = await achieved_speedup(check_n, 1.0, 6.0)
    speed_10, _ = await achieved_speedup(10, 1000.0, 6.0)

    results = {
        "vehicles_measured": args.vehicles,
        "cost_per_vehicle_s_us": round(cost * 1e6, 2),
        "telemetry_bytes_per_vehicle_s": round(bytes_rate),
        "vehicles_at_1x": at_1x,
        "vehicles_at_1x_target": TARGET_VEHICLES_AT_1X,
        "vehicles_at_1x_checked": check_n,
        "vehicles_at_1x_checked_speedup": round(checked, 3),
        "speedup_10_vehicles": round(speed_10, 1),
        "speedup_10_vehicles_target": TARGET_SPEEDUP_10,
    }
    width = max(map(len, results))
    print(f"{'figure':<{width}}  value")
    for name, value in results.items():
        print(f"{name:<{width}}  {value}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
