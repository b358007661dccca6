"""Users, zones and the console's audit log: SQLAlchemy 2 async (SQLite or PostgreSQL).

Tables are prefixed ``console_`` so the console can share a database with the mission
store. Users are also kept in memory: every request checks its token against them. So are
zones: they are the one source of the bases, no-fly zones and ceilings that the map draws
and that the planners read at each plan (:meth:`ConsoleStore.zones`); a scenario's or the
configuration's are seeded into them at start-up (:meth:`ConsoleStore.seed_zones`).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from pydantic import TypeAdapter
from shapely.geometry import Point, Polygon
from sqlalchemy import JSON, Boolean, DateTime, Integer, String, Text, delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from missions.console.auth import Role, hash_password
from missions.console.errors import ConflictError, ConsoleSetupError, NotFoundError
from missions.console.models import (
    AuditRecord,
    BaseZone,
    CeilingZone,
    NoFlyZone,
    Zone,
    ZoneCreate,
)

__all__ = ["ConsoleStore", "UserRecord"]

# mypy judges this call differently with and without its cache: silence both outcomes.
_ZONE: TypeAdapter[BaseZone | NoFlyZone | CeilingZone] = TypeAdapter(
    ZoneCreate  # type: ignore[arg-type, unused-ignore]
)


class _Base(DeclarativeBase):
    pass


class _UserRow(_Base):
    __tablename__ = "console_users"

    username: Mapped[str] = mapped_column(String(32), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class _ZoneRow(_Base):
    __tablename__ = "console_zones"

    zone_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)


class _AuditRow(_Base):
    __tablename__ = "console_audit"

    entry_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    result: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRecord:
    username: str
    password_hash: str
    role: Role
    disabled: bool
    created_at: datetime


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _body(zone: ZoneCreate) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(zone.model_dump_json())
    return body


def _seed_id(source: str, zone: ZoneCreate) -> str:
    digest = hashlib.sha256(f"{zone.kind}\n{zone.name}".encode()).hexdigest()
    return f"{source}-{digest[:12]}"


def _check_bases_clear(zones: Sequence[ZoneCreate]) -> None:
    """Refuse a set of zones in which a base lies inside a no-fly zone."""
    no_fly = [
        (z.name, Polygon([(lon, lat) for lat, lon in z.polygon]))
        for z in zones
        if isinstance(z, NoFlyZone)
    ]
    for base in zones:
        if not isinstance(base, BaseZone):
            continue
        for name, polygon in no_fly:
            if polygon.covers(Point(base.lon_deg, base.lat_deg)):
                raise ConflictError(
                    f"base {base.name!r} would lie inside no-fly zone {name!r}: "
                    "drones could not take off or land there"
                )


class ConsoleStore:
    """``async with ConsoleStore(url) as store``: users, zones and audit entries."""

    def __init__(self, url: str) -> None:
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ConsoleSetupError(
                f"database URL {url!r} must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        self._url = url
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[Any] | None = None
        self._users: dict[str, UserRecord] = {}
        self._zones: dict[str, Zone] = {}

    async def __aenter__(self) -> Self:
        if self._engine is not None:
            raise ConsoleSetupError("the console store is already open")
        engine = create_async_engine(self._url)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(_Base.metadata.create_all)
        except BaseException:
            await engine.dispose()
            raise
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        async with self._sessions() as session:
            for row in (await session.execute(select(_UserRow))).scalars():
                self._users[row.username] = UserRecord(
                    username=row.username,
                    password_hash=row.password_hash,
                    role=Role(row.role),
                    disabled=row.disabled,
                    created_at=_utc(row.created_at),
                )
            query = select(_ZoneRow).order_by(_ZoneRow.created_at, _ZoneRow.zone_id)
            for zone_row in (await session.execute(query)).scalars():
                self._zones[zone_row.zone_id] = Zone(
                    zone_id=zone_row.zone_id,
                    created_at=_utc(zone_row.created_at),
                    zone=_ZONE.validate_python(zone_row.body),
                )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = self._sessions = None

    def _session(self) -> Any:
        if self._sessions is None:
            raise ConsoleSetupError("the console store is not open")
        return self._sessions()

    # ----------------------------------------------------------------- users

    def user(self, username: str) -> UserRecord | None:
        return self._users.get(username)

    def users(self) -> list[UserRecord]:
        return sorted(self._users.values(), key=lambda u: u.username)

    async def add_user(self, username: str, password: str, role: Role, *, at: datetime) -> None:
        if username in self._users:
            raise ConflictError(f"user {username!r} exists already")
        record = UserRecord(
            username=username,
            password_hash=hash_password(password),
            role=role,
            disabled=False,
            created_at=at,
        )
        async with self._session() as session, session.begin():
            session.add(
                _UserRow(
                    username=username,
                    password_hash=record.password_hash,
                    role=role.value,
                    disabled=False,
                    created_at=at,
                )
            )
        self._users[username] = record

    async def update_user(
        self,
        username: str,
        *,
        password: str | None = None,
        role: Role | None = None,
        disabled: bool | None = None,
    ) -> UserRecord:
        record = self._users.get(username)
        if record is None:
            raise NotFoundError(f"no user {username!r}")
        if password is not None:
            record = replace(record, password_hash=hash_password(password))
        if role is not None:
            record = replace(record, role=role)
        if disabled is not None:
            record = replace(record, disabled=disabled)
        async with self._session() as session, session.begin():
            await session.execute(
                update(_UserRow)
                .where(_UserRow.username == username)
                .values(
                    password_hash=record.password_hash,
                    role=record.role.value,
                    disabled=record.disabled,
                )
            )
        self._users[username] = record
        return record

    async def remove_user(self, username: str) -> None:
        if username not in self._users:
            raise NotFoundError(f"no user {username!r}")
        async with self._session() as session, session.begin():
            await session.execute(delete(_UserRow).where(_UserRow.username == username))
        del self._users[username]

    # ----------------------------------------------------------------- zones

    def zones(self) -> list[Zone]:
        """Bases, no-fly zones and ceilings, oldest first (kept in memory, as users are)."""
        return list(self._zones.values())

    async def add_zone(self, zone: ZoneCreate, *, at: datetime) -> Zone:
        """Store ``zone`` under a fresh id; a base inside a no-fly zone is refused (409)."""
        _check_bases_clear([*(z.zone for z in self._zones.values()), zone])
        stored = Zone(zone_id=f"z-{uuid.uuid4().hex[:10]}", created_at=at, zone=zone)
        async with self._session() as session, session.begin():
            session.add(_ZoneRow(zone_id=stored.zone_id, created_at=at, body=_body(zone)))
        self._zones[stored.zone_id] = stored
        return stored

    async def seed_zones(self, source: str, zones: Sequence[ZoneCreate], *, at: datetime) -> None:
        """Make ``zones`` the zones that came from ``source`` (a scenario, the configuration).

        Each gets an id from ``source``, its kind and its name, so seeding again at the next
        start changes nothing; a zone ``source`` no longer has is removed, one whose shape
        changed is updated. Zones an administrator added are kept as they are. A base inside a
        no-fly zone, or two zones of one kind and name, are refused and nothing is changed.
        """
        if not re.fullmatch(r"[a-z]{1,16}", source):
            raise ConsoleSetupError(f"zone source {source!r} must be 1 to 16 letters a-z")
        seeded = {_seed_id(source, zone): zone for zone in zones}
        if len(seeded) != len(zones):
            names = sorted(f"{z.kind} {z.name!r}" for z in zones)
            twice = sorted({n for n in names if names.count(n) > 1})
            raise ConflictError(f"{source}: zones given twice: {', '.join(twice)}")
        mine = {zid for zid in self._zones if zid.startswith(f"{source}-")}
        kept = [z.zone for zid, z in self._zones.items() if zid not in mine]
        _check_bases_clear([*kept, *zones])
        async with self._session() as session, session.begin():
            gone = mine - seeded.keys()
            if gone:
                await session.execute(delete(_ZoneRow).where(_ZoneRow.zone_id.in_(gone)))
            for i, (zone_id, zone) in enumerate(seeded.items()):
                if zone_id not in self._zones:  # in the source's order, as they load again
                    created_at = at + timedelta(microseconds=i)
                    session.add(_ZoneRow(zone_id=zone_id, created_at=created_at, body=_body(zone)))
                elif self._zones[zone_id].zone != zone:
                    await session.execute(
                        update(_ZoneRow).where(_ZoneRow.zone_id == zone_id).values(body=_body(zone))
                    )
        for zone_id in gone:
            del self._zones[zone_id]
        for i, (zone_id, zone) in enumerate(seeded.items()):
            old = self._zones.get(zone_id)
            created_at = at + timedelta(microseconds=i) if old is None else old.created_at
            self._zones[zone_id] = Zone(zone_id=zone_id, created_at=created_at, zone=zone)

    async def remove_zone(self, zone_id: str) -> None:
        if zone_id not in self._zones:
            raise NotFoundError(f"no zone {zone_id!r}")
        async with self._session() as session, session.begin():
            await session.execute(delete(_ZoneRow).where(_ZoneRow.zone_id == zone_id))
        del self._zones[zone_id]

    # ----------------------------------------------------------------- audit

    async def audit(
        self, *, at: datetime, actor: str, action: str, target: str, result: str, detail: str = ""
    ) -> None:
        async with self._session() as session, session.begin():
            session.add(
                _AuditRow(
                    at=at,
                    actor=actor[:64],
                    action=action[:64],
                    target=target[:128],
                    result=result[:32],
                    detail=detail,
                )
            )

    async def audit_log(self, *, limit: int = 500) -> list[AuditRecord]:
        """The latest ``limit`` entries, oldest first."""
        async with self._session() as session:
            query = select(_AuditRow).order_by(_AuditRow.entry_id.desc()).limit(limit)
            rows = list((await session.execute(query)).scalars())
        return [
            AuditRecord(
                at=_utc(row.at),
                actor=row.actor,
                action=row.action,
                target=row.target,
                result=row.result,
                detail=row.detail,
            )
            for row in reversed(rows)
        ]
