"""Fleet against a scripted MAVLink vehicle over real loopback sockets.

The scripted vehicle (``fleet.testing``) plays the protocol's corners that a flying
simulator cannot be asked for on cue: refusals with reasons, silence, IN_PROGRESS, signing
keys, lost and duplicated packets through the impairment proxy.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from fleet import (
    CommandDenied,
    CommandExpired,
    CommandTimeout,
    ConnectionSpecError,
    Fleet,
    FleetSettings,
    FleetStateError,
    LinkDown,
    MissionItem,
    MissionTransferError,
    MissionType,
    ParameterError,
    ParameterTimeout,
    SigningError,
    SigningKey,
    SigningSettings,
    UnknownVehicleError,
    Vehicle,
)
from fleet.proxy import Impairment, ImpairmentProxy
from fleet.testing import ScriptedVehicle, VehicleScript
from skyeye.clock import ScaledClock, WallClock
from skyeye.contracts import VehicleEvent, VehicleEventKind

FAST = FleetSettings(
    command_timeout_s=0.2,
    link_timeout_s=0.6,
    heartbeat_period_s=0.2,
    state_rate_hz=10.0,
    mission_item_timeout_s=0.15,
    param_timeout_s=0.15,
)
KEY_A = "a1" * 32
KEY_B = "b2" * 32


@asynccontextmanager
async def rig(
    script: VehicleScript | None = None,
    settings: FleetSettings = FAST,
    impairment: Impairment | None = None,
) -> AsyncIterator[tuple[Fleet, Vehicle, ScriptedVehicle, ImpairmentProxy]]:
    """A fleet on a free UDP port, a scripted vehicle, and the impairment proxy between."""
    async with Fleet(settings=settings, clock=WallClock()) as fleet:
        link = await fleet.connect("udp:127.0.0.1:0")
        target = ("127.0.0.1", link.local_port)
        async with (
            ImpairmentProxy(upstream=target, impairment=impairment) as proxy,
            ScriptedVehicle(script, udp_to=("127.0.0.1", proxy.vehicle_port)) as sim,
        ):
            vehicle = await fleet.wait_vehicle(sim.script.system_id, timeout_s=5)
            yield fleet, vehicle, sim, proxy


@asynccontextmanager
async def linked(
    script: VehicleScript | None = None,
    settings: FleetSettings = FAST,
    impairment: Impairment | None = None,
) -> AsyncIterator[tuple[Fleet, Vehicle, ScriptedVehicle]]:
    async with rig(script, settings, impairment) as (fleet, vehicle, sim, _):
        yield fleet, vehicle, sim


async def wait_for(predicate: Callable[[], object], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        for _ in itertools.count():
            if predicate():
                return
            await asyncio.sleep(0.01)


async def next_event(
    vehicle: Vehicle, kind: VehicleEventKind, timeout_s: float = 5.0
) -> VehicleEvent:
    async with asyncio.timeout(timeout_s):
        async for event in vehicle.events():
            if event.kind is kind:
                return event
    raise AssertionError("unreachable")


async def test_discovery_state_and_heartbeat() -> None:
    async with linked(VehicleScript(system_id=7)) as (fleet, vehicle, sim):
        assert fleet.vehicle_ids() == ["mav-7"]
        assert fleet.vehicle(7) is vehicle
        await wait_for(
            lambda: vehicle.state.lat_deg is not None and vehicle.state.mode == "STABILIZE"
        )
        state = vehicle.state
        assert state.system_id == 7
        assert state.lat_deg == pytest.approx(47.3977)
        assert state.alt_amsl_m == pytest.approx(488.0)
        assert state.battery_voltage_v == pytest.approx(12.6)
        assert state.battery_pct == 87
        assert state.gps_fix_type == 3
        assert state.gps_satellites == 14
        assert state.heading_deg == pytest.approx(90.0)
        assert state.yaw_deg == pytest.approx(90.0)
        assert state.link.connected
        await wait_for(lambda: sim.gcs_heartbeats >= 2)  # our heartbeat reaches the vehicle
        await wait_for(lambda: vehicle.state.link.rtt_ms is not None)
        with pytest.raises(UnknownVehicleError):
            fleet.vehicle("mav-8")


async def test_commands_change_the_vehicle() -> None:
    async with linked() as (_, vehicle, sim):
        await vehicle.set_mode("GUIDED")
        await vehicle.arm()
        await vehicle.takeoff(25.0)
        assert (sim.armed, sim.mode, sim.alt_rel_m) == (True, "GUIDED", 25.0)
        await wait_for(lambda: vehicle.state.armed and vehicle.state.alt_rel_m == 25.0)
        await vehicle.goto(47.40, 8.55, 40.0)
        assert (round(sim.script.lat_deg, 5), round(sim.script.lon_deg, 5)) == (47.4, 8.55)
        await vehicle.change_speed(7.5)
        assert sim.speed_m_s == 7.5
        await vehicle.set_roi(47.41, 8.56)
        assert sim.roi is not None
        assert sim.roi[0] == pytest.approx(47.41)
        await vehicle.gimbal_pitch_yaw(-45.0, 30.0)
        assert sim.gimbal_pitch_yaw_deg == (-45.0, 30.0)
        await wait_for(lambda: vehicle.state.gimbal_pitch_deg == -45.0)
        await vehicle.set_message_interval(mavlink.MAVLINK_MSG_ID_ATTITUDE, 10.0)
        assert sim.message_intervals_us[mavlink.MAVLINK_MSG_ID_ATTITUDE] == 100_000
        await vehicle.rtl()
        assert sim.mode == "RTL"
        await vehicle.land()
        assert sim.mode == "LAND"


async def test_mode_and_arming_events() -> None:
    async with linked() as (_, vehicle, sim):
        await wait_for(lambda: vehicle.state.mode == "STABILIZE")
        events = vehicle.events()
        waiter = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0)
        await vehicle.set_mode("GUIDED")
        mode_event = await asyncio.wait_for(waiter, 5)
        assert mode_event.kind is VehicleEventKind.MODE_CHANGED
        assert mode_event.mode == "GUIDED"
        await vehicle.arm()
        assert (await asyncio.wait_for(anext(events), 5)).kind is VehicleEventKind.ARMED
        sim.statustext("Battery failsafe", mavlink.MAV_SEVERITY_CRITICAL)
        event = await asyncio.wait_for(anext(events), 5)
        assert event.kind is VehicleEventKind.FAILSAFE
        assert event.detail == "Battery failsafe"
        await events.aclose()


async def test_arming_refusal_carries_the_vehicles_reason() -> None:
    script = VehicleScript(prearm_failure="GPS: need 3D fix")
    async with linked(script) as (_, vehicle, sim):
        with pytest.raises(CommandDenied) as caught:
            await vehicle.arm()
        assert caught.value.result == "MAV_RESULT_FAILED"
        assert caught.value.command == "MAV_CMD_COMPONENT_ARM_DISARM"
        assert "PreArm: GPS: need 3D fix" in caught.value.statustext
        assert "need 3D fix" in str(caught.value)
        assert not sim.armed
        await vehicle.arm(force=True)
        assert sim.armed


async def test_unknown_mode_is_refused_without_sending() -> None:
    async with linked() as (_, vehicle, sim):
        with pytest.raises(CommandDenied, match="not a mode"):
            await vehicle.set_mode("WARP")
        assert sim.commands_received == []


async def test_unanswered_command_retries_with_confirmation_then_times_out() -> None:
    script = VehicleScript(ignore_commands=frozenset({mavlink.MAV_CMD_NAV_LAND}))
    async with linked(script) as (_, vehicle, sim):
        with pytest.raises(CommandTimeout) as caught:
            await vehicle.land(expires_in_s=30)
        assert caught.value.attempts == FAST.command_retries + 1
        confirmations = [c for cmd, c in sim.commands_received if cmd == mavlink.MAV_CMD_NAV_LAND]
        assert confirmations == list(range(FAST.command_retries + 1))


async def test_expired_command_is_never_sent_late() -> None:
    script = VehicleScript(ignore_commands=frozenset({mavlink.MAV_CMD_NAV_LAND}))
    async with linked(script) as (_, vehicle, sim):
        with pytest.raises(CommandExpired):
            await vehicle.land(expires_in_s=0.3)
        sent = len(sim.commands_received)
        assert 1 <= sent < FAST.command_retries + 1
        await asyncio.sleep(0.5)
        assert len(sim.commands_received) == sent
        with pytest.raises(CommandExpired):
            await vehicle.land(expires_in_s=0.0)
        assert len(sim.commands_received) == sent


async def test_in_progress_ack_waits_for_the_final_result() -> None:
    script = VehicleScript(in_progress_commands=frozenset({mavlink.MAV_CMD_DO_SET_MODE}))
    async with linked(script) as (_, vehicle, sim):
        ack = await vehicle.command(
            mavlink.MAV_CMD_DO_SET_MODE, mavlink.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, 5
        )
        assert ack.result == "MAV_RESULT_ACCEPTED"
        assert ack.attempts == 1
        assert sim.mode == "LOITER"


async def test_unsupported_command_is_denied_by_name() -> None:
    async with linked() as (_, vehicle, _sim):
        with pytest.raises(CommandDenied) as caught:
            await vehicle.command(mavlink.MAV_CMD_DO_PARACHUTE, 2)
        assert caught.value.result == "MAV_RESULT_UNSUPPORTED"


async def test_bad_arguments_raise_before_anything_is_sent() -> None:
    async with linked() as (_, vehicle, sim):
        with pytest.raises(ValueError, match="outside WGS84"):
            await vehicle.goto(91.0, 0.0, 10.0)
        with pytest.raises(ValueError, match="altitude"):
            await vehicle.takeoff(math.nan)
        with pytest.raises(ValueError, match="speed"):
            await vehicle.change_speed(-1)
        with pytest.raises(ParameterError, match="names are"):
            await vehicle.get_param("NOT A NAME")
        assert sim.commands_received == []


async def test_parameters_get_set_list_and_failsafe_read_back() -> None:
    async with linked() as (_, vehicle, sim):
        assert await vehicle.get_param("FENCE_RADIUS") == 300.0
        assert await vehicle.set_param("FS_GCS_ENABLE", 1) == 1.0
        assert sim.script.params["FS_GCS_ENABLE"] == 1.0
        with pytest.raises(ParameterError, match="kept 1"):
            await vehicle.set_param("SYSID_THISMAV", 9)
        listed = await vehicle.list_params()
        assert listed == sim.script.params
        settings = await vehicle.failsafe_settings()
        assert settings.gcs_failsafe_enabled
        assert not settings.battery_failsafe_enabled
        assert not settings.fence_enabled
        assert settings.fence_radius_m == 300.0
        assert settings.missing() == [
            "battery failsafe (BATT_FS_LOW_ACT/BATT_FS_CRT_ACT)",
            "geofence (FENCE_ENABLE)",
        ]


def _mission(count: int) -> list[MissionItem]:
    items = [MissionItem.takeoff(30.0)]
    for i in range(count - 2):
        items.append(MissionItem.waypoint(47.39 + i * 1e-4, 8.54 + (i % 7) * 1e-4, 30.0 + i % 5))
    items.append(MissionItem.rtl())
    return items


async def test_mission_fence_rally_upload_download_clear_set_current_start() -> None:
    async with linked() as (_, vehicle, sim):
        with pytest.raises(CommandDenied, match="Missing mission"):
            await vehicle.start_mission()
        mission = _mission(20)
        await vehicle.upload_mission(mission)
        assert await vehicle.download_mission() == mission
        fence = [
            MissionItem.global_(mavlink.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION, 47.39, 8.54, 0, 500.0)
        ]
        rally = [MissionItem.global_(mavlink.MAV_CMD_NAV_RALLY_POINT, 47.395, 8.545, 20.0)]
        await vehicle.upload_mission(fence, mission_type=MissionType.FENCE)
        await vehicle.upload_mission(rally, mission_type=MissionType.RALLY)
        assert len(sim.missions[1]) == 1
        assert len(sim.missions[2]) == 1
        assert await vehicle.download_mission(mission_type=MissionType.FENCE) == fence
        assert await vehicle.download_mission(mission_type=MissionType.RALLY) == rally
        assert await vehicle.download_mission() == mission  # types do not mix
        await vehicle.set_current(5)
        assert sim.mission_current == 5
        await wait_for(lambda: vehicle.state.mission_seq == 5)
        await vehicle.start_mission()
        assert sim.mission_started
        assert sim.mode == "AUTO"
        await vehicle.clear_mission(mission_type=MissionType.RALLY)
        assert sim.missions[2] == []
        assert len(sim.missions[0]) == 20
        await vehicle.upload_mission([])
        assert await vehicle.download_mission() == []


async def test_mission_too_large_is_refused_by_name() -> None:
    async with linked(VehicleScript(mission_capacity=10)) as (_, vehicle, _sim):
        with pytest.raises(MissionTransferError) as caught:
            await vehicle.upload_mission(_mission(11))
        assert caught.value.result == "MAV_MISSION_NO_SPACE"


async def test_mission_item_validation() -> None:
    with pytest.raises(ValueError, match="WGS84"):
        MissionItem.waypoint(95.0, 0.0, 10.0)
    with pytest.raises(ValueError, match="unknown MAV_CMD"):
        MissionItem(command=65000)
    with pytest.raises(ValueError, match="finite"):
        MissionItem(command=16, z=math.inf)


async def test_200_items_through_20_percent_loss_with_jitter_and_duplicates() -> None:
    impairment = Impairment(
        loss_pct=20, delay_s=0.002, jitter_s=0.006, duplicate_pct=5, reorder_pct=5
    )
    settings = FAST.model_copy(update={"mission_retries": 40, "command_retries": 10})
    async with linked(settings=settings, impairment=impairment) as (_, vehicle, sim):
        mission = _mission(200)
        await vehicle.upload_mission(mission)
        assert len(sim.missions[0]) == 200
        assert await vehicle.download_mission() == mission
        assert vehicle.state.link.packet_loss_pct > 5.0
        await vehicle.set_mode("GUIDED")  # commands get through too, by retrying
        assert sim.mode == "GUIDED"


async def test_link_cut_is_detected_commands_fail_fast_and_it_recovers() -> None:
    async with rig() as (_, vehicle, _sim, proxy):
        events = vehicle.events()
        proxy.cut(60.0)
        lost = await asyncio.wait_for(anext(events), 5)
        assert lost.kind is VehicleEventKind.LINK_LOST
        assert not vehicle.state.link.connected
        with pytest.raises(LinkDown, match="cannot MAV_CMD_NAV_RETURN_TO_LAUNCH"):
            await vehicle.rtl()
        proxy.restore()
        restored = await asyncio.wait_for(anext(events), 5)
        assert restored.kind is VehicleEventKind.LINK_RESTORED
        await vehicle.rtl()
        await events.aclose()


async def test_link_loss_wakes_a_waiting_command() -> None:
    script = VehicleScript(ignore_commands=frozenset({mavlink.MAV_CMD_NAV_LAND}))
    settings = FAST.model_copy(update={"command_timeout_s": 5.0, "command_expiry_s": 30.0})
    async with linked(script, settings=settings) as (_, vehicle, sim):
        landing = asyncio.ensure_future(vehicle.land())
        await wait_for(lambda: sim.commands_received)
        sim.paused = True
        with pytest.raises(LinkDown):
            await asyncio.wait_for(landing, 3)


async def test_tcp_link_reconnects() -> None:
    async with ScriptedVehicle(tcp_server=True) as sim, Fleet(settings=FAST) as fleet:
        link = await fleet.connect(f"tcp:127.0.0.1:{sim.tcp_port}")
        vehicle = await fleet.wait_vehicle(1, timeout_s=5)
        await vehicle.set_mode("GUIDED")
        sim.drop_client()
        await wait_for(lambda: link.connects >= 2)
        await vehicle.set_mode("LOITER")
        assert sim.mode == "LOITER"


async def test_signing_with_the_right_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    script = VehicleScript(signing_key=SigningKey.from_hex(KEY_A))
    settings = FAST.model_copy(update={"signing": SigningSettings(keys={1: SecretStr(KEY_A)})})
    async with linked(script, settings=settings) as (_, vehicle, sim):
        assert vehicle.signing
        await vehicle.set_mode("GUIDED")
        vehicle.encoder.signing.sign_outgoing = False  # whatever goes wrong: never unsigned
        with pytest.raises(SigningError, match="refusing to send unsigned"):
            await vehicle.set_mode("LOITER")
        vehicle.encoder.signing.sign_outgoing = True
        assert sim.mode == "GUIDED"
        assert sim.rejected_unsigned == 0
        assert vehicle.rejected_signatures == 0
    assert caplog.records
    assert not any(KEY_A in r.getMessage() or "a1a1" in r.getMessage() for r in caplog.records)


async def test_signing_with_a_wrong_key_is_ignored_and_reported() -> None:
    script = VehicleScript(signing_key=SigningKey.from_hex(KEY_A))
    settings = FAST.model_copy(update={"signing": SigningSettings(keys={1: SecretStr(KEY_B)})})
    async with Fleet(settings=settings) as fleet:
        link = await fleet.connect("udp:127.0.0.1:0")
        async with ScriptedVehicle(script, udp_to=("127.0.0.1", link.local_port)) as sim:
            vehicle = await fleet.wait_vehicle(1, timeout_s=5)
            events = vehicle.events()
            with pytest.raises((CommandTimeout, LinkDown)) as caught:
                await vehicle.set_mode("GUIDED")
            assert "signature" in str(caught.value)
            assert sim.mode == "STABILIZE"
            assert sim.rejected_unsigned > 0
            kinds = set()
            async with asyncio.timeout(5):
                async for event in events:
                    kinds.add(event.kind)
                    if VehicleEventKind.LINK_LOST in kinds:
                        assert "signature" in event.detail
                        break
            assert vehicle.rejected_signatures > 0
            assert KEY_B not in repr(settings)
            assert KEY_B not in str(SigningKey.from_hex(KEY_B))


async def test_signing_timestamps_never_go_backwards_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "signing.ts"
    settings = FAST.model_copy(
        update={"signing": SigningSettings(keys={1: SecretStr(KEY_A)}, timestamp_path=path)}
    )
    script = VehicleScript(signing_key=SigningKey.from_hex(KEY_A))
    async with linked(script, settings=settings) as (_, vehicle, _sim):
        await vehicle.set_mode("GUIDED")
        first_run = vehicle.encoder.signing.timestamp
    saved = int(path.read_text())
    assert saved >= first_run - 1
    path.write_text(str(saved + 10**9))  # as if the last run's clock was far ahead
    async with linked(script, settings=settings) as (_, vehicle, _sim):
        assert vehicle.encoder.signing.timestamp > saved + 10**9


def test_settings_refuse_bad_input() -> None:
    with pytest.raises(ValidationError, match="unknown data stream"):
        FleetSettings(stream_rates_hz={"NOPE": 1})
    with pytest.raises(ValidationError, match="64 hex"):
        SigningSettings(keys={1: SecretStr("abc")})
    with pytest.raises(ValidationError, match="Extra inputs"):
        FleetSettings(unknown=1)  # type: ignore[call-arg]


async def test_connection_specs_and_lifecycle() -> None:
    fleet = Fleet(settings=FAST)
    with pytest.raises(FleetStateError):
        await fleet.connect("udp:127.0.0.1:0")
    async with fleet:
        for spec in ("udp:127.0.0.1", "carrier-pigeon:a:1", "tcp:host:99999", "serial:/dev/x:123"):
            with pytest.raises(ConnectionSpecError):
                await fleet.connect(spec)
        with pytest.raises(FleetStateError):
            async with fleet:
                pass
    await fleet.__aexit__(None, None, None)  # closing twice is harmless


async def test_missing_failsafe_parameters_read_back_as_none() -> None:
    script = VehicleScript()
    del script.params["FENCE_ALT_MAX"]
    fast_params = FAST.model_copy(update={"param_retries": 1, "param_timeout_s": 0.05})
    async with linked(script, settings=fast_params) as (_, vehicle, _sim):
        with pytest.raises(ParameterTimeout):
            await vehicle.get_param("FENCE_ALT_MAX")
        settings = await vehicle.failsafe_settings()
        assert settings.fence_alt_max_m is None
        assert settings.fence_radius_m == 300.0


async def _fly_then_fail(sim: ScriptedVehicle) -> None:
    async with Fleet(settings=FAST) as fleet:
        link = await fleet.connect("udp:127.0.0.1:0")
        sim.retarget(("127.0.0.1", link.local_port))
        vehicle = await fleet.wait_vehicle(1, timeout_s=5)
        await vehicle.set_mode("GUIDED")
        await vehicle.arm()
        await wait_for(lambda: vehicle.state.armed)
        raise RuntimeError("controller bug")


async def test_a_failing_block_leaves_armed_vehicles_loitering() -> None:
    async with ScriptedVehicle(udp_to=("127.0.0.1", 9)) as sim:
        with pytest.raises(RuntimeError, match="controller bug"):
            await _fly_then_fail(sim)
        await wait_for(lambda: sim.mode == "LOITER")


async def test_serial_link_over_a_pseudo_terminal() -> None:
    master, slave = os.openpty()
    try:
        encoder = mavlink.MAVLink(None, srcSystem=3, srcComponent=1)
        beat = encoder.heartbeat_encode(
            mavlink.MAV_TYPE_QUADROTOR, mavlink.MAV_AUTOPILOT_ARDUPILOTMEGA, 0, 5, 3
        ).pack(encoder)
        async with Fleet(settings=FAST) as fleet:
            await fleet.connect(f"serial:{os.ttyname(slave)}:57600")
            os.write(master, beat)
            vehicle = await fleet.wait_vehicle(3, timeout_s=5)
            await wait_for(lambda: vehicle.state.mode == "LOITER")
            decoder = mavlink.MAVLink(None)
            heard: list[Any] = []
            loop = asyncio.get_running_loop()
            loop.add_reader(
                master, lambda: heard.extend(decoder.parse_buffer(os.read(master, 4096)) or ())
            )
            try:
                await wait_for(
                    lambda: any(
                        m.get_type() == "HEARTBEAT" and m.get_srcSystem() == 255 for m in heard
                    )
                )
            finally:
                loop.remove_reader(master)
    finally:
        os.close(master)
        os.close(slave)


async def test_battery_time_left_is_extrapolated_from_the_drain() -> None:
    clock = ScaledClock(100.0)  # 30 clock seconds of drain pass in 0.3 s
    async with Fleet(settings=FAST, clock=clock) as fleet:
        link = await fleet.connect("udp:127.0.0.1:0")
        script = VehicleScript(battery_pct=90, telemetry_rate_hz=20.0)
        async with ScriptedVehicle(script, udp_to=("127.0.0.1", link.local_port)):
            vehicle = await fleet.wait_vehicle(1, timeout_s=5)
            await wait_for(lambda: vehicle.state.battery_pct == 90)
            start = clock.monotonic()
            for pct in (85, 80, 75, 70):
                await clock.sleep(15.0)
                script.battery_pct = pct
                await wait_for(lambda p=pct: vehicle.state.battery_pct == p)  # type: ignore[misc]
            elapsed = clock.monotonic() - start
            left = vehicle.state.battery_time_left_s
            assert left is not None
            # 20 % went in `elapsed` s (± a telemetry period), so 70 % lasts 3.5 times that
            assert left == pytest.approx(3.5 * elapsed, rel=0.25)


async def test_several_system_ids_on_one_link() -> None:
    async with Fleet(settings=FAST) as fleet:
        link = await fleet.connect("udp:127.0.0.1:0")
        target = ("127.0.0.1", link.local_port)
        async with (
            ScriptedVehicle(VehicleScript(system_id=4), udp_to=target) as four,
            ScriptedVehicle(VehicleScript(system_id=9, lat_deg=47.5), udp_to=target) as nine,
        ):
            v4 = await fleet.wait_vehicle(4, timeout_s=5)
            v9 = await fleet.wait_vehicle("mav-9", timeout_s=5)
            await v9.set_mode("GUIDED")
            await v4.set_mode("LOITER")
            assert (four.mode, nine.mode) == ("LOITER", "GUIDED")
            await wait_for(lambda: v9.state.lat_deg == 47.5 and v4.state.lat_deg == 47.3977)
            assert sorted(fleet.vehicle_ids()) == ["mav-4", "mav-9"]
