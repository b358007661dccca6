"""Vehicle profiles and cameras: what a drone can fly and see, in SI units."""

from __future__ import annotations

import math
from dataclasses import dataclass

from missions.planning.errors import InvalidRequestError

__all__ = ["PROFILES", "Camera", "VehicleProfile"]


def _positive(owner: str, **values: float) -> None:
    for label, value in values.items():
        if not math.isfinite(value) or value <= 0:
            raise InvalidRequestError(f"{owner}: {label} must be positive, got {value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Camera:
    """A nadir-capable camera on a gimbal: image size and horizontal field of view.

    The image's width lies across the track while surveying, so it sets the swath.
    """

    name: str
    image_width_px: int
    image_height_px: int
    hfov_deg: float

    def __post_init__(self) -> None:
        _positive(
            f"camera {self.name!r}",
            image_width_px=self.image_width_px,
            image_height_px=self.image_height_px,
        )
        if not 1.0 <= self.hfov_deg <= 170.0:
            raise InvalidRequestError(
                f"camera {self.name!r}: hfov_deg must be in [1, 170], got {self.hfov_deg}"
            )

    @property
    def vfov_deg(self) -> float:
        half = math.atan(
            math.tan(math.radians(self.hfov_deg) / 2) * self.image_height_px / self.image_width_px
        )
        return math.degrees(2 * half)

    def footprint_width_m(self, agl_m: float) -> float:
        """Across-track width of the nadir image at ``agl_m`` above ground."""
        return 2.0 * agl_m * math.tan(math.radians(self.hfov_deg) / 2)

    def footprint_length_m(self, agl_m: float) -> float:
        return 2.0 * agl_m * math.tan(math.radians(self.vfov_deg) / 2)

    def gsd_m(self, agl_m: float) -> float:
        """Ground sampling distance (metres per pixel) at ``agl_m``."""
        return self.footprint_width_m(agl_m) / self.image_width_px

    def agl_for_gsd_m(self, gsd_m: float) -> float:
        return gsd_m * self.image_width_px / (2.0 * math.tan(math.radians(self.hfov_deg) / 2))


@dataclass(frozen=True, slots=True, kw_only=True)
class VehicleProfile:
    """What a drone type can do.

    ``endurance_s`` is the flight time on a full battery at cruise; ``reserve_pct`` of it must
    be left on landing. ``turn_radius_m`` is 0 for hover-capable multirotors, which instead stop
    and accelerate (``accel_m_s2``) at sharp corners. ``turnaround_s`` is the time from landing
    to the next take-off (battery swap). ``launch_overhead_s`` is arming and spool-up.
    """

    name: str
    cruise_speed_m_s: float
    survey_speed_m_s: float
    climb_rate_m_s: float
    descent_rate_m_s: float
    endurance_s: float
    camera: Camera
    reserve_pct: float = 20.0
    accel_m_s2: float = 2.5
    turn_radius_m: float = 0.0
    turnaround_s: float = 300.0
    launch_overhead_s: float = 20.0
    min_agl_m: float = 20.0

    def __post_init__(self) -> None:
        _positive(
            f"profile {self.name!r}",
            cruise_speed_m_s=self.cruise_speed_m_s,
            survey_speed_m_s=self.survey_speed_m_s,
            climb_rate_m_s=self.climb_rate_m_s,
            descent_rate_m_s=self.descent_rate_m_s,
            endurance_s=self.endurance_s,
            accel_m_s2=self.accel_m_s2,
            min_agl_m=self.min_agl_m,
        )
        if not 0.0 <= self.reserve_pct < 100.0:
            raise InvalidRequestError(
                f"profile {self.name!r}: reserve_pct must be in [0, 100), got {self.reserve_pct}"
            )
        for label, value in (
            ("turn_radius_m", self.turn_radius_m),
            ("turnaround_s", self.turnaround_s),
            ("launch_overhead_s", self.launch_overhead_s),
        ):
            if not math.isfinite(value) or value < 0:
                raise InvalidRequestError(
                    f"profile {self.name!r}: {label} must be >= 0, got {value}"
                )

    @property
    def usable_s(self) -> float:
        """Flight time available before the reserve."""
        return self.endurance_s * (1.0 - self.reserve_pct / 100.0)

    def battery_pct(self, flight_s: float) -> float:
        return 100.0 * flight_s / self.endurance_s

    def corner_s(self, turn_rad: float, speed_m_s: float) -> float:
        """Time lost at a corner of ``turn_rad`` heading change, against flying straight on."""
        severity = (1.0 - math.cos(turn_rad)) / 2.0
        if self.turn_radius_m > 0:
            return severity * math.pi * self.turn_radius_m / speed_m_s
        return severity * speed_m_s / self.accel_m_s2


UHD_82 = Camera(name="uhd-82", image_width_px=3840, image_height_px=2160, hfov_deg=82.0)
FHD_60 = Camera(name="fhd-60", image_width_px=1920, image_height_px=1080, hfov_deg=60.0)

PROFILES: dict[str, VehicleProfile] = {
    "quad": VehicleProfile(
        name="quad",
        cruise_speed_m_s=15.0,
        survey_speed_m_s=12.0,
        climb_rate_m_s=5.0,
        descent_rate_m_s=3.0,
        endurance_s=40 * 60.0,
        camera=UHD_82,
    ),
    "small-quad": VehicleProfile(
        name="small-quad",
        cruise_speed_m_s=12.0,
        survey_speed_m_s=10.0,
        climb_rate_m_s=4.0,
        descent_rate_m_s=3.0,
        endurance_s=25 * 60.0,
        camera=FHD_60,
    ),
    "vtol": VehicleProfile(
        name="vtol",
        cruise_speed_m_s=25.0,
        survey_speed_m_s=22.0,
        climb_rate_m_s=3.0,
        descent_rate_m_s=2.0,
        endurance_s=120 * 60.0,
        camera=UHD_82,
        turn_radius_m=60.0,
        launch_overhead_s=60.0,
    ),
}
