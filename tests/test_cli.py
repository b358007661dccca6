"""The command line as a user meets it: config check, demo start and Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skyeye.cli import app
from skyeye.config import load_config
from skyeye.errors import ConfigError

runner = CliRunner()


def test_config_check_accepts_a_valid_file(tmp_path: Path) -> None:
    file = tmp_path / "ok.yaml"
    file.write_text("bus:\n  url: mqtt://127.0.0.1:1883\nconsole:\n  port: 8100\n")
    result = runner.invoke(app, ["config", "check", str(file)])
    assert result.exit_code == 0, result.output
    assert "is valid" in result.output
    assert "mqtt://127.0.0.1:1883" in result.output


def test_config_check_names_the_unknown_key_and_its_line(tmp_path: Path) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text("bus:\n  url: mqtt://127.0.0.1:1883\n  pasword: x\nconsole:\n  port: 99999\n")
    with pytest.raises(ConfigError) as info:
        load_config(file)
    message = str(info.value)
    assert "bus.pasword (line 3): unknown key" in message
    assert "console.port (line 5)" in message
    result = runner.invoke(app, ["config", "check", str(file)])
    assert result.exit_code == 1


def test_config_rejects_non_mapping_and_bad_yaml(tmp_path: Path) -> None:
    file = tmp_path / "list.yaml"
    file.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping of sections"):
        load_config(file)
    file.write_text("bus: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(file)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_environment_overrides_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "c.yaml"
    file.write_text("bus:\n  url: mqtt://broker:1883\n  username: ops\n")
    monkeypatch.setenv("SKYEYE_BUS__PASSWORD", "s3cret")
    config = load_config(file)
    assert config.bus.password is not None
    assert config.bus.password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(config)


def test_help_reads_well() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "serve", "config"):
        assert command in result.output


def _start_demo(tmp_path: Path) -> tuple[subprocess.Popen[str], list[str]]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "skyeye", "demo", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "is running" in line:
            break
    assert any("is running" in line for line in lines), "".join(lines)
    time.sleep(0.5)
    return process, lines


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_demo_starts_and_stops_cleanly_on_a_signal(tmp_path: Path, signum: int) -> None:
    process, lines = _start_demo(tmp_path)
    process.send_signal(signum)
    try:
        rest, _ = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0, "".join(lines) + rest
    assert "Skyeye stopped." in rest
    assert "Traceback" not in rest


def test_a_second_ctrl_c_while_stopping_leaves_at_once(tmp_path: Path) -> None:
    process, lines = _start_demo(tmp_path)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    try:
        rest, _ = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode in (0, 130), "".join(lines) + rest  # 0: stopped before the 2nd
    assert "Traceback" not in rest
    if process.returncode == 130:
        assert "stopping at once" in rest


def test_demo_with_a_bad_config_says_why_and_starts_nothing(tmp_path: Path) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text("bus:\n  ulr: mqtt://127.0.0.1:1883\n")
    result = runner.invoke(app, ["demo", "--config", str(file)])
    assert result.exit_code == 1
    assert "bus.ulr (line 2): unknown key" in result.output
