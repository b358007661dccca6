"""Dispatch: alert → wheels-up, alert → on scene against the physical limit, decision time.

Flights: the controller (real launch sequence, supervision, SQLite store) flies
in-process loopback vehicles (missions.controller.LoopbackVehicle: point-mass kinematics with
ArduCopter's modes) on a ScaledClock, because the MAVLink simulator (sim/) and fleet link
(fleet/) were not yet flyable when this bench was written. Times are simulated seconds.

- alert → wheels-up: from the dispatch call to the vehicle passing 2 m, for one incident at
  speed-up 1 (simulated = wall time); the controller's own share is the part before the
  takeoff command was given (decision, records, pre-flight, upload, verify, arm). For the
  three simultaneous flights below (speed-up 20) the same two figures are given too; their
  controller share is in wall milliseconds, since at a speed-up the controller's wall time
  is multiplied into simulated time.
- alert → on scene for incidents 1, 3 and 8 km away: until the vehicle is on its orbit circle
  at orbit altitude, against the physical limit = climb to orbit altitude at the climb rate +
  distance to the orbit circle at cruise speed (ground launch: no overhead in the limit).
- decision time: `missions.dispatch.dispatch` for one incident and for five at once among 200
  vehicles spread over a 50 km radius, p50/p99 over repeated runs; and the controller's whole
  decision path for one incident (candidates built from 200 live vehicle state snapshots,
  then the solver).

    .venv/bin/python bench/dispatch.py
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from missions.controller import (  # noqa: E402
    Controller,
    ControllerSettings,
    LoopbackFleet,
    LoopbackVehicle,
)
from missions.controller.conversions import dispatch_candidates  # noqa: E402
from missions.dispatch import (  # noqa: E402
    Candidate,
    DispatchRequest,
    VehicleProfile,
    dispatch,
)
from missions.store import MissionStore  # noqa: E402
from skyeye.clock import ScaledClock  # noqa: E402
from skyeye.contracts import Incident, MissionState, Priority  # noqa: E402

SPEEDUP = 20.0
BASE = (52.0, 5.0)
M_PER_DEG_LAT = 111_195.0
QUAD = VehicleProfile(
    name="quad",
    cruise_speed_m_s=15.0,
    climb_rate_m_s=5.0,
    descent_rate_m_s=3.0,
    battery_use_pct_per_s=0.02,
    launch_overhead_s=3.0,
)
SETTINGS = ControllerSettings(step_timeout_s=120.0, upload_timeout_s=120.0, on_station_s=300.0)
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


async def wheels_up_real_time() -> dict[str, float]:
    """One ground dispatch at speed-up 1, where simulated and wall time are the same."""
    clock = ScaledClock(1.0)
    vehicle = LoopbackVehicle(
        "rt", clock=clock, lat_deg=BASE[0], lon_deg=BASE[1], profile=QUAD, tick_s=0.01
    )
    lat, lon = offset(1000.0, 0.0)
    incident = Incident(
        incident_id="inc-rt",
        time=datetime.now(UTC),
        category="bench",
        priority=Priority.HIGH,
        lat_deg=lat,
        lon_deg=lon,
    )
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            vehicle,
            MissionStore(f"sqlite+aiosqlite:///{tmp}/bench.db") as store,
            Controller(
                store=store,
                fleet=LoopbackFleet([vehicle]),
                clock=clock,
                profiles=lambda _: QUAD,
                settings=SETTINGS,
            ) as controller,
        ):
            alert = clock.monotonic()
            await controller.dispatch([incident], actor="bench")
            takeoff = None
            while (vehicle.state.alt_rel_m or 0.0) < 2.0:
                if takeoff is None and "takeoff" in vehicle.commands:
                    takeoff = clock.monotonic() - alert
                await asyncio.sleep(0.001)
            wheels_up = clock.monotonic() - alert
            mission = controller.active_mission_of("rt")
            assert mission is not None
            await controller.abort(mission.mission_id, actor="bench")
    assert takeoff is not None
    return {
        "speedup1_alert_to_wheels_up_s": wheels_up,
        "speedup1_alert_to_wheels_up_s_target": 10.0,
        "speedup1_controller_share_s": takeoff,
        "speedup1_controller_share_s_target": 1.0,
    }


async def flights() -> dict[str, float]:
    clock = ScaledClock(SPEEDUP)
    vehicles, incidents = [], []
    for index, km in enumerate(DISTANCES_KM):
        east = index * 25_000.0
        lat, lon = offset(0.0, east)
        vehicles.append(
            LoopbackVehicle(
                f"v{km:g}km", clock=clock, lat_deg=lat, lon_deg=lon, profile=QUAD, tick_s=0.05
            )
        )
        ilat, ilon = offset(km * 1000.0, east)
        incidents.append(
            Incident(
                incident_id=f"inc-{km:g}km",
                time=datetime.now(UTC),
                category="bench",
                priority=Priority.HIGH,
                lat_deg=ilat,
                lon_deg=ilon,
            )
        )
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            vehicles[0],
            vehicles[1],
            vehicles[2],
            MissionStore(f"sqlite+aiosqlite:///{tmp}/bench.db") as store,
            Controller(
                store=store,
                fleet=LoopbackFleet(vehicles),
                clock=clock,
                profiles=lambda _: QUAD,
                settings=SETTINGS,
            ) as controller,
        ):
            alert_sim = clock.monotonic()
            alert_wall = time.perf_counter()
            decisions = await controller.dispatch(incidents, actor="bench")
            assert [d.vehicle_id for d in decisions] == [v.vehicle_id for v in vehicles]
            wheels_up: dict[str, float] = {}
            on_scene: dict[str, float] = {}
            takeoff_wall: dict[str, float] = {}
            while len(on_scene) < len(vehicles):
                now = clock.monotonic() - alert_sim
                for vehicle, target in zip(vehicles, incidents, strict=True):
                    vid, state = vehicle.vehicle_id, vehicle.state
                    if vid not in takeoff_wall and "takeoff" in vehicle.commands:
                        takeoff_wall[vid] = time.perf_counter() - alert_wall
                    if vid not in wheels_up and (state.alt_rel_m or 0.0) >= 2.0:
                        wheels_up[vid] = now
                    distance = flat_distance_m(
                        state.lat_deg or 0.0, state.lon_deg or 0.0, target.lat_deg, target.lon_deg
                    )
                    at_alt = abs((state.alt_rel_m or 0.0) - SETTINGS.orbit_alt_rel_m) < 1.0
                    if vid not in on_scene and at_alt and distance <= SETTINGS.orbit_radius_m + 2:
                        on_scene[vid] = now
                if now > 1200:
                    raise RuntimeError(f"vehicles not on scene after {now:.0f} s: {on_scene}")
                await asyncio.sleep(0.002)
            for mission in controller.list_missions(active_only=True):
                await controller.wait_for(
                    mission.mission_id, [MissionState.ON_STATION], timeout_s=60
                )
    results["three_at_once_alert_to_wheels_up_sim_s"] = max(wheels_up.values())
    results["three_at_once_alert_to_wheels_up_sim_s_target"] = 10.0
    results["three_at_once_controller_share_wall_ms"] = max(takeoff_wall.values()) * 1000.0
    results["climb_to_wheels_up_s"] = 2.0 / QUAD.climb_rate_m_s
    for km, vehicle in zip(DISTANCES_KM, vehicles, strict=True):
        limit = (
            SETTINGS.orbit_alt_rel_m / QUAD.climb_rate_m_s
            + (km * 1000.0 - SETTINGS.orbit_radius_m) / QUAD.cruise_speed_m_s
        )
        key = f"on_scene_{km:g}km"
        results[f"{key}_s"] = on_scene[vehicle.vehicle_id]
        results[f"{key}_physical_limit_s"] = limit
        results[f"{key}_over_limit_s"] = on_scene[vehicle.vehicle_id] - limit
        results[f"{key}_over_limit_s_target"] = 5.0
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
    table = Table(title="bench/dispatch.py (loopback vehicles, simulated seconds)")
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
