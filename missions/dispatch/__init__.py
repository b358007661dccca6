"""Dispatch: which drone goes to which incident, and why.

::

    decisions = dispatch([DispatchRequest(...)], [Candidate(...), ...])
"""

from missions.dispatch.errors import (
    DispatchError,
    InvalidCandidateError,
    InvalidIncidentError,
    NoVehicleAvailableError,
)
from missions.dispatch.model import (
    Alternative,
    Candidate,
    DispatchDecision,
    DispatchRequest,
    VehicleProfile,
)
from missions.dispatch.solver import dispatch, dispatch_one, great_circle_m, physical_limit_s

__all__ = [
    "Alternative",
    "Candidate",
    "DispatchDecision",
    "DispatchError",
    "DispatchRequest",
    "InvalidCandidateError",
    "InvalidIncidentError",
    "NoVehicleAvailableError",
    "VehicleProfile",
    "dispatch",
    "dispatch_one",
    "great_circle_m",
    "physical_limit_s",
]
