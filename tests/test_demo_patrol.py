"""The demo's standing patrol plan."""

from __future__ import annotations

import math

from missions.controller.demo import square_patrol
from missions.controller.vehicle import PlanItemKind


def test_square_patrol_flies_round_the_base_inside_its_fence() -> None:
    plan = square_patrol(52.09, 5.12, half_side_m=1_000.0, alt_rel_m=80.0, speed_m_s=12.0)
    kinds = [item.kind for item in plan.items]
    assert kinds[0] is PlanItemKind.TAKEOFF
    assert kinds[1] is PlanItemKind.SPEED
    assert kinds[-1] is PlanItemKind.RTL
    waypoints = [item for item in plan.items if item.kind is PlanItemKind.WAYPOINT]
    assert len(waypoints) == 5
    assert plan.fence is not None
    for point in waypoints:
        north_m = (point.lat_deg - 52.09) * 111_320.0
        east_m = (point.lon_deg - 5.12) * 111_320.0 * math.cos(math.radians(52.09))
        assert math.isclose(abs(north_m), 1_000.0, rel_tol=1e-6)
        assert math.isclose(abs(east_m), 1_000.0, rel_tol=1e-6)
        assert math.hypot(north_m, east_m) < plan.fence.radius_m
        assert point.alt_rel_m == 80.0
