"""Simulated vehicles over real TCP: telemetry, commands, missions, params, failsafes, signing."""

from __future__ import annotations

import asyncio
import itertools
import math
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.errors import ScenarioError
from sim.gcs import GcsTimeout, MiniGcs
from sim.scenario import Scenario, parse_scenario
from sim.simulator import Simulator
from sim.vehicle import CopterMode, SimVehicle

M = mavlink
BASE = (52.0907, 5.1214)


def of_type(mission_type: int) -> Callable[[Any], bool]:
    return lambda m: bool(m.mission_type == mission_type)


def mode(v: SimVehicle) -> CopterMode:
    return CopterMode(v.mode)  # these vehicles are multirotors: copter mode numbers


def scenario(**extra: Any) -> Scenario:
    data: dict[str, Any] = {
        "seed": 3,
        "bases": [
            {"id": "a", "lat_deg": BASE[0], "lon_deg": BASE[1], "alt_amsl_m": 5.0},
            {"id": "b", "lat_deg": 52.1561, "lon_deg": 5.3878, "alt_amsl_m": 4.0},
        ],
        "vehicles": [
            {"id": "d1", "profile": "police_multirotor", "base": "a"},
            {"id": "d2", "profile": "police_multirotor", "base": "b"},
        ],
    }
    data.update(extra)
    return parse_scenario(data)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(scenario(), speedup=20, tcp_base_port=0) as s:
        yield s


async def connect(s: Simulator, vid: str = "d1", **kwargs: Any) -> MiniGcs:
    v = s.vehicle(vid)
    return MiniGcs("127.0.0.1", s.tcp_port(vid), target_system=v.system_id, **kwargs)


async def take_off(gcs: MiniGcs, alt_m: float = 30.0) -> None:
    assert await gcs.set_mode(CopterMode.GUIDED) == M.MAV_RESULT_ACCEPTED
    assert await gcs.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_ACCEPTED
    assert await gcs.command(M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, alt_m) == (
        M.MAV_RESULT_ACCEPTED
    )


async def test_heartbeat_and_telemetry_identify_an_arducopter(sim: Simulator) -> None:
    async with await connect(sim, "d2") as gcs:
        hb = await gcs.wait_for("HEARTBEAT", lambda m: m.get_srcSystem() == 2)
        assert hb.type == M.MAV_TYPE_QUADROTOR
        assert hb.autopilot == M.MAV_AUTOPILOT_ARDUPILOTMEGA
        assert hb.custom_mode == CopterMode.STABILIZE
        assert hb.system_status == M.MAV_STATE_STANDBY
        pos = await gcs.wait_for("GLOBAL_POSITION_INT")
        assert pos.lat / 1e7 == pytest.approx(52.1561, abs=1e-3)
        assert pos.lon / 1e7 == pytest.approx(5.3878, abs=1e-3)
        for name in (
            "SYS_STATUS",
            "BATTERY_STATUS",
            "ATTITUDE",
            "GPS_RAW_INT",
            "VFR_HUD",
            "EXTENDED_SYS_STATE",
            "MISSION_CURRENT",
            "GIMBAL_DEVICE_ATTITUDE_STATUS",
        ):
            await gcs.wait_for(name, since=0)
        gps = await gcs.wait_for("GPS_RAW_INT", since=0)
        assert gps.fix_type >= 3
        batt = await gcs.wait_for("SYS_STATUS", since=0)
        assert batt.battery_remaining > 95
        assert await gcs.command(M.MAV_CMD_REQUEST_MESSAGE, M.MAVLINK_MSG_ID_HOME_POSITION) == (
            M.MAV_RESULT_ACCEPTED
        )
        home = await gcs.wait_for("HOME_POSITION", since=0)
        assert home.latitude / 1e7 == pytest.approx(52.1561, abs=1e-3)


