"""Serve the console with uvicorn inside the running event loop, on a chosen or free port."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator
from types import TracebackType
from typing import Self

import uvicorn
from fastapi import FastAPI

from missions.console.errors import ConsoleSetupError

__all__ = ["ConsoleServer"]


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside an application that owns its signals.

    ``uvicorn.Server.serve`` takes SIGINT/SIGTERM for itself; embedded in Skyeye, Ctrl-C
    must reach ``asyncio.run`` instead, which cancels the app and stops every part in order.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class ConsoleServer:
    """``async with ConsoleServer(app, port=0) as server: server.url`` (port 0: a free one)."""

    def __init__(self, app: FastAPI, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._group: asyncio.TaskGroup | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        if self._socket is None:
            raise ConsoleSetupError("the console server is not running")
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    async def __aenter__(self) -> Self:
        if self._socket is not None:
            raise ConsoleSetupError("the console server is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._port))
        except OSError as exc:
            sock.close()
            raise ConsoleSetupError(
                f"cannot serve the console on {self._host}:{self._port}: {exc.strerror}"
            ) from None
        self._socket = sock
        config = uvicorn.Config(self._app, log_level="warning", lifespan="on", access_log=False)
        self._server = server = _EmbeddedServer(config)
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        self._task = task = self._group.create_task(
            server.serve(sockets=[sock]), name=f"console.http[{self.port}]"
        )
        while not server.started:
            if task.done():
                await self._close(None, None, None)
                raise ConsoleSetupError("the console stopped while starting (see the log)")
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close(exc_type, exc, tb)

    async def _close(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            # Let uvicorn finish its shutdown (lifespan included) rather than cancel it, even
            # when the block ends by cancellation (Ctrl-C): a cancelled lifespan logs an error.
            await asyncio.wait({self._task}, timeout=5.0)
        if self._group is not None:
            await self._group.__aexit__(None, None, None)
        if self._socket is not None:
            self._socket.close()
        self._server = self._group = self._socket = self._task = None
