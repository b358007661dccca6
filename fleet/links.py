"""Byte links to vehicles on asyncio transports, with pymavlink as a pure decoder.

A connection string picks the link:

- ``udp:HOST:PORT`` (or ``udpin:``): listen; every source address is a peer, learnt from
  what it sends (one address may carry several system ids, e.g. a MAVLink router).
- ``udpout:HOST:PORT``: send to a fixed address from an ephemeral port.
- ``tcp:HOST:PORT``: connect as a client; reconnect with back-off whenever it drops.
- ``serial:DEVICE:BAUD``: a serial port, read by a thread (needs pyserial).

Each stream (UDP source address, TCP connection, serial port) has its own decoder, so
frames are reassembled per stream. Decoded messages go straight to ``on_message`` in the
transport callback: no queue between the socket and the state update.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from fleet.errors import ConnectionSpecError

__all__ = ["Link", "LinkKind", "LinkSpec", "MessageHandler", "Peer", "open_link", "parse_spec"]

_log = logging.getLogger(__name__)

Peer = tuple[str, int] | None
MessageHandler = Callable[["Link", Peer, Any], None]


class LinkKind(enum.StrEnum):
    UDP_IN = "udpin"
    UDP_OUT = "udpout"
    TCP = "tcp"
    SERIAL = "serial"


@dataclass(frozen=True, slots=True)
class LinkSpec:
    kind: LinkKind
    host: str
    port: int  # the baud rate for serial links

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.host}:{self.port}"


def parse_spec(spec: str) -> LinkSpec:
    """Parse ``udp:0.0.0.0:14550``, ``udpout:…``, ``tcp:host:port``, ``serial:/dev/x:57600``."""
    scheme, sep, rest = spec.partition(":")
    host, sep2, port_text = rest.rpartition(":")
    if not sep or not sep2 or not host:
        raise ConnectionSpecError(spec, "expected KIND:HOST:PORT (or serial:DEVICE:BAUD)")
    kinds = {"udp": LinkKind.UDP_IN, "udpin": LinkKind.UDP_IN}
    kinds |= {"udpout": LinkKind.UDP_OUT, "tcp": LinkKind.TCP, "serial": LinkKind.SERIAL}
    kind = kinds.get(scheme.lower())
    if kind is None:
        raise ConnectionSpecError(spec, f"unknown kind {scheme!r}; use {', '.join(kinds)}")
    if not port_text.isdigit():
        raise ConnectionSpecError(spec, f"{port_text!r} is not a number")
    port = int(port_text)
    if kind is LinkKind.SERIAL:
        if port not in {9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1500000}:
            raise ConnectionSpecError(spec, f"unsupported baud rate {port}")
    elif not 0 <= port <= 65535 or (port == 0 and kind is not LinkKind.UDP_IN):
        raise ConnectionSpecError(spec, f"port {port} is outside 1..65535")
    return LinkSpec(kind, host, port)


def _decoder() -> Any:
    decoder = mavlink.MAVLink(None)
    decoder.robust_parsing = True
    return decoder


class Link:
    """One open link. ``send`` never blocks; a closed or unconnected link drops and counts."""

    def __init__(self, spec: LinkSpec, on_message: MessageHandler) -> None:
        self.spec = spec
        self._on_message = on_message
        self._decoders: dict[Peer, Any] = {}
        self.default_peer: Peer = None
        self.bad_frames = 0
        self.dropped_sends = 0
        self.connects = 0  # times the link came up (TCP counts each reconnection)
        self.bytes_in = 0

    @property
    def has_default_peer(self) -> bool:
        """True when the link can send before hearing anything (udpout, tcp, serial)."""
        return self.spec.kind is not LinkKind.UDP_IN

    @property
    def local_port(self) -> int:
        return self.spec.port

    def send(self, data: bytes, peer: Peer) -> None:
        raise NotImplementedError

    async def run(self) -> None:
        """Keep the link up until cancelled (reconnects for TCP, reads for serial)."""
        await asyncio.Event().wait()

    def close(self) -> None:
        raise NotImplementedError

    def _feed(self, data: bytes, peer: Peer) -> None:
        self.bytes_in += len(data)
        decoder = self._decoders.get(peer)
        if decoder is None:
            decoder = self._decoders[peer] = _decoder()
        for message in decoder.parse_buffer(data) or ():
            if message._header.msgId < 0:  # BAD_DATA / UNKNOWN from robust parsing
                self.bad_frames += 1
                continue
            self._on_message(self, peer, message)

    def _reset_stream(self, peer: Peer) -> None:
        self._decoders.pop(peer, None)

    def __repr__(self) -> str:
        return f"<Link {self.spec}>"


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, link: UdpLink) -> None:
        self._link = link

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self._link._feed(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable while a udpout peer is not (yet) listening: nothing to do,
        # the heartbeat keeps trying and the link monitor reports the silence.
        _log.debug("%s: %s", self._link.spec, exc)


class UdpLink(Link):
    def __init__(self, spec: LinkSpec, on_message: MessageHandler) -> None:
        super().__init__(spec, on_message)
        self._transport: asyncio.DatagramTransport | None = None
        self._port = spec.port

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        if self.spec.kind is LinkKind.UDP_IN:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self), local_addr=(self.spec.host, self.spec.port)
            )
        else:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self), remote_addr=(self.spec.host, self.spec.port)
            )
            self.default_peer = (self.spec.host, self.spec.port)
        self._transport = transport
        self._port = int(transport.get_extra_info("sockname")[1])
        self.connects += 1

    @property
    def local_port(self) -> int:
        return self._port

    def send(self, data: bytes, peer: Peer) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            self.dropped_sends += 1
            return
        if self.spec.kind is LinkKind.UDP_OUT:
            transport.sendto(data)
        elif peer is not None:
            transport.sendto(data, peer)
        else:
            self.dropped_sends += 1

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class _Stream(asyncio.Protocol):
    def __init__(self, link: TcpLink) -> None:
        self._link = link
        self.closed = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self._link._feed(data, None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class TcpLink(Link):
    """TCP client that reconnects (0.1 s doubling to 2 s) whenever the connection drops."""

    def __init__(self, spec: LinkSpec, on_message: MessageHandler) -> None:
        super().__init__(spec, on_message)
        self._transport: asyncio.Transport | None = None

    async def open(self) -> None:
        """First connection attempt; failure is not fatal, ``run`` keeps trying."""
        with contextlib.suppress(OSError):
            await self._connect()

    async def _connect(self) -> _Stream:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_connection(
            lambda: _Stream(self), self.spec.host, self.spec.port
        )
        self._reset_stream(None)
        self._transport = transport
        self.connects += 1
        return protocol

    async def run(self) -> None:
        backoff_s = 0.1
        while True:
            transport = self._transport
            if transport is not None and not transport.is_closing():
                protocol = transport.get_protocol()
                assert isinstance(protocol, _Stream)
                await protocol.closed
                _log.info("%s: connection lost, reconnecting", self.spec)
                self._transport = None
                backoff_s = 0.1
            try:
                await self._connect()
            except OSError as exc:
                _log.debug("%s: connect failed: %s", self.spec, exc)
                await asyncio.sleep(backoff_s)
                backoff_s = min(2.0, backoff_s * 2)

    def send(self, data: bytes, peer: Peer) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            self.dropped_sends += 1
            return
        transport.write(data)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class SerialLink(Link):
    """A serial port read by a daemon thread; bytes are handed to the loop thread-safely."""

    def __init__(self, spec: LinkSpec, on_message: MessageHandler) -> None:
        super().__init__(spec, on_message)
        self._port: Any = None
        self._stop = threading.Event()

    async def open(self) -> None:
        try:
            import serial  # type: ignore[import-untyped]
        except ImportError as exc:
            raise ConnectionSpecError(str(self.spec), "pyserial is not installed") from exc
        try:
            self._port = await asyncio.to_thread(
                serial.Serial, self.spec.host, self.spec.port, timeout=0.1
            )
        except (OSError, serial.SerialException) as exc:
            raise ConnectionSpecError(str(self.spec), str(exc)) from exc

    async def run(self) -> None:
        loop = asyncio.get_running_loop()

        def read() -> None:
            while not self._stop.is_set():
                try:
                    data = self._port.read(4096)
                except Exception:  # the port vanished (USB unplugged): stop reading
                    _log.exception("%s: read failed", self.spec)
                    return
                if data:
                    loop.call_soon_threadsafe(self._feed, bytes(data), None)

        await asyncio.to_thread(read)

    def send(self, data: bytes, peer: Peer) -> None:
        if self._port is None:
            self.dropped_sends += 1
            return
        self._port.write(data)

    def close(self) -> None:
        self._stop.set()
        if self._port is not None:
            self._port.close()


async def open_link(spec: LinkSpec, on_message: MessageHandler) -> Link:
    link: UdpLink | TcpLink | SerialLink
    if spec.kind in (LinkKind.UDP_IN, LinkKind.UDP_OUT):
        link = UdpLink(spec, on_message)
    elif spec.kind is LinkKind.TCP:
        link = TcpLink(spec, on_message)
    else:
        link = SerialLink(spec, on_message)
    try:
        await link.open()
    except OSError as exc:
        raise ConnectionSpecError(str(spec), str(exc)) from exc
    return link
