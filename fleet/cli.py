"""``skyeye fleet``: look at vehicles on a MAVLink link from the command line.

skyeye fleet watch udp:0.0.0.0:14550 --seconds 30
skyeye fleet failsafes tcp:127.0.0.1:5760 --vehicle 1
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from fleet.errors import FleetError
from fleet.fleet import Fleet
from fleet.vehicle import Vehicle

__all__ = ["app"]

app = typer.Typer(help="MAVLink links to vehicles: watch state, read back failsafes.")
_out = Console()
_err = Console(stderr=True)

Connection = Annotated[
    str, typer.Argument(help="udp:HOST:PORT, udpout:HOST:PORT, tcp:HOST:PORT or serial:DEV:BAUD")
]


def _line(vehicle: Vehicle) -> str:
    s = vehicle.state
    where = "no position" if s.lat_deg is None else f"{s.lat_deg:.6f},{s.lon_deg:.6f}"
    alt = "-" if s.alt_rel_m is None else f"{s.alt_rel_m:.1f}"
    battery = "-" if s.battery_pct is None else f"{s.battery_pct:.0f}"
    rtt = "-" if s.link.rtt_ms is None else f"{s.link.rtt_ms:.1f}"
    return (
        f"{s.vehicle_id} (system {s.system_id}) {s.mode} {'ARMED' if s.armed else 'disarmed'} "
        f"{where} alt {alt} m, battery {battery} %, gps fix {s.gps_fix_type} "
        f"sats {s.gps_satellites}, link {'up' if s.link.connected else 'DOWN'} "
        f"loss {s.link.packet_loss_pct:.1f} % rtt {rtt} ms"
    )


async def _watch(connection: str, seconds: float) -> tuple[Vehicle, ...]:
    async with Fleet() as fleet:
        await fleet.connect(connection)
        await asyncio.sleep(seconds)
        return fleet.vehicles


@app.command()
def watch(
    connection: Connection,
    seconds: Annotated[float, typer.Option(min=0.5, help="How long to listen.")] = 5.0,
) -> None:
    """Listen on CONNECTION, then print every vehicle heard and its state."""
    try:
        vehicles = asyncio.run(_watch(connection, seconds))
    except FleetError as exc:
        _err.print(f"[red]✗[/red] {exc}")
        raise typer.Exit(code=1) from None
    if not vehicles:
        _err.print(f"no vehicle heard on {connection} in {seconds:g} s")
        raise typer.Exit(code=2)
    for vehicle in vehicles:
        _out.print(_line(vehicle), soft_wrap=True)


async def _failsafes(connection: str, vehicle: int, timeout_s: float) -> list[str]:
    async with Fleet() as fleet:
        await fleet.connect(connection)
        found = await fleet.wait_vehicle(vehicle, timeout_s=timeout_s)
        settings = await found.failsafe_settings()
        lines = [f"{found.vehicle_id}: {settings}"]
        missing = settings.missing()
        lines.append("failsafes off: " + ", ".join(missing) if missing else "all failsafes on")
        return lines


@app.command()
def failsafes(
    connection: Connection,
    vehicle: Annotated[int, typer.Option(min=1, max=254, help="System id.")] = 1,
    timeout_s: Annotated[float, typer.Option(help="Wait this long for the vehicle.")] = 10.0,
) -> None:
    """Read the vehicle's failsafe parameters back; exit 3 if any is off."""
    try:
        lines = asyncio.run(_failsafes(connection, vehicle, timeout_s))
    except FleetError as exc:
        _err.print(f"[red]✗[/red] {exc}")
        raise typer.Exit(code=1) from None
    for line in lines:
        _out.print(line, soft_wrap=True)
    if lines[-1].startswith("failsafes off"):
        raise typer.Exit(code=3)
