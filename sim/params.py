"""The autopilot parameters a simulated vehicle has, with ArduCopter's names, types and defaults.

Defaults are ArduCopter's as it ships (4.5/4.6): most failsafes are off; a scenario turns them on.
Integer parameters travel in PARAM_VALUE as a float holding the integer's value (ArduPilot's
"cast" convention), with their MAV_PARAM_TYPE.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from pymavlink.dialects.v20 import ardupilotmega as mavlink

__all__ = ["PARAM_SPECS", "QUADPLANE_PARAM_SPECS", "ParamSpec", "ParamTable"]

_I8 = mavlink.MAV_PARAM_TYPE_INT8
_I16 = mavlink.MAV_PARAM_TYPE_INT16
_I32 = mavlink.MAV_PARAM_TYPE_INT32
_F: int = mavlink.MAV_PARAM_TYPE_REAL32


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter: its default, MAV_PARAM_TYPE and the range a set must fall in."""

    name: str
    default: float
    param_type: int
    min_value: float
    max_value: float

    @property
    def is_integer(self) -> bool:
        return bool(self.param_type != _F)

    def accepts(self, value: float) -> bool:
        if not math.isfinite(value) or not self.min_value <= value <= self.max_value:
            return False
        return not self.is_integer or value == int(value)


def _specs(*rows: tuple[str, float, int, float, float]) -> dict[str, ParamSpec]:
    return {row[0]: ParamSpec(*row) for row in rows}


PARAM_SPECS: Mapping[str, ParamSpec] = _specs(
    ("SYSID_THISMAV", 1, _I16, 1, 255),
    ("MAV_GCS_SYSID", 255, _I16, 1, 255),
    ("ARMING_CHECK", 1, _I32, 0, 0x7FFFFFFF),
    ("DISARM_DELAY", 10, _I8, 0, 127),
    ("AUTO_OPTIONS", 0, _I32, 0, 0x7FFFFFFF),
    ("FENCE_ENABLE", 0, _I8, 0, 1),
    ("FENCE_TYPE", 7, _I8, 0, 15),
    ("FENCE_ACTION", 1, _I8, 0, 5),
    ("FENCE_ALT_MAX", 100, _F, 10, 1000),
    ("FENCE_ALT_MIN", -10, _F, -100, 100),
    ("FENCE_RADIUS", 300, _F, 30, 100_000),
    ("FENCE_MARGIN", 2, _F, 1, 10),
    ("FS_GCS_ENABLE", 0, _I8, 0, 7),
    ("FS_GCS_TIMEOUT", 5, _F, 2, 120),
    ("FS_OPTIONS", 0, _I32, 0, 0xFFFF),
    ("BATT_CAPACITY", 3300, _I32, 0, 1_000_000),
    ("BATT_LOW_VOLT", 10.5, _F, 0, 100),
    ("BATT_LOW_MAH", 0, _F, 0, 1_000_000),
    ("BATT_LOW_TIMER", 10, _I8, 0, 120),
    ("BATT_CRT_VOLT", 0, _F, 0, 100),
    ("BATT_CRT_MAH", 0, _F, 0, 1_000_000),
    ("BATT_FS_LOW_ACT", 0, _I8, 0, 5),
    ("BATT_FS_CRT_ACT", 0, _I8, 0, 5),
    ("BATT_ARM_VOLT", 0, _F, 0, 100),
    ("BATT_ARM_MAH", 0, _I32, 0, 1_000_000),
    ("RTL_ALT", 1500, _I32, 30, 300_000),
    ("RTL_ALT_FINAL", 0, _I32, 0, 1000),
    ("RTL_LOIT_TIME", 5000, _I32, 0, 60_000),
    ("RTL_SPEED", 0, _F, 0, 2000),
    ("LAND_SPEED", 50, _I16, 30, 200),
    ("LAND_SPEED_HIGH", 0, _I16, 0, 2500),
    ("WPNAV_SPEED", 1000, _F, 20, 2000),
    ("WPNAV_SPEED_UP", 250, _F, 10, 1000),
    ("WPNAV_SPEED_DN", 150, _F, 10, 500),
    ("WPNAV_RADIUS", 200, _F, 5, 1000),
    ("WPNAV_ACCEL", 250, _F, 50, 500),
    ("WP_YAW_BEHAVIOR", 2, _I8, 0, 3),
    ("PILOT_TKOFF_ALT", 0, _F, 0, 1000),
    ("MIS_TOTAL", 0, _I16, 0, 32766),
    ("RALLY_TOTAL", 0, _I8, 0, 20),
    ("FENCE_TOTAL", 0, _I8, 0, 70),
    ("SIM_SPEEDUP", 1, _F, 0.01, 1000),
)

