"""Camera model and projection, checked against independent geometry (pyproj, scipy, OpenCV)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest
from pyproj import Geod
from scipy.spatial.transform import Rotation

from skyeye.contracts import LinkQuality, VehicleState
from vision.camera import (
    CameraIntrinsics,
    CameraPose,
    FlatTerrain,
    PoseUncertainty,
    Projector,
)
from vision.errors import PoseUnavailableError, ProjectionError
from vision.metadata import FrameMetadata
from vision.pose import PoseHistory

GEOD = Geod(ellps="WGS84")
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
INTRINSICS = CameraIntrinsics.from_fov(width_px=1280, height_px=720, hfov_deg=70.0)


def pose(**overrides: float) -> CameraPose:
    values = {"lat_deg": 52.1, "lon_deg": 5.1, "alt_amsl_m": 110.0, "yaw_deg": 0.0}
    values |= {"pitch_deg": -90.0, "roll_deg": 0.0} | overrides
    return CameraPose(**values)


def distance_azimuth(lat1: float, lon1: float, lat2: float, lon2: float) -> tuple[float, float]:
    azimuth, _, distance = GEOD.inv(lon1, lat1, lon2, lat2)
    return distance, azimuth % 360.0


def test_nadir_centre_pixel_lands_under_the_camera() -> None:
    point = Projector(FlatTerrain(10.0)).project(INTRINSICS, pose(), (640.0, 360.0))
    distance, _ = distance_azimuth(52.1, 5.1, point.lat_deg, point.lon_deg)
    assert distance < 0.01
    assert point.alt_amsl_m == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("yaw_deg", "pixel", "expected_azimuth"),
    [
        (0.0, (1280.0, 360.0), 90.0),  # right edge looks east when the image top is north
        (0.0, (640.0, 0.0), 0.0),
        (90.0, (640.0, 0.0), 90.0),  # yawed east, the image top points east
        (90.0, (0.0, 360.0), 0.0),
    ],
)
def test_nadir_edges_follow_heading(
    yaw_deg: float, pixel: tuple[float, float], expected_azimuth: float
) -> None:
    point = Projector(FlatTerrain(10.0)).project(INTRINSICS, pose(yaw_deg=yaw_deg), pixel)
    distance, azimuth = distance_azimuth(52.1, 5.1, point.lat_deg, point.lon_deg)
    half_extent = (
        100.0 * (pixel[0] - 640.0) / INTRINSICS.fx_px
        if pixel[1] == 360.0
        else 100.0 * 360.0 / INTRINSICS.fy_px
    )
    assert distance == pytest.approx(abs(half_extent), rel=1e-4)
    assert min(abs(azimuth - expected_azimuth), 360 - abs(azimuth - expected_azimuth)) < 0.01


def test_oblique_centre_ray() -> None:
    point = Projector(FlatTerrain(0.0)).project(
        INTRINSICS, pose(alt_amsl_m=100.0, pitch_deg=-30.0, yaw_deg=30.0), (640.0, 360.0)
    )
    distance, azimuth = distance_azimuth(52.1, 5.1, point.lat_deg, point.lon_deg)
    assert distance == pytest.approx(100.0 / math.tan(math.radians(30.0)), rel=1e-4)
    assert azimuth == pytest.approx(30.0, abs=0.01)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_round_trip_with_opencv_projection_and_distortion(seed: int) -> None:
    """A ground point projected by OpenCV (scipy rotation, pyproj offsets) comes back to itself."""
    rng = np.random.default_rng(seed)
    intrinsics = CameraIntrinsics.from_calibration(
        width_px=1280,
        height_px=720,
        camera_matrix=[[900.0, 0.0, 650.0], [0.0, 905.0, 350.0], [0.0, 0.0, 1.0]],
        distortion=(-0.12, 0.03, 0.001, -0.0005, 0.0),
    )
    camera = pose(
        yaw_deg=float(rng.uniform(0, 360)),
        pitch_deg=float(rng.uniform(-90, -40)),
        roll_deg=float(rng.uniform(-8, 8)),
        alt_amsl_m=130.0,
    )
    ground_alt = 20.0
    # A ground point somewhere in view: walk along the optical axis and perturb.
    north, east = float(rng.uniform(-30, 30)), float(rng.uniform(-30, 30))
    forward_m = 110.0 / math.tan(math.radians(-camera.pitch_deg)) if camera.pitch_deg > -89 else 0.0
    north += forward_m * math.cos(math.radians(camera.yaw_deg))
    east += forward_m * math.sin(math.radians(camera.yaw_deg))
    azimuth = math.degrees(math.atan2(east, north))
    lon, lat, _ = GEOD.fwd(camera.lon_deg, camera.lat_deg, azimuth, math.hypot(north, east))
    body = Rotation.from_euler(
        "ZYX", [camera.yaw_deg, camera.pitch_deg, camera.roll_deg], degrees=True
    )
    camera_to_body = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    ned_from_camera = body.as_matrix() @ camera_to_body
    point_ned = np.array([north, east, camera.alt_amsl_m - ground_alt])
    point_camera = ned_from_camera.T @ point_ned
    assert point_camera[2] > 0
    pixels, _ = cv2.projectPoints(
        point_camera.reshape(1, 1, 3),
        np.zeros(3),
        np.zeros(3),
        intrinsics.matrix,
        np.asarray(intrinsics.distortion),
    )
    u, v = (float(x) for x in pixels.reshape(2))
    got = Projector(FlatTerrain(ground_alt)).project(intrinsics, camera, (u, v))
    error_m, _ = distance_azimuth(lat, lon, got.lat_deg, got.lon_deg)
    assert error_m < 0.05


def test_terrain_function_is_followed() -> None:
    class Slope:
        """Ground rising 1 m per 10 m eastwards from 0 m at the camera's longitude."""

        def altitude_amsl_m(self, lat_deg: float, lon_deg: float) -> float:
            _, _, distance = GEOD.inv(5.1, lat_deg, lon_deg, lat_deg)
            return float(0.1 * distance * (1 if lon_deg > 5.1 else -1))

    camera = pose(alt_amsl_m=100.0, pitch_deg=-45.0, yaw_deg=90.0)
    point = Projector(Slope()).project(INTRINSICS, camera, (640.0, 360.0))
    # The ray descends 1 m per metre east; the ground rises 0.1 m per metre: they meet at
    # 100 / 1.1 m east.
    distance, azimuth = distance_azimuth(52.1, 5.1, point.lat_deg, point.lon_deg)
    assert distance == pytest.approx(100.0 / 1.1, abs=0.05)
    assert azimuth == pytest.approx(90.0, abs=0.05)
    assert point.alt_amsl_m == pytest.approx(10.0 / 1.1, abs=0.05)


