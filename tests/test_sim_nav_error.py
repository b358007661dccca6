"""What a simulated vehicle reports is its navigation estimate: the truth plus slowly wandering
errors of the scenario's σ, over real MAVLink, while it flies and renders on the truth."""

from __future__ import annotations

import math
import statistics
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.camera.glue import PoseFeed, camera_pose
from sim.errors import ScenarioError
from sim.navigation import NavError, NavErrorModel
from sim.scenario import NavigationConfig, Scenario, parse_scenario
from sim.simulator import Simulator
from sim.testing import MavClient
from sim.vehicle import CopterMode, SimVehicle

M = mavlink
BASE = (52.0907, 5.1214)


def _scenario(**extra: Any) -> Scenario:
    return parse_scenario(
        {
            "seed": 5,
            "bases": [{"id": "b", "lat_deg": BASE[0], "lon_deg": BASE[1], "alt_amsl_m": 5.0}],
            "vehicles": [{"id": "d1", "base": "b"}, {"id": "d2", "base": "b"}],
            **extra,
        }
    )


def _samples(config: NavigationConfig, *, seed: int, every_s: float, n: int) -> list[NavError]:
    model = NavErrorModel(config, seed=seed)
    out: list[NavError] = []
    for _ in range(n):
        for _ in range(int(every_s)):
            model.step(1.0)
        out.append(model.error())
    return out


def test_each_error_has_the_configured_sigma() -> None:
    """Sampled every three time constants the draws are nearly independent: σ shows."""
    config = NavigationConfig(
        gnss_horizontal_m=1.5,
        gnss_tau_s=30.0,
        altitude_m=2.5,
        altitude_tau_s=30.0,
        roll_pitch_deg=0.8,
        roll_pitch_tau_s=30.0,
        yaw_deg=3.0,
        yaw_tau_s=30.0,
        gimbal_deg=0.6,
        gimbal_tau_s=30.0,
    )
    errors = _samples(config, seed=11, every_s=90.0, n=1500)
    expected = {
        "east_m": 1.5,
        "north_m": 1.5,
        "up_m": 2.5,
        "roll_deg": 0.8,
        "pitch_deg": 0.8,
        "yaw_deg": 3.0,
        "gimbal_pitch_deg": 0.6,
        "gimbal_yaw_deg": 0.6,
    }
    for name, sigma in expected.items():
        values = [getattr(e, name) for e in errors]
        assert statistics.pstdev(values) == pytest.approx(sigma, rel=0.1), name
        assert abs(statistics.fmean(values)) < 0.15 * sigma, name


def test_errors_wander_slowly_and_are_reproducible() -> None:
    config = NavigationConfig()  # the defaults: GNSS τ 2 min
    errors = _samples(config, seed=3, every_s=5.0, n=600)
    east = [e.east_m for e in errors]
    lag1 = statistics.correlation(east[:-1], east[1:])
    assert lag1 == pytest.approx(math.exp(-5.0 / config.gnss_tau_s), abs=0.03)
    assert lag1 > 0.9  # not white: 5 s apart the GNSS error has hardly moved
    assert _samples(config, seed=3, every_s=5.0, n=20) == errors[:20]
    assert _samples(config, seed=4, every_s=5.0, n=20) != errors[:20]


def test_zero_turns_an_error_off() -> None:
    only_yaw = NavigationConfig.exact().model_copy(update={"yaw_deg": 2.0})
    errors = _samples(only_yaw, seed=1, every_s=10.0, n=50)
    assert all(e.east_m == e.north_m == e.up_m == e.roll_deg == 0.0 for e in errors)
    assert all(e.gimbal_pitch_deg == e.gimbal_yaw_deg == 0.0 for e in errors)
    assert statistics.pstdev(e.yaw_deg for e in errors) > 0.3


def test_scenario_navigation_section_is_validated() -> None:
    assert _scenario().navigation == NavigationConfig()
    sc = _scenario(navigation={"gnss_horizontal_m": 0, "yaw_deg": 4.5})
    assert (sc.navigation.gnss_horizontal_m, sc.navigation.yaw_deg) == (0.0, 4.5)
    with pytest.raises(ScenarioError, match=r"navigation\.altitude_m"):
        _scenario(navigation={"altitude_m": -1})
    with pytest.raises(ScenarioError, match=r"navigation\.gnss_tau_s"):
        _scenario(navigation={"gnss_tau_s": 0})
    with pytest.raises(ScenarioError, match=r"navigation\.heading_deg"):
        _scenario(navigation={"heading_deg": 1})


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(_scenario(), lockstep=True, tcp_base_port=0) as s:
        yield s


