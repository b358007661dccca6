"""The embedded MQTT broker (amqtt), for the demo and for single-machine set-ups.

``async with EmbeddedBroker(port=0) as broker:`` binds a free port (or the one given,
failing with :class:`BrokerPortInUseError` naming it when taken) and serves MQTT 3.1.1
until the block ends. For production and for MQTT 5 features (shared subscriptions,
session expiry) point the bus at Mosquitto or EMQX instead.
"""

from __future__ import annotations

import enum
import logging
import socket
from types import TracebackType
from typing import Self

from amqtt.broker import Broker

from skyeye.errors import BrokerError, BrokerPortInUseError

__all__ = ["EmbeddedBroker", "free_port"]

logger = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


class _State(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    CLOSED = "closed"


class EmbeddedBroker:
    """An in-process amqtt broker bound to ``host:port`` (``port=0``: a free one)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._broker: Broker | None = None
        self._state = _State.NEW

    @property
    def port(self) -> int:
        if self._port is None:
            raise BrokerError("the embedded broker has not been started")
        return self._port

    @property
    def url(self) -> str:
        return f"mqtt://{self._host}:{self.port}"

    async def __aenter__(self) -> Self:
        if self._state is not _State.NEW:
            raise BrokerError(
                f"an embedded broker cannot be started twice (it is {self._state.value})"
            )
        port = self._requested_port or free_port(self._host)
        if _port_in_use(self._host, port):
            raise BrokerPortInUseError(self._host, port)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self._host}:{port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
        broker = Broker(config)
        try:
            await broker.start()
        except Exception as exc:
            raise BrokerError(
                f"the embedded broker failed to start on {self._host}:{port}: {exc}"
            ) from exc
        self._broker = broker
        self._port = port
        self._state = _State.RUNNING
        logger.info("embedded MQTT broker listening on %s:%d", self._host, port)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop serving; harmless when already closed."""
        if self._state is not _State.RUNNING or self._broker is None:
            self._state = _State.CLOSED
            return
        self._state = _State.CLOSED
        await self._broker.shutdown()
        logger.info("embedded MQTT broker on port %s stopped", self._port)
