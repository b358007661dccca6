"""The VTOL profile flies as an ArduPlane QuadPlane, over real TCP in lock-step: its HEARTBEAT
type and plane mode numbers, VTOL takeoff, transitions by airspeed in EXTENDED_SYS_STATE,
wing flight and circles, RTL → QRTL with a vertical landing, missions with VTOL items, and
ArduPlane's answers to commands it refuses."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.errors import ScenarioError
from sim.quadplane import PlaneMode, QuadPlaneVehicle
from sim.scenario import Scenario, parse_scenario
from sim.simulator import Simulator
from sim.testing import MavClient, mission_items

M = mavlink
BASE = (52.0907, 5.1214)
MC, FW = M.MAV_VTOL_STATE_MC, M.MAV_VTOL_STATE_FW
TO_FW, TO_MC = M.MAV_VTOL_STATE_TRANSITION_TO_FW, M.MAV_VTOL_STATE_TRANSITION_TO_MC


def _scenario(**params: float) -> Scenario:
    return parse_scenario(
        {
            "seed": 5,
            "bases": [{"id": "b", "lat_deg": BASE[0], "lon_deg": BASE[1], "alt_amsl_m": 5.0}],
            "vehicles": [{"id": "v", "base": "b", "profile": "vtol_fixed_wing", "params": params}],
            "wind": {"speed_m_s": 4.0, "direction_deg": 240, "gust_m_s": 1.0},
        }
    )


def _offset(north_m: float, east_m: float) -> tuple[float, float]:
    return (
        BASE[0] + north_m / 111_250.0,
        BASE[1] + east_m / (111_250.0 * math.cos(math.radians(BASE[0]))),
    )


@pytest.fixture
async def flight() -> AsyncIterator[tuple[Simulator, QuadPlaneVehicle, MavClient]]:
    async with Simulator(_scenario(Q_RTL_MODE=1), lockstep=True, tcp_base_port=0) as sim:
        vehicle = sim.vehicle("v")
        assert isinstance(vehicle, QuadPlaneVehicle)
        async with MavClient(sim, sim.tcp_port("v")) as gcs:
            await gcs.wait("HEARTBEAT")
            yield sim, vehicle, gcs


class Track:
    """The (mode, VTOL state, landed state) sequence a vehicle went through, as it changed."""

    def __init__(self, vehicle: QuadPlaneVehicle) -> None:
        self.vehicle = vehicle
        self.seen: list[tuple[str, int, str]] = []

    def __call__(self) -> bool:
        v = self.vehicle
        now = (v.mode.name, v.vtol_state, v.landed_state.name)
        if not self.seen or self.seen[-1] != now:
            self.seen.append(now)
        return False

    def vtol_states(self) -> list[int]:
        states: list[int] = []
        for _, vtol, _ in self.seen:
            if not states or states[-1] != vtol:
                states.append(vtol)
        return states


async def _vtol_takeoff(gcs: MavClient, sim: Simulator, v: QuadPlaneVehicle, alt: float) -> None:
    assert await gcs.set_mode(PlaneMode.GUIDED) == M.MAV_RESULT_ACCEPTED
    assert await gcs.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_ACCEPTED
    assert await gcs.command(M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, alt) == 0
    assert await sim.run_until(lambda: v.alt_rel_m >= alt - 0.5, timeout_s=60)


async def test_heartbeat_is_an_arduplane_quadplane(
    flight: tuple[Simulator, QuadPlaneVehicle, MavClient],
) -> None:
    _sim, v, gcs = flight
    hb = await gcs.wait("HEARTBEAT")
    assert hb.type == M.MAV_TYPE_VTOL_QUADROTOR
    assert hb.autopilot == M.MAV_AUTOPILOT_ARDUPILOTMEGA
    assert hb.custom_mode == 0  # MANUAL
    ess = await gcs.wait("EXTENDED_SYS_STATE")
    assert (ess.vtol_state, ess.landed_state) == (MC, M.MAV_LANDED_STATE_ON_GROUND)
    assert await gcs.param("Q_RTL_MODE") == 1.0
    assert await gcs.param("AIRSPEED_MIN") == 16.0  # the profile's transition speed
    assert await gcs.set_mode(PlaneMode.QLOITER) == M.MAV_RESULT_ACCEPTED
    hb = await gcs.wait("HEARTBEAT", lambda m: m.custom_mode == 19)
    assert v.mode is PlaneMode.QLOITER


async def test_takeoff_transition_circle_rtl_qrtl_and_vertical_landing(
    flight: tuple[Simulator, QuadPlaneVehicle, MavClient],
) -> None:
    sim, v, gcs = flight
    track = Track(v)
    await _vtol_takeoff(gcs, sim, v, 30.0)
    assert v.vtol_state == MC
    assert v.air.airspeed_m_s < 8.0
    lat, lon = _offset(2000.0, 1000.0)
    result = await gcs.command_int(
        M.MAV_CMD_DO_REPOSITION, params=(-1, 1, 0, 0), lat_deg=lat, lon_deg=lon, alt_m=60.0
    )
    assert result == M.MAV_RESULT_ACCEPTED
    assert await sim.run_until(lambda: (track(), v.vtol_state == FW)[1], timeout_s=40)
    assert v.air.airspeed_m_s >= 16.0
    east, north = v.frame.to_local(lat, lon)
    assert await sim.run_until(
        lambda: math.hypot(v.air.east_m - east, v.air.north_m - north) < 100, timeout_s=200
    )
    distances: list[float] = []

    def circling() -> bool:
        track()
        distances.append(math.hypot(v.air.east_m - east, v.air.north_m - north))
        return False

    await sim.run_until(circling, timeout_s=60)
    # 25 m/s at 45° bank: no tighter than 64 m around the 60 m WP_LOITER_RAD; wind widens it
    assert min(distances) >= 60.0
    assert max(distances) <= 100.0
    assert v.vtol_state == FW
    assert v.alt_rel_m == pytest.approx(60.0, abs=2.0)
    assert await gcs.command(M.MAV_CMD_NAV_RETURN_TO_LAUNCH) == M.MAV_RESULT_ACCEPTED
    assert await sim.run_until(lambda: (track(), not v.armed)[1], timeout_s=600)
    modes = [mode for mode, _, _ in track.seen]
    assert modes.index("RTL") < modes.index("QRTL")
    assert track.vtol_states() == [MC, TO_FW, FW, TO_MC, MC]
    rtl_states = [vtol for mode, vtol, _ in track.seen if mode == "RTL"]
    assert set(rtl_states) == {FW}  # home on the wing, transitioned back only in QRTL
    landing = [vtol for _, vtol, landed in track.seen if landed == "LANDING"]
    assert landing
    assert set(landing) == {MC}
    assert math.hypot(v.air.east_m, v.air.north_m) < 3.0
    assert v.on_ground
    assert "Land complete" in gcs.texts()
    ess = await gcs.wait("EXTENDED_SYS_STATE", since=len(gcs.received))
    assert (ess.vtol_state, ess.landed_state) == (MC, M.MAV_LANDED_STATE_ON_GROUND)


async def test_commands_answered_as_arduplane(
    flight: tuple[Simulator, QuadPlaneVehicle, MavClient],
) -> None:
    sim, v, gcs = flight
    assert await gcs.command(M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 30) == M.MAV_RESULT_FAILED
    assert "User Takeoff only in GUIDED mode" in gcs.texts()
    assert await gcs.set_mode(3) == M.MAV_RESULT_FAILED  # TRAINING: not flown here
    assert await gcs.set_mode(PlaneMode.GUIDED) == M.MAV_RESULT_ACCEPTED
    assert await gcs.command(M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 30) == M.MAV_RESULT_FAILED
    assert "Must be armed for takeoff" in gcs.texts()
    assert await gcs.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_ACCEPTED
    relative = await gcs.command_int(M.MAV_CMD_NAV_TAKEOFF, alt_m=30.0)
    assert relative == M.MAV_RESULT_DENIED  # COMMAND_INT takeoff only in LOCAL_OFFSET_NED
    assert v.on_ground
    assert await gcs.command(M.MAV_CMD_NAV_LAND) == M.MAV_RESULT_UNSUPPORTED
    assert await gcs.command(M.MAV_CMD_DO_VTOL_TRANSITION, FW) == M.MAV_RESULT_FAILED
    assert "VTOL transition only in AUTO" in gcs.texts()
    assert await gcs.command(M.MAV_CMD_MISSION_START, 1, 0) == M.MAV_RESULT_DENIED
    assert v.mode is PlaneMode.GUIDED
    down = await gcs.command_int(
        M.MAV_CMD_NAV_TAKEOFF, alt_m=-25.0, frame=M.MAV_FRAME_LOCAL_OFFSET_NED
    )
    assert down == M.MAV_RESULT_ACCEPTED
    assert await sim.run_until(lambda: v.alt_rel_m >= 24.5, timeout_s=60)
    assert await gcs.command(M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 30) == M.MAV_RESULT_FAILED
    assert "Already flying - no takeoff" in gcs.texts()
    assert await gcs.set_mode(PlaneMode.QLAND) == M.MAV_RESULT_ACCEPTED
    assert await sim.run_until(lambda: not v.armed, timeout_s=120)
    assert v.on_ground
    assert v.vtol_state == MC


def _item(
    seq: int, command: int, lat: float = 0.0, lon: float = 0.0, alt: float = 0.0, *p: float
) -> Any:
    params = [*p, 0.0, 0.0, 0.0, 0.0][:4]
    return M.MAVLink_mission_item_int_message(
        1, 1, seq, M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, command, 0, 1, *params,
        round(lat * 1e7), round(lon * 1e7), alt, 0,
    )  # fmt: skip


async def test_mission_vtol_takeoff_wing_loiter_and_vtol_land(
    flight: tuple[Simulator, QuadPlaneVehicle, MavClient],
) -> None:
    sim, v, gcs = flight
    track = Track(v)
    wp = _offset(1500.0, 0.0)
    loiter = _offset(1500.0, 1500.0)
    land = _offset(200.0, 300.0)
    items = [
        _item(0, M.MAV_CMD_NAV_WAYPOINT, *BASE),
        _item(1, M.MAV_CMD_NAV_VTOL_TAKEOFF, 0, 0, 40.0),
        _item(2, M.MAV_CMD_NAV_WAYPOINT, *wp, 70.0),
        _item(3, M.MAV_CMD_NAV_LOITER_TURNS, *loiter, 70.0, 1, 0, 150.0),
        _item(4, M.MAV_CMD_NAV_VTOL_LAND, *land, 0.0),
    ]
    assert await gcs.upload(items) == M.MAV_MISSION_ACCEPTED
    assert await gcs.set_mode(PlaneMode.AUTO) == M.MAV_RESULT_ACCEPTED
    assert await gcs.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_ACCEPTED
    centre = v.frame.to_local(*loiter)
    radii: list[float] = []

    def watch() -> bool:
        track()
        if v.mission_seq == 3 and v.vtol_state == FW:
            radii.append(math.hypot(v.air.east_m - centre[0], v.air.north_m - centre[1]))
        return not v.armed

    assert await sim.run_until(watch, timeout_s=900)
    reached = [m.seq for m in gcs.received if m.get_type() == "MISSION_ITEM_REACHED"]
    assert reached == [1, 2, 3]
    assert v.mission_complete
    assert "Mission complete" in gcs.texts()
    assert track.vtol_states() == [MC, TO_FW, FW, TO_MC, MC]
    assert radii
    assert max(radii) > 140.0
    le, ln = v.frame.to_local(*land)
    assert math.hypot(v.air.east_m - le, v.air.north_m - ln) < 3.0
    assert {vtol for _, vtol, landed in track.seen if landed == "LANDING"} == {MC}


async def test_mission_rtl_item_switches_to_rtl_and_transition_command_hovers() -> None:
    scenario = _scenario(Q_RTL_MODE=0)
    async with Simulator(scenario, lockstep=True, tcp_base_port=0) as sim:
        v = sim.vehicle("v")
        assert isinstance(v, QuadPlaneVehicle)
        async with MavClient(sim, sim.tcp_port("v")) as gcs:
            await gcs.wait("HEARTBEAT")
            items = mission_items(1, [(*_offset(800.0, 0.0), 50.0)], takeoff_alt_m=30.0)
            assert await gcs.upload(items) == M.MAV_MISSION_ACCEPTED
            await _vtol_takeoff(gcs, sim, v, 10.0)
            assert await gcs.set_mode(PlaneMode.AUTO) == M.MAV_RESULT_ACCEPTED
            assert await gcs.command(M.MAV_CMD_DO_VTOL_TRANSITION, MC) == M.MAV_RESULT_ACCEPTED
            on_waypoint: set[int] = set()

            def hovering_to_waypoint() -> bool:
                if v.mission_seq == 2:
                    on_waypoint.add(v.vtol_state)
                return v.mission_seq == 3

            assert await sim.run_until(hovering_to_waypoint, timeout_s=400)
            assert on_waypoint == {MC}  # DO_VTOL_TRANSITION MC: the waypoint was flown hovering
            assert await sim.run_until(lambda: v.mode is PlaneMode.RTL, timeout_s=60)
            assert v.mission_seq == 3
            # Q_RTL_MODE 0: RTL circles home on the wing and stays up
            assert await sim.run_until(lambda: v.vtol_state == FW, timeout_s=60)
            await sim.run_until(lambda: False, timeout_s=120)
            assert v.armed
            assert v.mode is PlaneMode.RTL
            assert v.alt_rel_m > 50.0
            assert math.hypot(v.air.east_m, v.air.north_m) < 150.0


def test_vtol_parameters_belong_to_vtol_vehicles_only() -> None:
    with pytest.raises(ScenarioError, match=r"vehicle m: unknown parameter 'Q_RTL_MODE'"):
        parse_scenario(
            {
                "bases": [{"id": "b", "lat_deg": BASE[0], "lon_deg": BASE[1]}],
                "vehicles": [{"id": "m", "base": "b", "params": {"Q_RTL_MODE": 1}}],
            }
        )
    with pytest.raises(ScenarioError, match=r"vehicle v: Q_RTL_MODE=7.0 is outside 0..3"):
        _scenario(Q_RTL_MODE=7)
    with pytest.raises(ScenarioError, match=r"params: unknown parameter 'Q_RTL_MODE'"):
        parse_scenario(
            {
                "bases": [{"id": "b", "lat_deg": BASE[0], "lon_deg": BASE[1]}],
                "params": {"Q_RTL_MODE": 1},
            }
        )
