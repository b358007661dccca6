"""MAVLink 2 signing: keys per vehicle, timestamps that never go backwards, checks on receipt.

Timestamps are in 10 µs units since 2015-01-01 UTC. :class:`TimestampStore` starts from the
larger of the wall clock and the last value it saved (plus a margin covering what may have
been used after that save), so restarting the controller never reuses a timestamp a
vehicle has already seen. Keys are held as bytes and never formatted into logs or reprs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import struct
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fleet.errors import SigningError
from skyeye.clock import Clock

__all__ = ["SigningKey", "TimestampStore", "signing_timestamp"]

_log = logging.getLogger(__name__)
_EPOCH = datetime(2015, 1, 1, tzinfo=UTC)
_MARGIN = 2 * 100_000  # 2 s in signing units, beyond the last saved value
_SIGNED = 0x01  # MAVLINK_IFLAG_SIGNED


def signing_timestamp(now: datetime) -> int:
    return int((now - _EPOCH).total_seconds() * 100_000)


class SigningKey:
    """A 32-byte secret; its repr and str never show it."""

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32:
            raise SigningError(f"a MAVLink signing key is 32 bytes, got {len(secret)}")
        self._secret = bytes(secret)

    @classmethod
    def from_hex(cls, text: str) -> SigningKey:
        try:
            return cls(bytes.fromhex(text))
        except ValueError as exc:
            raise SigningError("a signing key must be 64 hex digits") from exc

    @property
    def secret(self) -> bytes:
        return self._secret

    def __repr__(self) -> str:
        return "SigningKey(<hidden>)"

    __str__ = __repr__

    def verify(self, message: Any, last_timestamps: dict[tuple[int, int], int]) -> bool:
        """True when ``message`` is signed with this key and its timestamp moves forward."""
        if not message._header.incompat_flags & _SIGNED:
            return False
        buf = message._msgbuf
        if hashlib.sha256(self._secret + bytes(buf[:-6])).digest()[:6] != bytes(buf[-6:]):
            return False
        link_id = buf[-13]
        low, high = struct.unpack("<IH", bytes(buf[-12:-6]))
        timestamp = low | (high << 32)
        stream = (link_id, message._header.srcComponent)
        if timestamp <= last_timestamps.get(stream, -1):
            return False
        last_timestamps[stream] = timestamp
        return True


class TimestampStore:
    """The one source of outgoing signing timestamps, persisted to survive restarts."""

    def __init__(self, path: Path | None, clock: Clock) -> None:
        self._path = path
        self._clock = clock
        self._saved = 0
        self._lock = threading.Lock()  # saves also run in a worker thread
        start = signing_timestamp(clock.now())
        if path is not None and path.exists():
            try:
                stored = int(path.read_text(encoding="ascii").strip())
            except ValueError as exc:
                raise SigningError(f"signing timestamp file {path} is corrupt") from exc
            start = max(start, stored + _MARGIN)
        self._last = start

    def next_floor(self) -> int:
        """The lowest timestamp the next signed message may carry."""
        self._last = max(self._last + 1, signing_timestamp(self._clock.now()))
        return self._last

    def note(self, used: int) -> None:
        self._last = max(self._last, used)

    def save(self) -> None:
        """Persist the highest timestamp used; concurrent saves never write an older one."""
        if self._path is None:
            return
        with self._lock:
            last = self._last
            if last <= self._saved:
                return
            tmp = self._path.with_suffix(".tmp")
            tmp.write_text(str(last), encoding="ascii")
            os.replace(tmp, self._path)
            self._saved = last
