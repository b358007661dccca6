"""Proof of faithfulness: MAVSDK (its C++ core, from the PyPI wheel) flies a sim vehicle as it
would fly ArduCopter: telemetry, arm, take off, a 20-item mission to the end, RTL and land, a
parameter change, and the ground-station-loss failsafe when it goes silent."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sim.scenario import parse_scenario
from sim.simulator import Simulator
from sim.vehicle import CopterMode

mavsdk = pytest.importorskip("mavsdk.asyncio", reason="MAVSDK-Python is not installed")
from mavsdk.asyncio.plugins.action import ActionAsync  # noqa: E402
from mavsdk.asyncio.plugins.mission_raw import MissionItem, MissionRawAsync  # noqa: E402
from mavsdk.asyncio.plugins.param import ParamAsync  # noqa: E402
from mavsdk.asyncio.plugins.telemetry import TelemetryAsync  # noqa: E402

BASE = (52.0907, 5.1214)
SPEEDUP = 20.0


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    scenario = parse_scenario(
        {
            "seed": 11,
            "bases": [{"id": "b", "lat_deg": BASE[0], "lon_deg": BASE[1], "alt_amsl_m": 3.0}],
            "vehicles": [{"id": "d1", "base": "b"}],
            "params": {"WPNAV_SPEED": 1500, "WPNAV_SPEED_UP": 500},
        }
    )
    async with Simulator(scenario, speedup=SPEEDUP, tcp_base_port=0) as s:
        yield s


async def _until(predicate_coro: object, timeout_s: float) -> None:
    async def loop() -> None:
        # MAVSDK's cached telemetry is polled, so a sleep loop is the honest wait here
        while not await predicate_coro():  # type: ignore[operator]  # noqa: ASYNC110
            await asyncio.sleep(0.1)

    await asyncio.wait_for(loop(), timeout_s)


def _mission(count: int) -> list[MissionItem]:
    items = [MissionItem(0, 0, 16, 1, 1, 0, 0, 0, 0, 0, 0, 0.0, 0)]  # home placeholder
    items.append(MissionItem(1, 3, 22, 0, 1, 0, 0, 0, 0, 0, 0, 25.0, 0))  # NAV_TAKEOFF
    for seq in range(2, count):
        north = 120.0 * ((seq % 4) - 1.5)
        east = 90.0 * (seq // 4)
        lat = BASE[0] + north / 111_250.0
        lon = BASE[1] + east / (111_250.0 * math.cos(math.radians(BASE[0])))
        items.append(
            MissionItem(seq, 6, 16, 0, 1, 0, 0, 0, 0, round(lat * 1e7), round(lon * 1e7), 25.0, 0)
        )
    return items


async def _connect(sim: Simulator) -> tuple[Any, Any]:
    config = mavsdk.Configuration.create_manual(255, 190, True)  # a GCS, as MAV_GCS_SYSID
    m = mavsdk.Mavsdk(config)
    await m.add_any_connection(f"tcpout://127.0.0.1:{sim.tcp_port('d1')}")
    system = await m.first_autopilot(timeout_s=10.0)
    assert system is not None
    return m, system


async def test_mavsdk_flies_a_twenty_item_mission_then_rtl(sim: Simulator) -> None:
    m, system = await _connect(sim)
    try:
        telemetry, action = TelemetryAsync(system), ActionAsync(system)
        mission, params = MissionRawAsync(system), ParamAsync(system)
        assert await system.get_system_id() == 1
        await asyncio.sleep(0.5)
        position = await telemetry.position()
        assert position.latitude_deg == pytest.approx(BASE[0], abs=1e-4)
        assert await params.get_param_int("RTL_ALT") == 1500
        await params.set_param_int("RTL_ALT", 3500)
        assert sim.vehicle("d1").params["RTL_ALT"] == 3500
        await action.set_takeoff_altitude(15.0)
        await action.arm()
        await action.takeoff()

        async def up() -> bool:
            return bool((await telemetry.position()).relative_altitude_m >= 14.0)

        await _until(up, 30.0)
        items = _mission(20)
        await mission.upload_mission(items)
        assert len(sim.vehicle("d1").missions.mission) == 20
        downloaded = await mission.download_mission()
        assert [it.command for it in downloaded[1:]] == [it.command for it in items[1:]]
        await mission.start_mission()
        assert sim.vehicle("d1").mode is CopterMode.AUTO
        await _until(mission.is_mission_finished, 90.0)
        v = sim.vehicle("d1")
        reached = v.mission_seq
        assert reached == 20  # past the last item
        assert not v.on_ground  # ArduCopter holds at the last waypoint
        await action.return_to_launch()
        assert v.mode is CopterMode.RTL

        async def near_home() -> bool:
            return math.dist(v.position[:2], v.home[:2]) < 2e-5

        await _until(near_home, 60.0)
        await action.land()
        assert sim.vehicle("d1").mode is CopterMode.LAND

        async def disarmed() -> bool:
            return not await telemetry.armed()

        await _until(disarmed, 60.0)
        assert v.on_ground
    finally:
        m.destroy()


async def test_mavsdk_going_silent_triggers_the_gcs_failsafe(sim: Simulator) -> None:
    m, system = await _connect(sim)
    v = sim.vehicle("d1")
    try:
        params, action, telemetry = ParamAsync(system), ActionAsync(system), TelemetryAsync(system)
        await params.set_param_int("FS_GCS_ENABLE", 1)
        await params.set_param_float("FS_GCS_TIMEOUT", 2.0)
        await action.set_takeoff_altitude(10.0)
        await action.arm()
        await action.takeoff()

        async def up() -> bool:
            return bool((await telemetry.position()).relative_altitude_m >= 9.0)

        await _until(up, 30.0)
        assert v.mode is CopterMode.GUIDED

        async def heard() -> bool:
            return v.gcs_heard

        await _until(heard, 5.0)  # MAVSDK heartbeats at 1 Hz
    finally:
        m.destroy()  # MAVSDK stops: no more heartbeats from system 255

    async def in_rtl() -> bool:
        return v.mode is CopterMode.RTL

    await _until(in_rtl, 10.0)
    assert v.gcs_failsafe
    assert any("GCS Failsafe" in text for _, text in v.statustexts)
