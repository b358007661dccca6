"""Plans flown in the simulator over real MAVLink: what the camera saw, and orbit radius."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from shapely import affinity
from shapely.geometry import box

from missions.geo import Base, OperatingArea, Zone
from missions.planfiles import read_mission
from missions.planning import (
    PROFILES,
    CoverageOptions,
    MissionItem,
    check_items,
    plan_coverage_local,
)
from missions.planning.patterns import plan_orbit
from sim.scenario import parse_scenario
from sim.simulator import Simulator
from sim.testing import MavClient
from sim.vehicle import CopterMode, VehiclePose

M = mavlink
HOME = (52.0907, 5.1214)
AREA = OperatingArea(Base.at("b", *HOME))
QUAD = PROFILES["quad"]

pytestmark = pytest.mark.slow


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    scenario = parse_scenario(
        {
            "seed": 6,
            "bases": [{"id": "b", "lat_deg": HOME[0], "lon_deg": HOME[1], "alt_amsl_m": 5.0}],
            "vehicles": [{"id": "d1", "base": "b"}],
        }
    )
    async with Simulator(scenario, lockstep=True, tcp_base_port=0) as s:
        yield s


def _wire(items: Sequence[MissionItem]) -> list[Any]:
    """Home placeholder at 0, then the plan's items one further on, as ArduPilot numbers them."""
    home = M.MAVLink_mission_item_int_message(
        1,
        1,
        0,
        M.MAV_FRAME_GLOBAL,
        M.MAV_CMD_NAV_WAYPOINT,
        0,
        1,
        0,
        0,
        0,
        0,
        round(HOME[0] * 1e7),
        round(HOME[1] * 1e7),
        0.0,
        0,
    )
    return [home] + [
        M.MAVLink_mission_item_int_message(
            1,
            1,
            i.seq + 1,
            i.frame,
            i.command,
            0,
            int(i.autocontinue),
            i.param1,
            i.param2,
            i.param3,
            i.param4,
            i.x,
            i.y,
            i.z,
            0,
        )
        for i in items
    ]


async def _fly(sim: Simulator, items: Sequence[MissionItem], limit_s: float) -> list[VehiclePose]:
    """Upload, start in AUTO and record the pose every half second until landed."""
    poses: list[VehiclePose] = []
    async with MavClient(sim, sim.tcp_port("d1")) as gcs:
        await gcs.wait("HEARTBEAT")
        assert await gcs.upload(_wire(items)) == M.MAV_MISSION_ACCEPTED
        assert await gcs.set_mode(CopterMode.GUIDED) == M.MAV_RESULT_ACCEPTED
        assert await gcs.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_ACCEPTED
        assert await gcs.command(M.MAV_CMD_MISSION_START, 0, 0) == M.MAV_RESULT_ACCEPTED
        vehicle = sim.vehicle("d1")
        while sim.time_s < limit_s:
            await sim.step(0.5)
            poses.append(vehicle.pose())
            if not vehicle.armed:
                break
    assert not poses[-1].armed, "the plan did not end landed"
    return poses


def _footprints(poses: list[VehiclePose], alt_m: float) -> shapely.Geometry:
    """Ground the nadir camera imaged from each pose at survey height (planning camera model)."""
    shapes = []
    for p in poses:
        if p.alt_rel_m < alt_m - 3.0 or p.gimbal_pitch_deg > -85.0:
            continue
        x, y = AREA.frame.to_local(p.lat_deg, p.lon_deg)
        w = QUAD.camera.footprint_width_m(p.alt_rel_m)
        h = QUAD.camera.footprint_length_m(p.alt_rel_m)
        rect = box(float(x) - w / 2, float(y) - h / 2, float(x) + w / 2, float(y) + h / 2)
        # width across the nose: the heading (from north, clockwise) turns the image
        shapes.append(affinity.rotate(rect, -p.yaw_deg, origin=(float(x), float(y))))
    return shapely.union_all(shapes)


async def test_coverage_flown_in_the_simulator_images_the_whole_area(sim: Simulator) -> None:
    area = box(150.0, 120.0, 420.0, 330.0)
    plan = plan_coverage_local(
        AREA, area, profile=QUAD, options=CoverageOptions(agl_m=40.0, side_overlap=0.1)
    )
    assert len(plan.sorties) == 1
    poses = await _fly(sim, plan.items, limit_s=900.0)
    imaged = _footprints(poses, 40.0)
    covered = shapely.intersection(imaged, area).area / area.area
    assert covered >= 0.99, covered


