"""Mission planners: pure functions from areas, routes and points to MAVLink mission items.

Every planner returns a :class:`Plan` (sorties of :class:`MissionItem`, figures, a GeoJSON
preview) that has passed the feasibility check, or raises :class:`PlanRefusedError` naming the
rule, the offending leg or point, and the nearest feasible alternative.
"""

from missions.planning.coverage import CoverageOptions, plan_coverage, plan_coverage_local
from missions.planning.errors import (
    InvalidRequestError,
    PlanFileError,
    PlanningError,
    PlanRefusedError,
)
from missions.planning.feasibility import (
    FeasibilityReport,
    Rule,
    Violation,
    check_items,
    check_path,
)
from missions.planning.items import MissionBuilder, MissionItem
from missions.planning.plan import Plan, Sortie
from missions.planning.sensor import (
    TARGETS,
    LimitedBy,
    SensorGeometry,
    TargetClass,
    sensor_geometry,
)
from missions.planning.sorties import SortieSpec, split_sorties
from missions.planning.vehicles import PROFILES, Camera, VehicleProfile

__all__ = [
    "PROFILES",
    "TARGETS",
    "Camera",
    "CoverageOptions",
    "FeasibilityReport",
    "InvalidRequestError",
    "LimitedBy",
    "MissionBuilder",
    "MissionItem",
    "Plan",
    "PlanFileError",
    "PlanRefusedError",
    "PlanningError",
    "Rule",
    "SensorGeometry",
    "Sortie",
    "SortieSpec",
    "TargetClass",
    "VehicleProfile",
    "Violation",
    "check_items",
    "check_path",
    "plan_coverage",
    "plan_coverage_local",
    "sensor_geometry",
    "split_sorties",
]
