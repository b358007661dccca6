"""Dividing an area among drones of different types and bases."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import box

from missions.geo import Base, OperatingArea
from missions.planning import PROFILES, TARGETS, CoverageOptions, InvalidRequestError, Plan
from missions.planning.division import Drone, plan_division

NORTH = OperatingArea(Base.at("north", 52.0, 5.0, radius_m=8000.0))
SOUTH = OperatingArea(Base.at("south", 51.96, 5.0, radius_m=8000.0))


def _covered(plans: list[Plan], frame_area: OperatingArea) -> shapely.Geometry:
    """What the plans' sweeps image (each at its own swath), in ``frame_area``'s metres."""
    shapes = []
    for plan in plans:
        swath = plan.swath_m or 0.0
        lines = shapely.linestrings([[a, b] for a, b in plan.sweeps_m])
        geo = plan.area.frame.geometry_to_geo(shapely.union_all(lines))
        shapes.append(frame_area.frame.geometry_to_local(geo).buffer(swath / 2 + 0.5))
    return shapely.union_all(shapes)


def test_a_mixed_fleet_from_two_bases_covers_the_area_in_balanced_time() -> None:
    area_local = box(-2500, -5500, 2500, 1500)  # around and between both bases
    area_ll = NORTH.frame.geometry_to_geo(area_local)
    drones = [
        Drone(vehicle_id="n1", profile=PROFILES["quad"], area=NORTH),
        Drone(vehicle_id="n2", profile=PROFILES["small-quad"], area=NORTH),
        Drone(vehicle_id="s1", profile=PROFILES["quad"], area=SOUTH),
        Drone(vehicle_id="s2", profile=PROFILES["quad"], area=SOUTH),
    ]
    division = plan_division(area_ll, drones, options=CoverageOptions(agl_m=80.0))
    assert {p.vehicle_id for p in division.plans} == {"n1", "n2", "s1", "s2"}
    assert division.area_km2 == pytest.approx(35.0, rel=0.01)
    assert division.unreachable_km2 == 0.0
    uncovered = shapely.difference(area_local, _covered(list(division.plans), NORTH))
    assert uncovered.area < 1.0
    # faster, longer-lived drones get more area; times stay within a third of each other
    km2 = {p.vehicle_id: p.area_km2 or 0.0 for p in division.plans}
    assert km2["n1"] > km2["n2"]
    assert division.balance < 1.35
    # north drones fly from the north base, south drones from the south one
    for plan in division.plans:
        assert plan.area.base.name == ("north" if plan.vehicle_id[0] == "n" else "south")
        assert all(np.hypot(*np.asarray(s.path_m).T).max() <= 8000.5 for s in plan.sorties)


def test_division_refuses_duplicate_ids_and_no_drones() -> None:
    with pytest.raises(InvalidRequestError, match="unique"):
        plan_division(
            None,
            [Drone(vehicle_id="a", profile=PROFILES["quad"], area=NORTH)] * 2,
            options=CoverageOptions(target=TARGETS["car"]),
        )
    with pytest.raises(InvalidRequestError, match="no drones"):
        plan_division(None, [], options=CoverageOptions(target=TARGETS["car"]))
