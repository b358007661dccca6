"""Camera poses follow a vehicle's true pose and gimbal; the frames carry its reported pose."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sim.camera import CameraConfig, Renderer
from sim.camera.errors import CameraError
from sim.camera.glue import PoseFeed, camera_pose, world_config_for
from sim.world import World, WorldConfig


@dataclass(frozen=True)
class Reported:
    lat_deg: float = 52.0
    lon_deg: float = 5.0
    alt_amsl_m: float = 130.0
    roll_deg: float = 3.0
    pitch_deg: float = -5.0
    yaw_deg: float = 80.0
    gimbal_pitch_deg: float = -120.0  # beyond the gimbal's stop
    gimbal_yaw_deg: float = 10.0


class Vehicle:
    def __init__(self) -> None:
        self.true = Reported()
        self.reported = Reported(lat_deg=52.00001, yaw_deg=82.0, gimbal_pitch_deg=-89.0)

    def pose(self) -> Reported:
        return self.true

    def reported_pose(self) -> Reported:
        return self.reported


@dataclass(frozen=True)
class BaseSpec:
    lat_deg: float = 51.9
    lon_deg: float = 4.9
    alt_amsl_m: float = 7.0


def test_camera_pose_follows_the_vehicle() -> None:
    vehicle = Vehicle()
    source = PoseFeed(vehicle)
    pose = source()
    assert pose.gimbal_pitch_deg == -90.0
    assert pose.camera_yaw_deg == 90.0
    assert (pose.lat_deg, pose.alt_amsl_m, pose.roll_deg) == (52.0, 130.0, 3.0)
    reported = source.reported(pose)
    assert (reported.lat_deg, reported.camera_yaw_deg, reported.gimbal_pitch_deg) == (
        52.00001,
        92.0,
        -89.0,
    )
    vehicle.true = Reported(lat_deg=52.01, gimbal_pitch_deg=-45.0)
    assert source().lat_deg == 52.01
    assert source.reported(pose).lat_deg == 52.00001  # still the one taken with ``pose``
    assert camera_pose(vehicle.true).gimbal_pitch_deg == -45.0
    with pytest.raises(CameraError, match="was not handed out"):
        source.reported(camera_pose(Reported(lat_deg=10.0)))


def test_world_defaults_to_the_first_base() -> None:
    config = world_config_for(None, BaseSpec())
    assert config.origin == (51.9, 4.9)
    assert config.base_altitude_amsl_m == 7.0
    given = WorldConfig(origin=(50.0, 4.0))
    assert world_config_for(given, BaseSpec()) is given


def test_a_pose_below_ground_renders_a_blank_frame_not_an_error() -> None:
    world = World(WorldConfig(origin=(52.0, 5.0)), seed=1)
    renderer = Renderer(world, None, CameraConfig(hfov_deg=60.0))
    parked = camera_pose(Reported(alt_amsl_m=-40.0))
    frame = renderer.blank(parked, 0.0)
    assert frame.truth == ()
    assert frame.image_bgr.shape == (360, 640, 3)
    assert frame.image_bgr.max() == pytest.approx(16)
