"""``skyeye sim``: runs a scenario's vehicles on their own ports; bad input is refused clearly."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from typer.testing import CliRunner

from sim.cli import app, parse_udp

SCENARIO = """
seed: 1
bases:
  - {id: a, lat_deg: 52.09, lon_deg: 5.12, alt_amsl_m: 5}
vehicles:
  - {id: d1, base: a}
  - {id: d2, base: a}
"""


def test_parse_udp_accepts_host_port_and_refuses_the_rest() -> None:
    assert parse_udp("udp:127.0.0.1:14550") == ("127.0.0.1", 14550)
    assert parse_udp("10.0.0.2:14551") == ("10.0.0.2", 14551)
    for bad in ("udp:127.0.0.1", "host:0", "host:70000", ":14550", "udp:h:x"):
        with pytest.raises(Exception, match="udp:HOST:PORT"):
            parse_udp(bad)


def test_a_bad_scenario_is_refused_with_its_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCENARIO.replace("base: a}\n", "base: nowhere}\n", 1))
    result = CliRunner().invoke(app, ["--scenario", str(bad), "--duration", "0"])
    assert result.exit_code == 1
    assert "nowhere" in result.output


async def test_the_command_serves_each_vehicle_and_sends_udp(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.setblocking(False)
    port = sink.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from skyeye.cli import app; app()",
        "sim",
        "--scenario",
        str(path),
        "--vehicles",
        "1",
        "--tcp-base-port",
        "0",
        "--gcs",
        f"udp:127.0.0.1:{port}",
        "--duration",
        "30",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        enc = mavlink.MAVLink(None, srcSystem=255)
        async with asyncio.timeout(60):
            data = await asyncio.get_running_loop().sock_recv(sink, 65536)
        msgs = enc.parse_buffer(data) or []
        assert {m.get_srcSystem() for m in msgs} == {1}
    finally:
        sink.close()
        proc.terminate()
        await proc.wait()


def test_a_port_in_use_is_refused_with_the_vehicle_and_port(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            app, ["--scenario", str(path), "--tcp-base-port", str(port), "--duration", "0"]
        )
    assert result.exit_code == 1
    assert "d1" in result.output
    assert str(port) in result.output
