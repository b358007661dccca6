"""The console's FastAPI app: API (OpenAPI at /docs), live WebSocket at /ws, web pages.

::

    app = create_app(settings, bus=bus, clock=clock, control=controller, planner=planner)
    async with ConsoleServer(app, host="127.0.0.1", port=0) as server:
        print(server.url)

The app's lifespan opens the users/zones/audit store (or takes an open one), creates
``initial_users`` that do not exist yet, and follows the bus. Pages are plain HTML and JS
modules under ``/static``; Leaflet is served from where ``npm ci`` put it, at
``/static/vendor/leaflet``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from missions.console import api_admin, api_ops
from missions.console.auth import Permission, Role, TokenSigner
from missions.console.context import ConsoleContext, console_of
from missions.console.errors import AuthError, ConsoleError, ConsoleSetupError
from missions.console.live import LiveFeed
from missions.console.ports import MissionControl, Planner
from missions.console.settings import ConsoleSettings
from missions.console.store import ConsoleStore
from skyeye.bus import Bus
from skyeye.clock import Clock

__all__ = ["PAGES", "InitialUser", "create_app"]

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
PAGES = {
    "login": "login.html",
    "map": "map.html",
    "wall": "wall.html",
    "missions": "missions.html",
    "admin": "admin.html",
}
InitialUser = tuple[str, str, Role]


def create_app(
    settings: ConsoleSettings,
    *,
    bus: Bus,
    clock: Clock,
    control: MissionControl | None = None,
    planner: Planner | None = None,
    control_errors: Sequence[type[Exception]] = (),
    routers: Sequence[APIRouter] = (),
    initial_users: Sequence[InitialUser] = (),
    store: ConsoleStore | None = None,
) -> FastAPI:
    """Build the console.

    ``control_errors`` are the controller's refusals (answered 409); ``routers`` are served
    by the same app (the video hub's WHIP/WHEP, the simulator's basemap tiles). ``store`` is
    an open store whose owner shares its zones with the planners (``console.part``'s zones
    part); without one the app opens ``settings.database_url`` for itself.
    """
    if not (settings.leaflet_dir / "leaflet.js").is_file():
        raise ConsoleSetupError(
            f"Leaflet is not installed at {settings.leaflet_dir}: "
            "run 'npm ci' at the repository root"
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened: contextlib.AbstractAsyncContextManager[ConsoleStore] = (
            ConsoleStore(settings.database_url) if store is None else contextlib.nullcontext(store)
        )
        async with (
            opened as console_store,
            LiveFeed(
                bus,
                clock=clock,
                frame_interval_s=settings.frame_interval_s,
                low_battery_pct=settings.low_battery_pct,
            ) as live,
        ):
            for username, password, role in initial_users:
                if console_store.user(username) is None:
                    await console_store.add_user(username, password, role, at=clock.now())
            app.state.console = ConsoleContext(
                settings=settings,
                clock=clock,
                bus=bus,
                store=console_store,
                live=live,
                signer=TokenSigner(settings.token_secret.get_secret_value().encode()),
                control=control,
                planner=planner,
                control_errors=tuple(control_errors),
            )
            try:
                yield
            finally:
                app.state.console = None

    app = FastAPI(
        title="Skyeye console",
        summary="Command map, video wall and mission console of Skyeye",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.console = None
    app.add_exception_handler(ConsoleError, _console_error)  # type: ignore[arg-type]
    app.include_router(api_admin.router)
    app.include_router(api_ops.router)
    for router in routers:  # WHIP/WHEP of the video hub, the simulator's basemap tiles
        app.include_router(router)
    app.add_api_websocket_route("/ws", _live_socket)
    _add_pages(app)
    app.mount("/static/vendor/leaflet", StaticFiles(directory=settings.leaflet_dir), name="leaflet")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


async def _console_error(request: Request, exc: ConsoleError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse({"detail": exc.reason}, status_code=exc.status, headers=headers)


def _add_pages(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/map")

    for name, filename in PAGES.items():
        path = STATIC_DIR / filename

        async def page(path: Path = path) -> FileResponse:
            return FileResponse(path, media_type="text/html")

        app.add_api_route(f"/{name}", page, include_in_schema=False, methods=["GET"])


async def _live_socket(websocket: WebSocket) -> None:
    """``/ws?token=…&detections=1``: the whole picture, then coalesced changes."""
    console = console_of(websocket)
    try:
        principal = console.principal_of(websocket.query_params.get("token"))
        await console.require(principal, Permission.VIEW, "websocket /ws")
    except AuthError as exc:
        await websocket.close(code=4000 + exc.status, reason=exc.reason[:120])
        return
    detections = websocket.query_params.get("detections") == "1"
    await websocket.accept()
    async with console.live.client(detections=detections) as batches:

        async def send() -> None:
            async for batch in batches:
                await websocket.send_text(json.dumps(batch, separators=(",", ":")))

        async def receive() -> None:
            with contextlib.suppress(WebSocketDisconnect):
                while True:
                    await websocket.receive_text()

        sender = asyncio.create_task(send(), name=f"console.ws[{principal.username}].send")
        try:
            await receive()
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await sender