async def test_takeoff_guided_goto_rtl_and_land(sim: Simulator) -> None:
    v = sim.vehicle("d1")
    async with await connect(sim) as gcs:
        await gcs.wait_for("HEARTBEAT")
        # NAV_TAKEOFF disarmed: refused, as ArduCopter does
        assert await gcs.set_mode(CopterMode.GUIDED) == M.MAV_RESULT_ACCEPTED
        assert await gcs.command(M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 30) == (
            M.MAV_RESULT_FAILED
        )
        await take_off(gcs, 30)
        assert await sim.run_until(lambda: v.alt_rel_m > 29.0, timeout_s=30)
        north = BASE[0] + 300 / 111_320
        assert (
            await gcs.command(
                M.MAV_CMD_DO_REPOSITION,
                -1,
                M.MAV_DO_REPOSITION_FLAGS_CHANGE_MODE,
                0,
                math.nan,
                round(north * 1e7),
                round(BASE[1] * 1e7),
                40,
                use_int=True,
            )
            == M.MAV_RESULT_ACCEPTED
        )
        assert await sim.run_until(lambda: abs(v.position[0] - north) < 3 / 111_320, timeout_s=60)
        assert await gcs.command(M.MAV_CMD_NAV_RETURN_TO_LAUNCH) == M.MAV_RESULT_ACCEPTED
        hb = await gcs.wait_for("HEARTBEAT", lambda m: m.custom_mode == CopterMode.RTL)
        assert hb.base_mode & M.MAV_MODE_FLAG_SAFETY_ARMED
        assert await sim.run_until(lambda: not v.armed, timeout_s=200)
        assert v.on_ground
        home = v.home
        assert abs(v.position[0] - home[0]) < 3 / 111_320
        assert abs(v.position[1] - home[1]) < 5 / 111_320


async def test_prearm_failure_is_explained_and_bad_commands_refused(sim: Simulator) -> None:
    v = sim.vehicle("d1")
    async with await connect(sim) as gcs:
        await gcs.wait_for("HEARTBEAT")
        v.fail_gps()
        since = gcs.mark()
        assert await gcs.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_FAILED
        text = await gcs.wait_for("STATUSTEXT", lambda m: "PreArm" in m.text, since=since)
        assert "GPS" in text.text
        assert not v.armed
        v.fail_gps(False)
        # unknown command, out-of-range parameters, unknown mode
        assert await gcs.command(31999) == M.MAV_RESULT_UNSUPPORTED
        assert await gcs.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 7) == M.MAV_RESULT_DENIED
        assert await gcs.set_mode(77) != M.MAV_RESULT_ACCEPTED
        assert await gcs.command(M.MAV_CMD_DO_CHANGE_SPEED, 1, -5) == M.MAV_RESULT_DENIED
        assert mode(v) == CopterMode.STABILIZE
        assert not v.armed


def mission_items(gcs: MiniGcs, n_waypoints: int) -> list[Any]:
    items = [gcs.item(0, M.MAV_CMD_NAV_WAYPOINT, BASE[0], BASE[1], 0)]
    items.append(gcs.item(1, M.MAV_CMD_NAV_TAKEOFF, 0, 0, 25))
    items.append(gcs.item(2, M.MAV_CMD_DO_CHANGE_SPEED, 0, 0, 0, 1, 12, -1))
    for k in range(n_waypoints):
        angle = 2 * math.pi * k / n_waypoints
        lat = BASE[0] + 150 * math.cos(angle) / 111_320
        lon = BASE[1] + 150 * math.sin(angle) / (111_320 * math.cos(math.radians(BASE[0])))
        items.append(gcs.item(len(items), M.MAV_CMD_NAV_WAYPOINT, lat, lon, 25 + k % 3, 0, 2))
    items.append(gcs.item(len(items), M.MAV_CMD_NAV_RETURN_TO_LAUNCH))
    return items


