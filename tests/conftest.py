"""Shared fixtures: a fresh real Mosquitto per test (nothing shared between tests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mosquitto import MosquittoServer


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoServer]:
    """A running Mosquitto on a free loopback port, stopped after the test."""
    server = MosquittoServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mqtt_url(mosquitto: MosquittoServer) -> str:
    """URL of a fresh Mosquitto broker for this test only."""
    return mosquitto.url
