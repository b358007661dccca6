"""Skyeye SITL simulator: vehicles speaking MAVLink, the world they fly over, their cameras.

The vehicle side is exported lazily (``from sim import Simulator``) so that importing
``sim.world`` or ``sim.camera`` does not load pymavlink.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "CopterMode",
    "LinkFaults",
    "PlaneMode",
    "QuadPlaneVehicle",
    "Scenario",
    "ScenarioError",
    "SimError",
    "SimVehicle",
    "Simulator",
    "VehiclePose",
    "load_scenario",
]

_EXPORTS = {
    "CopterMode": "sim.vehicle",
    "LinkFaults": "sim.link",
    "PlaneMode": "sim.quadplane",
    "QuadPlaneVehicle": "sim.quadplane",
    "Scenario": "sim.scenario",
    "ScenarioError": "sim.errors",
    "SimError": "sim.errors",
    "SimVehicle": "sim.vehicle",
    "Simulator": "sim.simulator",
    "VehiclePose": "sim.vehicle",
    "load_scenario": "sim.scenario",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
