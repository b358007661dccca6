"""``skyeye serve`` as a deployment runs it: its own process, an external Mosquitto, vehicles
over MAVLink TCP (``skyeye sim`` in another process), the secrets in the environment.

The administrator from ``SKYEYE_ADMIN_PASSWORD`` logs in over HTTP and sees the vehicles; a
camera publishes over WHIP with the token the configuration gave it; a token survives a
restart (the key comes from the configuration); Ctrl-C stops it cleanly.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from sim.camera import WhipAuthError
from sim.camera.whip import WhipPublisher
from skyeye.clock import WallClock
from tests.mosquitto import free_port
from tests.test_sim_camera_whip import POSE, _renderer

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "sim" / "scenarios" / "demo.yaml"
ADMIN_PASSWORD = "correct horse battery staple"
CAMERA = "mav-1"


def _free_tcp_pair() -> int:
    """A port P with P and P + 10 free (``skyeye sim`` puts vehicle i on P + 10·i)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as a, socket.socket() as b:
            try:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10))
            except OSError:
                continue
        return port
    raise RuntimeError("no two free ports ten apart")


@contextmanager
def simulator(vehicles: int) -> Iterator[int]:
    """``skyeye sim`` with ``vehicles`` copters on TCP; yields the first one's port."""
    port = _free_tcp_pair()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "skyeye",
            "sim",
            "--scenario",
            str(SCENARIO),
            "--vehicles",
            str(vehicles),
            "--tcp-base-port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _listening(port + 10 * (vehicles - 1)):
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "skyeye sim did not open its ports"
            time.sleep(0.2)
        yield port
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        finally:
            process.kill()
            process.communicate()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Serve:
    """One ``skyeye serve`` process; its output is kept for the assertions."""

    def __init__(self, config: Path, env: dict[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "skyeye", "serve", "--config", str(config)],
            cwd=cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []

    def wait_running(self, timeout_s: float = 120.0) -> None:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            if "is running" in line:
                return
        raise AssertionError("skyeye serve did not start:\n" + "".join(self.lines))

    def interrupt(self) -> tuple[int, str]:
        """Ctrl-C; the exit status and everything it printed."""
        self.process.send_signal(signal.SIGINT)
        try:
            rest, _ = self.process.communicate(timeout=20)
        finally:
            self.process.kill()
        return self.process.returncode, "".join(self.lines) + rest


def _config(tmp_path: Path, mqtt_url: str, first_port: int, console_port: int) -> Path:
    config = {
        "bus": {"url": mqtt_url},
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'skyeye.sqlite3'}"},
        "console": {"host": "127.0.0.1", "port": console_port},
        "fleet": {
            "connections": [f"tcp:127.0.0.1:{first_port}", f"tcp:127.0.0.1:{first_port + 10}"]
        },
        "area": {"centre_lat_deg": 52.0907, "centre_lon_deg": 5.1214},
    }
    path = tmp_path / "serve.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _log_in(client: httpx.Client) -> str:
    response = client.post(
        "/api/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _vehicles(client: httpx.Client, token: str, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 60
    while True:
        response = client.get("/api/vehicles", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        vehicles: list[dict[str, object]] = response.json()
        if len(vehicles) >= count or time.monotonic() > deadline:
            return vehicles
        time.sleep(0.5)


async def _publish(url: str, token: str, frames: int) -> int:
    """Stream from a camera over WHIP until ``frames`` frames went out; how many did."""
    enough = asyncio.Event()
    sent = 0

    def count(_: object) -> None:
        nonlocal sent
        sent += 1
        if sent >= frames:
            enough.set()

    async with WhipPublisher(
        _renderer(),
        lambda: POSE,
        url=url,
        token=token,
        clock=WallClock(),
        name=CAMERA,
        record=count,
    ) as camera:
        await camera.wait_streaming()
        async with asyncio.timeout(60):
            await enough.wait()
        return camera.frames_sent


def test_serve_with_mosquitto_and_simulated_vehicles(tmp_path: Path, mqtt_url: str) -> None:
    key = secrets.token_urlsafe(32)
    camera_token = secrets.token_urlsafe(24)
    view_token = secrets.token_urlsafe(24)
    env = {
        "SKYEYE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "SKYEYE_CONSOLE__TOKEN_SECRET": key,
        "SKYEYE_VISION__PUBLISH_TOKENS": f'{{"{CAMERA}": "{camera_token}"}}',
        "SKYEYE_VISION__VIEW_TOKEN": view_token,
    }
    console_port = free_port()
    base = f"http://127.0.0.1:{console_port}"
    with simulator(2) as first_port:
        config = _config(tmp_path, mqtt_url, first_port, console_port)
        serve = Serve(config, env, tmp_path)
        try:
            serve.wait_running()
            with httpx.Client(base_url=base, timeout=10) as client:
                token = _log_in(client)
                vehicles = _vehicles(client, token, 2)
                me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
                sent = asyncio.run(_publish(f"{base}/whip/{CAMERA}", camera_token, 20))
                feeds = client.get("/feeds", headers={"Authorization": f"Bearer {view_token}"})
                with pytest.raises(WhipAuthError):
                    asyncio.run(_publish(f"{base}/whip/{CAMERA}", "not-the-camera-token", 1))
        finally:
            status, output = serve.interrupt()
        # the same key after a restart: the token from before still works
        restarted = Serve(config, env, tmp_path)
        try:
            restarted.wait_running()
            with httpx.Client(base_url=base, timeout=10) as client:
                again = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        finally:
            restarted_status, restarted_output = restarted.interrupt()
    assert status == 0, output
    assert "Skyeye stopped." in output
    assert "Traceback" not in output
    assert sorted((v["vehicle_id"], v["system_id"]) for v in vehicles) == [
        ("mav-1", 1),
        ("mav-2", 2),
    ]
    assert me.json()["role"] == "admin"
    assert sent > 0
    (feed,) = [f for f in feeds.json() if f["vehicle_id"] == CAMERA]
    assert feed["frames_total"] > 0
    assert again.status_code == 200, again.text
    assert again.json()["username"] == "admin"
    assert restarted_status == 0, restarted_output
    assert "Traceback" not in restarted_output


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        (None, "skyeye serve needs console.token_secret"),
        ("0123456789", "console.token_secret: too weak (10 characters, 10 different)"),
        ("ab" * 20, "console.token_secret: too weak (40 characters, 2 different)"),
    ],
)
def test_serve_refuses_a_missing_or_weak_token_key_and_starts_nothing(
    tmp_path: Path, secret: str | None, says: str
) -> None:
    config = tmp_path / "serve.yaml"
    # a broker nobody listens on: refused before anything connects to it
    config.write_text(f"bus:\n  url: mqtt://127.0.0.1:{free_port()}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYEYE_")}
    if secret is not None:
        env["SKYEYE_CONSOLE__TOKEN_SECRET"] = secret
    result = subprocess.run(
        [sys.executable, "-m", "skyeye", "serve", "--config", str(config)],
        cwd=tmp_path,
        env={**env, "COLUMNS": "400"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert says in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "skyeye.sqlite3").exists()
