"""``skyeye mission``: what the controller recorded, read back from its store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from missions.store import AuditEntry, DecisionRecord, MissionRecord, MissionStore
from skyeye.cli import app
from skyeye.contracts import MissionState, Priority

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
runner = CliRunner()


async def _fill(url: str) -> None:
    async with MissionStore(url) as store:
        for mission_id, state in (("m-done", MissionState.DRAFT), ("m-live", MissionState.DRAFT)):
            await store.create_mission(
                MissionRecord(
                    mission_id=mission_id,
                    mission_type="first_response",
                    state=state,
                    priority=Priority.HIGH,
                    requires_approval=False,
                    created_at=T0,
                    updated_at=T0,
                    vehicle_id="drone-7",
                ),
                cause="incident inc-1",
            )
        await store.transition(
            "m-done",
            expected=MissionState.DRAFT,
            new=MissionState.ABORTED,
            cause="aborted by pilot:anna",
            at=T0 + timedelta(seconds=3),
        )
        await store.audit(
            AuditEntry(
                at=T0,
                actor="pilot:anna",
                action="rtl",
                result="ok",
                vehicle_id="drone-7",
                mission_id="m-done",
            )
        )
        await store.record_decision(
            DecisionRecord(
                incident_id="inc-1",
                vehicle_id="drone-7",
                decided_at=T0,
                eta_s=81.5,
                physical_limit_s=78.5,
                preempted_mission_id=None,
                reasons=("on scene in 81.5 s",),
                alternatives=({"vehicle_id": "drone-2", "eta_s": 99.0, "reason": "later"},),
            )
        )


def test_list_history_audit_and_decisions(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    asyncio.run(_fill(url))

    listed = runner.invoke(app, ["mission", "list", "--database", url, "--active"])
    assert listed.exit_code == 0, listed.output
    assert "m-live" in listed.output
    assert "m-done" not in listed.output

    history = runner.invoke(app, ["mission", "history", "m-done", "--database", url])
    assert history.exit_code == 0, history.output
    assert "aborted by pilot:anna" in history.output
    assert "incident inc-1" in history.output

    audit = runner.invoke(app, ["mission", "audit", "--database", url, "--vehicle", "drone-7"])
    assert audit.exit_code == 0, audit.output
    assert "pilot:anna" in audit.output
    assert "rtl" in audit.output

    decided = runner.invoke(app, ["mission", "decisions", "inc-1", "--database", url])
    assert decided.exit_code == 0, decided.output
    assert "inc-1 → drone-7 (81.5 s)" in decided.output
    assert "drone-2: later" in decided.output


def test_unknown_mission_and_bad_url_are_reported(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    missing = runner.invoke(app, ["mission", "history", "nope", "--database", url])
    assert missing.exit_code == 1
    assert "no mission 'nope'" in missing.output
    bad = runner.invoke(app, ["mission", "list", "--database", "mysql://x"])
    assert bad.exit_code == 1
    assert "unsupported database URL" in bad.output
