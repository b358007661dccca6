"""App wiring: the demo (everything in one process) and serve (real vehicles, external broker).

The shell knows the other packages only by name, through the :data:`PARTS` registry of
``"module:attr"`` factories. Each factory takes the :class:`AppContext` and returns an
async context manager; parts start in order and stop in reverse order. A part may put
what later parts need into ``context.services`` (the simulator puts its MAVLink
endpoints there for the fleet, the fleet puts itself there for the controller).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.console import Console

from skyeye.broker import EmbeddedBroker, free_port
from skyeye.bus import Bus, BusSettings
from skyeye.clock import Clock, ScaledClock, WallClock
from skyeye.config import SkyeyeConfig, load_config, require_serve_secrets

__all__ = ["PARTS", "AppContext", "run_demo", "run_serve", "serve_app"]

logger = logging.getLogger(__name__)

PartFactory = Callable[["AppContext"], AbstractAsyncContextManager[object]]

PARTS: dict[Literal["demo", "serve"], tuple[str, ...]] = {
    "demo": (
        "sim.part:sim_part",
        "missions.console.part:zones_part",
        "fleet.part:fleet_part",
        "vision.part:vision_part",
        "vision.fusion.part:fusion_part",
        "missions.controller.part:controller_part",
        "missions.controller.demo:patrol_part",
        "missions.console.part:console_part",
        "sim.part:camera_part",
    ),
    "serve": (
        "missions.console.part:zones_part",
        "fleet.part:fleet_part",
        "vision.part:vision_part",
        "vision.fusion.part:fusion_part",
        "missions.controller.part:controller_part",
        "missions.console.part:console_part",
    ),
}


@dataclass(slots=True, kw_only=True)
class AppContext:
    """What every part of a running Skyeye gets: configuration, clock, bus, shared services."""

    mode: Literal["demo", "serve"]
    config: SkyeyeConfig
    clock: Clock
    bus: Bus
    bus_url: str
    services: dict[str, Any] = field(default_factory=dict)
    links: list[tuple[str, str]] = field(default_factory=list)

    def announce(self, what: str, where: str) -> None:
        """Tell the user where to look (printed once everything has started)."""
        self.links.append((what, where))


def _load_part(target: str) -> PartFactory:
    module_name, attr = target.split(":")
    factory: PartFactory = getattr(importlib.import_module(module_name), attr)
    return factory


@contextlib.asynccontextmanager
async def _timed(name: str, part: AbstractAsyncContextManager[object]) -> AsyncIterator[None]:
    """Run ``part``, logging how long it took to start and to stop."""
    started = time.monotonic()
    stopping = started
    try:
        async with part:
            logger.debug("started %s in %.2f s", name, time.monotonic() - started)
            try:
                yield
            finally:
                stopping = time.monotonic()
    finally:
        logger.debug("stopped %s in %.2f s", name, time.monotonic() - stopping)


def _bus_settings(config: SkyeyeConfig, url: str, protocol: Literal["5", "3.1.1"]) -> BusSettings:
    return BusSettings(
        url=url,
        username=config.bus.username,
        password=config.bus.password.get_secret_value() if config.bus.password else None,
        protocol=protocol,
        outbox_limit=config.bus.outbox_limit,
        reconnect_initial_s=config.bus.reconnect_initial_s,
        reconnect_max_s=config.bus.reconnect_max_s,
        connect_timeout_s=config.bus.connect_timeout_s,
    )


async def serve_app(
    mode: Literal["demo", "serve"],
    config: SkyeyeConfig,
    *,
    started: Callable[[AppContext], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the parts of ``mode`` until ``stop`` is set or the task is cancelled."""
    if mode == "serve":
        require_serve_secrets(config)
    clock: Clock = WallClock() if config.sim.speedup == 1.0 else ScaledClock(config.sim.speedup)
    if config.console.port == 0:  # fixed before any part starts: cameras publish to it
        console = config.console.model_copy(update={"port": free_port(config.console.host)})
        config = config.model_copy(update={"console": console})
    async with contextlib.AsyncExitStack() as stack:
        if config.bus.url is None:
            broker = EmbeddedBroker(host=config.bus.embedded_host, port=config.bus.embedded_port)
            await stack.enter_async_context(_timed("embedded broker", broker))
            bus_url, protocol = broker.url, "3.1.1"
        else:
            bus_url, protocol = config.bus.url, config.bus.protocol
        bus = Bus(_bus_settings(config, bus_url, protocol), clock=clock)  # type: ignore[arg-type]
        await stack.enter_async_context(_timed("bus", bus))
        context = AppContext(mode=mode, config=config, clock=clock, bus=bus, bus_url=bus_url)
        context.announce("MQTT bus", bus_url)
        for target in PARTS[mode]:
            await stack.enter_async_context(_timed(target, _load_part(target)(context)))
        if started is not None:
            started(context)
        await (stop or asyncio.Event()).wait()


def _print_started(context: AppContext) -> None:
    console = Console()
    console.print(
        f"[bold green]Skyeye {context.mode} is running.[/bold green] Press Ctrl-C to stop."
    )
    for what, where in context.links:
        console.print(f"  {what:<22} {where}")


async def _until_signalled(mode: Literal["demo", "serve"], config: SkyeyeConfig) -> None:
    """Run until Ctrl-C or SIGTERM, then stop every part in order; a second signal while
    stopping leaves at once (exit status 130) rather than interrupting a part's clean-up."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if stop.is_set():
            print("Skyeye: stopping at once.", file=sys.stderr, flush=True)
            os._exit(130)
        print("Skyeye: stopping… (Ctrl-C again to stop at once)", file=sys.stderr, flush=True)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal)
    await serve_app(mode, config, started=_print_started, stop=stop)


def _run(mode: Literal["demo", "serve"], config: SkyeyeConfig) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for chatty in ("transitions", "amqtt", "aioice", "aiortc", "httpx"):  # per-packet INFO
        logging.getLogger(chatty).setLevel(logging.WARNING)
    if os.environ.get("SKYEYE_DEBUG_PARTS"):  # how long each part takes to start and stop
        logger.setLevel(logging.DEBUG)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_until_signalled(mode, config))
    logger.debug("event loop closed")
    Console().print("Skyeye stopped.")
    # Every part has stopped and closed what it holds (sockets, database, recordings); what
    # remains is the interpreter's teardown of native libraries (aiortc codecs, OpenCV,
    # NumPy caches), which takes over a second. Leave now.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def run_demo(*, config_path: Path | None, console_port: int | None) -> None:
    """``skyeye demo``: the embedded broker, SQLite, the simulator and the console."""
    config = load_config(config_path)
    if console_port is not None:
        config = config.model_copy(
            update={"console": config.console.model_copy(update={"port": console_port})}
        )
    _run("demo", config)


def run_serve(*, config_path: Path) -> None:
    """``skyeye serve``: real vehicles, the configured broker and database."""
    _run("serve", load_config(config_path))
