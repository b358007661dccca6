"""The console as a part of a running Skyeye (see ``skyeye.app``).

It serves the app on ``console.host:console.port`` (0: a free port) and wires in what
earlier parts left in ``context.services``: ``controller`` (the mission controller),
``planner`` (the demo's patrol part leaves one; with a controller and none left, the
planners of ``missions.controller.plans.planner_for``), ``vision`` (whose ``router``
carries WHIP/WHEP) with ``whep_view_token``, and ``tiles_router`` with ``tile_url`` (the
simulator's basemap, e.g. ``/tiles/{z}/{x}/{y}.png``). In the demo it creates one user per
role with a fresh password and announces them; tokens are signed with a key made for this
run.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic import SecretStr

from missions.console.app import InitialUser, create_app
from missions.console.auth import Role
from missions.console.server import ConsoleServer
from missions.console.settings import ConsoleSettings
from skyeye.app import AppContext

__all__ = ["console_part"]


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
        token_secret=SecretStr(secrets.token_urlsafe(32)),
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
    )
    async with ConsoleServer(app, host=config.console.host, port=config.console.port) as server:
        context.announce("Console", server.url)
        if context.mode == "demo":  # made up for this run; a deployment's are its own
            for username, password, _ in users:
                context.announce(f"Console log-in {username}", f"password {password}")
        services["console_url"] = server.url
        yield server
