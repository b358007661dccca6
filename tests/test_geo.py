"""Geodesy, zones, terrain and no-fly routing."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Point

from missions.geo import (
    Base,
    GridTerrain,
    InvalidGeometryError,
    LocalFrame,
    NoRouteError,
    OperatingArea,
    Router,
    Zone,
)
from missions.planning import PROFILES, Rule, check_path

GEOD = Geod(ellps="WGS84")


def test_local_frame_keeps_distance_and_bearing_from_the_base_exact() -> None:
    frame = LocalFrame.at(48.85, 2.35)
    az = np.array([0.0, 45.0, 137.0, 260.0])
    dist = np.array([1_000.0, 12_345.0, 33_000.0, 50_000.0])
    lon, lat, _ = GEOD.fwd(np.full(4, 2.35), np.full(4, 48.85), az, dist)
    x, y = frame.to_local(lat, lon)
    assert np.hypot(x, y) == pytest.approx(dist, abs=1e-3)
    assert np.degrees(np.arctan2(x, y)) % 360 == pytest.approx(az, abs=1e-6)
    back_lat, back_lon = frame.to_geo(x, y)
    assert back_lat == pytest.approx(lat, abs=1e-9)
    assert back_lon == pytest.approx(lon, abs=1e-9)


@pytest.mark.parametrize(("lat", "lon"), [(91.0, 0.0), (0.0, 181.0), (math.nan, 0.0)])
def test_bad_coordinates_are_refused(lat: float, lon: float) -> None:
    with pytest.raises(InvalidGeometryError):
        LocalFrame.at(0.0, 0.0).to_local(lat, lon)
    with pytest.raises(InvalidGeometryError):
        Base.at("b", lat, lon)


def test_zones_are_validated() -> None:
    with pytest.raises(InvalidGeometryError, match="at least 3"):
        Zone.no_fly("z", [(52.0, 5.0), (52.1, 5.0)])
    with pytest.raises(InvalidGeometryError, match="not a valid polygon"):
        Zone.no_fly("bow", [(52.0, 5.0), (52.1, 5.1), (52.0, 5.1), (52.1, 5.0)])
    with pytest.raises(InvalidGeometryError, match="ceiling"):
        Zone.ceiling("c", [(52.0, 5.0), (52.1, 5.0), (52.1, 5.1)], -5.0)
    with pytest.raises(InvalidGeometryError, match="radius_m"):
        Base.at("b", 52.0, 5.0, radius_m=0.0)
    square = [(51.99, 4.99), (51.99, 5.01), (52.01, 5.01), (52.01, 4.99)]
    with pytest.raises(InvalidGeometryError, match="inside a no-fly zone"):
        OperatingArea(Base.at("b", 52.0, 5.0), zones=(Zone.no_fly("hq", square),))


def test_plannable_region_is_inside_the_radius_and_off_no_fly_zones() -> None:
    bare = OperatingArea(Base.at("b", 52.0, 5.0, radius_m=5000.0))
    lat, lon = bare.frame.to_geo(np.array([1000, 2000, 2000, 1000]), np.array([0, 0, 1000, 1000]))
    zone = Zone.no_fly("z", list(zip(lat.tolist(), lon.tolist(), strict=True)))
    area = OperatingArea(bare.base, zones=(zone,), no_fly_margin_m=50.0)
    region = area.plannable(Point(0, 0).buffer(10_000))
    assert region.area == pytest.approx(
        math.pi * 5000**2 - 1100 * 1100 - (4 - math.pi) * 50**2, rel=2e-3
    )
    assert 49.0 <= region.distance(area.no_fly) <= 50.5  # corners: chords of the buffer arc


def test_router_goes_around_zones_by_the_shortest_way_and_knows_when_boxed_in() -> None:
    wall = shapely.box(-100, 500, 100, 1500)
    router = Router(wall, margin_m=20.0)
    path = router.route((0.0, 0.0), (0.0, 2000.0))
    legs = shapely.linestrings(np.stack([np.array(path[:-1]), np.array(path[1:])], axis=1))
    assert not shapely.intersects(legs, wall.buffer(10.0)).any()  # half the margin, at least
    length = sum(math.dist(a, b) for a, b in itertools.pairwise(path))
    # near the exact shortest way round a 200 m × 1000 m box kept 10–20 m away
    assert 2 * math.hypot(110, 500) + 1000 <= length <= 2 * math.hypot(121, 500) + 1000
    assert router.distances_m((0.0, 0.0), np.array([[0.0, 2000.0]]))[0] == pytest.approx(length)
    ring = shapely.Point(0, 0).buffer(600).difference(shapely.Point(0, 0).buffer(500))
    with pytest.raises(NoRouteError):
        Router(ring, margin_m=10.0).route((0.0, 0.0), (0.0, 2000.0))


def test_terrain_lowers_and_raises_the_legal_altitude() -> None:
    # ground rises 60 m to the north over 2 km, flat east-west
    lats = np.linspace(51.99, 52.03, 5)
    terrain = GridTerrain(
        lats.tolist(), [4.99, 5.03], [[(lat - 52.0) / 0.018 * 60.0] * 2 for lat in lats]
    )
    area = OperatingArea(Base.at("b", 52.0, 5.0), terrain=terrain)
    path = np.array([[0.0, 0.0], [0.0, 2000.0], [0.0, 0.0]])
    quad = PROFILES["quad"]
    # 100 m above home is only ~33 m above the hill top: fine; 30 m above home hits terrain
    assert not check_path(area, quad, path, np.array([100.0, 100.0, 100.0]), duration_s=600)
    low = check_path(area, quad, path, np.array([30.0, 30.0, 30.0]), duration_s=600)
    assert [v.rule for v in low] == [Rule.TERRAIN]
    assert low[0].alternative is not None
    # south of the base the ground falls away: 110 m above home is too high above it
    south = np.array([[0.0, 0.0], [0.0, -400.0], [0.0, 0.0]])
    high = check_path(area, quad, south, np.array([110.0, 110.0, 110.0]), duration_s=600)
    assert [v.rule for v in high] == [Rule.CEILING]
    with pytest.raises(InvalidGeometryError, match="outside the terrain grid"):
        area.ground_above_home_m(np.array([0.0]), np.array([90_000.0]))