async def test_mission_upload_download_and_auto_to_the_end(sim: Simulator) -> None:
    v = sim.vehicle("d1")
    async with await connect(sim) as gcs:
        await gcs.wait_for("HEARTBEAT")
        items = mission_items(gcs, 16)
        assert len(items) == 20
        assert await gcs.upload(items) == M.MAV_MISSION_ACCEPTED
        # download what was stored
        since = gcs.mark()
        gcs.send(gcs.mav.mission_request_list_encode(1, 1, M.MAV_MISSION_TYPE_MISSION))
        count = await gcs.wait_for("MISSION_COUNT", since=since)
        assert count.count == 20
        gcs.send(gcs.mav.mission_request_int_encode(1, 1, 5, M.MAV_MISSION_TYPE_MISSION))
        got = await gcs.wait_for("MISSION_ITEM_INT", lambda m: m.seq == 5, since=since)
        assert (got.x, got.y, got.command) == (items[5].x, items[5].y, M.MAV_CMD_NAV_WAYPOINT)
        gcs.send(gcs.mav.mission_ack_encode(1, 1, 0, M.MAV_MISSION_TYPE_MISSION))

        assert await gcs.set_mode(CopterMode.GUIDED) == M.MAV_RESULT_ACCEPTED
        assert await gcs.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_ACCEPTED
        assert await gcs.command(M.MAV_CMD_MISSION_START) == M.MAV_RESULT_ACCEPTED
        reached = gcs.mark()
        assert await sim.run_until(lambda: not v.armed, timeout_s=400)
        seqs = {
            m.seq for m in list(gcs.received)[reached:] if m.get_type() == "MISSION_ITEM_REACHED"
        }
        assert set(range(3, 19)) <= seqs
        assert v.on_ground


async def test_upload_with_a_bad_item_is_refused_and_keeps_the_old_mission(
    sim: Simulator,
) -> None:
    async with await connect(sim) as gcs:
        await gcs.wait_for("HEARTBEAT")
        good = mission_items(gcs, 3)
        assert await gcs.upload(good) == M.MAV_MISSION_ACCEPTED
        bad = mission_items(gcs, 3)
        bad[3] = gcs.item(3, M.MAV_CMD_NAV_WAYPOINT, 95.0, BASE[1], 30)
        assert await gcs.upload(bad) != M.MAV_MISSION_ACCEPTED
        since = gcs.mark()
        gcs.send(gcs.mav.mission_request_list_encode(1, 1, M.MAV_MISSION_TYPE_MISSION))
        assert (await gcs.wait_for("MISSION_COUNT", since=since)).count == len(good)


async def test_vehicle_re_requests_a_lost_item() -> None:
    async with (
        Simulator(scenario(), lockstep=True, tcp_base_port=0) as s,
        await connect(s) as gcs,
    ):
        await s.step(1)
        await gcs.wait_for("HEARTBEAT", since=0)
        items = mission_items(gcs, 2)
        since = gcs.mark()
        gcs.send(gcs.mav.mission_count_encode(1, 1, len(items), 0))
        first = await gcs.wait_for("MISSION_REQUEST_INT", since=since)
        assert first.seq == 0
        since = gcs.mark()
        await s.step(1.5)  # the item never comes: the vehicle asks again
        again = await gcs.wait_for("MISSION_REQUEST_INT", since=since)
        assert again.seq == 0


async def test_params_list_read_set_and_reject_bad_values(sim: Simulator) -> None:
    v = sim.vehicle("d1")
    async with await connect(sim) as gcs:
        await gcs.wait_for("HEARTBEAT")
        since = gcs.mark()
        gcs.send(gcs.mav.param_request_read_encode(1, 1, b"FS_GCS_ENABLE", -1))
        msg = await gcs.wait_for("PARAM_VALUE", since=since)
        assert (msg.param_id, msg.param_value) == ("FS_GCS_ENABLE", 0.0)  # off as shipped
        assert await gcs.set_param("WPNAV_SPEED", 800) == 800
        assert v.params["WPNAV_SPEED"] == 800
        # out of range: the old value comes back, unchanged
        assert await gcs.set_param("WPNAV_SPEED", -3) == 800
        since = gcs.mark()
        gcs.send(gcs.mav.param_request_list_encode(1, 1))
        last = await gcs.wait_for(
            "PARAM_VALUE", lambda m: m.param_index == m.param_count - 1, since=since
        )
        names = {m.param_id for m in list(gcs.received)[since:] if m.get_type() == "PARAM_VALUE"}
        assert len(names) == last.param_count
        for name in ("FENCE_ENABLE", "FS_GCS_TIMEOUT", "BATT_LOW_VOLT", "RTL_ALT", "SYSID_THISMAV"):
            assert name in names


