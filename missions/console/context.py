"""The console's running state, shared by its routes: store, live feed, tokens, wired peers."""

from __future__ import annotations

import collections
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from starlette.requests import HTTPConnection

from missions.console.auth import Permission, Principal, TokenSigner, verify_password
from missions.console.errors import (
    ConflictError,
    ControlUnavailableError,
    ForbiddenError,
    NotAuthenticatedError,
)
from missions.console.live import LiveFeed
from missions.console.models import PlanPreview, TokenResponse
from missions.console.ports import ControlRefusedError, MissionControl, Planner, PlanProposal
from missions.console.settings import ConsoleSettings
from missions.console.store import ConsoleStore
from skyeye.bus import Bus
from skyeye.clock import Clock, WallClock

__all__ = ["ConsoleContext", "console_of"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
_PREVIEWS_KEPT = 200


@dataclass(slots=True, kw_only=True)
class ConsoleContext:
    settings: ConsoleSettings
    clock: Clock
    bus: Bus
    store: ConsoleStore
    live: LiveFeed
    signer: TokenSigner
    control: MissionControl | None
    planner: Planner | None
    control_errors: tuple[type[Exception], ...]
    # Tokens live in real time even when the simulation runs faster than it.
    auth_clock: Clock = field(default_factory=WallClock)
    previews: collections.OrderedDict[str, tuple[PlanPreview, PlanProposal]] = field(
        default_factory=collections.OrderedDict
    )
    mission_paths: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    # user name → (failures in a row, locked until [auth clock monotonic s])
    failed_log_ins: dict[str, tuple[int, float]] = field(default_factory=dict)

    # ----------------------------------------------------------------- auth

    async def log_in(self, username: str, password: str) -> TokenResponse:
        now_s = self.auth_clock.monotonic()
        failures, locked_until_s = self.failed_log_ins.get(username, (0, 0.0))
        if locked_until_s > now_s:
            await self.audit(username, "log_in", "console", "refused", "locked out")
            raise NotAuthenticatedError(
                f"too many failed log-ins for {username!r}: "
                f"try again in {locked_until_s - now_s:.0f} s"
            )
        user = self.store.user(username)
        if user is None or not verify_password(password, user.password_hash):
            failures += 1
            locked = failures >= self.settings.max_failed_log_ins
            self.failed_log_ins[username] = (
                0 if locked else failures,
                now_s + self.settings.lockout_s if locked else 0.0,
            )
            detail = "wrong user or password" + (": locked out" if locked else "")
            await self.audit(username, "log_in", "console", "refused", detail)
            raise NotAuthenticatedError("unknown user or wrong password")
        self.failed_log_ins.pop(username, None)
        if user.disabled:
            await self.audit(username, "log_in", "console", "refused", "account disabled")
            raise NotAuthenticatedError(f"the account {username!r} is disabled")
        principal = Principal(username=username, role=user.role)
        expires_at = self.auth_clock.now() + timedelta(seconds=self.settings.token_ttl_s)
        token = self.signer.issue(principal, expires_at=expires_at)
        await self.audit(principal.actor, "log_in", "console", "ok")
        return TokenResponse(
            access_token=token, expires_at=expires_at, username=username, role=user.role
        )

    def principal_of(self, token: str | None) -> Principal:
        if not token:
            raise NotAuthenticatedError("log in first: send 'Authorization: Bearer <token>'")
        claims = self.signer.check(token, now=self.auth_clock.now())
        user = self.store.user(claims.username)
        if user is None or user.disabled:
            raise NotAuthenticatedError(f"the account {claims.username!r} no longer exists")
        if user.role is not claims.role:
            raise NotAuthenticatedError("your role has changed: log in again")
        return Principal(username=user.username, role=user.role)

    async def require(self, principal: Principal, permission: Permission, target: str) -> None:
        """Refuse (403, audited) unless ``principal`` holds ``permission``."""
        if permission not in principal.permissions:
            await self.audit(principal.actor, permission.name.lower(), target, "refused", "role")
            raise ForbiddenError(principal.username, principal.role.value, permission.value)

    # ----------------------------------------------------------------- audit

    async def audit(
        self, actor: str, action: str, target: str, result: str, detail: str = ""
    ) -> None:
        await self.store.audit(
            at=self.clock.now(),
            actor=actor,
            action=action,
            target=target,
            result=result,
            detail=detail,
        )

    async def audited(
        self,
        principal: Principal,
        action: str,
        target: str,
        call: Callable[[], Awaitable[T]],
    ) -> T:
        """Run a command of the controller or planner; audit its result, map refusals to 409."""
        refusals: tuple[type[Exception], ...] = (ControlRefusedError, *self.control_errors)
        try:
            result = await call()
        except refusals as exc:
            await self.audit(principal.actor, action, target, "refused", str(exc))
            raise ConflictError(str(exc)) from exc
        except Exception as exc:
            await self.audit(principal.actor, action, target, "failed", repr(exc))
            raise
        await self.audit(principal.actor, action, target, "ok")
        return result

    # ----------------------------------------------------------------- peers

    def need_control(self) -> MissionControl:
        if self.control is None:
            raise ControlUnavailableError("no mission controller is connected to this console")
        return self.control

    def need_planner(self) -> Planner:
        if self.planner is None:
            raise ControlUnavailableError("no planner is connected to this console")
        return self.planner

    def keep_preview(self, preview: PlanPreview, proposal: PlanProposal) -> None:
        self.previews[preview.preview_id] = (preview, proposal)
        while len(self.previews) > _PREVIEWS_KEPT:
            self.previews.popitem(last=False)


def console_of(connection: HTTPConnection) -> ConsoleContext:
    console: Any = connection.app.state.console
    if not isinstance(console, ConsoleContext):
        raise RuntimeError("the console is not running (its lifespan has not started)")
    return console
