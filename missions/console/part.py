"""The console as parts of a running Skyeye (see ``skyeye.app``).

:func:`zones_part` opens the console's store early, before any part that plans, and seeds
its zones: in the demo the scenario's bases and no-fly zones (``context.services["bases"]``,
``["no_fly_zones"]``, from the simulator part), else a base at the configured operating area
(``area.centre_*``, ``area.radius_m``). Seeding is idempotent (stable ids; a restart changes
nothing) and an administrator's own zones are kept. It leaves the open store in
``context.services["zones"]``: the one source of the bases, no-fly zones and ceilings that
the map draws and the planners read at each plan.

:func:`console_part` serves the app on ``console.host:console.port`` (0: a free port) and
wires in what earlier parts left in ``context.services``: ``zones`` (that store; without the
zones part the app opens ``database.url`` itself), ``controller`` (the mission controller),
``planner`` (the demo's patrol part leaves one; with a controller and none left, the
planners of ``missions.controller.plans.planner_for``), ``vision`` (whose ``router``
carries WHIP/WHEP) with ``whep_view_token``, and ``tiles_router`` with ``tile_url`` (the
simulator's basemap, e.g. ``/tiles/{z}/{x}/{y}.png``). In the demo it creates one user per
role with a fresh password and announces them. Tokens are signed with
``console.token_secret`` (``skyeye serve`` refuses to start without it) and last
``console.token_ttl_s``; the demo makes a key for its run when none is set.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from pydantic import SecretStr, ValidationError

from missions.console.app import InitialUser, create_app
from missions.console.auth import Role
from missions.console.errors import ConsoleSetupError
from missions.console.models import BaseZone, NoFlyZone, ZoneCreate
from missions.console.server import ConsoleServer
from missions.console.settings import ConsoleSettings
from missions.console.store import ConsoleStore
from skyeye.app import AppContext
from skyeye.config import AreaConfig

__all__ = ["console_part", "zones_part"]

SCENARIO = "scenario"
CONFIG = "config"


def _scenario_zones(services: Mapping[str, Any]) -> list[ZoneCreate]:
    bases = [
        BaseZone(name=b["name"], lat_deg=b["lat_deg"], lon_deg=b["lon_deg"], radius_m=b["radius_m"])
        for b in services.get("bases", ())
    ]
    no_fly = [
        NoFlyZone(name=z["name"], polygon=tuple(tuple(p) for p in z["polygon"]))
        for z in services.get("no_fly_zones", ())
    ]
    return [*bases, *no_fly]


def _config_zones(area: AreaConfig) -> list[ZoneCreate]:
    if area.centre_lat_deg is None or area.centre_lon_deg is None:
        return []
    return [
        BaseZone(
            name="area",
            lat_deg=area.centre_lat_deg,
            lon_deg=area.centre_lon_deg,
            radius_m=area.radius_m,
        )
    ]


@asynccontextmanager
async def zones_part(context: AppContext) -> AsyncIterator[ConsoleStore]:
    """The console's store at ``database.url``, seeded, in ``context.services["zones"]``."""
    services = context.services
    async with ConsoleStore(context.config.database.url) as store:
        try:
            scenario = _scenario_zones(services)
            configured = [] if scenario else _config_zones(context.config.area)
        except ValidationError as exc:
            where = "the scenario" if services.get("bases") else "area in the configuration"
            raise ConsoleSetupError(f"a zone of {where} is not valid: {exc}") from None
        await store.seed_zones(SCENARIO, scenario, at=context.clock.now())
        await store.seed_zones(CONFIG, configured, at=context.clock.now())
        services["zones"] = store
        yield store


def _control_errors(controller: Any) -> tuple[type[Exception], ...]:
    if controller is None:
        return ()
    from missions.controller import ControllerError

    return (ControllerError,)


@asynccontextmanager
async def console_part(context: AppContext) -> AsyncIterator[ConsoleServer]:
    config = context.config
    services = context.services
    whep_token = services.get("whep_view_token")
    settings = ConsoleSettings(
        database_url=config.database.url,
        token_secret=config.console.token_secret or SecretStr(secrets.token_urlsafe(32)),
        token_ttl_s=config.console.token_ttl_s,
        tile_url=config.console.tile_url or services.get("tile_url"),
        whep_token=None if whep_token is None else SecretStr(str(whep_token)),
    )
    users: list[InitialUser] = []
    if context.mode == "demo":
        users = [(role.value, secrets.token_urlsafe(9), role) for role in Role]
    elif admin_password := os.environ.get("SKYEYE_ADMIN_PASSWORD"):
        # The first administrator of a real deployment; the others are made in /admin.
        users = [("admin", admin_password, Role.ADMIN)]
    controller = services.get("controller")
    planner = services.get("planner")
    if planner is None and controller is not None:
        from missions.controller.plans import planner_for

        planner = services["planner"] = planner_for(context)
    routers = [services[key].router for key in ("vision",) if key in services]
    if "tiles_router" in services:
        routers.append(services["tiles_router"])
    app = create_app(
        settings,
        bus=context.bus,
        clock=context.clock,
        control=controller,
        planner=planner,
        control_errors=_control_errors(controller),
        routers=routers,
        initial_users=users,
        store=services.get("zones"),
    )
    async with ConsoleServer(app, host=config.console.host, port=config.console.port) as server:
        context.announce("Console", server.url)
        if context.mode == "demo":  # made up for this run; a deployment's are its own
            for username, password, _ in users:
                context.announce(f"Console log-in {username}", f"password {password}")
        services["console_url"] = server.url
        yield server
