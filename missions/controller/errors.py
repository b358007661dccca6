"""Errors of the mission controller.

::

    ControllerError
    ├── InvalidTransitionError   a mission cannot go from its state to the one asked
    ├── UnknownMissionError      no mission has that id
    ├── UnknownVehicleError      the fleet does not know that vehicle
    ├── VehicleBusyError         the vehicle already flies or prepares another mission
    ├── InvalidPlanError         a flight plan is malformed
    ├── PreflightError           a pre-flight check failed (which check, why)
    ├── LaunchError              a launch step failed (which step, why)
    │   └── LaunchTimeoutError   a launch step did not finish in its time
    └── VehicleCommandError      a vehicle refused or could not take a command
"""

from __future__ import annotations

__all__ = [
    "ControllerError",
    "InvalidPlanError",
    "InvalidTransitionError",
    "LaunchError",
    "LaunchTimeoutError",
    "PreflightError",
    "UnknownMissionError",
    "UnknownVehicleError",
    "VehicleBusyError",
    "VehicleCommandError",
]


class ControllerError(Exception):
    """Base of every error of the mission controller."""


class InvalidTransitionError(ControllerError):
    def __init__(self, mission_id: str, current: str, requested: str, allowed: list[str]) -> None:
        options = ", ".join(allowed) if allowed else "nothing (it is finished)"
        super().__init__(
            f"mission {mission_id!r} is {current} and cannot become {requested}; "
            f"from {current} it may become: {options}"
        )
        self.mission_id = mission_id
        self.current = current
        self.requested = requested


class UnknownMissionError(ControllerError):
    def __init__(self, mission_id: str) -> None:
        super().__init__(f"no mission {mission_id!r}")
        self.mission_id = mission_id


class UnknownVehicleError(ControllerError):
    def __init__(self, vehicle_id: str) -> None:
        super().__init__(f"the fleet has no vehicle {vehicle_id!r}")
        self.vehicle_id = vehicle_id


class VehicleBusyError(ControllerError):
    def __init__(self, vehicle_id: str, mission_id: str) -> None:
        super().__init__(f"vehicle {vehicle_id!r} is busy with mission {mission_id!r}")
        self.vehicle_id = vehicle_id
        self.mission_id = mission_id


class InvalidPlanError(ControllerError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid flight plan: {reason}")
        self.reason = reason


class PreflightError(ControllerError):
    def __init__(self, vehicle_id: str, check: str, reason: str) -> None:
        super().__init__(f"pre-flight check {check!r} failed on {vehicle_id}: {reason}")
        self.vehicle_id = vehicle_id
        self.check = check
        self.reason = reason


class LaunchError(ControllerError):
    def __init__(self, mission_id: str, step: str, reason: str) -> None:
        super().__init__(f"launch of mission {mission_id!r} failed at {step!r}: {reason}")
        self.mission_id = mission_id
        self.step = step
        self.reason = reason


class LaunchTimeoutError(LaunchError):
    def __init__(self, mission_id: str, step: str, timeout_s: float) -> None:
        super().__init__(mission_id, step, f"no result within {timeout_s:g} s")
        self.timeout_s = timeout_s


class VehicleCommandError(ControllerError):
    def __init__(self, vehicle_id: str, command: str, reason: str) -> None:
        super().__init__(f"{vehicle_id} did not take {command}: {reason}")
        self.vehicle_id = vehicle_id
        self.command = command
        self.reason = reason
