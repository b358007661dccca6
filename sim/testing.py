"""A small asyncio MAVLink ground station for tests of the simulator (and anyone's tests).

It connects over TCP, decodes with pymavlink, keeps every message it received, and can drive
the simulator in lock-step while it waits for an answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.errors import SimError
from sim.simulator import Simulator

__all__ = ["MavClient", "mission_items"]

M = mavlink


class _Protocol(asyncio.Protocol):
    def __init__(self, client: MavClient) -> None:
        self.client = client

    def data_received(self, data: bytes) -> None:
        self.client._feed(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.client.connected = False


class MavClient:
    """A ground station (system 255 unless told otherwise) on one vehicle's TCP port."""

    def __init__(
        self,
        sim: Simulator,
        port: int,
        *,
        system_id: int = 255,
        component_id: int = 190,
        target_system: int = 1,
        signing_key: bytes | None = None,
    ) -> None:
        self.sim = sim
        self.port = port
        self.target_system = target_system
        self.mav = M.MAVLink(None, srcSystem=system_id, srcComponent=component_id)
        self.mav.robust_parsing = True
        if signing_key is not None:
            self.mav.signing.secret_key = signing_key
            self.mav.signing.sign_outgoing = True
            self.mav.signing.timestamp = int((time.time() - 1_420_070_400) * 100_000)
        self.received: list[Any] = []
        self._new = asyncio.Event()
        self._transport: asyncio.Transport | None = None
        self.connected = False
        self.last_index = 0

    async def __aenter__(self) -> MavClient:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_connection(lambda: _Protocol(self), "127.0.0.1", self.port)
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self.connected = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._transport is not None:
            self._transport.close()

    def _feed(self, data: bytes) -> None:
        for m in self.mav.parse_buffer(data) or []:
            if m.get_type() != "BAD_DATA":
                self.received.append(m)
        self._new.set()

    def send(self, msg: Any) -> None:
        assert self._transport is not None
        self._transport.write(msg.pack(self.mav))
        self.mav.seq = (self.mav.seq + 1) & 0xFF

    def send_raw(self, data: bytes) -> None:
        assert self._transport is not None
        self._transport.write(data)

    def heartbeat(self) -> None:
        self.send(M.MAVLink_heartbeat_message(M.MAV_TYPE_GCS, M.MAV_AUTOPILOT_INVALID, 0, 0, 0, 3))

    async def wait(
        self,
        msg_type: str | tuple[str, ...],
        condition: Callable[[Any], bool] = lambda _m: True,
        *,
        timeout_s: float = 10.0,
        since: int = 0,
    ) -> Any:
        """The first message of ``msg_type`` (received after index ``since``) meeting
        ``condition``; ``timeout_s`` is simulated seconds in lock-step, wall seconds otherwise."""
        start_sim = self.sim.time_s
        start_wall = time.monotonic()
        index = since
        types = (msg_type,) if isinstance(msg_type, str) else msg_type
        while True:
            while index < len(self.received):
                m = self.received[index]
                index += 1
                if m.get_type() in types and condition(m):
                    self.last_index = index
                    return m
            if self.sim.lockstep:
                if self.sim.time_s - start_sim > timeout_s:
                    raise SimError(f"no {msg_type} within {timeout_s} simulated s")
                await self.sim.step(self.sim.tick_s)
                await asyncio.sleep(0)
            else:
                left = timeout_s - (time.monotonic() - start_wall)
                if left <= 0:
                    raise SimError(f"no {msg_type} within {timeout_s} s")
                self._new.clear()
                try:
                    await asyncio.wait_for(self._new.wait(), left)
                except TimeoutError:
                    continue

    async def command(self, command: int, *params: float, timeout_s: float = 5.0) -> int:
        """COMMAND_LONG; the MAV_RESULT of its COMMAND_ACK."""
        p = [*params, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0][:7]
        mark = len(self.received)
        self.send(M.MAVLink_command_long_message(self.target_system, 1, command, 0, *p))
        ack = await self.wait(
            "COMMAND_ACK", lambda m: m.command == command, timeout_s=timeout_s, since=mark
        )
        return int(ack.result)

    async def command_int(
        self,
        command: int,
        *,
        params: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0),
        lat_deg: float = 0.0,
        lon_deg: float = 0.0,
        alt_m: float = 0.0,
        frame: int = M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
        timeout_s: float = 5.0,
    ) -> int:
        mark = len(self.received)
        self.send(
            M.MAVLink_command_int_message(
                self.target_system,
                1,
                frame,
                command,
                0,
                0,
                *params,
                round(lat_deg * 1e7),
                round(lon_deg * 1e7),
                alt_m,
            )
        )
        ack = await self.wait(
            "COMMAND_ACK", lambda m: m.command == command, timeout_s=timeout_s, since=mark
        )
        return int(ack.result)

    async def set_mode(self, mode: int) -> int:
        return await self.command(
            M.MAV_CMD_DO_SET_MODE, M.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, float(mode)
        )

    async def upload(self, items: list[Any], mission_type: int = 0, timeout_s: float = 30) -> int:
        """Upload MISSION_ITEM_INT messages; the MAV_MISSION_RESULT of the final MISSION_ACK."""
        mark = len(self.received)
        self.send(M.MAVLink_mission_count_message(self.target_system, 1, len(items), mission_type))
        while True:
            m = await self.wait(
                ("MISSION_REQUEST_INT", "MISSION_ACK"), since=mark, timeout_s=timeout_s
            )
            mark = self.last_index
            if m.get_type() == "MISSION_ACK":
                return int(m.type)
            self.send(items[m.seq])

    async def param(self, name: str, timeout_s: float = 5.0) -> float:
        mark = len(self.received)
        self.send(M.MAVLink_param_request_read_message(self.target_system, 1, name.encode(), -1))
        m = await self.wait(
            "PARAM_VALUE", lambda m: m.param_id == name, since=mark, timeout_s=timeout_s
        )
        return float(m.param_value)

    async def set_param(
        self, name: str, value: float, param_type: int, timeout_s: float = 5.0
    ) -> float:
        mark = len(self.received)
        self.send(
            M.MAVLink_param_set_message(self.target_system, 1, name.encode(), value, param_type)
        )
        m = await self.wait(
            "PARAM_VALUE", lambda m: m.param_id == name, since=mark, timeout_s=timeout_s
        )
        return float(m.param_value)

    def texts(self) -> list[str]:
        return [m.text for m in self.received if m.get_type() == "STATUSTEXT"]