async def test_gcs_failsafe_rtl_only_after_a_gcs_heartbeat_was_heard() -> None:
    sc = scenario(params={"FS_GCS_ENABLE": 1, "FS_GCS_TIMEOUT": 2})
    async with Simulator(sc, lockstep=True, tcp_base_port=0) as s:
        v = s.vehicle("d1")
        # a client that is not system 255 does not count as the ground station
        async with await connect(s, system_id=77) as other:
            await s.step(0.5)
            await take_off(other)
            await s.step(10)
            other.silent = True
            await s.step(5)
            assert mode(v) == CopterMode.GUIDED
        async with await connect(s, heartbeat_s=None) as gcs:
            gcs.send(gcs.mav.heartbeat_encode(M.MAV_TYPE_GCS, M.MAV_AUTOPILOT_INVALID, 0, 0, 0))
            await s.step(1.0)
            assert mode(v) == CopterMode.GUIDED
            since = gcs.mark()
            await s.step(3.0)
            assert mode(v) == CopterMode.RTL
            text = await gcs.wait_for("STATUSTEXT", lambda m: "GCS" in m.text, since=since)
            assert "Failsafe" in text.text


async def test_battery_low_rtl_and_critical_land() -> None:
    sc = scenario(
        params={
            "BATT_FS_LOW_ACT": 2,
            "BATT_FS_CRT_ACT": 1,
            "BATT_LOW_MAH": 6000,
            "BATT_CRT_MAH": 3000,
        }
    )
    async with Simulator(sc, lockstep=True, tcp_base_port=0) as s:
        v = s.vehicle("d1")
        async with await connect(s) as gcs:
            await s.step(0.5)
            await take_off(gcs)
            await s.step(10)
            v.drain_battery(1 - 5000 / 22000)
            await s.step(15)
            assert mode(v) == CopterMode.RTL
            v.drain_battery(1 - 2000 / 22000)
            await s.step(15)
            assert mode(v) == CopterMode.LAND


async def test_fence_breach_returns_home() -> None:
    sc = scenario(params={"FENCE_ENABLE": 1, "FENCE_TYPE": 3, "FENCE_RADIUS": 200})
    async with Simulator(sc, lockstep=True, tcp_base_port=0) as s:
        v = s.vehicle("d1")
        async with await connect(s) as gcs:
            await s.step(0.5)
            await take_off(gcs)
            await s.step(10)
            far = BASE[0] + 600 / 111_320
            gcs.send(
                gcs.mav.set_position_target_global_int_encode(
                    0,
                    1,
                    1,
                    M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
                    0b110111111000,
                    round(far * 1e7),
                    round(BASE[1] * 1e7),
                    30,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                )
            )
            assert await s.run_until(lambda: v.mode == CopterMode.RTL, timeout_s=120)
            north_m = (v.position[0] - BASE[0]) * 111_320
            assert 150 < north_m < 320


async def test_signing_ignores_unsigned_and_wrongly_signed_commands() -> None:
    key = bytes(range(32))
    async with Simulator(scenario(), speedup=20, tcp_base_port=0, signing_keys={"d1": key}) as s:
        v = s.vehicle("d1")
        async with await connect(s, signing_key=bytes(32)) as wrong:
            wrong.send(
                wrong.mav.command_long_encode(
                    1, 1, M.MAV_CMD_DO_SET_MODE, 0, 1, CopterMode.GUIDED, 0, 0, 0, 0, 0
                )
            )
            await s.clock.sleep(10)
            assert mode(v) == CopterMode.STABILIZE
            # it cannot check the vehicle's signatures either
            assert "HEARTBEAT" not in wrong.counts
        async with await connect(s) as unsigned:
            await unsigned.wait_for("HEARTBEAT")
            with pytest.raises(GcsTimeout):
                await unsigned.command(M.MAV_CMD_DO_SET_MODE, 1, CopterMode.GUIDED, timeout_s=1.0)
        assert mode(v) == CopterMode.STABILIZE
        async with await connect(s, signing_key=key) as right:
            hb = await right.wait_for("HEARTBEAT")
            assert hb.get_signed()
            await right.set_mode(CopterMode.GUIDED)
            assert await right.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == (M.MAV_RESULT_ACCEPTED)
        assert v.armed
        assert s.rejected_packets("d1") > 0


