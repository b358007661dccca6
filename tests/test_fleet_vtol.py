"""The fleet names and sets a VTOL's modes with ArduPlane's table, against the simulator's
QuadPlane over TCP (20× speed-up) and on every VTOL HEARTBEAT type."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from fleet import CommandDenied, Fleet, FleetSettings, Vehicle
from fleet.telemetry import is_vtol, mode_name, mode_number
from sim import Simulator
from sim.quadplane import PlaneMode, QuadPlaneVehicle
from sim.scenario import parse_scenario
from skyeye.contracts import VehicleEventKind, VehicleState

BASE = (52.0907, 5.1214)
VTOL_TYPES = range(mavlink.MAV_TYPE_VTOL_DUOROTOR, mavlink.MAV_TYPE_VTOL_RESERVED5 + 1)


@pytest.mark.parametrize("mav_type", VTOL_TYPES)
def test_every_vtol_type_uses_the_plane_table(mav_type: int) -> None:
    assert is_vtol(mav_type)
    assert mode_name(mav_type, 15) == "GUIDED"
    assert mode_name(mav_type, 20) == "QLAND"
    assert mode_name(mav_type, 21) == "QRTL"
    assert mode_name(mav_type, 99) == "MODE(99)"
    assert mode_number(mav_type, "qrtl") == 21
    assert mode_number(mav_type, "RTL") == 11
    assert mode_number(mav_type, "ALT_HOLD") is None  # ArduCopter's, not a plane mode


def test_multirotors_keep_the_copter_table() -> None:
    quad = mavlink.MAV_TYPE_QUADROTOR
    assert not is_vtol(quad)
    assert mode_name(quad, 4) == "GUIDED"
    assert mode_name(quad, 6) == "RTL"
    assert mode_number(quad, "LAND") == 9
    assert mode_number(quad, "QLAND") is None


@pytest.fixture
async def vtol() -> AsyncIterator[tuple[Simulator, QuadPlaneVehicle, Vehicle]]:
    scenario = parse_scenario(
        {
            "seed": 2,
            "bases": [{"id": "b", "lat_deg": BASE[0], "lon_deg": BASE[1], "alt_amsl_m": 5.0}],
            "vehicles": [
                {"id": "v", "base": "b", "profile": "vtol_fixed_wing", "params": {"Q_RTL_MODE": 1}}
            ],
        }
    )
    async with Simulator(scenario, speedup=20.0, tcp_base_port=0) as sim:
        settings = FleetSettings(command_timeout_s=0.2, state_rate_hz=4.0, vehicle_ids={1: "v"})
        async with Fleet(settings=settings, clock=sim.clock) as fleet:
            await fleet.connect(f"tcp:127.0.0.1:{sim.tcp_port('v')}")
            vehicle = await fleet.wait_vehicle(1, timeout_s=20)
            await until(vehicle, lambda s: s.gps_fix_type >= 3 and s.home is not None)
            sim_vehicle = sim.vehicle("v")
            assert isinstance(sim_vehicle, QuadPlaneVehicle)
            yield sim, sim_vehicle, vehicle


async def until(
    vehicle: Vehicle, predicate: Callable[[VehicleState], bool], timeout_s: float = 30
) -> VehicleState:
    async with asyncio.timeout(timeout_s), vehicle.states() as states:
        async for state in states:
            if predicate(state):
                return state
    raise AssertionError("unreachable")


async def test_modes_named_and_set_on_a_flying_vtol(
    vtol: tuple[Simulator, QuadPlaneVehicle, Vehicle],
) -> None:
    _sim, plane, vehicle = vtol
    assert vehicle.state.mode == "MANUAL"
    with pytest.raises(CommandDenied, match="'ALT_HOLD' is not a mode of this vehicle type"):
        await vehicle.set_mode("ALT_HOLD")
    assert plane.mode is PlaneMode.MANUAL
    await vehicle.set_mode("GUIDED")
    await until(vehicle, lambda s: s.mode == "GUIDED")
    await vehicle.arm()
    await vehicle.takeoff(25.0)
    await until(vehicle, lambda s: (s.alt_rel_m or 0.0) > 24.0, 60)
    await vehicle.goto(BASE[0] + 0.01, BASE[1], 50.0)
    await until(vehicle, lambda _: plane.vtol_state == mavlink.MAV_VTOL_STATE_FW, 60)
    async with vehicle.events() as events:
        await vehicle.rtl()
        changed = await anext(e async for e in events if e.kind is VehicleEventKind.MODE_CHANGED)
    assert changed.detail == "GUIDED → RTL"
    assert changed.mode == "RTL"
    await until(vehicle, lambda s: s.mode == "QRTL", 120)  # Q_RTL_MODE 1: QRTL at home
    await vehicle.land()  # a VTOL lands in QLAND: ArduPlane takes no NAV_LAND command
    state = await until(vehicle, lambda s: s.mode == "QLAND")
    assert state.armed
    landed = await until(vehicle, lambda s: not s.armed and (s.alt_rel_m or 0.0) < 1.0, 120)
    assert landed.mode == "QLAND"
    assert plane.on_ground
    assert plane.vtol_state == mavlink.MAV_VTOL_STATE_MC