def mission_items(
    target_system: int,
    waypoints: list[tuple[float, float, float]],
    *,
    takeoff_alt_m: float = 30.0,
    rtl: bool = True,
) -> list[Any]:
    """A mission as MISSION_ITEM_INT messages: home placeholder, takeoff, waypoints, RTL."""
    frame = M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT
    raw: list[tuple[int, int, float, float, float]] = [
        (M.MAV_CMD_NAV_WAYPOINT, 0, 0.0, 0.0, 0.0),
        (M.MAV_CMD_NAV_TAKEOFF, frame, 0.0, 0.0, takeoff_alt_m),
    ]
    raw += [(M.MAV_CMD_NAV_WAYPOINT, frame, lat, lon, alt) for lat, lon, alt in waypoints]
    if rtl:
        raw.append((M.MAV_CMD_NAV_RETURN_TO_LAUNCH, frame, 0.0, 0.0, 0.0))
    return [
        M.MAVLink_mission_item_int_message(
            target_system,
            1,
            seq,
            fr,
            cmd,
            0,
            1,
            0.0,
            0.0,
            0.0,
            0.0,
            round(lat * 1e7),
            round(lon * 1e7),
            alt,
            0,
        )
        for seq, (cmd, fr, lat, lon, alt) in enumerate(raw)
    ]