async def test_message_interval_changes_a_stream_rate() -> None:
    async with (
        Simulator(scenario(), lockstep=True, tcp_base_port=0) as s,
        await connect(s) as gcs,
    ):
        await s.step(0.5)
        await gcs.wait_for("HEARTBEAT", since=0)
        assert (
            await gcs.command(M.MAV_CMD_SET_MESSAGE_INTERVAL, M.MAVLINK_MSG_ID_ATTITUDE, 50_000)
            == M.MAV_RESULT_ACCEPTED
        )
        since = gcs.mark()
        await s.step(2.0)
        await gcs.wait_for("HEARTBEAT", since=since)
        att = [m for m in list(gcs.received)[since:] if m.get_type() == "ATTITUDE"]
        assert 36 <= len(att) <= 42
        assert (
            await gcs.command(M.MAV_CMD_SET_MESSAGE_INTERVAL, M.MAVLINK_MSG_ID_ATTITUDE, -1)
            == M.MAV_RESULT_ACCEPTED
        )
        since = gcs.mark()
        await s.step(2.0)
        await gcs.wait_for("HEARTBEAT", since=since)
        assert not [m for m in list(gcs.received)[since:] if m.get_type() == "ATTITUDE"]


async def test_lockstep_runs_are_deterministic_for_a_seed() -> None:
    async def fly() -> tuple[float, float, float, float]:
        async with Simulator(scenario(), lockstep=True, tcp_base_port=None) as s:
            v = s.vehicle("d1")
            v.set_mode(CopterMode.GUIDED)
            assert v.arm() == M.MAV_RESULT_ACCEPTED
            assert v.takeoff(40) == M.MAV_RESULT_ACCEPTED
            await s.step(60)
            lat, lon, alt = v.position
            return lat, lon, alt, v.pose().battery_pct

    first, second = await fly(), await fly()
    assert first == second
    assert first[2] > 40


async def test_link_cut_and_motor_failure() -> None:
    async with Simulator(scenario(), speedup=20, tcp_base_port=0) as s:
        v = s.vehicle("d1")
        async with await connect(s) as gcs:
            await take_off(gcs)
            assert await s.run_until(lambda: v.alt_rel_m > 20, timeout_s=30)
            s.faults("d1").cut(1.0)
            with pytest.raises(GcsTimeout):
                await gcs.command(M.MAV_CMD_DO_CHANGE_SPEED, 1, 5, timeout_s=0.5)
            await s.clock.sleep(40)  # (2 s wall) the cut is over
            assert await gcs.command(M.MAV_CMD_DO_CHANGE_SPEED, 1, 5) == M.MAV_RESULT_ACCEPTED
            v.fail_motor()
            hb = await gcs.wait_for("HEARTBEAT", lambda m: m.system_status == M.MAV_STATE_EMERGENCY)
            assert hb.get_srcSystem() == 1
            assert await s.run_until(lambda: v.on_ground, timeout_s=60)


