"""The one clock domain code reads: wall time, or simulated time with a speed-up factor.

Domain code never calls ``time.time()``; it is handed a :class:`Clock`.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ScaledClock", "WallClock"]


class Clock(Protocol):
    """Time source. ``now`` is UTC, ``monotonic`` never goes backwards, both in clock seconds."""

    @property
    def speedup(self) -> float: ...

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class WallClock:
    """Real time."""

    @property
    def speedup(self) -> float:
        return 1.0

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Simulated time that runs ``speedup`` times faster than the wall clock.

    It starts at ``start`` (default: now) and advances ``speedup`` simulated seconds for
    every real second; ``sleep`` sleeps the matching shorter real time.
    """

    def __init__(self, speedup: float, *, start: datetime | None = None) -> None:
        if speedup <= 0:
            raise ValueError(f"speed-up must be positive, got {speedup}")
        if start is not None and start.tzinfo is None:
            raise ValueError("start must be timezone-aware (UTC)")
        self._speedup = speedup
        self._start = start or datetime.now(UTC)
        self._real0 = time.monotonic()

    @property
    def speedup(self) -> float:
        return self._speedup

    def monotonic(self) -> float:
        return (time.monotonic() - self._real0) * self._speedup

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.monotonic())

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self._speedup)
