"""Camera pose at a frame's capture time, from frame metadata or from telemetry history.

Telemetry (``VehicleState`` from the bus) arrives a few times a second; a frame's capture
time falls between two states and the pose is interpolated: position linearly, angles along
the shorter arc. A little extrapolation past the newest state is allowed (using the
vehicle's velocity), no more.
"""

from __future__ import annotations

import bisect
import collections
import math
from dataclasses import dataclass
from datetime import datetime

from skyeye.contracts import VehicleState
from vision.camera import CameraPose
from vision.errors import PoseUnavailableError
from vision.metadata import Frame

__all__ = ["PoseHistory", "PoseSource", "pose_for_frame"]


_EARTH_RADIUS_M = 6_371_000.0


def _lerp_angle_deg(a: float, b: float, f: float) -> float:
    delta = (b - a + 180.0) % 360.0 - 180.0
    return (a + f * delta) % 360.0


@dataclass(frozen=True, slots=True)
class _Sample:
    t_s: float
    lat_deg: float
    lon_deg: float
    alt_amsl_m: float
    camera_yaw_deg: float
    camera_pitch_deg: float
    vel_north_m_s: float
    vel_east_m_s: float
    vel_down_m_s: float


class PoseHistory:
    """Recent states of one vehicle, interpolated at any instant they cover."""

    def __init__(
        self,
        vehicle_id: str,
        *,
        keep: int = 256,
        max_extrapolation_s: float = 0.5,
        max_gap_s: float = 5.0,
        default_gimbal_pitch_deg: float = -90.0,
    ) -> None:
        self.vehicle_id = vehicle_id
        self._samples: collections.deque[_Sample] = collections.deque(maxlen=keep)
        self._max_extrapolation_s = max_extrapolation_s
        self._max_gap_s = max_gap_s
        self._default_gimbal_pitch_deg = default_gimbal_pitch_deg

    def add(self, state: VehicleState) -> None:
        """Record a state; states without a position or older than the newest are ignored."""
        if state.vehicle_id != self.vehicle_id:
            raise ValueError(
                f"state of {state.vehicle_id} given to the pose history of {self.vehicle_id}"
            )
        if state.lat_deg is None or state.lon_deg is None or state.alt_amsl_m is None:
            return
        t = state.time.timestamp()
        if self._samples and t <= self._samples[-1].t_s:
            return
        pitch = state.gimbal_pitch_deg
        self._samples.append(
            _Sample(
                t_s=t,
                lat_deg=state.lat_deg,
                lon_deg=state.lon_deg,
                alt_amsl_m=state.alt_amsl_m,
                camera_yaw_deg=(state.yaw_deg + (state.gimbal_yaw_deg or 0.0)) % 360.0,
                camera_pitch_deg=self._default_gimbal_pitch_deg if pitch is None else pitch,
                vel_north_m_s=state.vel_north_m_s,
                vel_east_m_s=state.vel_east_m_s,
                vel_down_m_s=state.vel_down_m_s,
            )
        )

    def pose_at(self, when: datetime) -> CameraPose:
        if not self._samples:
            raise PoseUnavailableError(self.vehicle_id, when, "no telemetry with a position yet")
        t = when.timestamp()
        times = [sample.t_s for sample in self._samples]
        index = bisect.bisect_right(times, t)
        if index == 0:
            raise PoseUnavailableError(
                self.vehicle_id, when, "the frame is older than the telemetry held"
            )
        if index == len(times):
            newest = self._samples[-1]
            ahead = t - newest.t_s
            if ahead > self._max_extrapolation_s:
                raise PoseUnavailableError(
                    self.vehicle_id, when, f"the newest telemetry is {ahead:.1f} s older"
                )
            return _extrapolate(newest, ahead)
        before, after = self._samples[index - 1], self._samples[index]
        if after.t_s - before.t_s > self._max_gap_s:
            raise PoseUnavailableError(
                self.vehicle_id, when, f"telemetry has a {after.t_s - before.t_s:.1f} s gap"
            )
        return _blend(before, after, (t - before.t_s) / (after.t_s - before.t_s))


def _extrapolate(sample: _Sample, ahead_s: float) -> CameraPose:
    lat_rad = math.radians(sample.lat_deg)
    return CameraPose(
        lat_deg=sample.lat_deg + math.degrees(sample.vel_north_m_s * ahead_s / _EARTH_RADIUS_M),
        lon_deg=sample.lon_deg
        + math.degrees(sample.vel_east_m_s * ahead_s / (_EARTH_RADIUS_M * math.cos(lat_rad))),
        alt_amsl_m=sample.alt_amsl_m - sample.vel_down_m_s * ahead_s,
        yaw_deg=sample.camera_yaw_deg,
        pitch_deg=sample.camera_pitch_deg,
    )


def _blend(a: _Sample, b: _Sample, f: float) -> CameraPose:
    return CameraPose(
        lat_deg=a.lat_deg + f * (b.lat_deg - a.lat_deg),
        lon_deg=a.lon_deg + f * (b.lon_deg - a.lon_deg),
        alt_amsl_m=a.alt_amsl_m + f * (b.alt_amsl_m - a.alt_amsl_m),
        yaw_deg=_lerp_angle_deg(a.camera_yaw_deg, b.camera_yaw_deg, f),
        pitch_deg=a.camera_pitch_deg + f * (b.camera_pitch_deg - a.camera_pitch_deg),
    )


class PoseSource:
    """Telemetry histories of every vehicle, fed from the bus."""

    def __init__(
        self,
        *,
        max_extrapolation_s: float = 0.5,
        max_gap_s: float = 5.0,
        default_gimbal_pitch_deg: float = -90.0,
    ) -> None:
        self._histories: dict[str, PoseHistory] = {}
        self._max_extrapolation_s = max_extrapolation_s
        self._max_gap_s = max_gap_s
        self._default_gimbal_pitch_deg = default_gimbal_pitch_deg

    def add(self, state: VehicleState) -> None:
        history = self._histories.get(state.vehicle_id)
        if history is None:
            history = PoseHistory(
                state.vehicle_id,
                max_extrapolation_s=self._max_extrapolation_s,
                max_gap_s=self._max_gap_s,
                default_gimbal_pitch_deg=self._default_gimbal_pitch_deg,
            )
            self._histories[state.vehicle_id] = history
        history.add(state)

    def pose_at(self, vehicle_id: str, when: datetime) -> CameraPose:
        history = self._histories.get(vehicle_id)
        if history is None:
            raise PoseUnavailableError(vehicle_id, when, "no telemetry from this vehicle")
        return history.pose_at(when)


def pose_for_frame(frame: Frame, telemetry: PoseSource | None) -> CameraPose:
    """The pose in the frame's metadata, else telemetry interpolated at its capture time."""
    if frame.metadata is not None:
        return CameraPose.from_metadata(frame.metadata)
    if telemetry is None:
        raise PoseUnavailableError(
            frame.vehicle_id, frame.capture_time, "the frame has no metadata and no telemetry"
        )
    return telemetry.pose_at(frame.vehicle_id, frame.capture_time)