async def test_udp_output_reaches_the_gcs_and_answers_the_sender() -> None:
    loop = asyncio.get_running_loop()
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.setblocking(False)
    enc = M.MAVLink(None, srcSystem=255, srcComponent=190)
    try:
        async with Simulator(
            scenario(), speedup=20, tcp_base_port=None, gcs_udp=sink.getsockname()
        ) as s:
            v = s.vehicle("d1")
            data = await asyncio.wait_for(loop.sock_recv(sink, 65536), 10)
            msgs = enc.parse_buffer(data) or []
            assert msgs
            assert {m.get_srcSystem() for m in msgs} == {1}
            cmd = enc.command_long_encode(
                1, 1, M.MAV_CMD_DO_SET_MODE, 0, 1, CopterMode.GUIDED, 0, 0, 0, 0, 0
            )
            await loop.sock_sendto(sink, cmd.pack(enc), ("127.0.0.1", s.udp_port("d1")))
            ack = None
            async with asyncio.timeout(10):
                while ack is None:
                    data = await loop.sock_recv(sink, 65536)
                    for m in enc.parse_buffer(data) or []:
                        if m.get_type() == "COMMAND_ACK":
                            ack = m
            assert ack.result == M.MAV_RESULT_ACCEPTED
            assert mode(v) == CopterMode.GUIDED
    finally:
        sink.close()


def test_more_vehicles_than_system_ids_is_refused_clearly() -> None:
    assert len(scenario().with_vehicles(255).vehicles) == 255
    with pytest.raises(ScenarioError, match=r"0\.\.255"):
        scenario().with_vehicles(256)
    with pytest.raises(ScenarioError, match="vehicles"):
        parse_scenario(
            {
                "bases": [{"id": "a", "lat_deg": 52, "lon_deg": 5}],
                "vehicles": [{"id": f"v{i}", "base": "a"} for i in range(256)],
            }
        )


async def test_rally_and_fence_lists_upload_download_and_rtl_uses_the_nearest_rally() -> None:
    async with (
        Simulator(scenario(), lockstep=True, tcp_base_port=0) as s,
        await connect(s, heartbeat_s=None) as gcs,
    ):
        v = s.vehicle("d1")
        await s.step(0.5)
        rally_lat = BASE[0] + 400 / 111_320
        rally = [
            gcs.item(
                0,
                M.MAV_CMD_NAV_RALLY_POINT,
                rally_lat,
                BASE[1],
                30,
                mission_type=M.MAV_MISSION_TYPE_RALLY,
            )
        ]
        d = 0.01
        corners = [(-d, -d), (-d, d), (d, d), (d, -d)]
        fence = [
            gcs.item(
                i,
                M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
                BASE[0] + dn,
                BASE[1] + de,
                0,
                len(corners),
                mission_type=M.MAV_MISSION_TYPE_FENCE,
            )
            for i, (dn, de) in enumerate(corners)
        ]
        for items, kind in ((rally, M.MAV_MISSION_TYPE_RALLY), (fence, M.MAV_MISSION_TYPE_FENCE)):
            upload = asyncio.ensure_future(gcs.upload(items, mission_type=kind))
            while not upload.done():
                await s.step(0.1)
            assert upload.result() == M.MAV_MISSION_ACCEPTED
            since = gcs.mark()
            gcs.send(gcs.mav.mission_request_list_encode(1, 1, kind))
            await s.step(0.1)
            count = await gcs.wait_for("MISSION_COUNT", of_type(kind), since=since)
            assert count.count == len(items)
        await take_off(gcs, 20)
        assert await s.run_until(lambda: v.alt_rel_m > 19, timeout_s=30)
        # 500 m north: the rally point (100 m away) is nearer than home
        far = BASE[0] + 500 / 111_320
        gcs.send(
            gcs.mav.set_position_target_global_int_encode(
                0, 1, 1, M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, 0b110111111000,
                round(far * 1e7), round(BASE[1] * 1e7), 20, 0, 0, 0, 0, 0, 0, 0, 0,
            )
        )  # fmt: skip
        assert await s.run_until(lambda: abs(v.position[0] - far) < 3 / 111_320, timeout_s=120)
        assert await gcs.command(M.MAV_CMD_NAV_RETURN_TO_LAUNCH, timeout_s=0.5) == 0
        assert await s.run_until(lambda: not v.armed, timeout_s=300)
        assert abs(v.position[0] - rally_lat) * 111_320 < 5


