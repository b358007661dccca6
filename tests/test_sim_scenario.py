"""Scenario files, the ``skyeye sim`` command line and the UDP output."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.errors import ScenarioError
from sim.scenario import load_scenario, parse_scenario
from sim.simulator import Simulator

M = mavlink
DEMO = Path(__file__).resolve().parents[1] / "sim" / "scenarios" / "demo.yaml"


def test_demo_scenario_loads() -> None:
    sc = load_scenario(DEMO)
    assert len(sc.bases) == 2
    assert 4 <= len(sc.vehicles) <= 6
    assert sc.params["FS_GCS_ENABLE"] == 1
    assert sc.world is not None


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"bases": [{"id": "a", "lat_deg": 95, "lon_deg": 5}]}, "bases.0.lat_deg"),
        ({"vehicles": [{"id": "x", "base": "nowhere"}]}, "unknown base"),
        ({"params": {"FS_GCS_ENABLE": 9}}, "FS_GCS_ENABLE=9"),
        ({"params": {"NOT_A_PARAM": 1}}, "unknown parameter"),
        ({"wind": {"speed_m_s": 3, "gusty": True}}, "wind.gusty"),
        ({"vehicles": [{"id": "x", "base": "a", "profile": "jet"}]}, "unknown profile"),
    ],
)
def test_bad_scenarios_name_the_problem(change: dict[str, object], where: str) -> None:
    data: dict[str, object] = {"bases": [{"id": "a", "lat_deg": 52, "lon_deg": 5}], **change}
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data, source="s.yaml")
    assert where in str(err.value)
    assert "s.yaml" in str(err.value)


def test_with_vehicles_spreads_extra_vehicles_over_bases() -> None:
    sc = load_scenario(DEMO).with_vehicles(9)
    assert len(sc.vehicles) == 9
    assert len({v.id for v in sc.vehicles}) == 9
    assert {v.base for v in sc.vehicles[5:]} == {"utrecht", "amersfoort"}


async def test_udp_output_and_replies() -> None:
    gcs = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    gcs.bind(("127.0.0.1", 0))
    gcs.setblocking(False)
    port = gcs.getsockname()[1]
    sc = parse_scenario(
        {
            "bases": [{"id": "a", "lat_deg": 52, "lon_deg": 5}],
            "vehicles": [{"id": "d", "base": "a"}],
        }
    )
    loop = asyncio.get_running_loop()
    mav = M.MAVLink(None, srcSystem=255, srcComponent=190)
    async with Simulator(sc, lockstep=True, tcp_base_port=None, gcs_udp=("127.0.0.1", port)) as sim:
        await sim.step(1.0)
        data, addr = await asyncio.wait_for(loop.sock_recvfrom(gcs, 4096), 5)
        msgs = mav.parse_buffer(data) or []
        assert any(m.get_type() == "HEARTBEAT" for m in msgs)
        assert addr[1] == sim.udp_port("d")
        cmd = M.MAVLink_command_long_message(1, 1, 31_999, 0, 0, 0, 0, 0, 0, 0, 0).pack(mav)
        await loop.sock_sendto(gcs, cmd, addr)
        acks = []
        for _ in range(40):
            await sim.step(0.05)
            try:
                data = gcs.recv(65536)
            except BlockingIOError:
                continue
            acks += [m for m in mav.parse_buffer(data) or [] if m.get_type() == "COMMAND_ACK"]
            if acks:
                break
        assert acks[0].result == M.MAV_RESULT_UNSUPPORTED
    gcs.close()


def test_cli_runs_and_reports_ports() -> None:
    from typer.testing import CliRunner

    from sim.cli import app

    result = CliRunner().invoke(
        app,
        ["--scenario", str(DEMO), "--vehicles", "2", "--tcp-base-port", "0", "--duration", "0.3"],
    )
    assert result.exit_code == 0, result.output
    assert "drone-1" in result.output
    assert "drone-2" in result.output
    bad = CliRunner().invoke(app, ["--scenario", "/nonexistent.yaml", "--duration", "0"])
    assert bad.exit_code == 1
