"""Dispatch: alert → wheels-up, alert → on scene against the physical limit, decision time.

Flights: the controller (real launch sequence, supervision, SQLite store) talks through
``fleet`` (MAVLink 2 over TCP) to ArduCopter-like vehicles of the simulator (``sim/``,
police_multirotor: cruise 15 m/s, climb 5 m/s), on the simulator's clock; positions are the
simulator's ground truth. Times are simulated seconds. The vehicles are set up for first
response: failsafes on, WPNAV_SPEED_UP 500 cm/s (the airframe's climb rate; ArduCopter ships
250) and WPNAV_ACCEL 500 cm/s²; the controller's plans set the cruise speed themselves with
DO_CHANGE_SPEED (ArduCopter's WPNAV_SPEED default is 10 m/s).

- alert → wheels-up: from the dispatch call to the vehicle passing 2 m, for one incident at
  speed-up 1 (simulated = wall time, measured on the wall clock); the controller's own share
  is the time from the alert until the vehicle is armed (decision, records, pre-flight with
  the failsafe read-back, upload and read-back of mission and fence, GUIDED, arm: every
  MAVLink round trip included); the takeoff command follows in one more round trip.
- alert → on scene for incidents 1, 3 and 8 km away, dispatched at once to three drones at
  speed-up 10: until the vehicle is on its orbit circle (radius + 5 m) at orbit altitude
  (± 2 m), against the physical limit = climb to orbit altitude at the climb rate + distance
  to the orbit circle at cruise speed (no acceleration, no overhead). ``from_armed`` leaves
  out the controller's part (alert → armed, which at a speed-up is its wall time multiplied
  by the speed-up): what remains is the vehicle's own spool-up, acceleration and turn-in.
- decision time: `missions.dispatch.dispatch` for one incident and for five at once among 200
  vehicles spread over a 50 km radius, p50/p99 over repeated runs; and the controller's whole
  decision path for one incident (candidates built from 200 live vehicle state snapshots,
  then the solver).

    .venv/bin/python bench/dispatch.py
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import fleet  # noqa: E402
from missions.controller import Controller, ControllerSettings, LoopbackVehicle  # noqa: E402
from missions.controller.conversions import dispatch_candidates  # noqa: E402
from missions.controller.fleet_link import FleetLinks  # noqa: E402
from missions.dispatch import (  # noqa: E402
    Candidate,
    DispatchRequest,
    VehicleProfile,
    dispatch,
)
from missions.store import MissionStore  # noqa: E402
from sim import Simulator  # noqa: E402
from sim.scenario import parse_scenario  # noqa: E402
from skyeye.clock import ScaledClock, WallClock  # noqa: E402
from skyeye.contracts import Incident, Priority  # noqa: E402

SPEEDUP = 10.0
BASE = (52.0, 5.0)
M_PER_DEG_LAT = 111_195.0
QUAD = VehicleProfile(
    name="quad",
    cruise_speed_m_s=15.0,
    climb_rate_m_s=5.0,
    descent_rate_m_s=3.0,
    battery_use_pct_per_s=100.0 / (35 * 60),
    launch_overhead_s=3.0,
)
SETTINGS = ControllerSettings(step_timeout_s=200.0, upload_timeout_s=400.0, on_station_s=300.0)
PARAMS = {
    "WPNAV_SPEED_UP": 500,
    "WPNAV_ACCEL": 500,
    "FS_GCS_ENABLE": 1,
    "BATT_FS_LOW_ACT": 2,
    "BATT_FS_CRT_ACT": 1,
    "FENCE_ENABLE": 1,
    "FENCE_RADIUS": 50000,
    "FENCE_ALT_MAX": 120,
}
DISTANCES_KM = (1.0, 3.0, 8.0)


def offset(north_m: float, east_m: float) -> tuple[float, float]:
    return (
        BASE[0] + north_m / M_PER_DEG_LAT,
        BASE[1] + east_m / (M_PER_DEG_LAT * math.cos(math.radians(BASE[0]))),
    )


def flat_distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    north = (lat2 - lat1) * M_PER_DEG_LAT
    east = (lon2 - lon1) * M_PER_DEG_LAT * math.cos(math.radians(lat1))
    return math.hypot(north, east)


@asynccontextmanager
async def simulated(
    vehicles: list[tuple[str, float, float]], speedup: float
) -> AsyncIterator[tuple[Any, Controller, MissionStore]]:
    """Simulator vehicles (id, north_m, east_m of their base), the fleet and a controller."""
    scenario = parse_scenario(
        {
            "seed": 1,
            "bases": [
                {"id": f"base-{vid}", "lat_deg": offset(n, e)[0], "lon_deg": offset(n, e)[1]}
                for vid, n, e in vehicles
            ],
            "vehicles": [{"id": vid, "base": f"base-{vid}"} for vid, _, _ in vehicles],
            "params": PARAMS,
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        async with contextlib.AsyncExitStack() as stack:
            sim = await stack.enter_async_context(
                Simulator(scenario, speedup=speedup, tcp_base_port=0)
            )
            names = {sim.vehicle(vid).system_id: vid for vid, _, _ in vehicles}
            link = await stack.enter_async_context(
                fleet.Fleet(clock=WallClock(), settings=fleet.FleetSettings(vehicle_ids=names))
            )
            for system_id, vid in names.items():
                await link.connect(f"tcp:127.0.0.1:{sim.tcp_port(vid)}")
                await link.wait_vehicle(system_id, timeout_s=20)
            store = await stack.enter_async_context(
                MissionStore(f"sqlite+aiosqlite:///{tmp}/bench.db")
            )
            controller = await stack.enter_async_context(
                Controller(
                    store=store,
                    fleet=FleetLinks(link),
                    clock=sim.clock,
                    profiles=lambda _: QUAD,
                    settings=SETTINGS,
                )
            )
            yield sim, controller, store


def incident_at(incident_id: str, north_m: float, east_m: float) -> Incident:
    lat, lon = offset(north_m, east_m)
    return Incident(
        incident_id=incident_id,
        time=datetime.now(UTC),
        category="bench",
        priority=Priority.HIGH,
        lat_deg=lat,
        lon_deg=lon,
    )


async def until(condition: Callable[[], bool]) -> None:
    """Poll the simulator's ground truth every millisecond of wall time."""
    while not condition():  # noqa: ASYNC110 - an in-process simulator has no event for this
        await asyncio.sleep(0.001)


