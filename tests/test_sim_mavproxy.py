"""Proof of faithfulness: MAVProxy (from PyPI, driven as a subprocess through its command line)
flies a sim vehicle as it would fly ArduCopter: telemetry, parameters, arm, take off, a
20-item mission loaded from a waypoint file and flown to the end, RTL and land, and the
ground-station-loss failsafe when MAVProxy goes silent."""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sim.scenario import parse_scenario
from sim.simulator import Simulator
from sim.vehicle import CopterMode, SimVehicle

BASE = (52.0907, 5.1214)
MAVPROXY = shutil.which("mavproxy.py", path=str(Path(sys.executable).parent))
pytestmark = pytest.mark.skipif(
    MAVPROXY is None, reason="MAVProxy is not installed (pip install --no-deps mavproxy ...)"
)


class MavProxy:
    """MAVProxy in a subprocess; commands on stdin, its console output collected by line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._new = asyncio.Event()

    async def read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.lines.append(line.decode(errors="replace").rstrip())
            self._new.set()

    async def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        await self.proc.stdin.drain()

    async def expect(self, pattern: str, *, since: int = 0, timeout_s: float = 20.0) -> str:
        regex = re.compile(pattern)

        async def find() -> str:
            index = since
            while True:
                while index < len(self.lines):
                    if regex.search(self.lines[index]):
                        return self.lines[index]
                    index += 1
                self._new.clear()
                await self._new.wait()

        try:
            return await asyncio.wait_for(find(), timeout_s)
        except TimeoutError:
            tail = "\n".join(self.lines[-30:])
            raise AssertionError(
                f"MAVProxy never printed /{pattern}/; last lines:\n{tail}"
            ) from None


@contextlib.asynccontextmanager
async def mavproxy(port: int, state_dir: Path) -> AsyncIterator[MavProxy]:
    assert MAVPROXY is not None
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        MAVPROXY,
        f"--master=tcp:127.0.0.1:{port}",
        "--source-system=255",
        "--nowait",
        f"--state-basedir={state_dir}",
        "--default-modules=wp,param,cmdlong,mode,arm,rally,fence,misc",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=state_dir,
    )
    mp = MavProxy(proc)
    async with asyncio.TaskGroup() as tg:
        reader = tg.create_task(mp.read(), name="mavproxy.read")
        try:
            await mp.expect(r"Received \d+ parameters", timeout_s=30)
            yield mp
        finally:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
            reader.cancel()


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    scenario = parse_scenario(
        {
            "seed": 5,
            "bases": [{"id": "b", "lat_deg": BASE[0], "lon_deg": BASE[1], "alt_amsl_m": 2.0}],
            "vehicles": [{"id": "d1", "base": "b"}],
            "params": {"WPNAV_SPEED": 1500, "WPNAV_SPEED_UP": 500},
        }
    )
    async with Simulator(scenario, speedup=10.0, tcp_base_port=0) as s:
        yield s


def _waypoint_file(path: Path, count: int) -> Path:
    """A QGC WPL 110 file: home, takeoff, then waypoints, ``count`` items in all."""
    rows = [f"0\t1\t0\t16\t0\t0\t0\t0\t{BASE[0]:.7f}\t{BASE[1]:.7f}\t2.0\t1"]
    rows.append("1\t0\t3\t22\t0\t0\t0\t0\t0\t0\t20.0\t1")
    for seq in range(2, count):
        north, east = 110.0 * ((seq % 4) - 1.5), 80.0 * (seq // 4)
        lat = BASE[0] + north / 111_250.0
        lon = BASE[1] + east / (111_250.0 * math.cos(math.radians(BASE[0])))
        rows.append(f"{seq}\t0\t3\t16\t0\t0\t0\t0\t{lat:.7f}\t{lon:.7f}\t25.0\t1")
    path.write_text("QGC WPL 110\n" + "\n".join(rows) + "\n")
    return path


async def _until(sim: Simulator, check: object, timeout_s: float) -> None:
    ok = await sim.run_until(check, timeout_s=timeout_s * sim.speedup)  # type: ignore[arg-type]
    assert ok


async def _take_off(mp: MavProxy, v: SimVehicle, sim: Simulator) -> None:
    mark = len(mp.lines)
    await mp.send("mode guided")
    await mp.expect("DO_SET_MODE: ACCEPTED", since=mark)
    await mp.send("arm throttle")
    await mp.expect("COMPONENT_ARM_DISARM: ACCEPTED", since=mark)
    await mp.send("takeoff 20")
    await mp.expect("NAV_TAKEOFF: ACCEPTED", since=mark)
    await _until(sim, lambda: v.alt_rel_m > 19.0, 20.0)


async def test_mavproxy_flies_a_twenty_item_mission_then_rtl(
    sim: Simulator, tmp_path: Path
) -> None:
    v = sim.vehicle("d1")
    async with mavproxy(sim.tcp_port("d1"), tmp_path) as mp:
        await mp.send("status GLOBAL_POSITION_INT")
        line = await mp.expect(r"GLOBAL_POSITION_INT \{")
        lat = int(re.search(r"lat : (-?\d+)", line).group(1))  # type: ignore[union-attr]
        assert lat == pytest.approx(BASE[0] * 1e7, abs=100)
        mark = len(mp.lines)
        await mp.send("param set RTL_ALT 2500")
        await _until(sim, lambda: v.params["RTL_ALT"] == 2500, 5.0)
        await mp.send("param show RTL_ALT")
        await mp.expect(r"RTL_ALT\s+2500", since=mark)
        await _take_off(mp, v, sim)
        mark = len(mp.lines)
        await mp.send(f"wp load {_waypoint_file(tmp_path / 'mission.txt', 20)}")
        await mp.expect(r"Sent all 20 waypoints|Loaded 20 waypoints", since=mark)
        await _until(sim, lambda: len(v.missions.mission) == 20, 10.0)
        await mp.send("mode auto")
        await _until(sim, lambda: v.mode is CopterMode.AUTO, 5.0)
        await _until(sim, lambda: v.mission_seq >= 20, 90.0)
        await mp.send("rtl")
        await _until(sim, lambda: not v.armed, 90.0)
        await mp.expect("DISARMED", since=mark)
        assert v.on_ground
        assert math.dist(v.position[:2], v.home[:2]) < 3e-5
        await mp.expect(r"waypoint 19\b")  # MAVProxy announcing MISSION_CURRENT to the end


async def test_mavproxy_going_silent_triggers_the_gcs_failsafe(
    sim: Simulator, tmp_path: Path
) -> None:
    v = sim.vehicle("d1")
    async with mavproxy(sim.tcp_port("d1"), tmp_path) as mp:
        await mp.send("param set FS_GCS_ENABLE 1")
        await mp.send("param set FS_GCS_TIMEOUT 2")
        await _until(sim, lambda: v.params["FS_GCS_TIMEOUT"] == 2.0, 5.0)
        await _take_off(mp, v, sim)
        assert v.gcs_heard
        assert v.mode is CopterMode.GUIDED
        mp.proc.kill()  # silence
    await _until(sim, lambda: sim.vehicle("d1").mode is CopterMode.RTL, 10.0)
    assert v.gcs_failsafe
