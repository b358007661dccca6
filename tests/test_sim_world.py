"""The world is deterministic, bounded in memory, and its targets behave."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from sim.world import TargetField, TargetsConfig, World, WorldConfig

ORIGIN = (51.5, 4.2)


def test_same_seed_same_ground_other_seed_other_ground() -> None:
    one = World(WorldConfig(origin=ORIGIN), seed=1).tile(0, 3, -2)
    again = World(WorldConfig(origin=ORIGIN), seed=1).tile(0, 3, -2)
    other = World(WorldConfig(origin=ORIGIN), seed=2).tile(0, 3, -2)
    assert np.array_equal(one, again)
    assert np.abs(one.astype(int) - other.astype(int)).mean() > 5
    # it looks like imagery, not flat colour fields: plenty of local texture
    assert one.std() > 10
    assert np.abs(np.diff(one.astype(int), axis=1)).mean() > 1.0


def test_tile_cache_stays_within_its_budget_on_a_long_flight() -> None:
    world = World(WorldConfig(origin=ORIGIN, tile_cache_mb=3.0), seed=1)
    for k in range(30):  # a 30-tile strip, 3.8 km at the finest level
        world.tile(0, k, 0)
    assert world.tiles_rendered == 30
    assert world.cache_bytes <= 3 * 1024 * 1024
    assert world.cached_tiles < 30


def test_boats_float_and_vehicles_keep_to_their_lanes() -> None:
    world = World(WorldConfig(origin=ORIGIN), seed=4)
    field = TargetField(world, TargetsConfig())
    centre = world.layout.town(0, 0)
    seen = field.near(centre.x_m, centre.y_m, 6_000.0, 500.0)
    kinds = {s.target_class for s in seen}
    assert {"car", "person"} <= kinds
    boats = [s for s in seen if s.target_class == "boat"]
    if boats:
        assert world.is_water(
            np.array([b.x_m for b in boats]), np.array([b.y_m for b in boats])
        ).all()
    segments = []
    for i in range(-3, 4):
        for j in range(-3, 4):
            town = world.layout.town(i, j)
            for node in world.layout.street_nodes(town) if town.is_settlement else [(i, j, 0, 0)]:
                for other in world.layout.neighbours(node):
                    a, b = world.layout.node(node), world.layout.node(other)
                    segments.append((a.x_m, a.y_m, b.x_m, b.y_m))
    seg = np.array(segments)
    for s in (t for t in seen if t.target_class in ("car", "van", "truck", "bus")):
        d = seg[:, 2:] - seg[:, :2]
        t = np.clip(
            ((s.x_m - seg[:, 0]) * d[:, 0] + (s.y_m - seg[:, 1]) * d[:, 1])
            / np.maximum((d**2).sum(1), 1e-9),
            0,
            1,
        )
        gap = np.hypot(seg[:, 0] + t * d[:, 0] - s.x_m, seg[:, 1] + t * d[:, 1] - s.y_m).min()
        assert gap < 2.5, f"{s.target_id} is {gap:.1f} m off the road"


def test_targets_move_deterministically_and_plausibly() -> None:
    world = World(WorldConfig(origin=ORIGIN), seed=4)
    town = world.layout.town(0, 0)
    a = {
        s.target_id: s
        for s in TargetField(world, TargetsConfig()).near(town.x_m, town.y_m, 3e3, 100.0)
    }
    b = {
        s.target_id: s
        for s in TargetField(world, TargetsConfig()).near(town.x_m, town.y_m, 3e3, 100.0)
    }
    assert a == b
    later = {
        s.target_id: s
        for s in TargetField(world, TargetsConfig()).near(town.x_m, town.y_m, 1e4, 110.0)
    }
    moved = [k for k in a if math.dist((a[k].x_m, a[k].y_m), (later[k].x_m, later[k].y_m)) > 1]
    assert len(moved) > len(a) / 3
    for k in a:
        assert math.dist((a[k].x_m, a[k].y_m), (later[k].x_m, later[k].y_m)) <= 25.0 * 10 + 1


def test_scripted_actors_follow_their_script() -> None:
    world = World(WorldConfig(origin=ORIGIN), seed=4)
    field = TargetField(
        world,
        TargetsConfig.model_validate(
            {
                "density": {"vehicles_per_road_km": 0, "people_per_town_hectare": 0},
                "actors": [
                    {
                        "kind": "fleeing_vehicle",
                        "id": "getaway",
                        "route": [[51.5, 4.2], [51.51, 4.2]],
                        "speed_m_s": 20.0,
                        "start_s": 10.0,
                    },
                    {
                        "kind": "crowd",
                        "id": "fans",
                        "center": [51.5, 4.21],
                        "count": 30,
                        "radius_m": 20,
                    },
                    {"kind": "person", "id": "lost", "position": [51.49, 4.2]},
                ],
            }
        ),
    )
    x, y = world.frame.to_xy(51.5, 4.2)
    at_start = {s.target_id: s for s in field.near(x, y, 5_000.0, 5.0)}
    assert at_start["getaway"].y_m == pytest.approx(y)
    after = {s.target_id: s for s in field.near(x, y, 5_000.0, 60.0)}
    assert after["getaway"].y_m - y == pytest.approx(20.0 * 50.0, abs=1.0)
    assert after["getaway"].heading_deg == pytest.approx(0.0, abs=0.5)
    cx, cy = world.frame.to_xy(51.5, 4.21)
    fans = [s for s in after.values() if s.target_id.startswith("fans-")]
    assert len(fans) == 30
    assert all(math.dist((s.x_m, s.y_m), (cx, cy)) <= 20.0 + 1e-6 for s in fans)
    assert after["lost"].target_class == "person"


def test_bad_world_config_is_refused() -> None:
    with pytest.raises(ValidationError, match="radius_m"):
        WorldConfig(origin=ORIGIN, radius_m=-1.0)
    with pytest.raises(ValidationError, match="extra"):
        WorldConfig.model_validate({"origin": ORIGIN, "colour": "green"})
    with pytest.raises(ValidationError, match="origin"):
        WorldConfig.model_validate({"origin": [95.0, 0.0]})


def test_some_pedestrians_walk_in_groups() -> None:
    world = World(WorldConfig(origin=ORIGIN), seed=4)
    field = TargetField(
        world, TargetsConfig.model_validate({"density": {"people_per_town_hectare": 2.0}})
    )
    town = max(
        (world.layout.town(i, j) for i in range(-2, 3) for j in range(-2, 3)),
        key=lambda t: t.radius_m,
    )
    people = {s.target_id: s for s in field.near(town.x_m, town.y_m, town.radius_m, 50.0)}
    mates = [k for k in people if k.count(".") == 3]
    assert mates
    for mate in mates:
        leader = people.get(mate.rsplit(".", 1)[0])
        if leader is not None:
            assert math.dist((leader.x_m, leader.y_m), (people[mate].x_m, people[mate].y_m)) < 8.0
