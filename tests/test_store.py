"""The mission store against SQLite and PostgreSQL, each test on its own fresh database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from missions.store import (
    AuditEntry,
    DecisionRecord,
    MissionExistsError,
    MissionNotFoundError,
    MissionRecord,
    MissionStore,
    StaleStateError,
    StoreClosedError,
    StoreUrlError,
)
from skyeye.contracts import Incident, IncidentStatus, MissionState, Priority

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


@asynccontextmanager
async def fresh_database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """Yield a SQLAlchemy URL of an empty database that only this test uses."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'missions.db'}"
        return
    name = f"skyeye_{uuid.uuid4().hex}"
    try:
        admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        pytest.skip(f"PostgreSQL at {PG_ADMIN_DSN} is unreachable: {error}")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database(request.param, tmp_path) as url:
        yield url


def mission(mission_id: str = "m-1", **extra: object) -> MissionRecord:
    fields: dict[str, object] = {
        "mission_id": mission_id,
        "mission_type": "first_response",
        "state": MissionState.DRAFT,
        "priority": Priority.HIGH,
        "requires_approval": False,
        "created_at": T0,
        "updated_at": T0,
        "plan": ({"kind": "takeoff", "alt_rel_m": 60.0},),
    }
    fields.update(extra)
    return MissionRecord(**fields)  # type: ignore[arg-type]


async def test_mission_round_trip_with_its_transition_history(store_url: str) -> None:
    async with MissionStore(store_url) as store:
        await store.create_mission(mission(vehicle_id="drone-1"), cause="incident inc-1")
        await store.transition(
            "m-1",
            expected=MissionState.DRAFT,
            new=MissionState.PLANNED,
            cause="orbit plan attached",
            at=T0 + timedelta(seconds=1),
        )
        got = await store.get_mission("m-1")
        history = await store.transitions("m-1")
    assert got.state is MissionState.PLANNED
    assert got.vehicle_id == "drone-1"
    assert got.updated_at == T0 + timedelta(seconds=1)
    assert got.plan == ({"kind": "takeoff", "alt_rel_m": 60.0},)
    assert [(t.from_state, t.to_state, t.cause) for t in history] == [
        (None, MissionState.DRAFT, "incident inc-1"),
        (MissionState.DRAFT, MissionState.PLANNED, "orbit plan attached"),
    ]
    assert history[1].at == T0 + timedelta(seconds=1)


async def test_everything_survives_reopening_the_database(store_url: str) -> None:
    async with MissionStore(store_url) as store:
        await store.create_mission(mission(), cause="created")
        await store.save_plan("m-1", [{"kind": "waypoint"}, {"kind": "rtl"}], at=T0)
        await store.update_progress("m-1", current_item=1, item_count=2, at=T0)
    async with MissionStore(store_url) as reopened:
        got = await reopened.get_mission("m-1")
    assert got.plan == ({"kind": "waypoint"}, {"kind": "rtl"})
    assert (got.current_item, got.item_count) == (1, 2)


async def test_stale_transition_is_refused_and_writes_nothing(store_url: str) -> None:
    async with MissionStore(store_url) as store:
        await store.create_mission(mission(), cause="created")
        with pytest.raises(StaleStateError, match="is draft, not approved"):
            await store.transition(
                "m-1",
                expected=MissionState.APPROVED,
                new=MissionState.UPLOADING,
                cause="x",
                at=T0,
            )
        with pytest.raises(MissionNotFoundError):
            await store.transition(
                "nope", expected=MissionState.DRAFT, new=MissionState.PLANNED, cause="x", at=T0
            )
        assert (await store.get_mission("m-1")).state is MissionState.DRAFT
        assert len(await store.transitions("m-1")) == 1


async def test_concurrent_writers_cannot_both_move_a_mission(store_url: str) -> None:
    async with MissionStore(store_url) as store:
        await store.create_mission(mission(), cause="created")

        async def move(cause: str) -> str:
            try:
                await store.transition(
                    "m-1",
                    expected=MissionState.DRAFT,
                    new=MissionState.PLANNED,
                    cause=cause,
                    at=T0,
                )
            except StaleStateError:
                return "refused"
            return "moved"

        outcomes = await asyncio.gather(move("a"), move("b"))
        assert sorted(outcomes) == ["moved", "refused"]
        assert len(await store.transitions("m-1")) == 2


async def test_duplicate_mission_is_refused(store_url: str) -> None:
    async with MissionStore(store_url) as store:
        await store.create_mission(mission(), cause="created")
        with pytest.raises(MissionExistsError):
            await store.create_mission(mission(), cause="again")


async def test_list_missions_filters_by_state(store_url: str) -> None:
    async with MissionStore(store_url) as store:
        await store.create_mission(mission("a"), cause="c")
        await store.create_mission(
            mission("b", state=MissionState.EN_ROUTE, created_at=T0 + timedelta(seconds=1)),
            cause="c",
        )
        everything = await store.list_missions()
        flying = await store.list_missions(states=[MissionState.EN_ROUTE])
    assert [m.mission_id for m in everything] == ["a", "b"]
    assert [m.mission_id for m in flying] == ["b"]


async def test_incidents_decisions_and_audit_log(store_url: str) -> None:
    incident = Incident(
        incident_id="inc-1",
        time=T0,
        category="robbery",
        priority=Priority.HIGH,
        lat_deg=52.0,
        lon_deg=5.0,
    )
    async with MissionStore(store_url) as store:
        await store.save_incident(incident, at=T0)
        dispatched = incident.model_copy(
            update={"status": IncidentStatus.DISPATCHED, "assigned_vehicle_id": "drone-2"}
        )
        await store.save_incident(dispatched, at=T0)
        await store.record_decision(
            DecisionRecord(
                incident_id="inc-1",
                vehicle_id="drone-2",
                decided_at=T0,
                eta_s=95.5,
                physical_limit_s=92.5,
                preempted_mission_id=None,
                reasons=("on scene in 95.5 s",),
                alternatives=({"vehicle_id": "drone-1", "eta_s": 120.0, "reason": "later"},),
                decision_time_ms=0.8,
            )
        )
        for result in ("ok", "denied"):
            await store.audit(
                AuditEntry(
                    at=T0,
                    actor="pilot:anna",
                    action="arm",
                    result=result,
                    vehicle_id="drone-2",
                    mission_id="m-1",
                    arguments={"force": False},
                )
            )
        assert await store.get_incident("inc-1") == dispatched
        assert await store.get_incident("other") is None
        (decision,) = await store.decisions("inc-1")
        audit = await store.audit_log(mission_id="m-1")
    assert decision.vehicle_id == "drone-2"
    assert decision.alternatives[0]["eta_s"] == 120.0
    assert [(e.actor, e.action, e.result) for e in audit] == [
        ("pilot:anna", "arm", "ok"),
        ("pilot:anna", "arm", "denied"),
    ]
    assert audit[0].arguments == {"force": False}
    assert audit[0].at == T0


async def test_misuse_gets_exact_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreUrlError, match="unsupported database URL"):
        MissionStore("mysql://x")
    store = MissionStore(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(StoreClosedError, match="not open"):
        await store.get_mission("m")
    async with store:
        with pytest.raises(ValueError, match="timezone-aware"):
            await store.create_mission(mission(created_at=datetime(2026, 1, 1)), cause="c")
        with pytest.raises(MissionNotFoundError):
            await store.get_mission("m-1")
    await store.aclose()
