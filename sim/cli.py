"""``skyeye sim``: fly a scenario's vehicles, each on its own MAVLink endpoint, until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sim.camera.cli import register as register_camera_commands
from sim.errors import SimError
from sim.scenario import load_scenario
from sim.simulator import Simulator

__all__ = ["app", "parse_udp"]

app = typer.Typer(
    help="Simulated ArduCopter vehicles over MAVLink (TCP 5760+10*i, optional UDP out).",
    invoke_without_command=True,
)
_console = Console(stderr=True)


def parse_udp(text: str) -> tuple[str, int]:
    """``udp:HOST:PORT`` or ``HOST:PORT`` → (host, port)."""
    body = text.removeprefix("udp:")
    host, sep, port = body.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise typer.BadParameter(f"expected udp:HOST:PORT, got {text!r}")
    return host, int(port)


@app.callback()
def run(
    ctx: typer.Context,
    scenario: Annotated[Path, typer.Option(help="Scenario YAML file.")] = Path(
        "sim/scenarios/demo.yaml"
    ),
    vehicles: Annotated[
        int | None, typer.Option(min=0, max=255, help="Number of vehicles (default: scenario's).")
    ] = None,
    speedup: Annotated[float, typer.Option(min=0.01, max=1000.0, help="Speed-up factor.")] = 1.0,
    tcp_base_port: Annotated[
        int, typer.Option(min=0, max=65535, help="Vehicle i listens on this + 10*i (0: any).")
    ] = 5760,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    gcs: Annotated[
        str | None, typer.Option(help="UDP output udp:HOST:PORT (vehicle i: PORT + 10*i).")
    ] = None,
    duration: Annotated[
        float | None, typer.Option(min=0.0, help="Stop after this many wall seconds.")
    ] = None,
) -> None:
    """Run the vehicles of SCENARIO until interrupted (or run a sub-command)."""
    if ctx.invoked_subcommand is not None:
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    gcs_udp = parse_udp(gcs) if gcs else None
    try:
        sc = load_scenario(scenario)
        sim = Simulator(
            sc,
            speedup=speedup,
            vehicles=vehicles,
            host=host,
            tcp_base_port=tcp_base_port,
            gcs_udp=gcs_udp,
        )
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(sim, duration))
    except (SimError, ValueError) as exc:
        _console.print(f"[red]✗[/red] {exc}")
        raise typer.Exit(code=1) from None


register_camera_commands(app)


async def _serve(sim: Simulator, duration: float | None) -> None:
    async with sim:
        table = Table(title=f"{len(sim.vehicles)} vehicles, speed-up {sim.speedup:g}")
        for column in ("vehicle", "sysid", "profile", "TCP", "UDP from", "lat", "lon"):
            table.add_column(column)
        for vid, v in sim.vehicles.items():
            ep = sim.endpoints[vid]
            lat, lon, _ = v.position
            table.add_row(
                vid,
                str(v.system_id),
                v.profile.kind,
                f"{sim.host}:{ep.tcp_port}" if ep.tcp_port else "-",
                str(ep.udp_port or "-"),
                f"{lat:.5f}",
                f"{lon:.5f}",
            )
        Console().print(table)
        if duration is not None:
            await asyncio.sleep(duration)
        else:
            await asyncio.Event().wait()
