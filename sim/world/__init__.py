"""The simulated world the cameras see: terrain, land cover, towns, roads and targets."""

from sim.world.config import (
    CrowdActor,
    DensityConfig,
    FleeingVehicleActor,
    LoneActor,
    TargetsConfig,
    WeatherConfig,
    WorldConfig,
)
from sim.world.errors import OutOfWorldError, TileRequestError, WorldConfigError, WorldError
from sim.world.events import IncidentReportEvent, ScriptedEvents, parse_events
from sim.world.geo import GeoFrame
from sim.world.targets import CLASSES, TargetField, TargetState
from sim.world.tiles import render_xyz_tile, tiles_router
from sim.world.truth import truth_step
from sim.world.world import Ortho, World

__all__ = [
    "CLASSES",
    "CrowdActor",
    "DensityConfig",
    "FleeingVehicleActor",
    "GeoFrame",
    "IncidentReportEvent",
    "LoneActor",
    "Ortho",
    "OutOfWorldError",
    "ScriptedEvents",
    "TargetField",
    "TargetState",
    "TargetsConfig",
    "TileRequestError",
    "WeatherConfig",
    "World",
    "WorldConfig",
    "WorldConfigError",
    "WorldError",
    "parse_events",
    "render_xyz_tile",
    "tiles_router",
    "truth_step",
]
