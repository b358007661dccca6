"""The fleet against flying vehicles: Skyeye's simulator, or ArduPilot's SITL.

Every test takes the ``target`` fixture, parametrised over ``sim`` (always) and
``ardupilot`` (when ``SKYEYE_ARDUPILOT_SITL`` names an ``arducopter`` binary; skipped with
that reason otherwise). Tests that need fault hooks only the simulator has say so and skip
on ArduPilot. The simulator runs at a 20× speed-up; the fleet shares its clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from fleet import (
    CommandDenied,
    CommandError,
    Fleet,
    FleetSettings,
    LinkDown,
    MissionItem,
    MissionType,
    SigningSettings,
    Vehicle,
)
from sim import Simulator, load_scenario
from skyeye.clock import Clock, WallClock
from skyeye.contracts import VehicleEvent, VehicleEventKind, VehicleState

SCENARIO = Path(__file__).resolve().parent.parent / "sim" / "scenarios" / "demo.yaml"
SPEEDUP = 20.0
BASE = (52.0907, 5.1214)  # the demo scenario's first base (drone-1's home)
KEY = bytes(range(32))
SETTINGS = FleetSettings(command_timeout_s=0.2, link_timeout_s=2.0, state_rate_hz=4.0)
ARDUPILOT_ENV = "SKYEYE_ARDUPILOT_SITL"
ARDUPILOT_PARAMS = {
    "FS_GCS_ENABLE": 1,
    "FS_GCS_TIMEOUT": 5,
    "BATT_FS_LOW_ACT": 2,
    "BATT_FS_CRT_ACT": 1,
    "FENCE_ENABLE": 1,
    "FENCE_RADIUS": 2000,
    "FENCE_ALT_MAX": 120,
    "SIM_SPEEDUP": 1,
}


@dataclass
class Target:
    """A vehicle to fly: how to reach it, on which clock, and the simulator if it is ours."""

    name: str
    spec: str
    system_id: int
    clock: Clock
    sim: Simulator | None = None

    def needs_sim(self, why: str) -> Simulator:
        if self.sim is None:
            pytest.skip(f"needs Skyeye's simulator: {why}")
        return self.sim


def _free_sitl_instance() -> int:
    """An instance number whose SITL port (5760 + 10*i) is free right now."""
    for instance in range(10, 200):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", 5760 + 10 * instance)) != 0:
                return instance
    raise RuntimeError("no free ArduPilot SITL instance port")


@contextlib.asynccontextmanager
async def _ardupilot(binary: str, workdir: Path) -> AsyncIterator[Target]:
    instance = _free_sitl_instance()
    defaults = workdir / "skyeye.parm"
    defaults.write_text("".join(f"{k} {v}\n" for k, v in ARDUPILOT_PARAMS.items()))
    home = f"{BASE[0]},{BASE[1]},5,0"
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, stopped below
        [binary, "--model", "quad", "-I", str(instance), "--home", home, "--defaults",
         str(defaults), "--speedup", "1"],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield Target("ardupilot", f"tcp:127.0.0.1:{5760 + 10 * instance}", 1, WallClock())
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 10)


@pytest.fixture(params=["sim", "ardupilot"])
async def target(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Target]:
    if request.param == "ardupilot":
        binary = os.environ.get(ARDUPILOT_ENV)
        if not binary:
            pytest.skip(f"{ARDUPILOT_ENV} is not set to an arducopter binary")
        if shutil.which(binary) is None:
            pytest.skip(f"{ARDUPILOT_ENV}={binary} is not an executable")
        async with _ardupilot(binary, tmp_path) as found:
            yield found
        return
    scenario = load_scenario(SCENARIO)
    async with Simulator(
        scenario, speedup=SPEEDUP, tcp_base_port=0, vehicles=1, signing_keys=_sim_keys(request)
    ) as sim:
        yield Target("sim", f"tcp:127.0.0.1:{sim.tcp_port('drone-1')}", 1, sim.clock, sim)


def _sim_keys(request: pytest.FixtureRequest) -> dict[str, bytes] | None:
    """The signing tests get a vehicle that holds ``KEY``; the others an unsigned one."""
    return {"drone-1": KEY} if request.node.name.startswith("test_signing") else None


@contextlib.asynccontextmanager
async def flying(
    target: Target, settings: FleetSettings = SETTINGS, spec: str | None = None
) -> AsyncIterator[tuple[Fleet, Vehicle]]:
    async with Fleet(settings=settings, clock=target.clock) as fleet:
        await fleet.connect(spec or target.spec)
        vehicle = await fleet.wait_vehicle(target.system_id, timeout_s=60)
        await until(vehicle, lambda s: s.gps_fix_type >= 3 and s.home is not None, 60)
        yield fleet, vehicle


async def until(
    vehicle: Vehicle, predicate: Callable[[VehicleState], bool], timeout_s: float = 30
) -> VehicleState:
    """The first state that satisfies ``predicate`` (timeout in wall seconds)."""
    async with asyncio.timeout(timeout_s), vehicle.states() as states:
        async for state in states:
            if predicate(state):
                return state
    raise AssertionError("unreachable")


async def event(
    vehicle: Vehicle,
    kind: VehicleEventKind,
    action: Callable[[], Awaitable[object]] | None = None,
    timeout_s: float = 30,
) -> VehicleEvent:
    """Subscribe, run ``action``, and return the first event of ``kind``."""
    async with vehicle.events() as events:
        if action is not None:
            await action()
        async with asyncio.timeout(timeout_s):
            async for found in events:
                if found.kind is kind:
                    return found
    raise AssertionError("unreachable")


async def airborne(vehicle: Vehicle, alt_rel_m: float = 20.0) -> None:
    await vehicle.set_mode("GUIDED")
    await vehicle.arm()
    await vehicle.takeoff(alt_rel_m)
    await until(vehicle, lambda s: (s.alt_rel_m or 0) > alt_rel_m - 1.5, 60)


def _mission(count: int) -> list[MissionItem]:
    """Item 0 is home (ArduPilot overwrites it), then takeoff, waypoints, RTL."""
    lat, lon = BASE
    items = [MissionItem.waypoint(lat, lon, 0.0), MissionItem.takeoff(20.0)]
    for i in range(count - 3):
        items.append(MissionItem.waypoint(lat + 3e-4 * (i % 10), lon + 3e-4 * (i // 10), 25.0))
    items.append(MissionItem.rtl())
    return items


async def test_state_and_failsafe_read_back(target: Target) -> None:
    async with flying(target) as (fleet, vehicle):
        state = vehicle.state
        assert fleet.vehicle_ids() == ["mav-1"]
        assert state.lat_deg == pytest.approx(BASE[0], abs=1e-3)
        assert state.lon_deg == pytest.approx(BASE[1], abs=1e-3)
        assert state.home is not None
        assert state.mode in {"STABILIZE", "LOITER", "GUIDED", "ALT_HOLD"}
        assert not state.armed
        assert state.battery_voltage_v is not None
        assert state.battery_voltage_v > 10
        assert state.gps_satellites > 5
        assert state.link.connected
        failsafes = await vehicle.failsafe_settings()
        assert failsafes.gcs_failsafe_enabled
        assert failsafes.battery_failsafe_enabled
        assert failsafes.fence_enabled
        assert failsafes.missing() == []
        assert failsafes.fence_alt_max_m == 120.0


async def test_flight_commands_and_events(target: Target) -> None:
    async with flying(target) as (_, vehicle):
        mode = await event(
            vehicle, VehicleEventKind.MODE_CHANGED, lambda: vehicle.set_mode("GUIDED")
        )
        assert mode.mode == "GUIDED"
        armed = await event(vehicle, VehicleEventKind.ARMED, vehicle.arm)
        assert armed.vehicle_id == "mav-1"
        await vehicle.takeoff(20.0)
        await until(vehicle, lambda s: (s.alt_rel_m or 0) > 18.5, 60)
        lat, lon = BASE[0] + 0.0015, BASE[1] + 0.001
        await vehicle.change_speed(8.0)
        await vehicle.goto(lat, lon, 30.0)
        reached = await until(
            vehicle,
            lambda s: abs((s.lat_deg or 0) - lat) < 1e-4 and abs((s.lon_deg or 0) - lon) < 1e-4,
            60,
        )
        assert reached.alt_rel_m == pytest.approx(30.0, abs=2.0)
        await vehicle.gimbal_pitch_yaw(-60.0, 0.0)
        await until(vehicle, lambda s: abs((s.gimbal_pitch_deg or 0) + 60.0) < 3.0, 30)
        await vehicle.set_roi(BASE[0], BASE[1])
        await vehicle.clear_roi()
        await vehicle.set_message_interval(mavlink.MAVLINK_MSG_ID_ATTITUDE, 10.0)
        await event(vehicle, VehicleEventKind.MODE_CHANGED, vehicle.rtl)
        assert vehicle.state.mode == "RTL"
        await vehicle.land()
        await until(vehicle, lambda s: s.mode == "LAND", 10)
        await until(vehicle, lambda s: not s.armed, 90)


async def test_arming_refusal_carries_the_vehicles_reason(target: Target) -> None:
    async with flying(target) as (_, vehicle):
        with pytest.raises(CommandDenied, match=r"Mission empty|Missing"):
            await vehicle.set_mode("AUTO")
        await vehicle.set_mode("LAND")
        with pytest.raises(CommandDenied) as caught:
            await vehicle.arm()
        assert caught.value.result == "MAV_RESULT_FAILED"
        assert "Mode not armable" in caught.value.statustext
        assert not vehicle.state.armed


async def test_prearm_failure_reason(target: Target) -> None:
    sim = target.needs_sim("injects a GPS failure")
    async with flying(target) as (_, vehicle):
        await vehicle.set_mode("GUIDED")
        sim.vehicle("drone-1").fail_gps()
        with pytest.raises(CommandDenied) as caught:
            await vehicle.arm()
        assert "GPS" in caught.value.statustext
        assert "PreArm" in str(caught.value)


async def test_mission_fence_rally_protocol_and_flight(target: Target) -> None:
    async with flying(target) as (_, vehicle):
        mission = _mission(8)
        await vehicle.upload_mission(mission)
        back = await vehicle.download_mission()
        assert back[1:] == mission[1:]
        lat, lon = BASE
        fence = [
            MissionItem.global_(mavlink.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION, lat, lon, 0.0, 1500.0)
        ]
        rally = [MissionItem.global_(mavlink.MAV_CMD_NAV_RALLY_POINT, lat + 1e-3, lon, 20.0)]
        await vehicle.upload_mission(fence, mission_type=MissionType.FENCE)
        await vehicle.upload_mission(rally, mission_type=MissionType.RALLY)
        assert await vehicle.download_mission(mission_type=MissionType.FENCE) == fence
        assert await vehicle.download_mission(mission_type=MissionType.RALLY) == rally
        await vehicle.clear_mission(mission_type=MissionType.RALLY)
        assert await vehicle.download_mission(mission_type=MissionType.RALLY) == []
        await vehicle.set_current(3)
        await until(vehicle, lambda s: s.mission_seq == 3, 10)
        await vehicle.set_current(1)
        await airborne(vehicle)
        await vehicle.set_mode("AUTO")
        reached = await event(vehicle, VehicleEventKind.MISSION_ITEM_REACHED, timeout_s=60)
        assert reached.mission_seq is not None
        assert reached.mission_seq >= 1


async def test_200_items_through_20_percent_loss(target: Target) -> None:
    sim = target.needs_sim("injects packet loss on its own links")
    faults = sim.faults("drone-1")
    settings = SETTINGS.model_copy(update={"mission_retries": 40, "command_retries": 10})
    async with flying(target, settings) as (_, vehicle):
        faults.drop, faults.duplicate, faults.reorder = 0.2, 0.05, 0.05
        mission = _mission(200)
        await vehicle.upload_mission(mission)
        back = await vehicle.download_mission()
        assert back[1:] == mission[1:]
        assert len(back) == 200
        await vehicle.set_mode("GUIDED")
        assert vehicle.state.link.packet_loss_pct > 5.0
        faults.clear()


async def test_link_cut_and_restore(target: Target) -> None:
    sim = target.needs_sim("cuts its own link")
    quick = SETTINGS.model_copy(update={"link_timeout_s": 0.5})
    async with flying(target, quick) as (_, vehicle):
        async with vehicle.events() as events:
            sim.faults("drone-1").cut(1.5)  # wall seconds
            async with asyncio.timeout(10):
                lost = await anext(e async for e in events if e.kind is VehicleEventKind.LINK_LOST)
            assert "silent" in lost.detail
            with pytest.raises(LinkDown):
                await vehicle.set_mode("GUIDED")
            async with asyncio.timeout(10):
                await anext(e async for e in events if e.kind is VehicleEventKind.LINK_RESTORED)
        await vehicle.set_mode("GUIDED")
        assert vehicle.state.link.connected


async def test_signing_with_the_vehicles_key(target: Target) -> None:
    target.needs_sim("is given the signing key")
    keyed = SETTINGS.model_copy(update={"signing": SigningSettings(keys={1: SecretStr(KEY.hex())})})
    async with flying(target, keyed) as (_, vehicle):
        await vehicle.set_mode("GUIDED")
        assert vehicle.rejected_signatures == 0


async def test_signing_with_a_wrong_key(target: Target) -> None:
    sim = target.needs_sim("is given the signing key")
    wrong = SETTINGS.model_copy(update={"signing": SigningSettings(keys={1: SecretStr("ee" * 32)})})
    async with Fleet(settings=wrong, clock=target.clock) as fleet:
        await fleet.connect(target.spec)
        vehicle = await fleet.wait_vehicle(1, timeout_s=30)
        with pytest.raises((LinkDown, CommandError)) as caught:
            await vehicle.set_mode("GUIDED")
        assert "signature" in str(caught.value)
        assert sim.vehicle("drone-1").pose().mode == "STABILIZE"
        assert sim.rejected_packets("drone-1") > 0


async def test_gcs_heartbeat_stops_with_the_fleet_and_the_vehicle_fails_safe(
    target: Target,
) -> None:
    sim = target.needs_sim("reads the vehicle's mode directly after the fleet is gone")
    async with flying(target) as (_, vehicle):
        await airborne(vehicle)
    # no fleet, no heartbeat: FS_GCS_TIMEOUT (5 s) later the vehicle returns home
    async with asyncio.timeout(30):
        while sim.vehicle("drone-1").pose().mode not in {"RTL", "LAND"}:
            await sim.clock.sleep(0.5)
