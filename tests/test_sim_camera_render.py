"""The renderer draws targets where an independent pinhole camera says they are."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial import ConvexHull

from sim.camera import (
    CameraConfig,
    CameraEffects,
    CameraPose,
    PoseError,
    Renderer,
    TargetTruth,
)
from sim.world import TargetField, TargetsConfig, WeatherConfig, World, WorldConfig

ORIGIN = (52.10, 5.10)
CLEAN = CameraEffects(noise_sigma=0.0, vignetting=0.0, motion_blur=False)


def _independent_pixel(
    pose: CameraPose, config: CameraConfig, lat: float, lon: float, alt: float
) -> tuple[float, float]:
    """Project a geodetic point with textbook formulas, sharing no code with the renderer."""
    a, e2 = 6378137.0, 6.69437999014e-3
    s = math.sin(math.radians(pose.lat_deg))
    w = math.sqrt(1 - e2 * s * s)
    meridian, prime = a * (1 - e2) / w**3, a / w
    east = math.radians(lon - pose.lon_deg) * prime * math.cos(math.radians(pose.lat_deg))
    north = math.radians(lat - pose.lat_deg) * meridian
    up = alt - pose.alt_amsl_m
    yaw = math.radians(pose.yaw_deg + pose.gimbal_yaw_deg)
    pitch = math.radians(pose.gimbal_pitch_deg)
    # rotate the world about "up" by the heading, then tilt about the camera's right axis
    along = east * math.sin(yaw) + north * math.cos(yaw)
    across = east * math.cos(yaw) - north * math.sin(yaw)
    depth = along * math.cos(pitch) + up * math.sin(pitch)
    below = along * math.sin(pitch) - up * math.cos(pitch)
    assert config.hfov_deg is not None
    f = config.width_px / 2 / math.tan(math.radians(config.hfov_deg) / 2)
    return f * across / depth + config.width_px / 2, f * below / depth + config.height_px / 2


def _silhouette_centroid(
    pose: CameraPose,
    config: CameraConfig,
    truth: TargetTruth,
    length_m: float,
    width_m: float,
    height_m: float,
) -> tuple[float, float]:
    """Area centroid of the projected body box's convex outline."""
    heading = math.radians(truth.heading_deg)
    metres_per_deg_lat = 111_250.0  # only used for sub-metre offsets around the target
    metres_per_deg_lon = metres_per_deg_lat * math.cos(math.radians(truth.lat_deg))
    corners = []
    for along, across in ((1, 1), (-1, 1), (-1, -1), (1, -1)):
        east = along * length_m / 2 * math.sin(heading) + across * width_m / 2 * math.cos(heading)
        north = along * length_m / 2 * math.cos(heading) - across * width_m / 2 * math.sin(heading)
        lat = truth.lat_deg + north / metres_per_deg_lat
        lon = truth.lon_deg + east / metres_per_deg_lon
        for up in (0.0, height_m):
            corners.append(_independent_pixel(pose, config, lat, lon, truth.alt_amsl_m + up))
    hull = ConvexHull(np.array(corners))
    polygon = np.array(corners)[hull.vertices]
    x, y = polygon[:, 0], polygon[:, 1]
    cross = x * np.roll(y, -1) - np.roll(x, -1) * y
    area = cross.sum() / 2
    return (
        float(((x + np.roll(x, -1)) * cross).sum() / (6 * area)),
        float(((y + np.roll(y, -1)) * cross).sum() / (6 * area)),
    )


def _scene(target_class: str) -> tuple[World, TargetField, TargetField]:
    world = World(
        WorldConfig(origin=ORIGIN, relief_m=40.0),
        seed=11,
        weather=WeatherConfig(sun_elevation_deg=90.0),
    )
    actor = {
        "kind": "fleeing_vehicle",
        "id": "suspect",
        "class": target_class,
        "route": [[52.1000, 5.1000], [52.1003, 5.1004]],
        "speed_m_s": 20.0,
    }
    none = {"vehicles_per_road_km": 0, "people_per_town_hectare": 0, "boats_per_water_km2": 0}
    with_target = TargetField(
        world, TargetsConfig.model_validate({"density": none, "actors": [actor]})
    )
    empty = TargetField(world, TargetsConfig.model_validate({"density": none}))
    return world, with_target, empty