def test_pixel_above_horizon_is_refused() -> None:
    with pytest.raises(ProjectionError, match="horizon"):
        Projector(FlatTerrain(0.0)).project(INTRINSICS, pose(pitch_deg=-10.0), (640.0, 0.0))


def test_footprint_of_nadir_camera_is_the_ground_rectangle() -> None:
    corners = Projector(FlatTerrain(10.0)).footprint(INTRINSICS, pose())
    assert len(corners) == 4
    diagonal = math.hypot(640.0 / INTRINSICS.fx_px, 360.0 / INTRINSICS.fy_px) * 100.0
    for lat, lon in corners:
        distance, _ = distance_azimuth(52.1, 5.1, lat, lon)
        assert distance == pytest.approx(diagonal, rel=1e-4)


def test_uncertainty_grows_with_pose_errors() -> None:
    exact = Projector(FlatTerrain(10.0), uncertainty=PoseUncertainty(pixel_px=0.5))
    gps = Projector(
        FlatTerrain(10.0), uncertainty=PoseUncertainty(horizontal_m=3.0, pixel_px=0.0, samples=400)
    )
    attitude = Projector(
        FlatTerrain(10.0), uncertainty=PoseUncertainty(yaw_deg=1.0, pitch_deg=1.0, roll_deg=1.0)
    )
    edge = (1200.0, 600.0)
    sigma_exact = exact.project(INTRINSICS, pose(), edge).sigma_m
    sigma_gps = gps.project(INTRINSICS, pose(), edge).sigma_m
    sigma_attitude = attitude.project(INTRINSICS, pose(), edge).sigma_m
    assert sigma_exact is not None
    assert sigma_gps is not None
    assert sigma_attitude is not None
    assert sigma_exact < 0.2
    assert sigma_gps == pytest.approx(3.0, rel=0.2)
    # 1° of pitch/roll at 100 m is about 1.7 m on the ground.
    assert 1.0 < sigma_attitude < 4.0


