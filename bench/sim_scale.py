"""How many simulated vehicles one core flies at 1x, and how fast 10 of them run.

Every vehicle is armed and flying between two points with its default telemetry streams, and
each has a TCP client reading everything it sends (the clients live in a separate process so
that the simulator's core is measured alone).

    .venv/bin/python bench/sim_scale.py   → prints a table, writes bench/results/sim_scale.json
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.scenario import parse_scenario
from sim.simulator import Simulator
from sim.vehicle import CopterMode

RESULTS = Path(__file__).parent / "results" / "sim_scale.json"
DRAIN = r"""
import asyncio, sys
ports = [int(p) for p in sys.argv[1:]]
total = [0]
async def drain(port):
    reader, _ = await asyncio.open_connection("127.0.0.1", port)
    while data := await reader.read(65536):
        total[0] += len(data)
async def main():
    tasks = [asyncio.create_task(drain(p)) for p in ports]
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    print(total[0], flush=True)
asyncio.run(main())
"""


def _scenario(count: int) -> object:
    return parse_scenario(
        {
            "seed": 1,
            "bases": [
                {"id": "a", "lat_deg": 52.0907, "lon_deg": 5.1214},
                {"id": "b", "lat_deg": 52.1561, "lon_deg": 5.3878},
            ],
        }
    ).with_vehicles(count)


async def _run(count: int, speedup: float, wall_s: float) -> dict[str, float]:
    scenario = _scenario(count)
    async with Simulator(scenario, speedup=speedup, tcp_base_port=0) as sim:  # type: ignore[arg-type]
        ports = [str(sim.tcp_port(vid)) for vid in sim.vehicles]
        drain = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            DRAIN,
            *ports,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for i, v in enumerate(sim.vehicles.values()):
            v.set_mode(CopterMode.GUIDED)
            v.arm(force=True)
            v.takeoff(40.0)
            a = 2 * math.pi * i / max(1, count)
            v._goto(3000 * math.sin(a), 3000 * math.cos(a), 40.0)
        await asyncio.sleep(1.0)  # clients connect, vehicles climb
        sim0, cpu0, wall0 = sim.time_s, time.process_time(), time.perf_counter()
        await asyncio.sleep(wall_s)
        sim1, cpu1, wall1 = sim.time_s, time.process_time(), time.perf_counter()
        flying = sum(1 for v in sim.vehicles.values() if v.armed and v.alt_rel_m > 1.0)
        assert drain.stdin is not None
        assert drain.stdout is not None
        drain.stdin.write(b"\n")
        await drain.stdin.drain()
        received = int(await drain.stdout.readline() or 0)
        await asyncio.wait_for(drain.wait(), 10)
    wall = wall1 - wall0
    return {
        "achieved_speedup": (sim1 - sim0) / wall,
        "cpu_fraction": (cpu1 - cpu0) / wall,
        "flying": flying,
        "bytes": received,
    }


def main() -> None:
    results: dict[str, float] = {}
    rows = []
    for count in (50, 200):
        r = asyncio.run(_run(count, 1.0, 8.0))
        keeps_up = r["achieved_speedup"] >= 0.98
        per_core = (
            count / max(r["cpu_fraction"], 1e-9) if keeps_up else count * r["achieved_speedup"]
        )
        results[f"cpu_fraction_{count}_vehicles_1x"] = round(r["cpu_fraction"], 3)
        results[f"achieved_speedup_{count}_vehicles_1x"] = round(r["achieved_speedup"], 3)
        results[f"telemetry_kb_s_{count}_vehicles_1x"] = round(r["bytes"] / 1024 / 9.0, 1)
        rows.append((f"{count} vehicles at 1x", r))
        if count == 200:
            results["vehicles_at_1x_one_core"] = round(per_core)
            results["vehicles_at_1x_one_core_target"] = 200
            results["keeps_real_time_200_vehicles"] = 1.0 if keeps_up else 0.0
    r = asyncio.run(_run(200, 1000.0, 5.0))
    rows.append(("200 vehicles, flat out", r))
    # vehicle-seconds simulated per CPU-second: the vehicles one whole core keeps at 1x
    results["vehicles_at_1x_per_cpu_s_flat_out"] = round(
        200 * r["achieved_speedup"] / max(r["cpu_fraction"], 1e-9)
    )
    r = asyncio.run(_run(10, 1000.0, 6.0))
    rows.append(("10 vehicles, flat out", r))
    results["speedup_10_vehicles"] = round(r["achieved_speedup"], 1)
    results["speedup_10_vehicles_target"] = 50
    results["speedup_10_vehicles_per_cpu_s"] = round(
        r["achieved_speedup"] / max(r["cpu_fraction"], 1e-9), 1
    )
    results["cpu_fraction_10_vehicles_flat_out"] = round(r["cpu_fraction"], 3)
    print(f"{'run':<24}{'speed-up':>10}{'CPU':>8}{'flying':>8}{'KiB recv':>10}")
    for name, r in rows:
        print(
            f"{name:<24}{r['achieved_speedup']:>10.2f}{r['cpu_fraction']:>8.2f}"
            f"{int(r['flying']):>8}{r['bytes'] / 1024:>10.0f}"
        )
    print(f"vehicles one core flies at 1x: {results['vehicles_at_1x_one_core']} (target >= 200)")
    print(f"speed-up with 10 vehicles: {results['speedup_10_vehicles']}x (target >= 50x)")
    print(
        "per CPU-second (this machine is shared, so the process rarely gets a whole core): "
        f"{results['speedup_10_vehicles_per_cpu_s']}x with 10 vehicles, "
        f"{results['vehicles_at_1x_per_cpu_s_flat_out']} vehicles at 1x"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
