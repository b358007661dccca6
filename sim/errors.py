"""Errors of the simulated vehicles.

::

    SimError                     anything the vehicle simulator refuses
    ├── ScenarioError            a scenario file or model is invalid (names the key path)
    ├── SimStateError            an operation does not fit the simulator's lifecycle state
    ├── SimPortError             a vehicle's MAVLink port cannot be opened
    └── SimLookupError           no vehicle or link with that id
"""

from __future__ import annotations

__all__ = ["ScenarioError", "SimError", "SimLookupError", "SimPortError", "SimStateError"]


class SimError(Exception):
    """Base of every error the vehicle simulator raises."""


class ScenarioError(SimError):
    """A scenario is invalid; the message names the file and key path."""

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.key = key


class SimStateError(SimError):
    """The simulator is not in a state that allows this (not started, closed, not lock-step)."""


class SimPortError(SimError):
    """A vehicle's TCP or UDP port could not be opened."""

    def __init__(self, message: str, *, vehicle_id: str, port: int) -> None:
        super().__init__(message)
        self.vehicle_id = vehicle_id
        self.port = port


class SimLookupError(SimError, KeyError):
    """No vehicle with that id (or system id) in this simulator."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what

    def __str__(self) -> str:
        return self.what