async def wheels_up_real_time() -> dict[str, float]:
    """One ground dispatch at speed-up 1, where simulated and wall time are the same."""
    async with simulated([("rt", 0.0, 0.0)], 1.0) as (sim, controller, store):
        vehicle = sim.vehicle("rt")
        alert = time.perf_counter()
        await controller.dispatch([incident_at("inc-rt", 1000.0, 0.0)], actor="bench")
        mission = controller.active_mission_of("rt")
        assert mission is not None
        await until(lambda: vehicle.pose().armed)
        armed = time.perf_counter() - alert
        await until(lambda: vehicle.pose().alt_rel_m >= 2.0)
        wheels_up = time.perf_counter() - alert
        audit = await store.audit_log(mission_id=mission.mission_id)
        assert [e.action for e in audit if e.result == "ok"][-1] == "takeoff"
        await controller.abort(mission.mission_id, actor="bench")
    return {
        "alert_to_wheels_up_s": wheels_up,
        "alert_to_wheels_up_s_target": 10.0,
        "controller_share_to_armed_s": armed,
        "controller_share_to_armed_s_target": 1.0,
    }


async def flights() -> dict[str, float]:
    vehicles = [(f"v{km:g}km", 0.0, index * 25_000.0) for index, km in enumerate(DISTANCES_KM)]
    incidents = [
        incident_at(f"inc-{km:g}km", km * 1000.0, index * 25_000.0)
        for index, km in enumerate(DISTANCES_KM)
    ]
    results: dict[str, float] = {"flights_speedup": SPEEDUP}
    async with simulated(vehicles, SPEEDUP) as (sim, controller, _store):
        alert = sim.clock.monotonic()
        decisions = await controller.dispatch(incidents, actor="bench")
        assert [d.vehicle_id for d in decisions] == [v[0] for v in vehicles]
        on_scene: dict[str, float] = {}
        armed: dict[str, float] = {}
        while len(on_scene) < len(vehicles):
            now = sim.clock.monotonic() - alert
            for (vid, _, _), target in zip(vehicles, incidents, strict=True):
                pose = sim.vehicle(vid).pose()
                if vid not in armed and pose.armed:
                    armed[vid] = now
                distance = flat_distance_m(
                    pose.lat_deg, pose.lon_deg, target.lat_deg, target.lon_deg
                )
                at_alt = abs(pose.alt_rel_m - SETTINGS.orbit_alt_rel_m) < 2.0
                if vid not in on_scene and at_alt and distance <= SETTINGS.orbit_radius_m + 5:
                    on_scene[vid] = now
            if now > 1500:
                raise RuntimeError(f"vehicles not on scene after {now:.0f} s: {on_scene}")
            await asyncio.sleep(0.01)
    for km, (vid, _, _) in zip(DISTANCES_KM, vehicles, strict=True):
        limit = (
            SETTINGS.orbit_alt_rel_m / QUAD.climb_rate_m_s
            + (km * 1000.0 - SETTINGS.orbit_radius_m) / QUAD.cruise_speed_m_s
        )
        key = f"on_scene_{km:g}km"
        results[f"{key}_s"] = on_scene[vid]
        results[f"{key}_physical_limit_s"] = limit
        results[f"{key}_over_limit_s"] = on_scene[vid] - limit
        results[f"{key}_over_limit_s_target"] = 5.0
        results[f"{key}_from_armed_over_limit_s"] = on_scene[vid] - armed[vid] - limit
    return results


