"""Persistence of missions, plans, transitions, incidents, dispatch decisions and the audit log.

SQLAlchemy 2 async: SQLite through aiosqlite by default, PostgreSQL through asyncpg by URL.
"""

from missions.store.errors import (
    MissionExistsError,
    MissionNotFoundError,
    StaleStateError,
    StoreClosedError,
    StoreError,
    StoreUrlError,
)
from missions.store.records import AuditEntry, DecisionRecord, MissionRecord, TransitionRecord
from missions.store.store import DEFAULT_URL, MissionStore

__all__ = [
    "DEFAULT_URL",
    "AuditEntry",
    "DecisionRecord",
    "MissionExistsError",
    "MissionNotFoundError",
    "MissionRecord",
    "MissionStore",
    "StaleStateError",
    "StoreClosedError",
    "StoreError",
    "StoreUrlError",
    "TransitionRecord",
]
