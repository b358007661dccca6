"""A flying vehicle under a hail of bad packets: garbage, truncated frames, bad CRCs, unknown
messages, commands with out-of-range parameters and for other systems. It must ignore them or
answer DENIED / UNSUPPORTED (FAILED for an unknown mode, as ArduCopter) and still fly its
mission to the end."""

from __future__ import annotations

import asyncio
import math
import random
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.scenario import parse_scenario
from sim.simulator import Simulator
from sim.testing import MavClient, mission_items
from sim.vehicle import CopterMode

M = mavlink
BASE = (52.0907, 5.1214)
_ENC = M.MAVLink(None, srcSystem=255, srcComponent=190)

floats = st.floats(allow_nan=True, allow_infinity=True, width=32)
bad_floats = st.one_of(st.sampled_from([math.nan, math.inf, -math.inf, -1e30, 1e30, -5.0, 9999.0]))


def _pack(msg: object) -> bytes:
    data: bytes = msg.pack(_ENC)  # type: ignore[attr-defined]
    _ENC.seq = (_ENC.seq + 1) & 0xFF
    return data


@st.composite
def bad_commands(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 7))
    target = draw(st.sampled_from([1, 1, 1, 0, 7]))
    c = M
    if kind == 0:  # unknown command ids
        cmd = draw(st.integers(30_000, 65_535))
        p = [draw(floats) for _ in range(7)]
    elif kind == 1:  # arm/disarm with nonsense
        cmd, p = c.MAV_CMD_COMPONENT_ARM_DISARM, [draw(bad_floats), *[draw(floats)] * 6]
    elif kind == 2:  # modes that do not exist, or no custom-mode flag
        mode = draw(st.sampled_from([1.0, 7.0, 8.0, 13.0, 99.0, -3.0, math.nan, 1e9]))
        cmd, p = c.MAV_CMD_DO_SET_MODE, [draw(st.sampled_from([1.0, 0.0])), mode, 0, 0, 0, 0, 0]
    elif kind == 3:
        cmd, p = c.MAV_CMD_DO_CHANGE_SPEED, [1.0, draw(bad_floats), -1, 0, 0, 0, 0]
    elif kind == 4:
        cmd = c.MAV_CMD_DO_MOUNT_CONTROL
        p = [draw(st.sampled_from([95.0, -120.0, math.nan, math.inf])), 0, 0, 0, 0, 0, 2]
    elif kind == 5:
        cmd = c.MAV_CMD_SET_MESSAGE_INTERVAL
        p = [draw(st.sampled_from([-1.0, 1e12, math.nan, 0.5, 77_777.0])), 1e5, 0, 0, 0, 0, 0]
    elif kind == 6:
        cmd = c.MAV_CMD_NAV_TAKEOFF  # already flying: refused whatever the altitude
        p = [0, 0, 0, 0, 0, 0, draw(floats)]
    else:
        cmd = c.MAV_CMD_REQUEST_MESSAGE
        p = [draw(st.sampled_from([-5.0, 123_456.0, math.nan, 1e20])), 0, 0, 0, 0, 0, 0]
    if draw(st.booleans()):
        return _pack(M.MAVLink_command_long_message(target, 1, cmd, 0, *p))
    lat = draw(st.integers(-(2**31), 2**31 - 1))
    return _pack(
        M.MAVLink_command_int_message(target, 1, 6, cmd, 0, 0, *p[:4], lat, lat // 3, p[6])
    )


@st.composite
def bad_frames(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(st.binary(min_size=1, max_size=280))
    if kind == 1:  # a valid frame cut short
        frame = draw(bad_commands())
        return frame[: draw(st.integers(1, len(frame) - 1))]
    if kind == 2:  # a valid frame with a bad CRC
        corrupt = bytearray(draw(bad_commands()))
        corrupt[-1] ^= draw(st.integers(1, 255))
        return bytes(corrupt)
    if kind == 3:  # unknown message id, otherwise well formed
        msgid = draw(st.integers(60_000, 2**24 - 1))
        payload = draw(st.binary(min_size=0, max_size=40))
        header = struct.pack("<BBBBBBB", 0xFD, len(payload), 0, 0, 0, 255, 190)
        return header + msgid.to_bytes(3, "little") + payload + b"\x00\x00"
    if kind == 4:  # mission items nobody asked for, with nonsense
        return _pack(
            M.MAVLink_mission_item_int_message(
                1, 1, draw(st.integers(0, 65535)), draw(st.integers(0, 255)),
                draw(st.integers(0, 65535)), 0, 1, draw(floats), draw(floats), draw(floats),
                draw(floats), draw(st.integers(-(2**31), 2**31 - 1)), 0, draw(floats), 0,
            )
        )  # fmt: skip
    return draw(bad_commands())


async def _flight_under_fire(packets: list[bytes]) -> None:
    scenario = parse_scenario(
        {
            "seed": 9,
            "bases": [{"id": "b", "lat_deg": BASE[0], "lon_deg": BASE[1]}],
            "vehicles": [{"id": "d1", "base": "b"}],
            "params": {"WPNAV_SPEED": 1500},
        }
    )
    wps = [(BASE[0] + 0.0009 * (i % 2), BASE[1] + 0.0012 * i, 25.0) for i in range(4)]
    items = mission_items(1, wps, rtl=False)
    land = M.MAVLink_mission_item_int_message(1, 1, len(items), 3, 21, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0)
    items.append(land)
    async with (
        Simulator(scenario, lockstep=True, tcp_base_port=0) as sim,
        MavClient(sim, sim.tcp_port("d1")) as gcs,
    ):
        assert await gcs.upload(items) == M.MAV_MISSION_ACCEPTED
        assert await gcs.set_mode(CopterMode.GUIDED) == 0
        assert await gcs.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == 0
        assert await gcs.command(M.MAV_CMD_MISSION_START) == 0
        await sim.step(8.0)  # airborne
        v = sim.vehicle("d1")
        mark = len(gcs.received)
        for i in range(0, len(packets), 25):
            gcs.send_raw(b"".join(packets[i : i + 25]))
            await sim.step(0.25)
            assert v.armed or v.mission_seq == len(items) - 1
        assert await sim.run_until(lambda: not v.armed, timeout_s=400)
        reached = {m.seq for m in gcs.received if m.get_type() == "MISSION_ITEM_REACHED"}
        assert reached >= set(range(1, len(items) - 1))
        assert v.mode is CopterMode.AUTO
        assert math.dist(v.position[:2], wps[-1][:2]) < 3e-5  # landed at the last waypoint
        results = {int(m.result) for m in gcs.received[mark:] if m.get_type() == "COMMAND_ACK"}
        assert results  # the well-formed bad commands were answered
        assert results <= {M.MAV_RESULT_DENIED, M.MAV_RESULT_UNSUPPORTED, M.MAV_RESULT_FAILED}
        assert sim.rejected_packets("d1") > 0


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.lists(bad_frames(), min_size=60, max_size=120),
    st.lists(bad_commands(), min_size=5, max_size=20),
    st.randoms(use_true_random=False),
)
def test_fuzzed_vehicle_still_completes_its_mission(
    frames: list[bytes], commands: list[bytes], rng: random.Random
) -> None:
    # Hypothesis draws the packets; each is thrown 12 times in a shuffled order (well over a
    # thousand per flight), since one example's buffer cannot hold thousands of frames.
    unknown = _pack(M.MAVLink_command_long_message(1, 1, 42_424, 0, 0, 0, 0, 0, 0, 0, 0))
    hail = (frames + commands + [unknown]) * 12
    rng.shuffle(hail)
    asyncio.run(_flight_under_fire(hail))
