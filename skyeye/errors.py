"""Errors of the shell.

::

    SkyeyeError
    ├── ConfigError                 a configuration file or value is invalid
    ├── BrokerError
    │   └── BrokerPortInUseError    the embedded broker's port belongs to someone else
    └── BusError
        ├── BusConnectError         the broker could not be reached in time
        ├── BusClosedError          the bus was used outside its ``async with`` block
        └── BusOutboxFullError      the broker is away and the outbox is full
"""

from __future__ import annotations

__all__ = [
    "BrokerError",
    "BrokerPortInUseError",
    "BusClosedError",
    "BusConnectError",
    "BusError",
    "BusOutboxFullError",
    "ConfigError",
    "SkyeyeError",
]


class SkyeyeError(Exception):
    """Base of every error raised by Skyeye's shell."""


class ConfigError(SkyeyeError):
    """A configuration file or value is invalid; the message names the key path and line."""


class BrokerError(SkyeyeError):
    """The embedded broker could not be started or stopped."""


class BrokerPortInUseError(BrokerError):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(
            f"cannot start the embedded MQTT broker: {host}:{port} is already in use "
            f"(another broker, such as a system Mosquitto, may own it); "
            f"set bus.embedded_port to a free port or 0 to pick one"
        )
        self.host = host
        self.port = port


class BusError(SkyeyeError):
    """The message bus failed."""


class BusConnectError(BusError):
    def __init__(self, url: str, timeout_s: float, reason: str) -> None:
        super().__init__(
            f"could not reach the MQTT broker at {url} within {timeout_s:g} s: {reason}"
        )
        self.url = url
        self.timeout_s = timeout_s


class BusClosedError(BusError):
    def __init__(self, action: str) -> None:
        super().__init__(
            f"cannot {action}: the bus is not open (use it inside `async with Bus(...)`)"
        )


class BusOutboxFullError(BusError):
    def __init__(self, topic: str, limit: int) -> None:
        super().__init__(
            f"cannot queue a message for {topic}: the broker is unreachable and the outbox "
            f"already holds {limit} messages"
        )
        self.topic = topic
        self.limit = limit
