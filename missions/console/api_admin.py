"""Log-in, users, zones and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from missions.console.context import ConsoleContext
from missions.console.deps import Admin, Console, User, Viewer
from missions.console.errors import ConflictError, NotFoundError
from missions.console.models import (
    AuditRecord,
    LoginRequest,
    TokenResponse,
    UserCreate,
    UserOut,
    UserUpdate,
    Zone,
    ZoneCreate,
)
from missions.console.store import UserRecord

__all__ = ["router"]

router = APIRouter(prefix="/api")

Username = Annotated[str, Path(min_length=2, max_length=32, pattern=r"^[a-z0-9_.-]+$")]


def _out(user: UserRecord) -> UserOut:
    return UserOut(
        username=user.username, role=user.role, disabled=user.disabled, created_at=user.created_at
    )


def _user(console: ConsoleContext, username: str) -> UserRecord:
    record = console.store.user(username)
    if record is None:
        raise NotFoundError(f"no user {username!r}")
    return record


@router.post("/auth/token", tags=["auth"], summary="Log in: a bearer token for the API")
async def log_in(body: LoginRequest, console: Console) -> TokenResponse:
    return await console.log_in(body.username, body.password.get_secret_value())


@router.get("/auth/me", tags=["auth"], summary="Who the token belongs to")
async def me(user: User, console: Console) -> UserOut:
    return _out(_user(console, user.username))


@router.get("/users", tags=["admin"], summary="Every user")
async def list_users(admin: Admin, console: Console) -> list[UserOut]:
    return [_out(u) for u in console.store.users()]


@router.post("/users", tags=["admin"], status_code=201, summary="Add a user")
async def add_user(body: UserCreate, admin: Admin, console: Console) -> UserOut:
    target = f"user:{body.username}"
    try:
        await console.store.add_user(
            body.username, body.password.get_secret_value(), body.role, at=console.clock.now()
        )
    except ConflictError as exc:
        await console.audit(admin.actor, "add_user", target, "refused", exc.reason)
        raise
    await console.audit(admin.actor, "add_user", target, "ok", body.role.value)
    return _out(_user(console, body.username))


@router.patch("/users/{username}", tags=["admin"], summary="Change a user's role or password")
async def update_user(
    username: Username, body: UserUpdate, admin: Admin, console: Console
) -> UserOut:
    if username == admin.username and (body.role is not None or body.disabled):
        raise ConflictError("an administrator cannot demote or disable themselves")
    record = await console.store.update_user(
        username,
        password=None if body.password is None else body.password.get_secret_value(),
        role=body.role,
        disabled=body.disabled,
    )
    changed = ", ".join(k for k, v in body.model_dump().items() if v is not None)
    await console.audit(admin.actor, "update_user", f"user:{username}", "ok", changed)
    return _out(record)


@router.delete("/users/{username}", tags=["admin"], status_code=204, summary="Remove a user")
async def remove_user(username: Username, admin: Admin, console: Console) -> Response:
    if username == admin.username:
        raise ConflictError("an administrator cannot remove themselves")
    await console.store.remove_user(username)
    await console.audit(admin.actor, "remove_user", f"user:{username}", "ok")
    return Response(status_code=204)


@router.get("/zones", tags=["zones"], summary="Bases, no-fly zones and ceilings")
async def list_zones(viewer: Viewer, console: Console) -> list[Zone]:
    return console.store.zones()


@router.post(
    "/zones",
    tags=["zones"],
    status_code=201,
    summary="Add a base, a no-fly zone or a ceiling; the planners respect it from the next plan",
)
async def add_zone(body: ZoneCreate, admin: Admin, console: Console) -> Zone:
    try:
        zone = await console.store.add_zone(body, at=console.clock.now())
    except ConflictError as exc:
        await console.audit(admin.actor, "add_zone", f"zone:{body.name}", "refused", exc.reason)
        raise
    await console.audit(admin.actor, "add_zone", f"zone:{zone.zone_id}", "ok", body.name)
    return zone


@router.delete("/zones/{zone_id}", tags=["zones"], status_code=204, summary="Remove a zone")
async def remove_zone(
    zone_id: Annotated[str, Path(min_length=1, max_length=40)], admin: Admin, console: Console
) -> Response:
    name = next((z.zone.name for z in console.store.zones() if z.zone_id == zone_id), "")
    await console.store.remove_zone(zone_id)
    await console.audit(admin.actor, "remove_zone", f"zone:{zone_id}", "ok", name)
    return Response(status_code=204)


@router.get("/audit", tags=["admin"], summary="The latest audit entries, oldest first")
async def audit_log(
    admin: Admin, console: Console, limit: Annotated[int, Query(ge=1, le=5000)] = 500
) -> list[AuditRecord]:
    return await console.store.audit_log(limit=limit)
