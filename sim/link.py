"""A vehicle's MAVLink endpoints: a TCP server (as ArduPilot SITL's SERIAL0) and a UDP output.

Every connection has its own decoder (and signing state); what the vehicle sends goes to all
of them. :class:`LinkFaults` lets tests drop, delay, duplicate or reorder packets, or cut the
link for a while, in both directions.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.errors import SimPortError
from sim.vehicle import SimVehicle

__all__ = ["LinkFaults", "VehicleEndpoint", "split_frames"]

M = mavlink
_log = logging.getLogger(__name__)
_MAX_TCP_BUFFER = 1 << 20
_MAX_DATAGRAM = 1400
_UNSIGNED_ALLOWED = frozenset({M.MAVLINK_MSG_ID_RADIO_STATUS})


@dataclass
class LinkFaults:
    """Faults applied to every packet on a vehicle's links (both directions).

    Probabilities are per MAVLink packet; ``delay_s`` is wall-clock seconds; a cut link passes
    nothing until ``cut_until`` (``time.monotonic()`` seconds).
    """

    drop: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    delay_s: float = 0.0
    cut_until: float = 0.0
    seed: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)
    dropped: int = 0

    def __post_init__(self) -> None:
        self.rng.seed(self.seed)

    @property
    def active(self) -> bool:
        return bool(self.drop or self.duplicate or self.reorder or self.delay_s or self.is_cut)

    @property
    def is_cut(self) -> bool:
        return time.monotonic() < self.cut_until

    def cut(self, seconds: float) -> None:
        """Pass nothing either way for ``seconds`` of wall-clock time."""
        self.cut_until = time.monotonic() + seconds

    def clear(self) -> None:
        self.drop = self.duplicate = self.reorder = self.delay_s = 0.0
        self.cut_until = 0.0

    def apply(self, packets: list[bytes]) -> list[bytes]:
        """The packets that get through, in the order they go (delay is the caller's)."""
        if self.is_cut:
            self.dropped += len(packets)
            return []
        out: list[bytes] = []
        held: bytes | None = None
        for p in packets:
            if self.drop and self.rng.random() < self.drop:
                self.dropped += 1
                continue
            if self.reorder and held is None and self.rng.random() < self.reorder:
                held = p
                continue
            out.append(p)
            if self.duplicate and self.rng.random() < self.duplicate:
                out.append(p)
            if held is not None:
                out.append(held)
                held = None
        if held is not None:
            out.append(held)
        return out


def split_frames(data: bytes) -> list[bytes]:
    """Split a byte string of well-formed MAVLink 1/2 frames (our own output) into packets."""
    out: list[bytes] = []
    i, n = 0, len(data)
    while i < n:
        magic = data[i]
        if magic == 0xFD:
            length = 12 + data[i + 1] + (13 if data[i + 2] & 1 else 0)
        else:
            length = 8 + data[i + 1]
        out.append(data[i : i + length])
        i += length
    return out


class _Decoder:
    """One connection's MAVLink parser, with the vehicle's signing rules."""

    def __init__(self, signing_key: bytes | None) -> None:
        self.mav = M.MAVLink(None)
        self.mav.robust_parsing = True
        if signing_key is not None:
            self.mav.signing.secret_key = signing_key
            self.mav.signing.allow_unsigned_callback = lambda _mav, msg_id: (
                msg_id in _UNSIGNED_ALLOWED
            )
        self.rejected = 0

    def feed(self, data: bytes) -> list[Any]:
        try:
            msgs = self.mav.parse_buffer(data) or []
        except Exception:  # a malformed frame must never take the vehicle down
            self.rejected += 1
            self.mav.buf = bytearray()
            self.mav.buf_index = 0
            self.mav.expected_length = M.HEADER_LEN_V1 + 2
            return []
        good = []
        for m in msgs:
            if m.get_type() == "BAD_DATA":
                self.rejected += 1
            else:
                good.append(m)
        return good


class _TcpConnection(asyncio.Protocol):
    def __init__(self, endpoint: VehicleEndpoint) -> None:
        self.endpoint = endpoint
        self.decoder = _Decoder(endpoint.vehicle_signing_key)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=_MAX_TCP_BUFFER)
        self.endpoint.tcp_clients.add(self)
        _log.info("%s: TCP client connected", self.endpoint.vehicle.vehicle_id)

    def connection_lost(self, exc: Exception | None) -> None:
        self.endpoint.tcp_clients.discard(self)
        self.endpoint.rejected_before += self.decoder.rejected

    def data_received(self, data: bytes) -> None:
        self.endpoint.receive(self.decoder, data)

    def write(self, data: bytes) -> None:
        t = self.transport
        if t is None or t.is_closing():
            return
        if t.get_write_buffer_size() > _MAX_TCP_BUFFER:
            return  # a reader that does not read loses telemetry, as on a full serial link
        t.write(data)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, endpoint: VehicleEndpoint) -> None:
        self.endpoint = endpoint
        self.decoder = _Decoder(endpoint.vehicle_signing_key)
        self.transport: asyncio.DatagramTransport | None = None
        self.peer: tuple[str, int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Python 3.11's selector datagram transport does not subclass DatagramTransport
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.peer = (str(addr[0]), int(addr[1]))
        self.endpoint.receive(self.decoder, data)

    def error_received(self, exc: Exception) -> None:
        _log.debug("%s: UDP error %s", self.endpoint.vehicle.vehicle_id, exc)


class VehicleEndpoint:
    """The sockets of one vehicle. Opened by :meth:`open`, closed by :meth:`close`."""

    def __init__(
        self,
        vehicle: SimVehicle,
        *,
        host: str,
        tcp_port: int | None,
        gcs_udp: tuple[str, int] | None,
        signing_key: bytes | None,
        on_receive: Callable[[], None] | None = None,
    ) -> None:
        self.vehicle = vehicle
        self.host = host
        self.requested_tcp_port = tcp_port
        self.gcs_udp = gcs_udp
        self.vehicle_signing_key = signing_key
        self.faults = LinkFaults(seed=vehicle.system_id)
        self.tcp_clients: set[_TcpConnection] = set()
        self._server: asyncio.Server | None = None
        self._udp: _Udp | None = None
        self.tcp_port: int | None = None
        self.udp_port: int | None = None
        self.received = 0
        self.rejected_before = 0
        self._on_receive = on_receive
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def rejected(self) -> int:
        n = sum(c.decoder.rejected for c in self.tcp_clients) + self.rejected_before
        return n + (self._udp.decoder.rejected if self._udp else 0)

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        vid = self.vehicle.vehicle_id
        if self.requested_tcp_port is not None:
            try:
                self._server = await loop.create_server(
                    lambda: _TcpConnection(self), self.host, self.requested_tcp_port
                )
            except OSError as exc:
                raise SimPortError(
                    f"vehicle {vid}: cannot listen on TCP {self.host}:{self.requested_tcp_port}"
                    f": {exc.strerror}",
                    vehicle_id=vid,
                    port=self.requested_tcp_port,
                ) from None
            self.tcp_port = int(self._server.sockets[0].getsockname()[1])
        if self.gcs_udp is not None:
            try:
                _, proto = await loop.create_datagram_endpoint(
                    lambda: _Udp(self), local_addr=(self.host, 0)
                )
            except OSError as exc:
                raise SimPortError(
                    f"vehicle {vid}: cannot open UDP: {exc.strerror}",
                    vehicle_id=vid,
                    port=self.gcs_udp[1],
                ) from None
            self._udp = proto
            assert proto.transport is not None
            self.udp_port = int(proto.transport.get_extra_info("sockname")[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for c in list(self.tcp_clients):
                if c.transport is not None:
                    c.transport.close()
            await self._server.wait_closed()
            self._server = None
        if self._udp is not None and self._udp.transport is not None:
            self._udp.transport.close()
            self._udp = None

    def receive(self, decoder: _Decoder, data: bytes) -> None:
        faults = self.faults
        msgs = decoder.feed(data)
        if (
            faults.active
            and msgs
            and (faults.is_cut or (faults.drop and faults.rng.random() < faults.drop))
        ):
            faults.dropped += len(msgs)
            return
        vehicle = self.vehicle
        for m in msgs:
            self.received += 1
            vehicle.handle(m)
        if msgs:
            self.send(vehicle.take_output())
            if self._on_receive is not None:
                self._on_receive()

    def send(self, data: bytes) -> None:
        """Send the vehicle's output to every connected client and the UDP output."""
        if not data:
            return
        faults = self.faults
        if faults.active:
            packets = faults.apply(split_frames(data))
            if not packets:
                return
            if faults.delay_s > 0 and self._loop is not None:
                payload = b"".join(packets)
                self._loop.call_later(faults.delay_s, self._write, payload)
                return
            data = b"".join(packets)
        self._write(data)

    def _write(self, data: bytes) -> None:
        for c in self.tcp_clients:
            c.write(data)
        udp = self._udp
        if udp is not None and udp.transport is not None and not udp.transport.is_closing():
            targets = {self.gcs_udp} if self.gcs_udp else set()
            if udp.peer is not None:
                targets.add(udp.peer)
            chunks = [data] if len(data) <= _MAX_DATAGRAM else _chunks(data)
            for addr in targets:
                for chunk in chunks:
                    udp.transport.sendto(chunk, addr)


def _chunks(data: bytes) -> list[bytes]:
    out: list[bytes] = []
    cur = bytearray()
    for p in split_frames(data):
        if len(cur) + len(p) > _MAX_DATAGRAM and cur:
            out.append(bytes(cur))
            cur = bytearray()
        cur += p
    if cur:
        out.append(bytes(cur))
    return out
