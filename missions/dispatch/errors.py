"""Errors of dispatch.

::

    DispatchError
    ├── InvalidIncidentError     an incident request is malformed (position, priority, duplicates)
    ├── InvalidCandidateError    a vehicle candidate is malformed (profile, battery, duplicates)
    └── NoVehicleAvailableError  no vehicle can reach the incident (each refusal has a reason)
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "DispatchError",
    "InvalidCandidateError",
    "InvalidIncidentError",
    "NoVehicleAvailableError",
]


class DispatchError(Exception):
    """Base of every dispatch error."""


class InvalidIncidentError(DispatchError):
    def __init__(self, incident_id: str, reason: str) -> None:
        super().__init__(f"incident {incident_id!r} cannot be dispatched: {reason}")
        self.incident_id = incident_id
        self.reason = reason


class InvalidCandidateError(DispatchError):
    def __init__(self, vehicle_id: str, reason: str) -> None:
        super().__init__(f"vehicle {vehicle_id!r} is not a valid dispatch candidate: {reason}")
        self.vehicle_id = vehicle_id
        self.reason = reason


class NoVehicleAvailableError(DispatchError):
    def __init__(self, incident_id: str, refusals: Mapping[str, str]) -> None:
        detail = "; ".join(f"{vid}: {why}" for vid, why in sorted(refusals.items()))
        super().__init__(
            f"no drone can be sent to incident {incident_id!r}"
            + (f" ({detail})" if detail else " (no drones known)")
        )
        self.incident_id = incident_id
        self.refusals = dict(refusals)
