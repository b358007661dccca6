"""Orbit, route patrol, searches and containment: geometry of the paths and their items."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from shapely.geometry import LineString, Point

from missions.geo import Base, OperatingArea, Zone
from missions.planning import PROFILES, InvalidRequestError, PlanRefusedError, Rule
from missions.planning.patterns import (
    plan_containment,
    plan_expanding_square,
    plan_orbit,
    plan_route_patrol,
    plan_sector_search,
)

QUAD = PROFILES["quad"]
AREA = OperatingArea(Base.at("hq", 52.0, 5.0))
C = mavlink


def _geo(area: OperatingArea, x: float, y: float) -> tuple[float, float]:
    lat, lon = area.frame.to_geo(x, y)
    return float(lat), float(lon)


def test_orbit_holds_the_gimbal_on_the_centre_at_the_radius() -> None:
    lat, lon = _geo(AREA, 1500.0, 800.0)
    plan = plan_orbit(AREA, lat, lon, profile=QUAD, radius_m=120.0, agl_m=70.0, time_s=600.0)
    items = plan.items
    roi = next(i for i in items if i.command == C.MAV_CMD_DO_SET_ROI_LOCATION)
    loiter = next(i for i in items if i.command == C.MAV_CMD_NAV_LOITER_TURNS)
    assert (roi.lat_deg, roi.lon_deg) == pytest.approx((lat, lon), abs=1e-7)
    assert (loiter.lat_deg, loiter.lon_deg) == pytest.approx((lat, lon), abs=1e-7)
    lap_s = 2 * math.pi * 120.0 / 8.0  # orbit speed; the turn pulls 0.5 m/s² < 2.5
    assert loiter.param1 == math.ceil(600.0 / lap_s)  # whole turns lasting the 10 minutes
    assert loiter.param3 == 120.0
    assert items.index(roi) < items.index(loiter)
    ring = np.asarray(plan.sorties[0].path_m[2:-2])
    assert np.allclose(np.hypot(ring[:, 0] - 1500.0, ring[:, 1] - 800.0), 120.0, atol=0.5)
    assert plan.duration_s == pytest.approx(
        loiter.param1 * lap_s
        + QUAD.launch_overhead_s
        + 70 / 5
        + 70 / 3
        + 2 * (math.hypot(1500, 800) - 120) / 15,
        rel=1e-3,
    )


def test_open_ended_orbit_budgets_the_battery_and_bad_orbits_are_refused() -> None:
    lat, lon = _geo(AREA, 3000.0, 0.0)
    plan = plan_orbit(AREA, lat, lon, profile=QUAD)
    assert plan.items[-2].command == C.MAV_CMD_NAV_LOITER_TURNS
    assert plan.items[-2].param1 == 255.0  # until told
    assert plan.sorties[0].duration_s == pytest.approx(QUAD.usable_s)
    with pytest.raises(InvalidRequestError, match="radius"):
        plan_orbit(AREA, lat, lon, profile=QUAD, radius_m=2.0)
    with pytest.raises(PlanRefusedError) as info:
        plan_orbit(AREA, lat, lon, profile=QUAD, agl_m=150.0)
    assert info.value.violations[0].rule is Rule.CEILING
    far = _geo(AREA, 0.0, 52_000.0)
    with pytest.raises(PlanRefusedError) as info:
        plan_orbit(AREA, *far, profile=QUAD, time_s=60.0)
    assert Rule.RADIUS in {v.rule for v in info.value.violations}


def test_orbit_behind_a_no_fly_zone_is_reached_around_it() -> None:
    bare = OperatingArea(Base.at("hq", 52.0, 5.0))
    square = [(-300.0, 1000.0), (300.0, 1000.0), (300.0, 1600.0), (-300.0, 1600.0)]
    zone = Zone.no_fly("prison", [_geo(bare, x, y) for x, y in square])
    area = OperatingArea(bare.base, zones=(zone,))
    plan = plan_orbit(area, *_geo(area, 0.0, 2500.0), profile=QUAD, time_s=120.0)
    path = np.asarray(plan.sorties[0].path_m)
    legs = shapely.linestrings(np.stack([path[:-1], path[1:]], axis=1))
    assert not shapely.intersects(legs, area.no_fly).any()
    assert len([i for i in plan.items if i.command == C.MAV_CMD_NAV_WAYPOINT]) > 1


def test_route_patrol_flies_beside_the_road_with_the_camera_on_it() -> None:
    road_xy = [(0.0, 500.0), (2000.0, 500.0), (3000.0, 1500.0)]
    road = [_geo(AREA, x, y) for x, y in road_xy]
    plan = plan_route_patrol(AREA, road, profile=QUAD, offset_m=60.0, camera_side="right")
    line = LineString(road_xy)
    work = np.asarray(plan.work_path_m)
    dists = [line.distance(Point(p)) for p in work]
    assert min(dists) == pytest.approx(60.0, abs=0.5)
    # on the way out the road is on the right: flown on its left (north of the first leg)
    assert work[0][1] > 500.0
    rois = [i for i in plan.items if i.command == C.MAV_CMD_DO_SET_ROI_LOCATION]
    assert len(rois) >= len(work) - 2
    roi_xy = np.column_stack(
        AREA.frame.to_local([r.lat_deg for r in rois], [r.lon_deg for r in rois])
    )
    assert max(line.distance(Point(p)) for p in roi_xy) < 0.5
    assert any(i.command == C.MAV_CMD_DO_SET_ROI_NONE for i in plan.items)
    with pytest.raises(InvalidRequestError, match="camera_side"):
        plan_route_patrol(AREA, road, profile=QUAD, camera_side="up")


def test_expanding_square_legs_grow_by_one_spacing_every_two_legs_turning_right() -> None:
    lat, lon = _geo(AREA, 1000.0, 1000.0)
    plan = plan_expanding_square(
        AREA, lat, lon, profile=QUAD, track_spacing_m=100.0, radius_m=500.0
    )
    work = np.asarray(plan.work_path_m)
    legs = np.diff(work, axis=0)
    lengths = np.hypot(legs[:, 0], legs[:, 1])
    expected = [((k + 2) // 2) * 100.0 for k in range(len(lengths))]
    assert lengths == pytest.approx(expected)
    cross = legs[:-1, 0] * legs[1:, 1] - legs[:-1, 1] * legs[1:, 0]
    assert (cross < 0).all()  # every turn is to the right
    assert np.abs(work - [1000.0, 1000.0]).max() <= 500.0 + 1e-6
    assert tuple(work[1] - work[0]) == pytest.approx((0.0, 100.0))  # first leg north


def test_sector_search_crosses_the_datum_on_six_radials() -> None:
    lat, lon = _geo(AREA, -800.0, 1200.0)
    plan = plan_sector_search(AREA, lat, lon, profile=QUAD, radius_m=400.0)
    work = np.asarray(plan.work_path_m) - [-800.0, 1200.0]
    tips = work[np.hypot(work[:, 0], work[:, 1]) > 1.0]
    assert np.hypot(tips[:, 0], tips[:, 1]) == pytest.approx(400.0)
    bearings = sorted(round(math.degrees(math.atan2(x, y))) % 360 for x, y in tips)
    assert bearings == [0, 60, 120, 180, 240, 300]
    assert np.hypot(*work[::3].T) == pytest.approx(0.0, abs=1e-6)


def test_containment_posts_drones_on_road_crossings_with_roi() -> None:
    center = (2000.0, 2000.0)
    roads = [
        [_geo(AREA, 0.0, 2000.0), _geo(AREA, 4000.0, 2000.0)],  # crosses the ring twice
        [_geo(AREA, 2000.0, 2000.0), _geo(AREA, 2000.0, 4000.0)],  # once, going north
    ]
    drones = [("d1", QUAD, (0.0, 0.0)), ("d2", QUAD, (0.0, 0.0)), ("d3", QUAD, (4000.0, 0.0))]
    posts, notes = plan_containment(
        AREA, *_geo(AREA, *center), drones=drones, ring_m=500.0, roads=roads
    )
    assert notes == []
    spots = sorted(
        (round(float(x)), round(float(y)))
        for x, y in (AREA.frame.to_local(p.lat_deg, p.lon_deg) for p in posts)
    )
    assert spots == [(1500, 2000), (2000, 2500), (2500, 2000)]
    by_id = {p.vehicle_id: p for p in posts}
    d3_xy = AREA.frame.to_local(by_id["d3"].lat_deg, by_id["d3"].lon_deg)
    assert round(float(d3_xy[0])) == 2500  # the drone from the east takes the east exit
    for post in posts:
        items = post.plan.items
        roi = next(i for i in items if i.command == C.MAV_CMD_DO_SET_ROI_LOCATION)
        hold = next(i for i in items if i.command == C.MAV_CMD_NAV_LOITER_UNLIM)
        assert (roi.lat_deg, roi.lon_deg) == pytest.approx((post.lat_deg, post.lon_deg), abs=1e-6)
        assert (hold.lat_deg, hold.lon_deg) == pytest.approx((post.lat_deg, post.lon_deg), abs=1e-6)


def test_containment_without_roads_spreads_drones_evenly_and_reports_unwatched_exits() -> None:
    drones = [(f"d{i}", QUAD, (0.0, 0.0)) for i in range(4)]
    posts, _ = plan_containment(AREA, *_geo(AREA, 0.0, 3000.0), drones=drones, ring_m=300.0)
    xy = np.array([AREA.frame.to_local(p.lat_deg, p.lon_deg) for p in posts]) - [0.0, 3000.0]
    assert np.hypot(xy[:, 0], xy[:, 1]) == pytest.approx(300.0, abs=0.01)
    bearings = sorted(round(math.degrees(math.atan2(x, y))) % 360 for x, y in xy)
    assert bearings == [0, 90, 180, 270]
    roads = [[_geo(AREA, x, 3000.0), _geo(AREA, x + 1.0, 4000.0)] for x in (-200.0, 0.0, 200.0)]
    posts, notes = plan_containment(
        AREA, *_geo(AREA, 0.0, 3000.0), drones=drones[:2], ring_m=300.0, roads=roads
    )
    assert len(posts) == 2
    assert notes == ["1 exits unwatched: not enough drones"]
