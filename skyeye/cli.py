"""The ``skyeye`` command line.

The shell owns ``demo``, ``serve`` and ``config``; each domain package contributes its own
sub-commands through the explicit registry :data:`SUBCOMMANDS` (``name`` → ``"module:attr"``
of a :class:`typer.Typer`). They are imported by name, so the shell never imports ``sim``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from skyeye.config import load_config
from skyeye.errors import ConfigError

__all__ = ["SUBCOMMANDS", "app"]

SUBCOMMANDS: dict[str, str] = {
    "vision": "vision.cli:app",
    "mission": "missions.controller.cli:app",
    "plan": "missions.cli:plan_app",
    "sim": "sim.cli:app",
    "fleet": "fleet.cli:app",
}

app = typer.Typer(
    name="skyeye",
    help="Skyeye: drones on patrol and on call, their video turned into located facts.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
config_app = typer.Typer(help="Check and explain configuration files.", no_args_is_help=True)
app.add_typer(config_app, name="config")

_console = Console(stderr=True)


@config_app.command("check")
def config_check(
    file: Annotated[Path, typer.Argument(help="YAML configuration file to validate.")],
) -> None:
    """Validate FILE: unknown keys and bad values are reported with their key path and line."""
    try:
        config = load_config(file)
    except ConfigError as exc:
        _console.print(f"[red]✗[/red] {exc}", soft_wrap=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"✓ {file} is valid")
    broker = config.bus.url or f"embedded broker on port {config.bus.embedded_port or 'free'}"
    typer.echo(f"  bus: {broker}")
    typer.echo(f"  database: {config.database.url}")
    typer.echo(f"  console: http://{config.console.host}:{config.console.port}")


@app.command()
def demo(
    config: Annotated[
        Path | None, typer.Option(help="YAML configuration (defaults: embedded everything).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Console HTTP port (default 8000).")] = None,
) -> None:
    """Run everything in one process on the embedded defaults; Ctrl-C stops it."""
    from skyeye.app import run_demo

    try:
        run_demo(config_path=config, console_port=port)
    except ConfigError as exc:
        _console.print(f"[red]✗[/red] {exc}", soft_wrap=True)
        raise typer.Exit(code=1) from None


@app.command()
def serve(
    config: Annotated[Path, typer.Option(help="YAML configuration naming broker and vehicles.")],
) -> None:
    """Run against real vehicles, an external broker and PostgreSQL, as FILE says."""
    from skyeye.app import run_serve

    try:
        run_serve(config_path=config)
    except ConfigError as exc:
        _console.print(f"[red]✗[/red] {exc}", soft_wrap=True)
        raise typer.Exit(code=1) from None


def _register_subcommands() -> None:
    for name, target in SUBCOMMANDS.items():
        module_name, attr = target.split(":")
        sub = getattr(importlib.import_module(module_name), attr)
        app.add_typer(sub, name=name)


_register_subcommands()
