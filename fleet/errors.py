"""Errors of the fleet link.

Every error carries the data a caller needs (vehicle id, command, MAV_RESULT name, the
vehicle's own STATUSTEXT explanation) and a sentence a pilot understands::

    FleetError
    ├── ConnectionSpecError      a connection string like "udp:0.0.0.0:14550" is malformed
    ├── FleetStateError          the Fleet or Vehicle is used outside its async-with block
    ├── UnknownVehicleError      no vehicle with that id/system id has been discovered
    ├── DiscoveryTimeout         no vehicle showed up in time
    ├── SigningError             a key is malformed, or an unsigned send was attempted
    └── VehicleError             something went wrong talking to one vehicle
        ├── LinkDown             the vehicle has been silent past the link timeout
        ├── CommandError         a COMMAND_LONG/COMMAND_INT did not take effect
        │   ├── CommandDenied    the vehicle answered with a MAV_RESULT other than ACCEPTED
        │   ├── CommandTimeout   no final COMMAND_ACK after every retry
        │   └── CommandExpired   the command could not be delivered before its expiry
        ├── MissionTransferError the mission protocol ended with a MAV_MISSION_RESULT error
        │   └── MissionTimeout   the vehicle stopped answering during a transfer
        └── ParameterError       a parameter could not be read or set
            └── ParameterTimeout no answer at all (the vehicle may not have it)
"""

from __future__ import annotations

__all__ = [
    "CommandDenied",
    "CommandError",
    "CommandExpired",
    "CommandTimeout",
    "ConnectionSpecError",
    "DiscoveryTimeout",
    "FleetError",
    "FleetStateError",
    "LinkDown",
    "MissionTimeout",
    "MissionTransferError",
    "ParameterError",
    "ParameterTimeout",
    "SigningError",
    "UnknownVehicleError",
    "VehicleError",
]


class FleetError(Exception):
    """Base of every error raised by ``fleet``."""


class ConnectionSpecError(FleetError, ValueError):
    def __init__(self, spec: str, reason: str) -> None:
        self.spec = spec
        self.reason = reason
        super().__init__(f"cannot use connection {spec!r}: {reason}")


class FleetStateError(FleetError, RuntimeError):
    """The object is used outside its lifecycle (before entering or after leaving)."""


class UnknownVehicleError(FleetError, LookupError):
    def __init__(self, vehicle: str | int) -> None:
        self.vehicle = vehicle
        super().__init__(f"no vehicle {vehicle!r} has been heard on any link")


class DiscoveryTimeout(FleetError, TimeoutError):
    def __init__(self, what: str, timeout_s: float) -> None:
        self.what = what
        self.timeout_s = timeout_s
        super().__init__(f"no heartbeat from {what} within {timeout_s:g} s")


class SigningError(FleetError, ValueError):
    """A signing key is malformed, or an unsigned send was attempted while a key is set."""


class VehicleError(FleetError):
    """Something went wrong with one vehicle; ``vehicle_id`` says which."""

    def __init__(self, vehicle_id: str, message: str) -> None:
        self.vehicle_id = vehicle_id
        super().__init__(f"{vehicle_id}: {message}")


class LinkDown(VehicleError, ConnectionError):
    def __init__(self, vehicle_id: str, silent_s: float, what: str = "", hint: str = "") -> None:
        self.silent_s = silent_s
        self.what = what
        self.hint = hint
        doing = f"cannot {what}: " if what else ""
        extra = f" ({hint})" if hint else ""
        super().__init__(vehicle_id, f"{doing}link down, nothing heard for {silent_s:.1f} s{extra}")


class CommandError(VehicleError):
    """A command did not take effect. ``command`` is the MAV_CMD name."""

    def __init__(self, vehicle_id: str, command: str, message: str) -> None:
        self.command = command
        super().__init__(vehicle_id, message)


class CommandDenied(CommandError):
    """The vehicle refused: ``result`` is the MAV_RESULT name, ``statustext`` its reason."""

    def __init__(self, vehicle_id: str, command: str, result: str, statustext: str = "") -> None:
        self.result = result
        self.statustext = statustext
        why = f": {statustext}" if statustext else ""
        super().__init__(vehicle_id, command, f"{command} refused ({result}){why}")


class CommandTimeout(CommandError, TimeoutError):
    def __init__(self, vehicle_id: str, command: str, attempts: int, hint: str = "") -> None:
        self.attempts = attempts
        self.hint = hint
        extra = f" ({hint})" if hint else ""
        super().__init__(
            vehicle_id, command, f"{command} not acknowledged after {attempts} attempt(s){extra}"
        )


class CommandExpired(CommandError):
    """Not delivered in time; it was dropped and is never sent late."""

    def __init__(self, vehicle_id: str, command: str, attempts: int, hint: str = "") -> None:
        self.attempts = attempts
        self.hint = hint
        extra = f" ({hint})" if hint else ""
        super().__init__(
            vehicle_id,
            command,
            f"{command} expired before the vehicle confirmed it "
            f"after {attempts} attempt(s); it will not be sent again{extra}",
        )


class MissionTransferError(VehicleError):
    """``result`` is the MAV_MISSION_RESULT name, ``mission_type`` the MAV_MISSION_TYPE name."""

    def __init__(self, vehicle_id: str, operation: str, mission_type: str, result: str) -> None:
        self.operation = operation
        self.mission_type = mission_type
        self.result = result
        super().__init__(vehicle_id, f"{mission_type} {operation} failed: {result}")


class MissionTimeout(MissionTransferError, TimeoutError):
    def __init__(self, vehicle_id: str, operation: str, mission_type: str, detail: str) -> None:
        super().__init__(vehicle_id, operation, mission_type, f"TIMEOUT ({detail})")


class ParameterError(VehicleError):
    def __init__(self, vehicle_id: str, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(vehicle_id, f"parameter {name}: {reason}")


class ParameterTimeout(ParameterError, TimeoutError):
    def __init__(self, vehicle_id: str, name: str, attempts: int) -> None:
        self.attempts = attempts
        super().__init__(vehicle_id, name, f"no answer after {attempts} attempt(s)")
