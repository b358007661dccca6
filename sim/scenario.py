"""Scenario files: where the bases are, which vehicles fly from them, and the world around them.

A scenario is YAML validated by :class:`Scenario` (unknown keys refused, errors name the key
path). The vehicle simulator reads ``seed``, ``bases``, ``vehicles``, ``profiles``,
``no_fly_zones``, ``params``, ``wind``, ``gps``, ``navigation`` and ``events``; the world and
the cameras read ``world``, ``targets``, ``weather`` and ``cameras``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.camera.model import CameraConfig
from sim.errors import ScenarioError
from sim.params import PARAM_SPECS, QUADPLANE_PARAM_SPECS, ParamSpec
from sim.world.config import TargetsConfig, WeatherConfig, WorldConfig

__all__ = [
    "BUILTIN_PROFILES",
    "MAX_VEHICLES",
    "Base",
    "GpsConfig",
    "NavigationConfig",
    "NoFlyZone",
    "Scenario",
    "VehicleProfile",
    "VehicleSpec",
    "WindConfig",
    "load_scenario",
    "parse_scenario",
]

MAX_VEHICLES = 255  # vehicle i has MAVLink system id i+1
Lat = Annotated[float, Field(ge=-90.0, le=90.0)]
Lon = Annotated[float, Field(ge=-180.0, le=180.0)]
Ident = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Base(_Model):
    """A base vehicles take off from and return to."""

    id: Ident = Field(title="Base id")
    lat_deg: Lat = Field(title="Latitude")
    lon_deg: Lon = Field(title="Longitude")
    alt_amsl_m: float = Field(
        default=0.0, ge=-500.0, le=9000.0, title="Ground altitude", description="AMSL, metres."
    )
    radius_m: float = Field(
        default=50_000.0, gt=0.0, le=200_000.0, title="Radius", description="Operating radius."
    )


class VehicleProfile(_Model):
    """Performance of an airframe: the flight model's limits and its battery."""

    kind: Literal["multirotor", "vtol"] = Field(title="Airframe kind")
    cruise_speed_m_s: float = Field(gt=0.0, le=60.0, title="Cruise speed")
    max_speed_m_s: float = Field(gt=0.0, le=80.0, title="Max speed")
    climb_rate_m_s: float = Field(gt=0.0, le=20.0, title="Max climb rate")
    descent_rate_m_s: float = Field(gt=0.0, le=20.0, title="Max descent rate")
    accel_m_s2: float = Field(gt=0.0, le=20.0, title="Max horizontal acceleration")
    yaw_rate_deg_s: float = Field(gt=0.0, le=360.0, title="Max yaw rate")
    endurance_min: float = Field(
        gt=0.0, le=1000.0, title="Endurance", description="Minutes at cruise in still air."
    )
    battery_cells: int = Field(ge=1, le=24, title="Battery cells in series")
    battery_capacity_mah: float = Field(gt=0.0, le=1_000_000.0, title="Battery capacity")
    transition_speed_m_s: float = Field(
        default=0.0,
        ge=0.0,
        le=40.0,
        title="Transition speed",
        description="VTOL: airspeed above which it flies on its wing (0 for multirotors).",
    )
    hover_power_ratio: float = Field(
        default=1.15,
        gt=0.0,
        le=10.0,
        title="Hover power ratio",
        description="Power in hover (and below transition) over power at cruise.",
    )

    @model_validator(mode="after")
    def _speeds(self) -> VehicleProfile:
        if self.cruise_speed_m_s > self.max_speed_m_s:
            raise ValueError("cruise_speed_m_s must not exceed max_speed_m_s")
        if self.transition_speed_m_s >= self.cruise_speed_m_s:
            raise ValueError("transition_speed_m_s must be below cruise_speed_m_s")
        return self


BUILTIN_PROFILES: dict[str, VehicleProfile] = {
    "police_multirotor": VehicleProfile(
        kind="multirotor",
        cruise_speed_m_s=15.0,
        max_speed_m_s=20.0,
        climb_rate_m_s=5.0,
        descent_rate_m_s=3.0,
        accel_m_s2=5.0,
        yaw_rate_deg_s=90.0,
        endurance_min=35.0,
        battery_cells=6,
        battery_capacity_mah=22_000.0,
        hover_power_ratio=1.15,
    ),
    "vtol_fixed_wing": VehicleProfile(
        kind="vtol",
        cruise_speed_m_s=25.0,
        max_speed_m_s=32.0,
        climb_rate_m_s=4.0,
        descent_rate_m_s=2.5,
        accel_m_s2=3.0,
        yaw_rate_deg_s=30.0,
        endurance_min=120.0,
        battery_cells=12,
        battery_capacity_mah=30_000.0,
        transition_speed_m_s=16.0,
        hover_power_ratio=4.0,
    ),
}


