"""From simulated vehicles and scenarios to cameras: poses, world settings, a renderer.

The vehicle part reports where each airframe and its gimbal point (``Vehicle.pose()``);
this turns that into a :class:`CameraPose`, without importing the vehicle module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sim.camera.model import CameraPose
from sim.world.config import WorldConfig

__all__ = ["VehiclePoseLike", "camera_pose", "pose_source", "world_config_for"]


class VehiclePoseLike(Protocol):
    """What a vehicle reports: position, attitude and gimbal angles."""

    @property
    def lat_deg(self) -> float: ...
    @property
    def lon_deg(self) -> float: ...
    @property
    def alt_amsl_m(self) -> float: ...
    @property
    def roll_deg(self) -> float: ...
    @property
    def pitch_deg(self) -> float: ...
    @property
    def yaw_deg(self) -> float: ...
    @property
    def gimbal_pitch_deg(self) -> float: ...
    @property
    def gimbal_yaw_deg(self) -> float: ...


class _HasPose(Protocol):
    def pose(self) -> VehiclePoseLike: ...


class _BaseLike(Protocol):
    @property
    def lat_deg(self) -> float: ...
    @property
    def lon_deg(self) -> float: ...
    @property
    def alt_amsl_m(self) -> float: ...


def camera_pose(vehicle: VehiclePoseLike) -> CameraPose:
    """The camera pose of a vehicle's gimbal (pitch clamped to the gimbal's -90..30°)."""
    return CameraPose(
        lat_deg=vehicle.lat_deg,
        lon_deg=vehicle.lon_deg,
        alt_amsl_m=vehicle.alt_amsl_m,
        roll_deg=vehicle.roll_deg,
        pitch_deg=vehicle.pitch_deg,
        yaw_deg=vehicle.yaw_deg,
        gimbal_pitch_deg=max(-90.0, min(30.0, vehicle.gimbal_pitch_deg)),
        gimbal_yaw_deg=vehicle.gimbal_yaw_deg,
    )


def pose_source(vehicle: _HasPose) -> Callable[[], CameraPose]:
    """A pose source for :class:`~sim.camera.whip.WhipPublisher` that follows ``vehicle``."""
    return lambda: camera_pose(vehicle.pose())


def world_config_for(world: WorldConfig | None, first_base: _BaseLike) -> WorldConfig:
    """The scenario's world, or one centred on its first base at the base's altitude."""
    if world is not None:
        return world
    return WorldConfig(
        origin=(first_base.lat_deg, first_base.lon_deg),
        base_altitude_amsl_m=first_base.alt_amsl_m,
    )
