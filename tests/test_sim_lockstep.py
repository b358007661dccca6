"""Simulated vehicles in lock-step over a real TCP socket: every answer and every flight is
deterministic, driven by ``Simulator.step``."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.scenario import Scenario, parse_scenario
from sim.simulator import Simulator
from sim.testing import MavClient, mission_items
from sim.vehicle import CopterMode

M = mavlink
BASE = (52.0907, 5.1214)


def _scenario(params: dict[str, float] | None = None, **extra: Any) -> Scenario:
    return parse_scenario(
        {
            "seed": 3,
            "bases": [{"id": "b", "lat_deg": BASE[0], "lon_deg": BASE[1], "alt_amsl_m": 5.0}],
            "vehicles": [{"id": "d1", "base": "b"}],
            "params": {"WPNAV_SPEED": 1500, **(params or {})},
            # these tests hold the autopilot to the metre (reached altitudes, fences, landing
            # spots) through its telemetry: it reports its true state, no navigation error
            "navigation": {
                "gnss_horizontal_m": 0,
                "altitude_m": 0,
                "roll_pitch_deg": 0,
                "yaw_deg": 0,
                "gimbal_deg": 0,
            },
            **extra,
        }
    )


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(_scenario(), lockstep=True, tcp_base_port=0) as s:
        yield s


@pytest.fixture
async def gcs(sim: Simulator) -> AsyncIterator[MavClient]:
    async with MavClient(sim, sim.tcp_port("d1")) as c:
        await c.wait("HEARTBEAT")
        yield c


async def _fly(gcs: MavClient, alt_m: float = 20.0) -> None:
    assert await gcs.set_mode(CopterMode.GUIDED) == M.MAV_RESULT_ACCEPTED
    assert await gcs.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_ACCEPTED
    assert await gcs.command(M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, alt_m) == 0
    await gcs.wait(
        "GLOBAL_POSITION_INT", lambda m: m.relative_alt > (alt_m - 1) * 1000, timeout_s=60
    )


def _offset(north_m: float, east_m: float) -> tuple[float, float]:
    return (
        BASE[0] + north_m / 111_250.0,
        BASE[1] + east_m / (111_250.0 * math.cos(math.radians(BASE[0]))),
    )


async def _goto(gcs: MavClient, north_m: float, east_m: float, alt_m: float) -> int:
    lat, lon = _offset(north_m, east_m)
    return await gcs.command_int(
        M.MAV_CMD_DO_REPOSITION, params=(-1, 0, 0, 0), lat_deg=lat, lon_deg=lon, alt_m=alt_m
    )


async def test_takeoff_reports_landed_states(sim: Simulator, gcs: MavClient) -> None:
    assert await gcs.command(M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 20) == M.MAV_RESULT_FAILED
    await _fly(gcs, 25.0)
    await sim.step(2.0)
    ext = await gcs.wait("EXTENDED_SYS_STATE", since=len(gcs.received))
    assert ext.landed_state == M.MAV_LANDED_STATE_IN_AIR
    hb = await gcs.wait("HEARTBEAT", since=len(gcs.received))
    assert hb.base_mode & M.MAV_MODE_FLAG_SAFETY_ARMED
    assert hb.system_status == M.MAV_STATE_ACTIVE
    assert await gcs.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 0) == M.MAV_RESULT_FAILED


async def test_arming_refused_in_rtl_with_reason(gcs: MavClient) -> None:
    assert await gcs.set_mode(CopterMode.RTL) == M.MAV_RESULT_ACCEPTED
    assert await gcs.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_FAILED
    assert "Arm: Mode not armable" in gcs.texts()


async def test_armed_on_the_ground_disarms_after_disarm_delay(
    sim: Simulator, gcs: MavClient
) -> None:
    assert await gcs.set_mode(CopterMode.GUIDED) == 0
    assert await gcs.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == 0
    await sim.step(9.0)
    assert sim.vehicle("d1").armed
    await sim.step(2.0)
    assert not sim.vehicle("d1").armed


async def test_reposition_change_speed_roi_and_gimbal(sim: Simulator, gcs: MavClient) -> None:
    await _fly(gcs)
    lat, lon = _offset(300.0, 0.0)
    res = await gcs.command_int(
        M.MAV_CMD_DO_REPOSITION, params=(-1, 1, 0, math.nan), lat_deg=lat, lon_deg=lon, alt_m=40
    )
    assert res == M.MAV_RESULT_ACCEPTED
    assert await gcs.command(M.MAV_CMD_DO_CHANGE_SPEED, 1, 5) == M.MAV_RESULT_ACCEPTED
    v = sim.vehicle("d1")
    await sim.step(10.0)
    assert math.hypot(v.air.vel_e, v.air.vel_n) == pytest.approx(5.0, abs=0.5)
    await sim.run_until(lambda: abs(v.position[0] - lat) < 2e-5, timeout_s=120)
    assert v.alt_rel_m == pytest.approx(40.0, abs=1.0)
    roi = _offset(300.0, 300.0)
    res = await gcs.command_int(
        M.MAV_CMD_DO_SET_ROI_LOCATION, lat_deg=roi[0], lon_deg=roi[1], alt_m=0
    )
    assert res == M.MAV_RESULT_ACCEPTED
    await sim.step(10.0)
    assert v.air.yaw_deg == pytest.approx(90.0, abs=3.0)
    assert v.gimbal_pitch_deg == pytest.approx(-math.degrees(math.atan2(40, 300)), abs=2.0)
    assert await gcs.command(M.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW, -90, 0) == 0
    await sim.step(3.0)
    status = await gcs.wait("GIMBAL_DEVICE_ATTITUDE_STATUS", since=len(gcs.received))
    pitch = math.degrees(2 * math.atan2(status.q[2], status.q[0]))
    assert pitch == pytest.approx(-90.0, abs=1.0)


async def test_set_position_target_in_guided(sim: Simulator, gcs: MavClient) -> None:
    await _fly(gcs)
    lat, lon = _offset(-150.0, 100.0)
    gcs.send(
        M.MAVLink_set_position_target_global_int_message(
            0, 1, 1, M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, 0xFF8,
            round(lat * 1e7), round(lon * 1e7), 35.0, 0, 0, 0, 0, 0, 0, 0, 0,
        )
    )  # fmt: skip
    v = sim.vehicle("d1")
    assert await sim.run_until(
        lambda: math.dist(v.position[:2], (lat, lon)) < 2e-5 and abs(v.alt_rel_m - 35) < 1,
        timeout_s=120,
    )


async def test_twenty_item_mission_flies_to_the_end_then_lands(
    sim: Simulator, gcs: MavClient
) -> None:
    wps = [(*_offset(100.0 * (i % 5), 80.0 * (i // 5)), 30.0 + i) for i in range(18)]
    items = mission_items(1, wps, takeoff_alt_m=30.0)
    assert len(items) == 21  # home + takeoff + 18 waypoints + RTL
    assert await gcs.upload(items) == M.MAV_MISSION_ACCEPTED
    assert await gcs.set_mode(CopterMode.GUIDED) == 0
    assert await gcs.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == 0
    assert await gcs.command(M.MAV_CMD_MISSION_START, 0, 0) == M.MAV_RESULT_ACCEPTED
    last = len(items) - 1
    await gcs.wait("MISSION_ITEM_REACHED", lambda m: m.seq == last - 1, timeout_s=600)
    reached = {m.seq for m in gcs.received if m.get_type() == "MISSION_ITEM_REACHED"}
    assert reached == set(range(1, last))
    await gcs.wait("STATUSTEXT", lambda m: "Disarming" in m.text, timeout_s=300)
    v = sim.vehicle("d1")
    assert not v.armed
    assert v.on_ground
    assert v.position[0] == pytest.approx(v.home[0], abs=3e-5)
    assert v.position[1] == pytest.approx(v.home[1], abs=5e-5)
    assert v.air.battery_remaining < 1.0


async def test_mission_download_and_clear(sim: Simulator, gcs: MavClient) -> None:
    items = mission_items(1, [(*_offset(50.0 * i, 0.0), 30.0) for i in range(3)])
    assert await gcs.upload(items) == M.MAV_MISSION_ACCEPTED
    mark = len(gcs.received)
    gcs.send(M.MAVLink_mission_request_list_message(1, 1, 0))
    count = await gcs.wait("MISSION_COUNT", since=mark)
    assert count.count == len(items)
    got = []
    for seq in range(count.count):
        mark = len(gcs.received)
        gcs.send(M.MAVLink_mission_request_int_message(1, 1, seq, 0))
        got.append(await gcs.wait("MISSION_ITEM_INT", since=mark))
        assert got[-1].seq == seq
    assert [m.command for m in got[1:]] == [m.command for m in items[1:]]
    assert got[2].x == items[2].x
    assert got[0].x == round(sim.vehicle("d1").home[0] * 1e7)  # item 0 is home
    mark = len(gcs.received)
    gcs.send(M.MAVLink_mission_clear_all_message(1, 1, 0))
    ack = await gcs.wait("MISSION_ACK", since=mark)
    assert ack.type == M.MAV_MISSION_ACCEPTED
    assert sim.vehicle("d1").missions.mission == []


async def test_upload_re_requests_a_lost_item(sim: Simulator, gcs: MavClient) -> None:
    items = mission_items(1, [(*_offset(10.0, 0.0), 20.0)])
    mark = len(gcs.received)
    gcs.send(M.MAVLink_mission_count_message(1, 1, len(items), 0))
    first = await gcs.wait("MISSION_REQUEST_INT", since=mark)
    assert first.seq == 0
    again = await gcs.wait("MISSION_REQUEST_INT", since=gcs.last_index, timeout_s=5)
    assert again.seq == 0
    assert await gcs.upload(items) == M.MAV_MISSION_ACCEPTED


async def test_do_jump_repeats_and_loiter_turns(sim: Simulator, gcs: MavClient) -> None:
    frame = M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT
    a, b = _offset(60.0, 0.0), _offset(0.0, 60.0)

    def item(
        seq: int,
        cmd: int,
        p1: float = 0,
        p2: float = 0,
        p3: float = 0,
        ll: tuple[float, float] = (0.0, 0.0),
        z: float = 0.0,
    ) -> Any:
        lat, lon = round(ll[0] * 1e7), round(ll[1] * 1e7)
        return M.MAVLink_mission_item_int_message(
            1, 1, seq, frame, cmd, 0, 1, p1, p2, p3, 0, lat, lon, z, 0
        )

    items = [
        item(0, M.MAV_CMD_NAV_WAYPOINT),
        item(1, M.MAV_CMD_NAV_TAKEOFF, z=20),
        item(2, M.MAV_CMD_NAV_WAYPOINT, ll=a, z=20),
        item(3, M.MAV_CMD_NAV_WAYPOINT, ll=b, z=20),
        item(4, M.MAV_CMD_DO_JUMP, 2, 2),
        item(5, M.MAV_CMD_NAV_LOITER_TURNS, 1, 0, 20, ll=a, z=20),
        item(6, M.MAV_CMD_NAV_LAND),
    ]
    assert await gcs.upload(items) == 0
    assert await gcs.set_mode(CopterMode.GUIDED) == 0
    assert await gcs.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == 0
    assert await gcs.command(M.MAV_CMD_MISSION_START) == 0
    await gcs.wait("STATUSTEXT", lambda m: "Land complete" in m.text, timeout_s=400)
    reached = [m.seq for m in gcs.received if m.get_type() == "MISSION_ITEM_REACHED"]
    assert reached.count(3) == 3  # once, then twice more by the jump
    assert 5 in reached


async def test_params_read_set_and_refuse(gcs: MavClient) -> None:
    assert await gcs.param("FS_GCS_ENABLE") == 0  # ArduCopter's default: off
    assert await gcs.set_param("RTL_ALT", 3000, M.MAV_PARAM_TYPE_INT32) == 3000
    assert await gcs.param("RTL_ALT") == 3000
    assert await gcs.set_param("FENCE_ACTION", 99, M.MAV_PARAM_TYPE_INT8) == 1  # refused
    mark = len(gcs.received)
    gcs.send(M.MAVLink_param_request_list_message(1, 1))
    first = await gcs.wait("PARAM_VALUE", since=mark)
    values = [m for m in gcs.received[mark:] if m.get_type() == "PARAM_VALUE"]
    assert {m.param_index for m in values} == set(range(first.param_count))


async def test_message_intervals_and_data_streams(sim: Simulator, gcs: MavClient) -> None:
    res = await gcs.command(M.MAV_CMD_SET_MESSAGE_INTERVAL, M.MAVLINK_MSG_ID_ATTITUDE, 100_000)
    assert res == M.MAV_RESULT_ACCEPTED
    res = await gcs.command(M.MAV_CMD_SET_MESSAGE_INTERVAL, M.MAVLINK_MSG_ID_VFR_HUD, -1)
    assert res == M.MAV_RESULT_ACCEPTED
    mark = len(gcs.received)
    await sim.step(10.0)
    kinds = [m.get_type() for m in gcs.received[mark:]]
    assert 98 <= kinds.count("ATTITUDE") <= 102
    assert kinds.count("VFR_HUD") == 0
    assert 39 <= kinds.count("GLOBAL_POSITION_INT") <= 41
    gcs.send(M.MAVLink_request_data_stream_message(1, 1, M.MAV_DATA_STREAM_POSITION, 1, 1))
    await sim.step(0.5)
    mark = len(gcs.received)
    await sim.step(10.0)
    kinds = [m.get_type() for m in gcs.received[mark:]]
    assert 9 <= kinds.count("GLOBAL_POSITION_INT") <= 11
    assert await gcs.command(M.MAV_CMD_REQUEST_MESSAGE, M.MAVLINK_MSG_ID_AUTOPILOT_VERSION) == 0
    version = await gcs.wait("AUTOPILOT_VERSION")
    assert version.capabilities & M.MAV_PROTOCOL_CAPABILITY_MISSION_INT
    assert await gcs.command(M.MAV_CMD_REQUEST_MESSAGE, 9_999) == M.MAV_RESULT_UNSUPPORTED


async def test_gcs_failsafe_counts_only_the_gcs_sysid_once_heard() -> None:
    scenario = _scenario({"FS_GCS_ENABLE": 1, "FS_GCS_TIMEOUT": 5})
    async with Simulator(scenario, lockstep=True, tcp_base_port=0) as sim:
        async with MavClient(sim, sim.tcp_port("d1"), system_id=200) as other:
            await _fly(other)
            other.heartbeat()  # not MAV_GCS_SYSID (255): does not count
            await sim.step(20.0)
            assert sim.vehicle("d1").mode is CopterMode.GUIDED  # never heard the GCS: no failsafe
        async with MavClient(sim, sim.tcp_port("d1")) as gcs:
            gcs.heartbeat()
            await sim.step(3.0)
            gcs.heartbeat()
            await sim.step(4.0)
            assert sim.vehicle("d1").mode is CopterMode.GUIDED
            await sim.step(2.0)  # 6 s of silence > FS_GCS_TIMEOUT
            assert sim.vehicle("d1").mode is CopterMode.RTL
            assert "GCS Failsafe" in gcs.texts()
            hb = await gcs.wait("HEARTBEAT", since=len(gcs.received))
            assert hb.system_status == M.MAV_STATE_CRITICAL


async def test_battery_failsafes_rtl_then_land() -> None:
    scenario = _scenario(
        {"BATT_LOW_VOLT": 22.5, "BATT_CRT_VOLT": 21.8, "BATT_FS_LOW_ACT": 2, "BATT_FS_CRT_ACT": 1}
    )
    async with (
        Simulator(scenario, lockstep=True, tcp_base_port=0) as sim,
        MavClient(sim, sim.tcp_port("d1")) as gcs,
    ):
        await _fly(gcs)
        v = sim.vehicle("d1")
        v.drain_battery(0.5)
        await gcs.wait("STATUSTEXT", lambda m: "is low" in m.text, timeout_s=30)
        assert sim.vehicle("d1").mode is CopterMode.RTL
        v.drain_battery(0.25)
        await gcs.wait("STATUSTEXT", lambda m: "is critical" in m.text, timeout_s=30)
        assert sim.vehicle("d1").mode is CopterMode.LAND


END_LAT = BASE[0] + 2990 / 111_250.0


async def test_battery_drains_with_power_used() -> None:
    used = []
    for speed in (5.0, 15.0):
        async with (
            Simulator(_scenario(), lockstep=True, tcp_base_port=0) as sim,
            MavClient(sim, sim.tcp_port("d1")) as gcs,
        ):
            await _fly(gcs)
            v = sim.vehicle("d1")
            start = v.air.battery_mah_used
            assert await gcs.command(M.MAV_CMD_DO_CHANGE_SPEED, 1, speed) == 0
            assert await _goto(gcs, 3000.0, 0.0, 20.0) == 0
            await sim.run_until(lambda: sim.vehicle("d1").position[0] > END_LAT, timeout_s=900)
            used.append(v.air.battery_mah_used - start)
    assert used[0] > used[1] * 1.5  # hovering slowly over 3 km costs more than cruising


async def test_fence_breach_triggers_rtl() -> None:
    scenario = _scenario({"FENCE_ENABLE": 1, "FENCE_RADIUS": 200, "FENCE_TYPE": 7})
    async with (
        Simulator(scenario, lockstep=True, tcp_base_port=0) as sim,
        MavClient(sim, sim.tcp_port("d1")) as gcs,
    ):
        await _fly(gcs)
        assert await _goto(gcs, 400.0, 0.0, 20.0) == 0
        await gcs.wait("STATUSTEXT", lambda m: "Fence Breached" in m.text, timeout_s=60)
        assert sim.vehicle("d1").mode is CopterMode.RTL
        assert sim.vehicle("d1").prearm_failures() == ["PreArm: Vehicle breaching fence"]


async def test_no_fly_zone_polygon_is_a_fence() -> None:
    zone = [_offset(100, -100), _offset(100, 100), _offset(300, 100), _offset(300, -100)]
    scenario = _scenario(
        {"FENCE_ENABLE": 1, "FENCE_TYPE": 4},
        no_fly_zones=[{"id": "z", "polygon": [list(p) for p in zone]}],
    )
    async with (
        Simulator(scenario, lockstep=True, tcp_base_port=0) as sim,
        MavClient(sim, sim.tcp_port("d1")) as gcs,
    ):
        await _fly(gcs)
        assert await _goto(gcs, 400.0, 0.0, 20.0) == 0
        await gcs.wait("STATUSTEXT", lambda m: "no-fly" in m.text, timeout_s=60)
        assert sim.vehicle("d1").mode is CopterMode.RTL


async def test_signing_ignores_unsigned_and_wrongly_signed_commands() -> None:
    key = bytes(range(32))
    async with Simulator(
        _scenario(), lockstep=True, tcp_base_port=0, signing_keys={"d1": key}
    ) as sim:
        async with MavClient(sim, sim.tcp_port("d1")) as plain:
            plain.send(M.MAVLink_command_long_message(1, 1, 176, 0, 1, 4, 0, 0, 0, 0, 0))
            await sim.step(1.0)
            assert not any(m.get_type() == "COMMAND_ACK" for m in plain.received)
            assert sim.rejected_packets("d1") >= 1
        async with MavClient(sim, sim.tcp_port("d1"), signing_key=bytes(32)) as wrong:
            wrong.send(M.MAVLink_command_long_message(1, 1, 176, 0, 1, 4, 0, 0, 0, 0, 0))
            await sim.step(1.0)
        assert sim.vehicle("d1").mode is CopterMode.STABILIZE
        async with MavClient(sim, sim.tcp_port("d1"), signing_key=key) as signed:
            assert await signed.set_mode(CopterMode.GUIDED) == M.MAV_RESULT_ACCEPTED
            hb = await signed.wait("HEARTBEAT", since=len(signed.received))
            assert hb.get_signed()


async def test_link_faults_cut_drop_duplicate(sim: Simulator, gcs: MavClient) -> None:
    faults = sim.faults("d1")
    faults.cut(3600.0)
    mark = len(gcs.received)
    await sim.step(5.0)
    assert len(gcs.received) == mark
    faults.clear()
    faults.drop = 0.5
    mark = len(gcs.received)
    await sim.step(20.0)
    heartbeats = sum(1 for m in gcs.received[mark:] if m.get_type() == "HEARTBEAT")
    assert 3 <= heartbeats <= 17
    faults.clear()
    faults.duplicate = 1.0
    mark = len(gcs.received)
    await sim.step(5.0)
    assert sum(1 for m in gcs.received[mark:] if m.get_type() == "HEARTBEAT") == 10


async def test_motor_failure_crashes_gps_loss_lands(sim: Simulator, gcs: MavClient) -> None:
    await _fly(gcs, 30.0)
    v = sim.vehicle("d1")
    v.fail_gps()
    assert sim.vehicle("d1").mode is CopterMode.LAND
    v.fail_motor()
    await gcs.wait("STATUSTEXT", lambda m: "Crash" in m.text, timeout_s=30)
    assert not v.armed


async def test_same_seed_same_flight() -> None:
    tracks = []
    for _ in range(2):
        scenario = _scenario(wind={"speed_m_s": 6, "direction_deg": 200, "gust_m_s": 2})
        async with (
            Simulator(scenario, lockstep=True, tcp_base_port=0) as sim,
            MavClient(sim, sim.tcp_port("d1")) as gcs,
        ):
            await _fly(gcs)
            assert await _goto(gcs, 500.0, 200.0, 30.0) == 0
            await sim.step(20.0)
            v = sim.vehicle("d1")
            tracks.append((v.position, v.air.battery_mah_used, v.air.gps_error_m()))
    assert tracks[0] == tracks[1]
