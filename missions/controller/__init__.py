"""The mission controller: state machine, launch sequence, dispatch and supervision.

::

    async with MissionStore(url) as store, Controller(
        store=store, fleet=fleet, clock=clock, profiles=profiles
    ) as controller:
        decisions = await controller.dispatch([incident], actor="dispatcher:ops")
"""

from missions.controller.controller import Controller, Publisher
from missions.controller.errors import (
    ControllerError,
    InvalidPlanError,
    InvalidTransitionError,
    LaunchError,
    LaunchTimeoutError,
    PreflightError,
    UnknownMissionError,
    UnknownVehicleError,
    VehicleBusyError,
    VehicleCommandError,
)
from missions.controller.incidents import IncidentFeed
from missions.controller.loopback import LoopbackFleet, LoopbackVehicle
from missions.controller.settings import ControllerSettings, MissionType
from missions.controller.states import AIRBORNE, PRE_FLIGHT, TERMINAL, TRANSITIONS, check_transition
from missions.controller.vehicle import (
    FailsafeSettings,
    FenceSpec,
    FleetView,
    FlightPlan,
    PlanItem,
    PlanItemKind,
    VehicleLink,
)

__all__ = [
    "AIRBORNE",
    "PRE_FLIGHT",
    "TERMINAL",
    "TRANSITIONS",
    "Controller",
    "ControllerError",
    "ControllerSettings",
    "FailsafeSettings",
    "FenceSpec",
    "FleetView",
    "FlightPlan",
    "IncidentFeed",
    "InvalidPlanError",
    "InvalidTransitionError",
    "LaunchError",
    "LaunchTimeoutError",
    "LoopbackFleet",
    "LoopbackVehicle",
    "MissionType",
    "PlanItem",
    "PlanItemKind",
    "PreflightError",
    "Publisher",
    "UnknownMissionError",
    "UnknownVehicleError",
    "VehicleBusyError",
    "VehicleCommandError",
    "VehicleLink",
    "check_transition",
]