async def test_hovering_in_wind_holds_position_with_airspeed() -> None:
    sc = scenario(wind={"speed_m_s": 8.0, "direction_deg": 270.0, "gust_m_s": 0.0})
    async with Simulator(sc, lockstep=True, tcp_base_port=None) as s:
        v = s.vehicle("d1")
        assert v.set_mode(CopterMode.GUIDED)
        assert v.arm() == M.MAV_RESULT_ACCEPTED
        assert v.takeoff(30) == M.MAV_RESULT_ACCEPTED
        await s.step(40)
        start = v.position
        await s.step(20)
        end = v.position
        drift_m = math.hypot(
            (end[0] - start[0]) * 111_320,
            (end[1] - start[1]) * 111_320 * math.cos(math.radians(BASE[0])),
        )
        assert drift_m < 2.0
        assert v.air.airspeed_m_s == pytest.approx(8.0, abs=1.0)
        # battery follows the power flown: translational lift makes holding against an 8 m/s
        # wind cheaper than hovering in calm air
        calm = Simulator(scenario(), lockstep=True, tcp_base_port=None)
        async with calm:
            c = calm.vehicle("d1")
            c.set_mode(CopterMode.GUIDED)
            c.arm()
            c.takeoff(30)
            await calm.step(60)
            assert c.air.airspeed_m_s < 1.0
            assert v.air.power_w < c.air.power_w
            assert v.pose().battery_pct > c.pose().battery_pct


async def test_reorder_and_delay_faults_keep_every_packet() -> None:
    async with Simulator(scenario(), speedup=20, tcp_base_port=0) as s:
        faults = s.faults("d1")
        faults.reorder = 0.3
        async with await connect(s) as gcs:
            await gcs.wait_for("HEARTBEAT")
            since = gcs.mark()
            await s.clock.sleep(20)
            seqs = [m.get_seq() for m in list(gcs.received)[since:] if m.get_srcSystem() == 1]
            assert len(seqs) > 300
            steps = [(b - a + 128) % 256 - 128 for a, b in itertools.pairwise(seqs)]
            assert sum(1 for d in steps if d < 0) > 10  # out of order ...
            unwrapped = list(itertools.accumulate(steps, initial=0))
            assert len(set(unwrapped)) == len(unwrapped)  # ... never doubled
            # ... and never lost (a packet swapped across the window's edges aside)
            assert max(unwrapped) - min(unwrapped) + 1 - len(unwrapped) <= 2
            faults.clear()
            faults.delay_s = 0.2
            assert await gcs.set_mode(CopterMode.GUIDED) == M.MAV_RESULT_ACCEPTED
            assert faults.dropped == 0


async def test_auto_is_armable_only_with_auto_options_allow_arming() -> None:
    for options, expected in ((0, M.MAV_RESULT_FAILED), (1, M.MAV_RESULT_ACCEPTED)):
        async with (
            Simulator(
                scenario(params={"AUTO_OPTIONS": options}), lockstep=True, tcp_base_port=0
            ) as s,
            await connect(s, heartbeat_s=None) as gcs,
        ):
            v = s.vehicle("d1")
            upload = asyncio.ensure_future(gcs.upload(mission_items(gcs, 3)))
            while not upload.done():
                await s.step(0.1)
            assert upload.result() == M.MAV_MISSION_ACCEPTED
            assert v.set_mode(CopterMode.AUTO)
            since = gcs.mark()
            gcs.send(gcs.mav.command_long_encode(1, 1, M.MAV_CMD_COMPONENT_ARM_DISARM, 0, 1,
                                                 0, 0, 0, 0, 0, 0))  # fmt: skip
            await s.step(0.1)
            ack = await gcs.wait_for("COMMAND_ACK", since=since)
            assert ack.result == expected
            if expected == M.MAV_RESULT_FAILED:
                text = await gcs.wait_for("STATUSTEXT", since=since)
                assert text.text == "Arm: Mode not armable"
                assert not v.armed
            else:
                assert v.armed
