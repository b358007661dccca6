"""From simulated vehicles and scenarios to cameras: poses, world settings, a renderer.

A vehicle gives where its airframe and gimbal truly point (``Vehicle.pose()``) and where it
reports they point, its navigation estimate (``Vehicle.reported_pose()``); this turns them into
:class:`CameraPose` values, without importing the vehicle module. The camera renders the true
view; its frame metadata carries the reported pose, as a real drone's does.
"""

from __future__ import annotations

from typing import Protocol

from sim.camera.errors import CameraError
from sim.camera.model import CameraPose
from sim.world.config import WorldConfig

__all__ = ["PoseFeed", "VehiclePoseLike", "camera_pose", "world_config_for"]


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


class VehicleLike(Protocol):
    """A vehicle's true pose and the pose it reports."""

    def pose(self) -> VehiclePoseLike: ...
    def reported_pose(self) -> VehiclePoseLike: ...


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


class PoseFeed:
    """Follows ``vehicle`` for its camera: calling it gives the true camera pose (what the
    renderer draws, a pose source for :class:`~sim.camera.whip.WhipPublisher`), and
    :meth:`reported` the pose the vehicle reported at that same instant (the frame's metadata).
    """

    __slots__ = ("_reported", "_vehicle")

    _KEPT = 8  # poses handed out and not yet rendered: one per track, a few at a reconnection

    def __init__(self, vehicle: VehicleLike) -> None:
        self._vehicle = vehicle
        self._reported: dict[CameraPose, CameraPose] = {}

    def __call__(self) -> CameraPose:
        true = camera_pose(self._vehicle.pose())
        self._reported[true] = camera_pose(self._vehicle.reported_pose())
        while len(self._reported) > self._KEPT:
            del self._reported[next(iter(self._reported))]
        return true

    def reported(self, true: CameraPose) -> CameraPose:
        """The reported pose taken with ``true``, one of the last poses this feed handed out."""
        try:
            return self._reported[true]
        except KeyError:
            raise CameraError(f"camera pose {true} was not handed out by this feed") from None


def world_config_for(world: WorldConfig | None, first_base: _BaseLike) -> WorldConfig:
    """The scenario's world, or one centred on its first base at the base's altitude."""
    if world is not None:
        return world
    return WorldConfig(
        origin=(first_base.lat_deg, first_base.lon_deg),
        base_altitude_amsl_m=first_base.alt_amsl_m,
    )
