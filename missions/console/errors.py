"""Errors of the console.

::

    ConsoleError
    ├── ConsoleSetupError        the console cannot start (missing Leaflet, bad settings)
    ├── AuthError                a request is refused (carries its HTTP status)
    │   ├── NotAuthenticatedError    401: no token, a bad or expired token, wrong password
    │   └── ForbiddenError           403: the role may not do this
    ├── NotFoundError            404: no such user, zone, incident, mission or preview
    ├── ConflictError            409: the user or zone exists, the mission refused the action
    └── ControlUnavailableError  503: no mission controller or planner is wired in
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConflictError",
    "ConsoleError",
    "ConsoleSetupError",
    "ControlUnavailableError",
    "ForbiddenError",
    "NotAuthenticatedError",
    "NotFoundError",
]


class ConsoleError(Exception):
    """Base of every console error; ``status`` is the HTTP status it maps to."""

    status = 500

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConsoleSetupError(ConsoleError):
    status = 500


class AuthError(ConsoleError):
    status = 401


class NotAuthenticatedError(AuthError):
    status = 401


class ForbiddenError(AuthError):
    status = 403

    def __init__(self, username: str, role: str, action: str) -> None:
        super().__init__(f"{username} ({role}) may not {action}")
        self.username = username
        self.role = role
        self.action = action


class NotFoundError(ConsoleError):
    status = 404


class ConflictError(ConsoleError):
    status = 409


class ControlUnavailableError(ConsoleError):
    status = 503