async def _fly(sim: Simulator, gcs: MavClient) -> None:
    assert await gcs.set_mode(CopterMode.GUIDED) == M.MAV_RESULT_ACCEPTED
    assert await gcs.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_ACCEPTED
    assert await gcs.command(M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 40.0) == 0
    assert await gcs.command(M.MAV_CMD_DO_MOUNT_CONTROL, -60.0, 0, 35.0) == 0
    await sim.run_until(lambda: sim.vehicle("d1").alt_rel_m > 39.0, timeout_s=60)
    await sim.step(3.0)


async def _now(gcs: MavClient, name: str) -> Any:
    """``name`` asked for with REQUEST_MESSAGE: built now, between lock-steps, so it describes
    the state the test reads from the vehicle."""
    since = len(gcs.received)
    msg_id = getattr(M, f"MAVLINK_MSG_ID_{name}")
    assert await gcs.command(M.MAV_CMD_REQUEST_MESSAGE, msg_id) == M.MAV_RESULT_ACCEPTED
    return await gcs.wait(name, since=since)


def _offset_m(vehicle: SimVehicle, lat_deg: float, lon_deg: float) -> tuple[float, float]:
    """(east, north) metres of a reported position from the true one."""
    true_lat, true_lon, _ = vehicle.position
    f = vehicle.frame
    return (lon_deg - true_lon) * f.m_per_deg_lon, (lat_deg - true_lat) * f.m_per_deg_lat


def _angle(a_deg: float, b_deg: float) -> float:
    return (a_deg - b_deg + 180.0) % 360.0 - 180.0


async def test_telemetry_reports_the_estimate() -> None:
    # MavClient steps the simulator while it waits for an answer, so a message is a tick or two
    # older than the state read here: the vehicle stays on the ground (its truth holds still),
    # with the receiver's fast noise off and day-long time constants (the errors hold still).
    slow = {
        f"{name}_tau_s": 86_400.0 for name in ("gnss", "altitude", "roll_pitch", "yaw", "gimbal")
    }
    sc = _scenario(navigation=slow, gps={"noise_m": 0.0})
    async with (
        Simulator(sc, lockstep=True, tcp_base_port=0) as sim,
        MavClient(sim, sim.tcp_port("d1")) as gcs,
    ):
        vehicle = sim.vehicle("d1")
        await gcs.wait("HEARTBEAT")
        assert await gcs.command(M.MAV_CMD_DO_MOUNT_CONTROL, -60.0, 0, 35.0) == 0
        await sim.step(3.0)
        pos = await _now(gcs, "GLOBAL_POSITION_INT")
        raw = await _now(gcs, "GPS_RAW_INT")
        att = await _now(gcs, "ATTITUDE")
        hud = await _now(gcs, "VFR_HUD")
        gimbal = await _now(gcs, "GIMBAL_DEVICE_ATTITUDE_STATUS")
    e = vehicle.nav.error()
    gps_e, gps_n = vehicle.air.gps_error_m()
    true, reported = vehicle.pose(), vehicle.reported_pose()
    # the error is as large as configured, and what is sent is the truth plus it
    assert math.hypot(e.east_m, e.north_m) > 0.1
    east, north = _offset_m(vehicle, pos.lat / 1e7, pos.lon / 1e7)
    assert (gps_e, gps_n) == (0.0, 0.0)
    assert (east, north) == pytest.approx((e.east_m, e.north_m), abs=0.015)
    assert pos.alt / 1000 == pytest.approx(true.alt_amsl_m + e.up_m, abs=0.01)
    assert pos.relative_alt / 1000 == pytest.approx(true.alt_rel_m + e.up_m, abs=0.01)
    assert pos.hdg / 100 == pytest.approx((true.yaw_deg + e.yaw_deg) % 360.0, abs=0.02)
    assert math.degrees(att.roll) == pytest.approx(true.roll_deg + e.roll_deg, abs=0.01)
    assert math.degrees(att.pitch) == pytest.approx(true.pitch_deg + e.pitch_deg, abs=0.01)
    assert _angle(math.degrees(att.yaw), true.yaw_deg) == pytest.approx(e.yaw_deg, abs=0.01)
    assert hud.alt == pytest.approx(true.alt_amsl_m + e.up_m, abs=0.01)
    assert raw.alt / 1000 == pytest.approx(true.alt_amsl_m + e.up_m, abs=0.01)
    n = sim.scenario.navigation
    assert raw.h_acc == int(math.hypot(sim.scenario.gps.noise_m, n.gnss_horizontal_m) * 1000)
    assert raw.v_acc == int(n.altitude_m * 1000)
    # the gimbal: its own error plus the AHRS tilt along the view (camera 35° right of the nose)
    g = math.radians(35.0)
    tilt = e.pitch_deg * math.cos(g) - e.roll_deg * math.sin(g)
    w, x, y, z = gimbal.q
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, 2.0 * (w * y - z * x)))))
    yaw = math.degrees(math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z)))
    assert true.gimbal_pitch_deg == pytest.approx(-60.0)
    assert pitch == pytest.approx(-60.0 + tilt + e.gimbal_pitch_deg, abs=0.01)
    assert yaw == pytest.approx(35.0 + e.gimbal_yaw_deg, abs=0.01)
    # reported_pose() is what the telemetry says; pose() stays the truth
    assert (reported.lat_deg, reported.lon_deg) == pytest.approx(
        (pos.lat / 1e7, pos.lon / 1e7), abs=2e-7
    )
    assert reported.gimbal_pitch_deg == pytest.approx(pitch, abs=0.01)
    assert true.lat_deg == vehicle.position[0]