def decision_times() -> dict[str, float]:
    rng = random.Random(7)
    candidates = []
    for index in range(200):
        radius = 50_000 * math.sqrt(rng.random())
        angle = rng.uniform(0, 2 * math.pi)
        lat, lon = offset(radius * math.cos(angle), radius * math.sin(angle))
        airborne = rng.random() < 0.4
        candidates.append(
            Candidate(
                vehicle_id=f"v{index}",
                lat_deg=lat,
                lon_deg=lon,
                alt_rel_m=60.0 if airborne else 0.0,
                airborne=airborne,
                battery_pct=rng.uniform(25, 100),
                profile=QUAD,
                home_lat_deg=BASE[0],
                home_lon_deg=BASE[1],
                mission_id=f"m{index}" if airborne else None,
                mission_priority=Priority.NORMAL if airborne else None,
            )
        )

    def request(i: int) -> DispatchRequest:
        lat, lon = offset(rng.uniform(-30_000, 30_000), rng.uniform(-30_000, 30_000))
        return DispatchRequest(
            incident_id=f"i{i}", lat_deg=lat, lon_deg=lon, priority=Priority.HIGH
        )

    results: dict[str, float] = {}
    clock = ScaledClock(1.0)
    live = [
        LoopbackVehicle(
            c.vehicle_id,
            clock=clock,
            lat_deg=c.lat_deg,
            lon_deg=c.lon_deg,
            profile=QUAD,
            battery_pct=c.battery_pct,
        )
        for c in candidates
    ]
    samples = []
    for run in range(100):
        started = time.perf_counter()
        built = dispatch_candidates(
            {v.vehicle_id: v.state for v in live},
            {},
            profile_for=lambda _: QUAD,
            wheels_up_alt_m=2.0,
        )
        dispatch([request(5000 + run)], built)
        samples.append((time.perf_counter() - started) * 1000.0)
    samples.sort()
    results["decision_from_200_live_states_p50_ms"] = statistics.median(samples)
    results["decision_from_200_live_states_p99_ms"] = samples[int(0.99 * len(samples)) - 1]
    results["decision_from_200_live_states_p99_ms_target"] = 20.0
    for label, count in (("1_incident", 1), ("5_incidents", 5)):
        samples = []
        for run in range(300):
            requests = [request(run * 10 + k) for k in range(count)]
            started = time.perf_counter()
            dispatch(requests, candidates)
            samples.append((time.perf_counter() - started) * 1000.0)
        samples.sort()
        results[f"decision_200_vehicles_{label}_p50_ms"] = statistics.median(samples)
        results[f"decision_200_vehicles_{label}_p99_ms"] = samples[int(0.99 * len(samples)) - 1]
        results[f"decision_200_vehicles_{label}_p99_ms_target"] = 20.0
    return results


def main() -> None:
    results = decision_times()
    results.update(asyncio.run(wheels_up_real_time()))
    results.update(asyncio.run(flights()))
    table = Table(title="bench/dispatch.py (MAVLink simulator via fleet, simulated seconds)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    for key, value in results.items():
        if key.endswith("_target"):
            continue
        target = results.get(f"{key}_target")
        table.add_row(key, f"{value:.3f}", "" if target is None else f"≤ {target:g}")
    Console().print(table)
    out = ROOT / "bench" / "results" / "dispatch.json"
    out.write_text(json.dumps({k: round(v, 4) for k, v in results.items()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
