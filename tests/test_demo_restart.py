"""``skyeye demo`` started twice on the same database, as a user runs ``make demo`` twice.

The first run is stopped with Ctrl-C while its patrol and a first response fly, so their
missions stay in flight in the store. The second run starts on that store with fresh
simulated drones on the ground: it fails the missions the first run left (the vehicles are
not flying them), launches a new patrol and stops cleanly, without a traceback.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from missions.controller.states import TERMINAL
from missions.store import AuditEntry, MissionRecord, MissionStore, TransitionRecord
from skyeye.contracts import MissionState

S = MissionState
EN_ROUTE = re.compile(r"mission (m-\w+): launching → en_route")


class Demo:
    """One ``skyeye demo`` process; its output is kept for the assertions."""

    def __init__(self, config: Path, cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "skyeye", "demo", "--config", str(config)],
            cwd=cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []

    def wait_for(
        self, pattern: re.Pattern[str], enough: Callable[[list[str]], bool], timeout_s: float
    ) -> list[str]:
        """Read output until the first groups of the lines matching ``pattern`` are enough."""
        assert self.process.stdout is not None
        found: list[str] = []
        deadline = time.monotonic() + timeout_s
        while not enough(found) and time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            match = pattern.search(line)
            if match:
                found.append(match.group(1))
        assert enough(found), f"not enough {pattern.pattern!r} in:\n" + "".join(self.lines)
        return found

    def interrupt(self) -> tuple[int, str]:
        """Ctrl-C (once); the exit status and everything it printed."""
        self.process.send_signal(signal.SIGINT)
        try:
            rest, _ = self.process.communicate(timeout=60)
        finally:
            self.process.kill()
        return self.process.returncode, "".join(self.lines) + rest


def run_until(
    config: Path, cwd: Path, enough: Callable[[list[str]], bool]
) -> tuple[list[str], int, str]:
    """Run the demo until the missions gone en route are enough, then Ctrl-C it."""
    demo = Demo(config, cwd)
    try:
        demo.wait_for(re.compile(r"(is running)"), bool, timeout_s=120)
        missions = demo.wait_for(EN_ROUTE, enough, timeout_s=120)
    finally:
        status, output = demo.interrupt()
    return missions, status, output


def stored(database: str, mission_id: str) -> MissionRecord:
    async def get() -> MissionRecord:
        async with MissionStore(database) as store:
            return await store.get_mission(mission_id)

    return asyncio.run(get())


async def in_flight(database: str) -> list[MissionRecord]:
    async with MissionStore(database) as store:
        return [m for m in await store.list_missions() if m.state not in TERMINAL]


async def history(
    database: str, mission_id: str
) -> tuple[list[TransitionRecord], list[AuditEntry]]:
    async with MissionStore(database) as store:
        return (
            await store.transitions(mission_id),
            await store.audit_log(mission_id=mission_id),
        )


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_demo_comes_up_again_on_the_database_of_a_run_stopped_mid_flight(
    tmp_path: Path,
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'skyeye.sqlite3'}"
    config = tmp_path / "skyeye.yaml"
    config.write_text(yaml.safe_dump({"database": {"url": database}, "console": {"port": 0}}))

    # the patrol, then the first response to the scenario's first report (which may pre-empt it)
    first_missions, first_status, first_output = run_until(
        config, tmp_path, lambda flying: len(flying) == 2
    )
    assert first_status == 0, first_output
    assert "Traceback" not in first_output
    left = asyncio.run(in_flight(database))
    assert set(first_missions) & {m.mission_id for m in left}, "no mission left in flight"
    assert {m.state for m in left} <= {S.EN_ROUTE, S.ON_STATION}

    second_missions, second_status, second_output = run_until(
        config,
        tmp_path,
        lambda flying: any(stored(database, m).mission_type == "patrol" for m in flying),
    )
    assert second_status == 0, second_output
    assert "Traceback" not in second_output
    assert "the demo patrol did not launch" not in second_output

    for mission in left:
        assert stored(database, mission.mission_id).state is S.FAILED
        transitions, audit = asyncio.run(history(database, mission.mission_id))
        assert transitions[-1].cause == (
            f"controller restarted while the mission was {mission.state.value}; "
            "vehicle on the ground"
        )
        assert ("controller", "reattach", "ended") in [(e.actor, e.action, e.result) for e in audit]
    (patrol,) = [
        m
        for m in map(functools.partial(stored, database), second_missions)
        if m.mission_type == "patrol"
    ]
    assert patrol.vehicle_id == "drone-1"
