"""Skyeye's fleet link: every drone's state and every command, over MAVLink (pymavlink).

See ``fleet/README.md`` for the API. Import from here; the modules behind are private.
"""

from fleet.commands import CommandAck
from fleet.errors import (
    CommandDenied,
    CommandError,
    CommandExpired,
    CommandTimeout,
    ConnectionSpecError,
    DiscoveryTimeout,
    FleetError,
    FleetStateError,
    LinkDown,
    MissionTimeout,
    MissionTransferError,
    ParameterError,
    ParameterTimeout,
    SigningError,
    UnknownVehicleError,
    VehicleError,
)
from fleet.fleet import Fleet, FleetState, Publisher
from fleet.missions import MissionItem, MissionType
from fleet.settings import FleetSettings, SigningSettings
from fleet.signing import SigningKey
from fleet.vehicle import FailsafeSettings, Vehicle

__all__ = [
    "CommandAck",
    "CommandDenied",
    "CommandError",
    "CommandExpired",
    "CommandTimeout",
    "ConnectionSpecError",
    "DiscoveryTimeout",
    "FailsafeSettings",
    "Fleet",
    "FleetError",
    "FleetSettings",
    "FleetState",
    "FleetStateError",
    "LinkDown",
    "MissionItem",
    "MissionTimeout",
    "MissionTransferError",
    "MissionType",
    "ParameterError",
    "ParameterTimeout",
    "Publisher",
    "SigningError",
    "SigningKey",
    "SigningSettings",
    "UnknownVehicleError",
    "Vehicle",
    "VehicleError",
]