# A QuadPlane (sim.quadplane) has the table above (its failsafe, fence and battery parameters
# keep the names fleet and scenarios use) plus ArduPlane 4.5's navigation and Q_ parameters.
QUADPLANE_PARAM_SPECS: Mapping[str, ParamSpec] = {
    **PARAM_SPECS,
    **_specs(
        ("Q_ENABLE", 1, _I8, 1, 1),
        ("Q_RTL_MODE", 0, _I8, 0, 3),
        ("Q_GUIDED_MODE", 0, _I8, 0, 1),
        ("Q_RTL_ALT", 15, _I16, 1, 200),
        ("Q_LAND_SPEED", 50, _I16, 30, 200),
        ("Q_LAND_FINAL_ALT", 6, _F, 0.5, 50),
        ("Q_WP_SPEED", 500, _F, 20, 2000),
        ("Q_WP_SPEED_UP", 250, _F, 10, 1000),
        ("Q_WP_SPEED_DN", 150, _F, 10, 500),
        ("Q_TRANSITION_MS", 5000, _I16, 0, 30000),
        ("WP_LOITER_RAD", 60, _I16, -32767, 32767),
        ("WP_RADIUS", 90, _I16, 1, 32767),
        ("RTL_RADIUS", 0, _I16, -32767, 32767),
        ("ALT_HOLD_RTL", 10000, _I32, -1, 10_000_000),
        ("AIRSPEED_CRUISE", 22, _F, 5, 100),
        ("AIRSPEED_MIN", 9, _I16, 5, 100),
        ("ROLL_LIMIT_DEG", 45, _F, 20, 90),
        ("FS_LONG_ACTN", 0, _I8, 0, 1),
    ),
}

_READ_ONLY = frozenset({"MIS_TOTAL", "RALLY_TOTAL", "FENCE_TOTAL", "SIM_SPEEDUP", "Q_ENABLE"})


class ParamTable:
    """A vehicle's parameter values, in the order ArduPilot lists them (alphabetical)."""

    __slots__ = ("_index", "_names", "_specs", "_values")

    def __init__(
        self,
        overrides: Mapping[str, float] | None = None,
        *,
        specs: Mapping[str, ParamSpec] = PARAM_SPECS,
    ) -> None:
        self._specs = specs
        self._names: tuple[str, ...] = tuple(sorted(specs))
        self._index = {name: i for i, name in enumerate(self._names)}
        self._values: dict[str, float] = {n: float(s.default) for n, s in specs.items()}
        for name, value in (overrides or {}).items():
            spec = specs.get(name)
            if spec is None:
                raise KeyError(f"unknown parameter {name!r}")
            if not spec.accepts(float(value)):
                raise ValueError(
                    f"{name}={value} is outside {spec.min_value}..{spec.max_value}"
                    + (" or not an integer" if spec.is_integer else "")
                )
            self._values[name] = float(value)

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __getitem__(self, name: str) -> float:
        return self._values[name]

    def index(self, name: str) -> int:
        return self._index[name]

    def name_at(self, index: int) -> str | None:
        return self._names[index] if 0 <= index < len(self._names) else None

    def spec(self, name: str) -> ParamSpec:
        return self._specs[name]

    def set(self, name: str, value: float) -> bool:
        """Set from a ground station; False (and nothing changed) when refused."""
        spec = self._specs.get(name)
        if spec is None or name in _READ_ONLY:
            return False
        if spec.is_integer and math.isfinite(value):
            value = float(round(value))
        if not spec.accepts(value):
            return False
        self._values[name] = value
        return True

    def set_internal(self, name: str, value: float) -> None:
        """Set by the vehicle itself (read-only counters such as MIS_TOTAL)."""
        self._values[name] = float(value)
