"""Coverage planning: property tests on random polygons with no-fly holes, and examples."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from shapely.geometry import Polygon, box

from missions.geo import Base, GridTerrain, OperatingArea, Zone
from missions.planning import (
    PROFILES,
    TARGETS,
    CoverageOptions,
    Plan,
    PlanRefusedError,
    Rule,
    VehicleProfile,
    plan_coverage,
    plan_coverage_local,
)
from missions.planning.sorties import fixed_time_s

BASE = Base.at("hq", 52.0, 5.0)
SHORT = VehicleProfile(
    name="short",
    cruise_speed_m_s=12.0,
    survey_speed_m_s=10.0,
    climb_rate_m_s=4.0,
    descent_rate_m_s=3.0,
    endurance_s=20 * 60.0,
    camera=PROFILES["quad"].camera,
)


def _star(cx: float, cy: float, radii: list[float], phase: float) -> Polygon:
    r = np.asarray(radii)
    n = len(radii)
    angles = phase + 2 * math.pi * np.arange(n) / n
    return Polygon(np.column_stack([cx + r * np.cos(angles), cy + r * np.sin(angles)]))


def _zone(area_frame: OperatingArea, name: str, poly: Polygon) -> Zone:
    xy = np.asarray(poly.exterior.coords)[:-1]
    lat, lon = area_frame.frame.to_geo(xy[:, 0], xy[:, 1])
    return Zone.no_fly(name, list(zip(lat.tolist(), lon.tolist(), strict=True)))


@st.composite
def scenes(draw: st.DrawFn) -> tuple[OperatingArea, Polygon]:
    """A star-shaped area 1–3 km across, 1–4 km from the base, with up to 2 no-fly holes."""
    n = draw(st.integers(5, 10))
    size = draw(st.floats(500.0, 1500.0))
    radii = [size * draw(st.floats(0.45, 1.0)) for _ in range(n)]
    cx = draw(st.floats(-2000.0, 2000.0))
    cy = draw(st.floats(800.0, 2500.0))
    outer = _star(cx, cy, radii, draw(st.floats(0, math.pi)))
    bare = OperatingArea(BASE)
    zones = []
    for k in range(draw(st.integers(0, 2))):
        r = draw(st.floats(80.0, 250.0))
        hx = cx + draw(st.floats(-0.5, 0.5)) * size
        hy = cy + draw(st.floats(-0.5, 0.5)) * size
        hole = _star(hx, hy, [r * draw(st.floats(0.6, 1.0)) for _ in range(6)], 0.3 * k)
        zones.append(_zone(bare, f"nfz-{k}", hole))
    area = OperatingArea(BASE, zones=tuple(zones), no_fly_margin_m=draw(st.floats(0.0, 40.0)))
    return area, outer


def _distances_to_sweeps(plan: Plan, pts: np.ndarray) -> np.ndarray:
    lines = shapely.linestrings([[a, b] for a, b in plan.sweeps_m])
    tree = shapely.STRtree(lines)
    _, dist = tree.query_nearest(shapely.points(pts), return_distance=True, all_matches=False)
    return np.asarray(dist)


def _grid_in(region: shapely.Geometry, step: float) -> np.ndarray:
    minx, miny, maxx, maxy = region.bounds
    xs, ys = np.meshgrid(np.arange(minx, maxx, step), np.arange(miny, maxy, step))
    xy = np.column_stack([xs.ravel(), ys.ravel()])
    inside = shapely.contains_xy(region, xy[:, 0], xy[:, 1])
    boundary = shapely.get_coordinates(shapely.segmentize(region.boundary, step))
    return np.vstack([xy[inside], boundary])


def _check_sortie_battery(plan: Plan, profile: VehicleProfile) -> None:
    """Recompute, independently of the splitter, time flown + way home at every vertex."""
    router = plan.area.router
    fixed = fixed_time_s(profile, plan.alt_rel_m)
    for sortie in plan.sorties:
        path = np.asarray(sortie.path_m)
        assert sortie.duration_s <= profile.usable_s + 1e-6
        elapsed = profile.launch_overhead_s + plan.alt_rel_m / profile.climb_rate_m_s
        for k in range(1, len(path)):
            speed = (
                profile.survey_speed_m_s
                if sortie.work_from < k <= sortie.work_to
                else profile.cruise_speed_m_s
            )
            elapsed += math.dist(path[k - 1], path[k]) / speed
            home = router.distances_m((0.0, 0.0), path[k : k + 1])[0] / profile.cruise_speed_m_s
            descent = plan.alt_rel_m / profile.descent_rate_m_s
            assert elapsed + home + descent <= profile.usable_s + 1.0, (sortie.index, k)
        assert sortie.duration_s >= elapsed + plan.alt_rel_m / profile.descent_rate_m_s - 1e-6
        assert fixed > 0


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(scene=scenes(), overlap=st.sampled_from([0.0, 0.1, 0.3]))
def test_random_polygons_with_holes_are_covered_safely_and_within_battery(
    scene: tuple[OperatingArea, Polygon], overlap: float
) -> None:
    area, outer = scene
    region = area.plannable(outer)
    options = CoverageOptions(target=TARGETS["car"], side_overlap=overlap)
    if region.area < 1.0:
        with pytest.raises(PlanRefusedError):
            plan_coverage_local(area, outer, profile=SHORT, options=options)
        return
    plan = plan_coverage_local(area, outer, profile=SHORT, options=options)
    swath = plan.swath_m
    assert swath is not None
    # every point of the area lies within half a swath of a sweep line (1 cm numerical slack)
    pts = _grid_in(region, 20.0)
    assert float(_distances_to_sweeps(plan, pts).max()) <= swath / 2 + 0.02
    # each sweep is flown as a leg of the work path
    work = [tuple(p) for p in plan.work_path_m]
    legs = set(itertools.pairwise(work))
    for a, b in plan.sweeps_m:
        assert (a, b) in legs or (b, a) in legs or math.dist(a, b) < 0.5
    # no leg of any sortie crosses a no-fly area
    for sortie in plan.sorties:
        path = np.asarray(sortie.path_m)
        lines = shapely.linestrings(np.stack([path[:-1], path[1:]], axis=1))
        assert not shapely.intersects(lines, area.no_fly).any()
    # every sortie keeps the way home in reserve at each of its points
    _check_sortie_battery(plan, SHORT)


def test_mission_items_take_off_fly_the_path_and_return() -> None:
    area = OperatingArea(BASE)
    plan = plan_coverage_local(
        area,
        box(500, 500, 1500, 1200),
        profile=PROFILES["quad"],
        options=CoverageOptions(target=TARGETS["car"]),
        vehicle_id="d1",
    )
    assert len(plan.sorties) == 1
    items = plan.items
    assert [i.seq for i in items] == list(range(len(items)))
    assert items[0].command == mavlink.MAV_CMD_NAV_TAKEOFF
    assert items[-1].command == mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH
    speeds = [i.param2 for i in items if i.command == mavlink.MAV_CMD_DO_CHANGE_SPEED]
    assert speeds == [15.0, 12.0, 15.0]
    wps = [i for i in items if i.command == mavlink.MAV_CMD_NAV_WAYPOINT]
    lat, lon = area.frame.to_geo(*np.asarray(plan.sorties[0].path_m[1:-1]).T)
    assert np.allclose([w.lat_deg for w in wps], lat, atol=2e-7)
    assert np.allclose([w.lon_deg for w in wps], lon, atol=2e-7)
    assert all(w.z == pytest.approx(120.0) for w in wps)
    summary = plan.summary()
    assert summary["sorties"] == 1
    assert summary["coverage_rate_km2_h"] == pytest.approx(8.1, 0.01)


def test_sweeps_follow_the_narrow_direction_of_a_long_rectangle() -> None:
    area = OperatingArea(BASE)
    strip = shapely.affinity.rotate(box(0, 0, 4000, 400), 30, origin=(0, 0))
    plan = plan_coverage_local(
        area,
        shapely.affinity.translate(strip, 1000, 1000),
        profile=PROFILES["quad"],
        options=CoverageOptions(agl_m=60.0, side_overlap=0.0),
    )
    headings = {
        round(math.degrees(math.atan2(b[1] - a[1], b[0] - a[0])) % 180) for a, b in plan.sweeps_m
    }
    assert headings == {30}
    assert plan.work_length_m / (strip.area / plan.swath_m) < 1.1


def test_an_l_is_swept_along_each_arm_with_even_lines_that_stop_short_of_the_ends() -> None:
    area = OperatingArea(BASE)
    ell = shapely.union(box(1000, 1000, 4000, 2000), box(1000, 1000, 2000, 4000))
    plan = plan_coverage_local(
        area, ell, profile=PROFILES["quad"], options=CoverageOptions(agl_m=100.0, side_overlap=0.0)
    )
    swath = plan.swath_m
    assert swath is not None
    headings = {
        round(math.degrees(math.atan2(b[1] - a[1], b[0] - a[0])) % 180) for a, b in plan.sweeps_m
    }
    assert headings == {0, 90}
    # each arm is 1000 m wide: the fewest lines no further apart than the swath, evenly spaced
    per_arm = math.ceil(1000 / swath)
    assert len(plan.sweeps_m) == 2 * per_arm
    pitch = 1000 / per_arm
    inset = math.sqrt(swath**2 - pitch**2) / 2
    assert inset > 1.0
    swept = sum(math.dist(a, b) for a, b in plan.sweeps_m)
    assert swept == pytest.approx(per_arm * (3000 + 2000 - 4 * inset), abs=1.0)
    pts = _grid_in(ell, 10.0)
    assert float(_distances_to_sweeps(plan, pts).max()) <= swath / 2 + 0.02


def test_an_area_beyond_the_radius_is_refused_with_the_rule() -> None:
    area = OperatingArea(BASE)
    with pytest.raises(PlanRefusedError) as info:
        plan_coverage_local(
            area,
            box(60_000, 0, 61_000, 1000),
            profile=PROFILES["quad"],
            options=CoverageOptions(target=TARGETS["car"]),
        )
    assert info.value.violations[0].rule is Rule.RADIUS


def test_far_work_is_split_into_sorties_and_unreachable_work_refused() -> None:
    area = OperatingArea(BASE)
    plan = plan_coverage_local(
        area,
        box(1500, 1500, 3000, 3000),
        profile=SHORT,
        options=CoverageOptions(target=TARGETS["car"]),
    )
    assert len(plan.sorties) > 2
    assert plan.duration_s > sum(s.duration_s for s in plan.sorties)  # turnarounds
    with pytest.raises(PlanRefusedError) as info:
        plan_coverage_local(
            area,
            box(20_000, 0, 21_000, 1000),
            profile=SHORT,
            options=CoverageOptions(target=TARGETS["car"]),
        )
    refusal = info.value.violations[0]
    assert refusal.rule is Rule.BATTERY
    assert refusal.alternative is not None
    assert "km of the base" in refusal.alternative


def test_resolution_that_needs_flying_too_low_is_refused() -> None:
    area = OperatingArea(BASE)
    tiny = TARGETS["person"].__class__(name="licence plate", size_m=0.3, pixels_on_target=60)
    with pytest.raises(PlanRefusedError) as info:
        plan_coverage_local(
            area,
            box(0, 500, 500, 1000),
            profile=PROFILES["quad"],
            options=CoverageOptions(target=tiny),
        )
    assert info.value.violations[0].rule is Rule.RESOLUTION
    assert "px" in str(info.value)


def test_plan_from_lat_lon_vertices_with_a_hole() -> None:
    area = OperatingArea(BASE)
    outer = [(52.01, 5.0), (52.01, 5.03), (52.03, 5.03), (52.03, 5.0)]
    hole = [(52.018, 5.012), (52.018, 5.018), (52.022, 5.018), (52.022, 5.012)]
    plan = plan_coverage(
        area, outer, holes=[hole], profile=PROFILES["quad"], options=CoverageOptions(agl_m=80)
    )
    # a hole in the area is not to be imaged (it may be flown over: it is not a no-fly zone)
    outer_local, hole_local = area.local_polygon(outer), area.local_polygon(hole)
    assert plan.area_km2 == pytest.approx((outer_local.area - hole_local.area) / 1e6)
    feature_roles = [f["properties"]["role"] for f in plan.geojson()["features"]]
    assert feature_roles[0] == "base"
    assert "area" in feature_roles
    assert "work" in feature_roles


def test_a_fixed_wing_turns_wide_outside_the_lines_and_stays_in_the_radius() -> None:
    area = OperatingArea(Base.at("hq", 52.0, 5.0, radius_m=3000.0))
    vtol = PROFILES["vtol"]
    plan = plan_coverage_local(
        area, box(-1000, 500, 1000, 2500), profile=vtol, options=CoverageOptions(agl_m=50.0)
    )
    swept = shapely.union_all(shapely.linestrings([[a, b] for a, b in plan.sweeps_m]))
    work = np.asarray(plan.work_path_m)
    beyond = [p for p in work if swept.distance(shapely.Point(p)) > 1.0]
    # lines 78 m apart are closer than two 60 m turn radii: each U-turn runs out 60 m first
    assert len(beyond) >= len(plan.sweeps_m)
    assert all(swept.distance(shapely.Point(p)) == pytest.approx(60.0, abs=0.5) for p in beyond)
    assert np.hypot(work[:, 0], work[:, 1]).max() <= 3000.0


def test_over_a_hill_waypoints_follow_the_ground_within_the_ceiling() -> None:
    lats = np.linspace(51.99, 52.04, 6)
    lons = np.linspace(4.99, 5.04, 6)
    hill = [
        [max(0.0, 80.0 - 8000.0 * math.hypot(la - 52.015, lo - 5.015)) for lo in lons]
        for la in lats
    ]
    area = OperatingArea(BASE, terrain=GridTerrain(lats.tolist(), lons.tolist(), hill))
    plan = plan_coverage_local(
        area,
        box(500, 1000, 2000, 2500),
        profile=PROFILES["quad"],
        options=CoverageOptions(target=TARGETS["car"]),
    )  # the planner's own feasibility check passed: every 25 m within 20..120 m above ground
    path = np.asarray(plan.sorties[0].path_m[1:-1])
    alts = [i.z for i in plan.items if i.command == mavlink.MAV_CMD_NAV_WAYPOINT]
    agl = np.asarray(alts) - area.ground_above_home_m(path[:, 0], path[:, 1])
    assert agl == pytest.approx(115.0, abs=0.01)  # 5 m under the ceiling over uneven ground
    assert max(alts) - min(alts) > 20.0  # the hill (23 m on this grid) was followed
