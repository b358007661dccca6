"""FastAPI dependencies: who is asking, and may they."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from missions.console.auth import Permission, Principal
from missions.console.context import ConsoleContext, console_of

__all__ = ["Admin", "Commander", "Console", "Pilot", "User", "Viewer"]

_bearer = HTTPBearer(auto_error=False, description="Token from POST /api/auth/token")


async def _current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    return console_of(request).principal_of(credentials.credentials if credentials else None)


def _holding(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    async def check(
        request: Request, principal: Annotated[Principal, Depends(_current_user)]
    ) -> Principal:
        await console_of(request).require(
            principal, permission, f"{request.method} {request.url.path}"
        )
        return principal

    return check


Console = Annotated[ConsoleContext, Depends(console_of)]
User = Annotated[Principal, Depends(_current_user)]
Viewer = Annotated[Principal, Depends(_holding(Permission.VIEW))]
Commander = Annotated[Principal, Depends(_holding(Permission.INCIDENTS))]
Pilot = Annotated[Principal, Depends(_holding(Permission.FLIGHT))]
Admin = Annotated[Principal, Depends(_holding(Permission.ADMIN))]