async def test_orbit_flown_in_the_simulator_holds_its_radius(sim: Simulator) -> None:
    lat, lon = AREA.frame.to_geo(300.0, 200.0)
    plan = plan_orbit(
        AREA, float(lat), float(lon), profile=QUAD, radius_m=60.0, agl_m=40.0, time_s=120.0
    )
    poses = await _fly(sim, plan.items, limit_s=900.0)
    xy = np.array([AREA.frame.to_local(p.lat_deg, p.lon_deg) for p in poses])
    dist = np.hypot(xy[:, 0] - 300.0, xy[:, 1] - 200.0)
    # the orbit: the longest stretch flown near the circle, less 10 s at each end to settle
    # onto it and to turn away from it
    near = np.abs(dist - 60.0) < 20.0
    runs, start = [], None
    for k, flag in enumerate([*near, False]):
        if flag and start is None:
            start = k
        elif not flag and start is not None:
            runs.append((start, k))
            start = None
    first, last = max(runs, key=lambda r: r[1] - r[0])
    ring = dist[first + 20 : last - 20]
    assert len(ring) * 0.5 >= 100.0  # most of the two minutes were flown on it
    assert np.abs(ring - 60.0).max() <= 5.0, np.abs(ring - 60.0).max()
    # the gimbal looked down at the centre all along
    assert all(p.gimbal_pitch_deg < -20.0 for p in poses[first + 20 : last - 20])


async def test_a_plan_made_in_qgc_is_loaded_and_flown_jump_included(
    sim: Simulator, tmp_path: Path
) -> None:
    a = [float(v) for v in AREA.frame.to_geo(150.0, 100.0)]
    b = [float(v) for v in AREA.frame.to_geo(150.0, 250.0)]

    def simple(
        jump_id: int, command: int, frame: int, params: list[float | None]
    ) -> dict[str, Any]:
        return {
            "autoContinue": True,
            "command": command,
            "doJumpId": jump_id,
            "frame": frame,
            "params": params,
            "type": "SimpleItem",
        }

    doc = {
        "fileType": "Plan",
        "groundStation": "QGroundControl",
        "version": 1,
        "geoFence": {"circles": [], "polygons": [], "version": 2},
        "rallyPoints": {"points": [], "version": 2},
        "mission": {
            "cruiseSpeed": 10,
            "firmwareType": 3,
            "hoverSpeed": 5,
            "vehicleType": 2,
            "version": 2,
            "plannedHomePosition": [HOME[0], HOME[1], 5.0],
            "items": [
                simple(1, 22, 3, [0, 0, 0, None, 0, 0, 30]),
                simple(2, 16, 3, [0, 0, 0, None, a[0], a[1], 30]),
                simple(3, 16, 3, [0, 0, 0, None, b[0], b[1], 30]),
                simple(4, 177, 2, [2, 1, 0, 0, 0, 0, 0]),  # back to doJumpId 2 once more
                simple(5, 20, 2, [0, 0, 0, 0, 0, 0, 0]),
            ],
        },
    }
    path = tmp_path / "made-in-qgc.plan"
    path.write_text(json.dumps(doc))
    mission = read_mission(path)
    assert check_items(AREA, QUAD, mission.items).ok
    poses = await _fly(sim, mission.items, limit_s=900.0)
    xy = np.array([AREA.frame.to_local(p.lat_deg, p.lon_deg) for p in poses])
    near_a = np.hypot(xy[:, 0] - 150.0, xy[:, 1] - 100.0) < 3.0
    visits_a = int(np.sum(near_a[1:] & ~near_a[:-1]))
    assert visits_a == 2  # the DO_JUMP target survived the file's numbering
    assert np.hypot(xy[-1, 0], xy[-1, 1]) < 3.0  # and it came home


async def test_coverage_around_a_no_fly_zone_flown_never_enters_it(sim: Simulator) -> None:
    square = [(250.0, 180.0), (330.0, 180.0), (330.0, 260.0), (250.0, 260.0)]
    corners = [AREA.frame.to_geo(x, y) for x, y in square]
    zone = Zone.no_fly("school", [(float(la), float(lo)) for la, lo in corners])
    area = OperatingArea(AREA.base, zones=(zone,), no_fly_margin_m=15.0)
    target = box(150.0, 120.0, 420.0, 330.0)
    plan = plan_coverage_local(
        area, target, profile=QUAD, options=CoverageOptions(agl_m=40.0, side_overlap=0.1)
    )
    poses = await _fly(sim, plan.items, limit_s=1200.0)
    xy = np.array([AREA.frame.to_local(p.lat_deg, p.lon_deg) for p in poses])
    track = shapely.LineString(xy)
    assert not track.intersects(area.no_fly)
    region = area.plannable(target)
    covered = shapely.intersection(_footprints(poses, 40.0), region).area / region.area
    assert covered >= 0.99, covered
