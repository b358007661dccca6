"""Roles, password hashing (scrypt) and signed, expiring bearer tokens (HMAC-SHA256).

A token is ``base64url(claims).base64url(signature)``; the claims name the user, the role
the token was issued for and when it expires. A token stops working when it expires, when
its user is removed or disabled, or when the user's role changes.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from missions.console.errors import NotAuthenticatedError

__all__ = [
    "ROLE_PERMISSIONS",
    "Permission",
    "Principal",
    "Role",
    "TokenClaims",
    "TokenSigner",
    "hash_password",
    "verify_password",
]


class Role(enum.StrEnum):
    VIEWER = "viewer"  # map and feeds
    COMMANDER = "commander"  # incidents and dispatch
    PILOT = "pilot"  # flight commands
    ADMIN = "admin"  # users and zones


class Permission(enum.StrEnum):
    VIEW = "view the map and the feeds"
    INCIDENTS = "raise incidents and dispatch"
    FLIGHT = "plan and command flights"
    ADMIN = "administer users and zones"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.VIEW}),
    Role.COMMANDER: frozenset({Permission.VIEW, Permission.INCIDENTS}),
    Role.PILOT: frozenset({Permission.VIEW, Permission.FLIGHT}),
    Role.ADMIN: frozenset({Permission.VIEW, Permission.ADMIN}),
}

_SCRYPT_N = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 1


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (hex); a fresh random salt each time."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(candidate.hex(), digest)


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """Who is asking: a user and the role they act in."""

    username: str
    role: Role

    @property
    def permissions(self) -> frozenset[Permission]:
        return ROLE_PERMISSIONS[self.role]

    @property
    def actor(self) -> str:
        """How the audit log and the controller name this user."""
        return f"{self.role.value}:{self.username}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenClaims:
    username: str
    role: Role
    expires_epoch_s: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Issues and checks tokens with one HMAC key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the token key must be at least 16 bytes")
        self._key = key

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def issue(self, principal: Principal, *, expires_at: datetime) -> str:
        claims = {"sub": principal.username, "role": principal.role.value}
        claims["exp"] = f"{expires_at.timestamp():.3f}"
        body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._sign(body)}"

    def check(self, token: str, *, now: datetime) -> TokenClaims:
        """The claims of a valid, unexpired token; :class:`NotAuthenticatedError` otherwise."""
        body, dot, signature = token.partition(".")
        if not dot or not hmac.compare_digest(signature, self._sign(body)):
            raise NotAuthenticatedError("the token is not valid: log in again")
        try:
            claims = json.loads(_unb64(body))
            result = TokenClaims(
                username=str(claims["sub"]),
                role=Role(claims["role"]),
                expires_epoch_s=float(claims["exp"]),
            )
        except (ValueError, KeyError, TypeError):
            raise NotAuthenticatedError("the token is not valid: log in again") from None
        if result.expires_epoch_s <= now.timestamp():
            raise NotAuthenticatedError("the token has expired: log in again")
        return result
