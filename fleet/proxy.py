"""A UDP impairment proxy for tests: loss, delay, jitter, duplication, reordering, cuts.

It sits between a vehicle and the ground station::

    vehicle ──▶ proxy.vehicle_port ──(impaired)──▶ ground station (upstream)
    vehicle ◀── (impaired) ◀── proxy's upstream socket ◀── ground station's replies

Both directions get the same :class:`Impairment` (change it any time; it applies to the
next datagram). Randomness comes from a seeded generator, so a test run is repeatable.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from skyeye.clock import Clock, WallClock

__all__ = ["Impairment", "ImpairmentProxy"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Impairment:
    loss_pct: float = 0.0
    delay_s: float = 0.0
    jitter_s: float = 0.0  # extra uniform 0..jitter_s delay per datagram
    duplicate_pct: float = 0.0
    reorder_pct: float = 0.0  # these datagrams are held back 2 × (delay + jitter) + 5 ms

    def __post_init__(self) -> None:
        for name in ("loss_pct", "duplicate_pct", "reorder_pct"):
            if not 0 <= getattr(self, name) <= 100:
                raise ValueError(f"{name} must be within 0..100")
        if self.delay_s < 0 or self.jitter_s < 0:
            raise ValueError("delay and jitter cannot be negative")


class _Side(asyncio.DatagramProtocol):
    def __init__(self, proxy: ImpairmentProxy, from_vehicle: bool) -> None:
        self._proxy = proxy
        self._from_vehicle = from_vehicle

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self._proxy._received(data, addr, self._from_vehicle)


class ImpairmentProxy:
    """``async with ImpairmentProxy(upstream=("127.0.0.1", gcs_port)) as proxy:``."""

    def __init__(
        self,
        *,
        upstream: tuple[str, int],
        impairment: Impairment | None = None,
        seed: int = 1,
        clock: Clock | None = None,
    ) -> None:
        self.upstream = upstream
        self.impairment = impairment or Impairment()
        self._random = random.Random(seed)
        self._clock = clock or WallClock()
        self._vehicle_side: asyncio.DatagramTransport | None = None
        self._gcs_side: asyncio.DatagramTransport | None = None
        self._vehicle_addr: tuple[str, int] | None = None
        self._cut_until = -1.0
        self._pending: set[asyncio.TimerHandle] = set()
        self.vehicle_port = 0
        self.forwarded = 0
        self.dropped = 0
        self.duplicated = 0

    async def __aenter__(self) -> ImpairmentProxy:
        loop = asyncio.get_running_loop()
        self._vehicle_side, _ = await loop.create_datagram_endpoint(
            lambda: _Side(self, True), local_addr=("127.0.0.1", 0)
        )
        self._gcs_side, _ = await loop.create_datagram_endpoint(
            lambda: _Side(self, False), remote_addr=self.upstream
        )
        self.vehicle_port = int(self._vehicle_side.get_extra_info("sockname")[1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for handle in self._pending:
            handle.cancel()
        self._pending.clear()
        for transport in (self._vehicle_side, self._gcs_side):
            if transport is not None:
                transport.close()

    def cut(self, duration_s: float) -> None:
        """Drop everything, both ways, for ``duration_s`` clock seconds from now."""
        self._cut_until = self._clock.monotonic() + duration_s

    def restore(self) -> None:
        self._cut_until = -1.0

    @property
    def is_cut(self) -> bool:
        return self._clock.monotonic() < self._cut_until

    def _received(self, data: bytes, addr: Any, from_vehicle: bool) -> None:
        if from_vehicle:
            self._vehicle_addr = (str(addr[0]), int(addr[1]))
        imp, rnd = self.impairment, self._random
        if self.is_cut or rnd.random() * 100 < imp.loss_pct:
            self.dropped += 1
            return
        copies = 2 if rnd.random() * 100 < imp.duplicate_pct else 1
        self.duplicated += copies - 1
        for _ in range(copies):
            delay = imp.delay_s + rnd.random() * imp.jitter_s
            if rnd.random() * 100 < imp.reorder_pct:
                delay += 2 * (imp.delay_s + imp.jitter_s) + 0.005
            self._later(delay / self._clock.speedup, data, from_vehicle)

    def _later(self, delay_s: float, data: bytes, from_vehicle: bool) -> None:
        if delay_s <= 0:
            self._deliver(data, from_vehicle, None)
            return
        loop = asyncio.get_running_loop()
        holder: list[asyncio.TimerHandle] = []
        handle = loop.call_later(delay_s, lambda: self._deliver(data, from_vehicle, holder[0]))
        holder.append(handle)
        self._pending.add(handle)

    def _deliver(self, data: bytes, from_vehicle: bool, handle: asyncio.TimerHandle | None) -> None:
        if handle is not None:
            self._pending.discard(handle)
        if self.is_cut:
            self.dropped += 1
            return
        if from_vehicle:
            if self._gcs_side is not None and not self._gcs_side.is_closing():
                self._gcs_side.sendto(data)
                self.forwarded += 1
        elif (
            self._vehicle_addr is not None
            and self._vehicle_side is not None
            and not self._vehicle_side.is_closing()
        ):
            self._vehicle_side.sendto(data, self._vehicle_addr)
            self.forwarded += 1