async def test_each_vehicle_has_its_own_error_and_a_run_repeats() -> None:
    async def errors() -> tuple[NavError, NavError]:
        async with Simulator(_scenario(), lockstep=True, tcp_base_port=None) as s:
            await s.step(30.0)
            return s.vehicle("d1").nav.error(), s.vehicle("d2").nav.error()

    first, again = await errors(), await errors()
    assert first == again
    assert first[0] != first[1]


async def test_camera_frames_carry_the_reported_pose_and_render_the_true_one(
    sim: Simulator,
) -> None:
    vehicle = sim.vehicle("d1")
    async with MavClient(sim, sim.tcp_port("d1")) as gcs:
        await gcs.wait("HEARTBEAT")
        await _fly(sim, gcs)
    feed = PoseFeed(vehicle)
    true = feed()
    reported = feed.reported(true)
    assert true == camera_pose(vehicle.pose())
    r = vehicle.reported_pose()
    assert (reported.lat_deg, reported.lon_deg, reported.alt_amsl_m) == (
        r.lat_deg,
        r.lon_deg,
        r.alt_amsl_m,
    )
    assert reported.camera_yaw_deg == pytest.approx((r.yaw_deg + r.gimbal_yaw_deg) % 360.0)
    assert reported.alt_amsl_m - true.alt_amsl_m == pytest.approx(vehicle.nav.error().up_m)


async def test_exact_navigation_reports_the_truth() -> None:
    # a fence or a metre-exact check needs the reported position to be the true one
    exact = _scenario(navigation=NavigationConfig.exact().model_dump(), gps={"noise_m": 0.0})
    async with Simulator(exact, lockstep=True, tcp_base_port=0) as s:
        vehicle = s.vehicle("d1")
        async with MavClient(s, s.tcp_port("d1")) as gcs:
            await gcs.wait("HEARTBEAT")
            await _fly(s, gcs)
            pos = await _now(gcs, "GLOBAL_POSITION_INT")
            raw = await _now(gcs, "GPS_RAW_INT")
        assert vehicle.reported_pose() == vehicle.pose()
        # the message is a tick or two older than the state: centimetres of hovering
        lat, lon, alt = vehicle.position
        assert (pos.lat / 1e7, pos.lon / 1e7) == pytest.approx((lat, lon), abs=5e-7)
        assert pos.alt / 1000 == pytest.approx(alt, abs=0.05)
        assert (raw.h_acc, raw.v_acc) == (0, 0)
