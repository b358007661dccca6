"""A small asyncio MAVLink ground station for the simulator's tests and bench.

It is deliberately plain (no retries beyond what a caller asks for) so that tests see what
the vehicle does::

    async with MiniGcs.tcp("127.0.0.1", sim.tcp_port("drone-1")) as gcs:
        await gcs.wait_for("HEARTBEAT")
        ack = await gcs.command(mavlink.MAV_CMD_COMPONENT_ARM_DISARM, 1)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.errors import SimError

__all__ = ["GcsTimeout", "MiniGcs"]

M = mavlink
_log = logging.getLogger(__name__)


class GcsTimeout(SimError):
    """The vehicle did not answer the test ground station in time."""


class MiniGcs:
    """One TCP connection to a vehicle, with a heartbeat task and a message log to wait on."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        system_id: int = 255,
        target_system: int = 1,
        heartbeat_s: float | None = 1.0,
        signing_key: bytes | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.target_system = target_system
        self.heartbeat_s = heartbeat_s
        self.mav = M.MAVLink(None, srcSystem=system_id, srcComponent=190)
        self.mav.robust_parsing = True
        if signing_key is not None:
            self.mav.signing.secret_key = signing_key
            self.mav.signing.link_id = 1
            self.mav.signing.sign_outgoing = True
            self.mav.signing.allow_unsigned_callback = lambda _mav, _msg_id: False
        self.received: deque[Any] = deque(maxlen=20_000)
        self.counts: dict[str, int] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._changed = asyncio.Event()
        self.silent = False

    @classmethod
    def tcp(cls, host: str, port: int, **kwargs: Any) -> MiniGcs:
        return cls(host, port, **kwargs)

    async def __aenter__(self) -> MiniGcs:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        self._tasks = [self._tg.create_task(self._read(), name="sim.gcs.read")]
        if self.heartbeat_s is not None:
            self._tasks.append(
                self._tg.create_task(self._heartbeats(self.heartbeat_s), name="sim.gcs.heartbeat")
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._tg is not None
        assert self._writer is not None
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()
        for task in self._tasks:
            task.cancel()
        await self._tg.__aexit__(None, None, None)

    async def _read(self) -> None:
        assert self._reader is not None
        while True:
            data = await self._reader.read(65536)
            if not data:
                return
            for msg in self.mav.parse_buffer(data) or []:
                name = msg.get_type()
                if name == "BAD_DATA":
                    continue
                self.received.append(msg)
                self.counts[name] = self.counts.get(name, 0) + 1
            self._changed.set()

    async def _heartbeats(self, period_s: float) -> None:
        while True:
            if not self.silent:
                self.send(
                    self.mav.heartbeat_encode(M.MAV_TYPE_GCS, M.MAV_AUTOPILOT_INVALID, 0, 0, 0)
                )
            await asyncio.sleep(period_s)

    def send(self, msg: Any) -> None:
        assert self._writer is not None
        self._writer.write(msg.pack(self.mav))

    def send_raw(self, data: bytes) -> None:
        assert self._writer is not None
        self._writer.write(data)

    async def wait_for(
        self,
        name: str,
        predicate: Callable[[Any], bool] = lambda _m: True,
        *,
        timeout_s: float = 10.0,
        since: int | None = None,
    ) -> Any:
        """The first message ``name`` (``"*"``: any) after ``since`` messages for which
        ``predicate`` holds."""
        start = len(self.received) if since is None else since
        seen = start

        async def find() -> Any:
            nonlocal seen
            while True:
                items = list(self.received)
                for msg in items[seen:]:
                    if (name == "*" or msg.get_type() == name) and predicate(msg):
                        return msg
                seen = len(items)
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(find(), timeout_s)
        except TimeoutError:
            raise GcsTimeout(f"no {name} within {timeout_s} s") from None

    def mark(self) -> int:
        return len(self.received)

    async def command(
        self,
        command: int,
        *params: float,
        timeout_s: float = 5.0,
        use_int: bool = False,
        frame: int = M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
    ) -> int:
        """Send COMMAND_LONG (or COMMAND_INT) and return the COMMAND_ACK result."""
        p = [*params, *([0.0] * (7 - len(params)))]
        since = self.mark()
        if use_int:
            msg = self.mav.command_int_encode(
                self.target_system, 1, frame, command, 0, 0, *p[:4], int(p[4]), int(p[5]), p[6]
            )
        else:
            msg = self.mav.command_long_encode(self.target_system, 1, command, 0, *p)
        self.send(msg)
        ack = await self.wait_for(
            "COMMAND_ACK", lambda m: m.command == command, timeout_s=timeout_s, since=since
        )
        return int(ack.result)

    async def set_mode(self, mode: int) -> int:
        return await self.command(
            M.MAV_CMD_DO_SET_MODE, M.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, float(mode)
        )

    async def set_param(self, name: str, value: float, *, timeout_s: float = 5.0) -> float:
        since = self.mark()
        self.send(
            self.mav.param_set_encode(
                self.target_system, 1, name.encode(), value, M.MAV_PARAM_TYPE_REAL32
            )
        )
        msg = await self.wait_for(
            "PARAM_VALUE", lambda m: m.param_id == name, timeout_s=timeout_s, since=since
        )
        return float(msg.param_value)

    async def upload(
        self,
        items: Sequence[Any],
        *,
        mission_type: int = M.MAV_MISSION_TYPE_MISSION,
        timeout_s: float = 10.0,
    ) -> int:
        """Upload MISSION_ITEM_INT messages (seq set by the caller); the MISSION_ACK type."""
        since = self.mark()
        self.send(self.mav.mission_count_encode(self.target_system, 1, len(items), mission_type))
        while True:
            msg = await self.wait_for(
                "*",
                lambda m: (
                    m.get_type() in ("MISSION_REQUEST_INT", "MISSION_ACK")
                    and m.mission_type == mission_type
                ),
                timeout_s=timeout_s,
                since=since,
            )
            since = self.mark()
            if msg.get_type() == "MISSION_ACK":
                return int(msg.type)
            self.send(items[int(msg.seq)])

    def item(
        self,
        seq: int,
        command: int,
        lat_deg: float = 0.0,
        lon_deg: float = 0.0,
        alt_m: float = 0.0,
        *params: float,
        mission_type: int = M.MAV_MISSION_TYPE_MISSION,
        frame: int = M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
    ) -> Any:
        """A MISSION_ITEM_INT for this vehicle."""
        p = [*params, *([0.0] * (4 - len(params)))]
        return self.mav.mission_item_int_encode(
            self.target_system,
            1,
            seq,
            frame,
            command,
            0,
            1,
            *p[:4],
            round(lat_deg * 1e7),
            round(lon_deg * 1e7),
            alt_m,
            mission_type,
        )