class VehicleSpec(_Model):
    """One simulated vehicle."""

    id: Ident = Field(title="Vehicle id")
    profile: str = Field(default="police_multirotor", title="Profile name")
    base: str = Field(title="Base id", description="Where it starts, on the ground.")
    heading_deg: float = Field(default=0.0, ge=0.0, lt=360.0, title="Initial heading")
    params: dict[str, float] = Field(
        default_factory=dict, title="Parameter overrides", description="Over the scenario's."
    )


class NoFlyZone(_Model):
    """A polygon the vehicles' fences keep them out of."""

    id: Ident = Field(title="Zone id")
    polygon: list[tuple[Lat, Lon]] = Field(min_length=3, title="Vertices", description="[lat, lon]")


class WindConfig(_Model):
    """Steady wind plus gusts; direction is where it blows FROM, degrees from north."""

    speed_m_s: float = Field(default=0.0, ge=0.0, le=40.0, title="Mean wind speed")
    direction_deg: float = Field(default=0.0, ge=0.0, lt=360.0, title="Wind from")
    gust_m_s: float = Field(default=0.0, ge=0.0, le=20.0, title="Gust amplitude (1 sigma)")


class GpsConfig(_Model):
    """GPS receiver quality."""

    noise_m: float = Field(default=0.3, ge=0.0, le=50.0, title="Horizontal noise (1 sigma)")
    satellites: int = Field(default=14, ge=0, le=40, title="Satellites visible")
    hdop: float = Field(default=0.7, gt=0.0, le=99.0, title="HDOP")


class NavigationConfig(_Model):
    """Errors of the navigation estimate a vehicle reports (its EKF), over its true state.

    What a vehicle reports (GLOBAL_POSITION_INT, GPS_RAW_INT, ATTITUDE, VFR_HUD, the gimbal's
    attitude status, its camera's frame metadata) is the truth plus these errors; its flight,
    the rendered view and the ground truth keep the true state. Each error is a first-order
    Gauss–Markov process, independent per axis and per vehicle, with the stationary σ and
    correlation time given here; σ 0 turns that error off (:meth:`exact` turns them all off).
    The GNSS wander comes on top of ``gps.noise_m``, the receiver's short-term noise.

    Defaults, for a police multirotor with a standard-precision GNSS receiver:

    - GNSS horizontal 1.2 m per axis (1.4 m CEP, slowly wandering with atmospheric and
      multipath errors): u-blox NEO-M9N integration manual (UBX-19014286) gives 1.5 m CEP;
      ArduPilot's EKF3 expects 0.5 m GNSS position noise (``EK3_POSNE_M_NSE``) before drift;
    - altitude 1.5 m (barometric drift with temperature and weather over minutes): ArduPilot's
      EKF3 takes 2 m barometer noise (``EK3_ALT_M_NSE``);
    - roll and pitch 0.5°, yaw 2° (compass interference, declination), gimbal 0.5° per axis
      (encoder and mount alignment): the usual figures of EKF attitude estimates on small
      multirotors (roll/pitch 0.5–1°, heading 1–3°) and of stabilised gimbals' reported angles.
    """

    gnss_horizontal_m: float = Field(
        default=1.2,
        ge=0.0,
        le=100.0,
        title="GNSS horizontal error (1 sigma per axis)",
        description="East and north each; 0 turns it off.",
    )
    gnss_tau_s: float = Field(
        default=120.0, gt=0.0, le=86_400.0, title="GNSS error correlation time"
    )
    altitude_m: float = Field(
        default=1.5,
        ge=0.0,
        le=100.0,
        title="Altitude error (1 sigma)",
        description="Barometric drift of the reported altitude; 0 turns it off.",
    )
    altitude_tau_s: float = Field(
        default=300.0, gt=0.0, le=86_400.0, title="Altitude error correlation time"
    )
    roll_pitch_deg: float = Field(
        default=0.5,
        ge=0.0,
        le=30.0,
        title="Roll and pitch error (1 sigma)",
        description="Each axis; the gimbal, stabilised on this estimate, points off by it too.",
    )
    roll_pitch_tau_s: float = Field(
        default=60.0, gt=0.0, le=86_400.0, title="Roll and pitch error correlation time"
    )
    yaw_deg: float = Field(default=2.0, ge=0.0, le=90.0, title="Yaw (heading) error (1 sigma)")
    yaw_tau_s: float = Field(default=300.0, gt=0.0, le=86_400.0, title="Yaw error correlation time")
    gimbal_deg: float = Field(
        default=0.5,
        ge=0.0,
        le=30.0,
        title="Gimbal angle error (1 sigma)",
        description="Pitch and yaw each, as the gimbal reports them (encoders, mount).",
    )
    gimbal_tau_s: float = Field(
        default=600.0, gt=0.0, le=86_400.0, title="Gimbal error correlation time"
    )

    @classmethod
    def exact(cls) -> NavigationConfig:
        """No navigation error: the vehicle reports its true state (``gps.noise_m`` aside)."""
        return cls(
            gnss_horizontal_m=0.0, altitude_m=0.0, roll_pitch_deg=0.0, yaw_deg=0.0, gimbal_deg=0.0
        )


