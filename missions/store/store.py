"""The mission store: SQLAlchemy 2 async over SQLite (default) or PostgreSQL (by URL).

::

    async with MissionStore("sqlite+aiosqlite:///skyeye.sqlite3") as store:
        await store.create_mission(record, cause="dispatched to incident inc-7")
        await store.transition("m-1", expected=MissionState.DRAFT,
                               new=MissionState.PLANNED, cause="plan attached", at=now)

Every state change is written together with its transition row in one transaction, and only
if the mission is still in the state the caller expected (compare-and-set), so two writers
can never both move a mission.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from missions.store.errors import (
    MissionExistsError,
    MissionNotFoundError,
    StaleStateError,
    StoreClosedError,
    StoreUrlError,
)
from missions.store.records import AuditEntry, DecisionRecord, MissionRecord, TransitionRecord
from missions.store.schema import (
    AuditRow,
    Base,
    DecisionRow,
    IncidentRow,
    MissionRow,
    PlanRow,
    TransitionRow,
)
from skyeye.contracts import Incident, MissionState, Priority

__all__ = ["DEFAULT_URL", "MissionStore"]

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite+aiosqlite:///skyeye.sqlite3"
_DRIVERS = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


class _StoreState(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL with NORMAL sync: a commit is durable across a crash of the process (not of the
    machine's power) and costs microseconds instead of an fsync per audit entry."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _require_utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware (UTC)")
    return value.astimezone(UTC)


class MissionStore:
    """Persistence of missions, plans, transitions, incidents, dispatch decisions and audit."""

    def __init__(self, url: str = DEFAULT_URL, *, echo: bool = False) -> None:
        if not url.startswith(_DRIVERS):
            raise StoreUrlError(url)
        self._url = url
        self._echo = echo
        self._state = _StoreState.NEW
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[Any] | None = None

    @property
    def url(self) -> str:
        return self._url

    async def __aenter__(self) -> Self:
        if self._state is not _StoreState.NEW:
            raise StoreClosedError(f"re-open a store that is {self._state.value}")
        engine = create_async_engine(self._url, echo=self._echo)
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
        except BaseException:
            await engine.dispose()
            raise
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._state = _StoreState.OPEN
        log.info("mission store open on %s", engine.url.render_as_string(hide_password=True))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
        self._state = _StoreState.CLOSED

    def _session(self, action: str) -> Any:
        if self._state is not _StoreState.OPEN or self._sessions is None:
            raise StoreClosedError(action)
        return self._sessions()

    # ----------------------------------------------------------------- missions

    async def create_mission(self, record: MissionRecord, *, cause: str) -> None:
        """Store a new mission with its first transition (from nothing) and its plan."""
        created = _require_utc(record.created_at, "created_at")
        async with self._session("create a mission") as session:
            try:
                async with session.begin():
                    session.add(
                        MissionRow(
                            mission_id=record.mission_id,
                            mission_type=record.mission_type,
                            state=record.state.value,
                            priority=int(record.priority),
                            requires_approval=record.requires_approval,
                            vehicle_id=record.vehicle_id,
                            incident_id=record.incident_id,
                            relieves_mission_id=record.relieves_mission_id,
                            current_item=record.current_item,
                            item_count=record.item_count,
                            created_at=created,
                            updated_at=_require_utc(record.updated_at, "updated_at"),
                        )
                    )
                    await session.flush()
                    session.add(
                        TransitionRow(
                            mission_id=record.mission_id,
                            from_state=None,
                            to_state=record.state.value,
                            cause=cause,
                            at=created,
                        )
                    )
                    if record.plan:
                        session.add(
                            PlanRow(
                                mission_id=record.mission_id,
                                created_at=created,
                                items=[dict(item) for item in record.plan],
                            )
                        )
            except IntegrityError as error:
                raise MissionExistsError(record.mission_id) from error

    async def transition(
        self,
        mission_id: str,
        *,
        expected: MissionState,
        new: MissionState,
        cause: str,
        at: datetime,
        vehicle_id: str | None = None,
    ) -> MissionRecord:
        """Move a mission from ``expected`` to ``new`` and record why, atomically."""
        at = _require_utc(at, "at")
        async with self._session("change a mission's state") as session, session.begin():
            values: dict[str, Any] = {"state": new.value, "updated_at": at}
            if vehicle_id is not None:
                values["vehicle_id"] = vehicle_id
            result = await session.execute(
                update(MissionRow)
                .where(MissionRow.mission_id == mission_id, MissionRow.state == expected.value)
                .values(**values)
            )
            if result.rowcount != 1:
                row = await session.get(MissionRow, mission_id)
                if row is None:
                    raise MissionNotFoundError(mission_id)
                raise StaleStateError(mission_id, expected.value, row.state)
            session.add(
                TransitionRow(
                    mission_id=mission_id,
                    from_state=expected.value,
                    to_state=new.value,
                    cause=cause,
                    at=at,
                )
            )
        return await self.get_mission(mission_id)

    async def update_progress(
        self, mission_id: str, *, current_item: int | None, item_count: int, at: datetime
    ) -> None:
        async with self._session("update progress") as session, session.begin():
            result = await session.execute(
                update(MissionRow)
                .where(MissionRow.mission_id == mission_id)
                .values(
                    current_item=current_item,
                    item_count=item_count,
                    updated_at=_require_utc(at, "at"),
                )
            )
            if result.rowcount != 1:
                raise MissionNotFoundError(mission_id)

    async def save_plan(
        self, mission_id: str, items: Sequence[Mapping[str, Any]], *, at: datetime
    ) -> None:
        """Attach a new plan to a mission; earlier plans stay in the history."""
        async with self._session("save a plan") as session, session.begin():
            if await session.get(MissionRow, mission_id) is None:
                raise MissionNotFoundError(mission_id)
            session.add(
                PlanRow(
                    mission_id=mission_id,
                    created_at=_require_utc(at, "at"),
                    items=[dict(item) for item in items],
                )
            )
            await session.execute(
                update(MissionRow)
                .where(MissionRow.mission_id == mission_id)
                .values(item_count=len(items), updated_at=_require_utc(at, "at"))
            )

    async def get_mission(self, mission_id: str) -> MissionRecord:
        async with self._session("read a mission") as session:
            row = await session.get(MissionRow, mission_id)
            if row is None:
                raise MissionNotFoundError(mission_id)
            plan = await self._latest_plan(session, mission_id)
            return self._record(row, plan)

    async def list_missions(
        self, *, states: Sequence[MissionState] | None = None
    ) -> list[MissionRecord]:
        """Missions in creation order, optionally only those in ``states``."""
        async with self._session("list missions") as session:
            query = select(MissionRow).order_by(MissionRow.created_at, MissionRow.mission_id)
            if states is not None:
                query = query.where(MissionRow.state.in_([s.value for s in states]))
            rows = (await session.execute(query)).scalars().all()
            return [
                self._record(row, await self._latest_plan(session, row.mission_id)) for row in rows
            ]

    async def transitions(self, mission_id: str) -> list[TransitionRecord]:
        async with self._session("read transitions") as session:
            rows = (
                await session.execute(
                    select(TransitionRow)
                    .where(TransitionRow.mission_id == mission_id)
                    .order_by(TransitionRow.transition_id)
                )
            ).scalars()
            return [
                TransitionRecord(
                    mission_id=row.mission_id,
                    from_state=None if row.from_state is None else MissionState(row.from_state),
                    to_state=MissionState(row.to_state),
                    cause=row.cause,
                    at=_utc(row.at),
                )
                for row in rows
            ]

    @staticmethod
    async def _latest_plan(session: Any, mission_id: str) -> tuple[Mapping[str, Any], ...]:
        row = (
            await session.execute(
                select(PlanRow)
                .where(PlanRow.mission_id == mission_id)
                .order_by(PlanRow.plan_id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        return () if row is None else tuple(row.items)

    @staticmethod
    def _record(row: MissionRow, plan: tuple[Mapping[str, Any], ...]) -> MissionRecord:
        return MissionRecord(
            mission_id=row.mission_id,
            mission_type=row.mission_type,
            state=MissionState(row.state),
            priority=Priority(row.priority),
            requires_approval=row.requires_approval,
            vehicle_id=row.vehicle_id,
            incident_id=row.incident_id,
            relieves_mission_id=row.relieves_mission_id,
            current_item=row.current_item,
            item_count=row.item_count,
            created_at=_utc(row.created_at),
            updated_at=_utc(row.updated_at),
            plan=plan,
        )

    # ----------------------------------------------------------------- incidents

    async def save_incident(self, incident: Incident, *, at: datetime) -> None:
        """Insert or replace an incident (its latest version is what counts)."""
        async with self._session("save an incident") as session, session.begin():
            row = await session.get(IncidentRow, incident.incident_id)
            document = incident.model_dump(mode="json")
            if row is None:
                session.add(
                    IncidentRow(
                        incident_id=incident.incident_id,
                        status=incident.status.value,
                        document=document,
                        updated_at=_require_utc(at, "at"),
                    )
                )
            else:
                row.status = incident.status.value
                row.document = document
                row.updated_at = _require_utc(at, "at")

    async def get_incident(self, incident_id: str) -> Incident | None:
        async with self._session("read an incident") as session:
            row = await session.get(IncidentRow, incident_id)
            return None if row is None else Incident.model_validate(row.document)

    # ----------------------------------------------------------------- decisions

    async def record_decision(self, decision: DecisionRecord) -> None:
        async with self._session("record a dispatch decision") as session, session.begin():
            session.add(
                DecisionRow(
                    incident_id=decision.incident_id,
                    vehicle_id=decision.vehicle_id,
                    decided_at=_require_utc(decision.decided_at, "decided_at"),
                    eta_s=decision.eta_s,
                    physical_limit_s=decision.physical_limit_s,
                    preempted_mission_id=decision.preempted_mission_id,
                    reasons=list(decision.reasons),
                    alternatives=[dict(a) for a in decision.alternatives],
                    decision_time_ms=decision.decision_time_ms,
                )
            )

    async def decisions(self, incident_id: str) -> list[DecisionRecord]:
        async with self._session("read dispatch decisions") as session:
            rows = (
                await session.execute(
                    select(DecisionRow)
                    .where(DecisionRow.incident_id == incident_id)
                    .order_by(DecisionRow.decision_id)
                )
            ).scalars()
            return [
                DecisionRecord(
                    incident_id=row.incident_id,
                    vehicle_id=row.vehicle_id,
                    decided_at=_utc(row.decided_at),
                    eta_s=row.eta_s,
                    physical_limit_s=row.physical_limit_s,
                    preempted_mission_id=row.preempted_mission_id,
                    reasons=tuple(row.reasons),
                    alternatives=tuple(row.alternatives),
                    decision_time_ms=row.decision_time_ms,
                )
                for row in rows
            ]

    # ----------------------------------------------------------------- audit

    async def audit(self, entry: AuditEntry) -> None:
        async with self._session("write the audit log") as session, session.begin():
            session.add(
                AuditRow(
                    at=_require_utc(entry.at, "at"),
                    actor=entry.actor,
                    action=entry.action,
                    vehicle_id=entry.vehicle_id,
                    mission_id=entry.mission_id,
                    arguments=dict(entry.arguments),
                    result=entry.result,
                    detail=entry.detail,
                )
            )

    async def audit_log(
        self, *, mission_id: str | None = None, vehicle_id: str | None = None
    ) -> list[AuditEntry]:
        """Audit entries in the order they were written, optionally filtered."""
        async with self._session("read the audit log") as session:
            query = select(AuditRow).order_by(AuditRow.entry_id)
            if mission_id is not None:
                query = query.where(AuditRow.mission_id == mission_id)
            if vehicle_id is not None:
                query = query.where(AuditRow.vehicle_id == vehicle_id)
            rows = (await session.execute(query)).scalars()
            return [
                AuditEntry(
                    at=_utc(row.at),
                    actor=row.actor,
                    action=row.action,
                    result=row.result,
                    vehicle_id=row.vehicle_id,
                    mission_id=row.mission_id,
                    detail=row.detail,
                    arguments=row.arguments,
                )
                for row in rows
            ]