@pytest.mark.parametrize(
    ("target_class", "agl_m", "gimbal_pitch_deg", "yaw_deg", "offset_m"),
    [
        ("car", 60.0, -90.0, 0.0, (0.0, 0.0)),
        ("truck", 100.0, -90.0, 37.0, (15.0, -10.0)),
        ("van", 80.0, -50.0, 210.0, (60.0, 50.0)),
        ("car", 150.0, -35.0, 120.0, (-180.0, 120.0)),
    ],
)
def test_target_lands_on_its_independent_projection(
    target_class: str,
    agl_m: float,
    gimbal_pitch_deg: float,
    yaw_deg: float,
    offset_m: tuple[float, float],
) -> None:
    world, with_target, empty = _scene(target_class)
    config = CameraConfig(hfov_deg=60.0, width_px=640, height_px=360, effects=CLEAN)
    t_s = 120.0  # the suspect has parked at the end of its route
    (state,) = with_target.near(*world.frame.to_xy(52.1003, 5.1004), 5.0, t_s)
    ground = float(world.height_m(np.array(state.x_m), np.array(state.y_m)))
    cam_lat, cam_lon = world.frame.to_latlon(state.x_m + offset_m[0], state.y_m + offset_m[1])
    pose = CameraPose(
        lat_deg=cam_lat,
        lon_deg=cam_lon,
        alt_amsl_m=ground + agl_m,
        yaw_deg=yaw_deg,
        gimbal_pitch_deg=gimbal_pitch_deg,
    )
    seen = Renderer(world, with_target, config).render(pose, t_s)
    bare = Renderer(world, empty, config).render(pose, t_s)

    (truth,) = [t for t in seen.truth if t.target_id == "suspect"]
    assert truth.target_class == target_class
    u, v = _independent_pixel(pose, config, truth.lat_deg, truth.lon_deg, truth.alt_amsl_m)
    assert truth.centre_px == pytest.approx((u, v), abs=1e-6)
    assert truth.alt_amsl_m == pytest.approx(ground)

    diff = np.abs(seen.image_bgr.astype(int) - bare.image_bgr.astype(int)).max(axis=2)
    assert bare.truth == ()
    mask = diff > 8
    rows, cols = np.nonzero(mask)
    # the body's silhouette: the hull of its eight corners, projected independently
    uc, vc = _silhouette_centroid(
        pose, config, truth, state.length_m, state.width_m, state.height_m
    )
    assert cols.mean() + 0.5 == pytest.approx(uc, abs=0.5)
    assert rows.mean() + 0.5 == pytest.approx(vc, abs=0.5)
    x0, y0, x1, y1 = truth.box_px
    touched = np.nonzero(diff > 0)
    assert touched[1].min() >= math.floor(x0) - 2
    assert touched[1].max() <= math.ceil(x1) + 1
    assert touched[0].min() >= math.floor(y0) - 2
    assert touched[0].max() <= math.ceil(y1) + 1
    assert cols.min() <= x0 + 1.5
    assert cols.max() >= x1 - 2.5


def test_frames_are_deterministic_and_see_the_ground_in_perspective() -> None:
    world, targets, _ = _scene("car")
    config = CameraConfig(hfov_deg=60.0, effects=CLEAN)
    pose = CameraPose(lat_deg=52.1, lon_deg=5.1, alt_amsl_m=200.0, gimbal_pitch_deg=-20.0)
    one = Renderer(world, targets, config).render(pose, 10.0)
    two = Renderer(World(world.config, seed=11, weather=world.weather), targets, config).render(
        pose, 10.0
    )
    assert np.array_equal(one.image_bgr, two.image_bgr)
    # looking 20 degrees down, the horizon is in view: the top rows are haze, not ground
    top, bottom = one.image_bgr[:5].std(), one.image_bgr[-60:].std()
    assert top < bottom


def test_a_camera_under_the_ground_is_refused() -> None:
    world, targets, _ = _scene("car")
    renderer = Renderer(world, targets, CameraConfig(hfov_deg=60.0))
    with pytest.raises(PoseError, match="not above the ground"):
        renderer.render(CameraPose(lat_deg=52.1, lon_deg=5.1, alt_amsl_m=-50.0), 0.0)


def test_camera_config_needs_exactly_one_kind_of_optics() -> None:
    with pytest.raises(ValueError, match="either hfov_deg"):
        CameraConfig()
    lens = CameraConfig(sensor_width_mm=6.17, focal_length_mm=4.5, zoom=2.0).intrinsics()
    assert lens.hfov_deg == pytest.approx(2 * math.degrees(math.atan(6.17 / 2 / 9.0)))
