"""``skyeye mission``: read what the controller recorded (missions, transitions, audit, dispatch).

The controller itself runs inside ``skyeye demo``/``serve``; these commands read its store,
so a pilot or an auditor can see what happened and why, from SQLite or PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from missions.controller.states import TERMINAL
from missions.store import DEFAULT_URL, MissionStore, StoreError
from skyeye.contracts import MissionState

__all__ = ["app"]

T = TypeVar("T")

app = typer.Typer(help="Missions: list them, their history, the audit log.", no_args_is_help=True)
_out = Console(width=160)
_err = Console(stderr=True)

Database = Annotated[
    str, typer.Option("--database", help="SQLAlchemy async URL of the controller's store.")
]


def _run(database: str, read: Callable[[MissionStore], Awaitable[T]]) -> T:
    async def go() -> T:
        async with MissionStore(database) as store:
            return await read(store)

    try:
        return asyncio.run(go())
    except StoreError as error:
        _err.print(f"[red]✗[/red] {error}")
        raise typer.Exit(code=1) from None


@app.command("list")
def list_missions(
    database: Database = DEFAULT_URL,
    active: Annotated[bool, typer.Option(help="Only missions that have not ended.")] = False,
) -> None:
    """Every mission with its state, vehicle and progress."""
    states = [s for s in MissionState if s not in TERMINAL] if active else None
    missions = _run(database, lambda store: store.list_missions(states=states))
    table = Table("mission", "type", "state", "vehicle", "incident", "item", "updated (UTC)")
    for m in missions:
        table.add_row(
            m.mission_id,
            m.mission_type,
            m.state.value,
            m.vehicle_id or "",
            m.incident_id or "",
            f"{'' if m.current_item is None else m.current_item}/{m.item_count}",
            m.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    _out.print(table)


@app.command()
def history(mission_id: str, database: Database = DEFAULT_URL) -> None:
    """Every state change of MISSION_ID with its cause."""
    transitions = _run(database, lambda store: store.transitions(mission_id))
    if not transitions:
        _err.print(f"[red]✗[/red] no mission {mission_id!r} in {database}")
        raise typer.Exit(code=1)
    table = Table("at (UTC)", "from", "to", "cause")
    for t in transitions:
        table.add_row(
            t.at.strftime("%H:%M:%S.%f")[:-3],
            "" if t.from_state is None else t.from_state.value,
            t.to_state.value,
            t.cause,
        )
    _out.print(table)


@app.command()
def audit(
    database: Database = DEFAULT_URL,
    mission: Annotated[str | None, typer.Option(help="Only this mission.")] = None,
    vehicle: Annotated[str | None, typer.Option(help="Only this vehicle.")] = None,
) -> None:
    """Every command given: who, what, to which vehicle, when, and the result."""
    entries = _run(database, lambda store: store.audit_log(mission_id=mission, vehicle_id=vehicle))
    table = Table("at (UTC)", "actor", "action", "vehicle", "mission", "result", "detail")
    for e in entries:
        table.add_row(
            e.at.strftime("%H:%M:%S.%f")[:-3],
            e.actor,
            e.action,
            e.vehicle_id or "",
            e.mission_id or "",
            e.result,
            e.detail,
        )
    _out.print(table)


@app.command()
def decisions(incident_id: str, database: Database = DEFAULT_URL) -> None:
    """The dispatch decisions taken for INCIDENT_ID, with reasons and runners-up."""
    records = _run(database, lambda store: store.decisions(incident_id))
    if not records:
        _err.print(f"[red]✗[/red] no dispatch decision for incident {incident_id!r}")
        raise typer.Exit(code=1)
    for record in records:
        eta = "—" if record.eta_s is None else f"{record.eta_s:.1f} s"
        _out.print(f"[bold]{record.incident_id}[/bold] → {record.vehicle_id or 'nobody'} ({eta})")
        for reason in record.reasons:
            _out.print(f"  • {reason}")
        for alternative in record.alternatives:
            _out.print(f"  ◦ {alternative['vehicle_id']}: {alternative['reason']}")
