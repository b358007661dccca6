"""The web console: command map, video wall, mission console, log-in with roles, audit.

::

    app = create_app(
        ConsoleSettings(token_secret=SecretStr(key), database_url="sqlite+aiosqlite:///c.db"),
        bus=bus, clock=clock, control=controller, planner=planner,
        control_errors=(ControllerError,), routers=[vision.router],
        initial_users=[("admin", password, Role.ADMIN)],
    )
    async with ConsoleServer(app, port=0) as server:
        ...  # server.url: /map, /wall, /missions, /admin, /docs, /ws

The console meets the rest of Skyeye through the bus and the Protocols of
:mod:`missions.console.ports`; it never imports the simulator.
"""

from missions.console.app import PAGES, InitialUser, create_app
from missions.console.auth import ROLE_PERMISSIONS, Permission, Principal, Role, TokenSigner
from missions.console.errors import (
    AuthError,
    ConflictError,
    ConsoleError,
    ConsoleSetupError,
    ControlUnavailableError,
    ForbiddenError,
    NotAuthenticatedError,
    NotFoundError,
)
from missions.console.live import LiveFeed
from missions.console.ports import (
    ControlRefusedError,
    DecisionLike,
    MissionControl,
    Planner,
    PlanProposal,
    Publisher,
)
from missions.console.server import ConsoleServer
from missions.console.settings import ConsoleSettings

__all__ = [
    "PAGES",
    "ROLE_PERMISSIONS",
    "AuthError",
    "ConflictError",
    "ConsoleError",
    "ConsoleServer",
    "ConsoleSettings",
    "ConsoleSetupError",
    "ControlRefusedError",
    "ControlUnavailableError",
    "DecisionLike",
    "ForbiddenError",
    "InitialUser",
    "LiveFeed",
    "MissionControl",
    "NotAuthenticatedError",
    "NotFoundError",
    "Permission",
    "PlanProposal",
    "Planner",
    "Principal",
    "Publisher",
    "Role",
    "TokenSigner",
    "create_app",
]
