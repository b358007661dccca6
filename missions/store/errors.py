"""Errors of the mission store.

::

    StoreError
    ├── StoreUrlError            the database URL names a driver the store does not support
    ├── StoreClosedError         the store was used outside its ``async with`` block
    ├── MissionNotFoundError     no mission has that id
    ├── MissionExistsError       a mission with that id is already stored
    └── StaleStateError          the mission's state changed since the caller read it
"""

from __future__ import annotations

__all__ = [
    "MissionExistsError",
    "MissionNotFoundError",
    "StaleStateError",
    "StoreClosedError",
    "StoreError",
    "StoreUrlError",
]


class StoreError(Exception):
    """Base of every error of the mission store."""


class StoreUrlError(StoreError):
    def __init__(self, url: str) -> None:
        super().__init__(
            f"unsupported database URL {url!r}: use sqlite+aiosqlite:///path.db or "
            f"postgresql+asyncpg://user@host:port/database"
        )
        self.url = url


class StoreClosedError(StoreError):
    def __init__(self, action: str) -> None:
        super().__init__(f"cannot {action}: the mission store is not open (use `async with`)")


class MissionNotFoundError(StoreError):
    def __init__(self, mission_id: str) -> None:
        super().__init__(f"no mission {mission_id!r} is stored")
        self.mission_id = mission_id


class MissionExistsError(StoreError):
    def __init__(self, mission_id: str) -> None:
        super().__init__(f"a mission {mission_id!r} already exists")
        self.mission_id = mission_id


class StaleStateError(StoreError):
    def __init__(self, mission_id: str, expected: str, actual: str) -> None:
        super().__init__(
            f"mission {mission_id!r} is {actual}, not {expected} as expected: "
            f"someone else changed it; nothing was written"
        )
        self.mission_id = mission_id
        self.expected = expected
        self.actual = actual
