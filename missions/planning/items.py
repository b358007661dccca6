"""Mission items mirroring MISSION_ITEM_INT, and a builder that numbers them.

Positions are degE7 integers (``x`` latitude, ``y`` longitude), ``z`` metres in ``frame``
(relative to home by default). Commands are pymavlink's ``MAV_CMD_*`` numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from missions.geo import check_lat_lon
from missions.planning.errors import InvalidRequestError

__all__ = ["NAV_COMMANDS", "MissionBuilder", "MissionItem"]

FRAME_REL = mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT
FRAME_MISSION = mavlink.MAV_FRAME_MISSION

NAV_COMMANDS = frozenset(
    {
        mavlink.MAV_CMD_NAV_WAYPOINT,
        mavlink.MAV_CMD_NAV_TAKEOFF,
        mavlink.MAV_CMD_NAV_LOITER_UNLIM,
        mavlink.MAV_CMD_NAV_LOITER_TURNS,
        mavlink.MAV_CMD_NAV_LOITER_TIME,
        mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH,
        mavlink.MAV_CMD_NAV_LAND,
    }
)
_POSITIONED = frozenset(
    {
        mavlink.MAV_CMD_NAV_WAYPOINT,
        mavlink.MAV_CMD_NAV_LOITER_UNLIM,
        mavlink.MAV_CMD_NAV_LOITER_TURNS,
        mavlink.MAV_CMD_NAV_LOITER_TIME,
        mavlink.MAV_CMD_NAV_LAND,
        mavlink.MAV_CMD_DO_SET_ROI_LOCATION,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class MissionItem:
    """One MISSION_ITEM_INT."""

    seq: int
    command: int
    frame: int = FRAME_REL
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    x: int = 0
    y: int = 0
    z: float = 0.0
    autocontinue: bool = True

    def __post_init__(self) -> None:
        if self.seq < 0:
            raise InvalidRequestError(f"item seq must be >= 0, got {self.seq}")
        if self.command not in mavlink.enums["MAV_CMD"]:
            raise InvalidRequestError(f"item {self.seq}: unknown MAV_CMD {self.command}")
        if self.frame not in mavlink.enums["MAV_FRAME"]:
            raise InvalidRequestError(f"item {self.seq}: unknown MAV_FRAME {self.frame}")
        if not (
            -900_000_000 <= self.x <= 900_000_000 and -1_800_000_000 <= self.y <= 1_800_000_000
        ):
            raise InvalidRequestError(f"item {self.seq}: position x={self.x} y={self.y} degE7")
        for name in ("param1", "param2", "param3", "param4", "z"):
            if math.isinf(getattr(self, name)):
                raise InvalidRequestError(f"item {self.seq}: {name} must be finite or NaN")

    @property
    def lat_deg(self) -> float:
        return self.x / 1e7

    @property
    def lon_deg(self) -> float:
        return self.y / 1e7

    @property
    def command_name(self) -> str:
        return str(mavlink.enums["MAV_CMD"][self.command].name)

    @property
    def is_nav(self) -> bool:
        return self.command in NAV_COMMANDS

    @property
    def has_position(self) -> bool:
        return self.command in _POSITIONED


def _e7(deg: float) -> int:
    return round(float(deg) * 1e7)


@dataclass(slots=True)
class MissionBuilder:
    """Appends items with consecutive ``seq``; :meth:`build` returns them as a tuple."""

    items: list[MissionItem] = field(default_factory=list)

    def _add(self, command: int, **fields: float | int | bool) -> MissionBuilder:
        self.items.append(MissionItem(seq=len(self.items), command=command, **fields))  # type: ignore[arg-type]
        return self

    def _at(
        self, command: int, lat: float, lon: float, alt: float, **params: float
    ) -> MissionBuilder:
        check_lat_lon(lat, lon, f"item {len(self.items)}")
        return self._add(command, x=_e7(lat), y=_e7(lon), z=float(alt), **params)

    def takeoff(self, alt_rel_m: float) -> MissionBuilder:
        return self._add(mavlink.MAV_CMD_NAV_TAKEOFF, z=float(alt_rel_m))

    def waypoint(
        self, lat_deg: float, lon_deg: float, alt_rel_m: float, *, hold_s: float = 0.0
    ) -> MissionBuilder:
        return self._at(mavlink.MAV_CMD_NAV_WAYPOINT, lat_deg, lon_deg, alt_rel_m, param1=hold_s)

    def speed(self, speed_m_s: float) -> MissionBuilder:
        """DO_CHANGE_SPEED: ground speed (param1 = 1) in m/s."""
        return self._add(
            mavlink.MAV_CMD_DO_CHANGE_SPEED,
            frame=FRAME_MISSION,
            param1=1.0,
            param2=speed_m_s,
            param3=-1.0,
        )

    def roi(self, lat_deg: float, lon_deg: float, alt_rel_m: float = 0.0) -> MissionBuilder:
        """DO_SET_ROI_LOCATION: the gimbal holds on this point."""
        return self._at(mavlink.MAV_CMD_DO_SET_ROI_LOCATION, lat_deg, lon_deg, alt_rel_m)

    def gimbal(self, pitch_deg: float, yaw_deg: float = 0.0) -> MissionBuilder:
        """DO_GIMBAL_MANAGER_PITCHYAW: -90° pitch looks straight down; yaw is from the nose."""
        return self._add(
            mavlink.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW,
            frame=FRAME_MISSION,
            param1=pitch_deg,
            param2=yaw_deg,
        )

    def roi_none(self) -> MissionBuilder:
        return self._add(mavlink.MAV_CMD_DO_SET_ROI_NONE, frame=FRAME_MISSION)

    def loiter_unlimited(
        self, lat_deg: float, lon_deg: float, alt_rel_m: float, radius_m: float = 0.0
    ) -> MissionBuilder:
        return self._at(
            mavlink.MAV_CMD_NAV_LOITER_UNLIM, lat_deg, lon_deg, alt_rel_m, param3=radius_m
        )

    def loiter_turns(
        self, lat_deg: float, lon_deg: float, alt_rel_m: float, *, turns: float, radius_m: float
    ) -> MissionBuilder:
        """NAV_LOITER_TURNS: ``radius_m`` > 0 circles clockwise, < 0 counter-clockwise."""
        return self._at(
            mavlink.MAV_CMD_NAV_LOITER_TURNS,
            lat_deg,
            lon_deg,
            alt_rel_m,
            param1=turns,
            param3=radius_m,
        )

    def loiter_time(
        self, lat_deg: float, lon_deg: float, alt_rel_m: float, *, time_s: float, radius_m: float
    ) -> MissionBuilder:
        return self._at(
            mavlink.MAV_CMD_NAV_LOITER_TIME,
            lat_deg,
            lon_deg,
            alt_rel_m,
            param1=time_s,
            param3=radius_m,
        )

    def jump(self, target_seq: int, repeat: int) -> MissionBuilder:
        """DO_JUMP to ``target_seq`` ``repeat`` times (-1: forever)."""
        return self._add(
            mavlink.MAV_CMD_DO_JUMP,
            frame=FRAME_MISSION,
            param1=float(target_seq),
            param2=float(repeat),
        )

    def rtl(self) -> MissionBuilder:
        return self._add(mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH, frame=FRAME_MISSION)

    def land(self, lat_deg: float, lon_deg: float) -> MissionBuilder:
        return self._at(mavlink.MAV_CMD_NAV_LAND, lat_deg, lon_deg, 0.0)

    def build(self) -> tuple[MissionItem, ...]:
        return tuple(self.items)
