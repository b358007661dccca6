"""``skyeye fleet`` against a scripted vehicle on a real TCP socket."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from fleet.testing import ScriptedVehicle
from skyeye.cli import app

runner = CliRunner()


async def test_watch_lists_the_vehicle_and_failsafes_names_what_is_off() -> None:
    async with ScriptedVehicle(tcp_server=True) as sim:
        spec = f"tcp:127.0.0.1:{sim.tcp_port}"
        watched = await asyncio.to_thread(
            runner.invoke, app, ["fleet", "watch", spec, "--seconds", "1.5"]
        )
        assert watched.exit_code == 0, watched.output
        assert "mav-1" in watched.output
        assert "STABILIZE" in watched.output
        checked = await asyncio.to_thread(runner.invoke, app, ["fleet", "failsafes", spec])
        assert checked.exit_code == 3, checked.output
        assert "ground-station loss failsafe" in checked.output
        sim.script.params |= {"FS_GCS_ENABLE": 1, "BATT_FS_LOW_ACT": 2}
        sim.script.params |= {"BATT_FS_CRT_ACT": 1, "FENCE_ENABLE": 1}
        checked = await asyncio.to_thread(runner.invoke, app, ["fleet", "failsafes", spec])
        assert checked.exit_code == 0, checked.output
        assert "all failsafes on" in checked.output


def test_a_bad_connection_is_explained() -> None:
    result = runner.invoke(app, ["fleet", "watch", "pigeon:a:1", "--seconds", "1"])
    assert result.exit_code == 1
    assert "unknown kind" in result.output