class Scenario(_Model):
    """A whole scenario file."""

    seed: int = Field(default=0, ge=0, title="Seed", description="Everything random follows it.")
    bases: list[Base] = Field(min_length=1, title="Bases")
    vehicles: list[VehicleSpec] = Field(
        default_factory=list,
        max_length=MAX_VEHICLES,
        title="Vehicles",
        description="At most 255: vehicle i has MAVLink system id i+1.",
    )
    profiles: dict[str, VehicleProfile] = Field(
        default_factory=dict,
        title="Extra profiles",
        description="Added to (or replacing) the built-in police_multirotor and vtol_fixed_wing.",
    )
    no_fly_zones: list[NoFlyZone] = Field(default_factory=list, title="No-fly zones")
    params: dict[str, float] = Field(
        default_factory=dict,
        title="Parameter overrides",
        description="Parameters every vehicle has, e.g. FS_GCS_ENABLE: 1 (a VTOL's own Q_ and "
        "ArduPlane parameters go in its vehicle entry).",
    )
    wind: WindConfig = Field(default_factory=WindConfig, title="Wind")
    gps: GpsConfig = Field(default_factory=GpsConfig, title="GPS")
    navigation: NavigationConfig = Field(
        default_factory=NavigationConfig,
        title="Navigation errors",
        description="Errors of what the vehicles report over their true state.",
    )
    events: list[dict[str, Any]] = Field(
        default_factory=list, title="Scripted events", description="Free-form, read by the world."
    )
    world: WorldConfig | None = Field(default=None, title="World")
    targets: TargetsConfig = Field(default_factory=TargetsConfig, title="Targets")
    weather: WeatherConfig = Field(default_factory=WeatherConfig, title="Weather")
    cameras: dict[str, CameraConfig] = Field(default_factory=dict, title="Cameras by name")

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        base_ids = [b.id for b in self.bases]
        if len(set(base_ids)) != len(base_ids):
            raise ValueError("base ids must be unique")
        vehicle_ids = [v.id for v in self.vehicles]
        if len(set(vehicle_ids)) != len(vehicle_ids):
            raise ValueError("vehicle ids must be unique")
        for v in self.vehicles:
            if v.base not in base_ids:
                raise ValueError(f"vehicle {v.id}: unknown base {v.base!r}")
            if v.profile not in self.all_profiles:
                raise ValueError(f"vehicle {v.id}: unknown profile {v.profile!r}")
            kind = self.all_profiles[v.profile].kind
            specs = QUADPLANE_PARAM_SPECS if kind == "vtol" else PARAM_SPECS
            _check_params(v.params, f"vehicle {v.id}", specs)
        _check_params(self.params, "params", PARAM_SPECS)
        return self

    @property
    def all_profiles(self) -> dict[str, VehicleProfile]:
        return {**BUILTIN_PROFILES, **self.profiles}

    def base(self, base_id: str) -> Base:
        for b in self.bases:
            if b.id == base_id:
                return b
        raise ScenarioError(f"unknown base {base_id!r}", key="bases")

    def with_vehicles(self, count: int) -> Scenario:
        """This scenario with exactly ``count`` vehicles: its own first, then more, round-robin
        over the bases, as multirotors."""
        if not 0 <= count <= MAX_VEHICLES:
            raise ScenarioError(
                f"vehicle count must be within 0..{MAX_VEHICLES} (MAVLink system ids), got {count}",
                key="vehicles",
            )
        specs = list(self.vehicles[:count])
        names = {s.id for s in specs}
        i = 0
        while len(specs) < count:
            name = f"sim-{i + 1}"
            i += 1
            if name in names:
                continue
            specs.append(VehicleSpec(id=name, base=self.bases[len(specs) % len(self.bases)].id))
            names.add(name)
        return self.model_copy(update={"vehicles": specs})


def _check_params(params: dict[str, float], where: str, specs: Mapping[str, ParamSpec]) -> None:
    for name, value in params.items():
        spec = specs.get(name)
        if spec is None:
            raise ValueError(f"{where}: unknown parameter {name!r}")
        if not spec.accepts(float(value)):
            raise ValueError(
                f"{where}: {name}={value} is outside {spec.min_value:g}..{spec.max_value:g}"
                + (" or not an integer" if spec.is_integer else "")
            )


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario YAML file; errors name the file and the key path."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc}", path=str(path)) from None
    return parse_scenario(data, source=str(path))


def parse_scenario(data: object, *, source: str = "<scenario>") -> Scenario:
    """Validate an already-parsed scenario mapping."""
    if not isinstance(data, dict):
        raise ScenarioError(f"scenario {source} is not a YAML mapping", path=source)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ScenarioError(
            f"scenario {source}: {where}: {first['msg']}", path=source, key=where
        ) from None
