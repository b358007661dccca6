"""What the protocol modules (commands, missions, parameters) need from a vehicle.

An :class:`Inbox` collects the messages of a few ids from one vehicle while a protocol
exchange waits on them; the vehicle wakes every inbox with :data:`LINK_LOST` when the link
goes down so that nothing hangs on a silent vehicle.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any, Protocol

from fleet.errors import LinkDown
from fleet.settings import FleetSettings
from fleet.telemetry import Telemetry
from skyeye.clock import Clock

__all__ = ["LINK_LOST", "Inbox", "Port"]

LINK_LOST = object()


class Inbox:
    def __init__(self, port: Port, what: str) -> None:
        self._port = port
        self._what = what
        self._queue: asyncio.Queue[Any] = asyncio.Queue()

    def put(self, message: Any) -> None:
        self._queue.put_nowait(message)

    async def get(self, timeout_s: float) -> Any | None:
        """The next message, or None after ``timeout_s`` wall seconds; LinkDown if lost."""
        try:
            async with asyncio.timeout(max(0.0, timeout_s)):
                message = await self._queue.get()
        except TimeoutError:
            return None
        if message is LINK_LOST:
            raise self._port.link_down(self._what)
        return message


class Port(Protocol):
    @property
    def vehicle_id(self) -> str: ...

    @property
    def system_id(self) -> int: ...

    @property
    def component_id(self) -> int: ...

    @property
    def settings(self) -> FleetSettings: ...

    @property
    def clock(self) -> Clock: ...

    def link_time(self) -> float: ...

    @property
    def telemetry(self) -> Telemetry: ...

    @property
    def encoder(self) -> Any: ...

    @property
    def rtt_s(self) -> float | None: ...

    def link_down(self, what: str) -> LinkDown: ...

    def signing_hint(self) -> str: ...

    def send(self, message: Any) -> None: ...

    def require_link(self, what: str) -> None: ...

    def watch(self, what: str, *msg_ids: int) -> contextlib.AbstractContextManager[Inbox]: ...


@contextlib.contextmanager
def watching(
    registry: dict[int, list[Inbox]], inbox: Inbox, msg_ids: tuple[int, ...]
) -> Iterator[Inbox]:
    for msg_id in msg_ids:
        registry.setdefault(msg_id, []).append(inbox)
    try:
        yield inbox
    finally:
        for msg_id in msg_ids:
            inboxes = registry[msg_id]
            inboxes.remove(inbox)
            if not inboxes:
                del registry[msg_id]