def test_intrinsics_validate_their_input() -> None:
    with pytest.raises(ValueError, match="field of view"):
        CameraIntrinsics.from_fov(width_px=640, height_px=480, hfov_deg=200.0)
    with pytest.raises(ValueError, match="3×3"):
        CameraIntrinsics.from_calibration(width_px=640, height_px=480, camera_matrix=[[1.0]])
    with pytest.raises(ValueError, match="coefficients"):
        CameraIntrinsics(
            width_px=640,
            height_px=480,
            fx_px=500,
            fy_px=500,
            cx_px=320,
            cy_px=240,
            distortion=(0.1,),
        )
    scaled = INTRINSICS.scaled_to(640, 360)
    assert scaled.fx_px == pytest.approx(INTRINSICS.fx_px / 2)


def test_pose_from_metadata_combines_vehicle_and_gimbal_yaw() -> None:
    metadata = FrameMetadata(
        rtp_timestamp=0,
        capture_time=T0,
        lat_deg=52.0,
        lon_deg=5.0,
        alt_amsl_m=100.0,
        yaw_deg=350.0,
        gimbal_yaw_deg=20.0,
        gimbal_pitch_deg=-60.0,
        hfov_deg=60.0,
    )
    camera = CameraPose.from_metadata(metadata)
    assert camera.yaw_deg == pytest.approx(10.0)
    assert camera.pitch_deg == -60.0


def state(seconds: float, **values: float) -> VehicleState:
    base = {"lat_deg": 52.0, "lon_deg": 5.0, "alt_amsl_m": 100.0, "yaw_deg": 0.0}
    return VehicleState(
        vehicle_id="drone-1",
        system_id=1,
        time=T0 + timedelta(seconds=seconds),
        link=LinkQuality(connected=True, last_heard_age_s=0.0),
        **(base | values),
    )


def test_telemetry_is_interpolated_at_capture_time() -> None:
    history = PoseHistory("drone-1")
    history.add(state(0.0, lat_deg=52.0, yaw_deg=350.0, gimbal_pitch_deg=-80.0))
    history.add(state(1.0, lat_deg=52.001, yaw_deg=10.0, gimbal_pitch_deg=-60.0))
    camera = history.pose_at(T0 + timedelta(seconds=0.25))
    assert camera.lat_deg == pytest.approx(52.00025)
    assert camera.yaw_deg == pytest.approx(355.0)
    assert camera.pitch_deg == pytest.approx(-75.0)


def test_telemetry_too_old_or_missing_is_reported() -> None:
    history = PoseHistory("drone-1", max_extrapolation_s=0.5)
    with pytest.raises(PoseUnavailableError, match="no telemetry"):
        history.pose_at(T0)
    history.add(state(0.0, vel_north_m_s=10.0))
    ahead = history.pose_at(T0 + timedelta(seconds=0.4))
    assert ahead.lat_deg > 52.0
    with pytest.raises(PoseUnavailableError, match="older"):
        history.pose_at(T0 + timedelta(seconds=2.0))
    with pytest.raises(PoseUnavailableError, match="older than"):
        history.pose_at(T0 - timedelta(seconds=1.0))
