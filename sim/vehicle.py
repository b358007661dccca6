"""One simulated vehicle: an ArduCopter-like autopilot flying an :class:`~sim.physics.Airframe`.

It is transport-free and synchronous: :meth:`SimVehicle.handle` takes a decoded MAVLink
message, :meth:`SimVehicle.step` advances simulated time, and both queue encoded bytes that
:meth:`SimVehicle.take_output` hands to the vehicle's links. The simulator drives it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.geo import LocalFrame, point_in_polygon
from sim.mission import MissionItem, MissionTransfer
from sim.navigation import NavError, NavErrorModel
from sim.params import PARAM_SPECS, ParamSpec, ParamTable
from sim.physics import Airframe, Guidance, GuidanceKind
from sim.scenario import GpsConfig, NavigationConfig, NoFlyZone, VehicleProfile, WindConfig
from sim.telemetry import STREAM_GROUPS, StreamSchedule

__all__ = ["CopterMode", "LandedState", "SimVehicle", "VehiclePose"]

M = mavlink
_log = logging.getLogger(__name__)

FORCE_ARM_MAGIC = 21196
_CAPABILITIES = (
    M.MAV_PROTOCOL_CAPABILITY_MISSION_FLOAT
    | M.MAV_PROTOCOL_CAPABILITY_PARAM_FLOAT
    | M.MAV_PROTOCOL_CAPABILITY_MISSION_INT
    | M.MAV_PROTOCOL_CAPABILITY_COMMAND_INT
    | M.MAV_PROTOCOL_CAPABILITY_SET_POSITION_TARGET_GLOBAL_INT
    | M.MAV_PROTOCOL_CAPABILITY_SET_POSITION_TARGET_LOCAL_NED
    | M.MAV_PROTOCOL_CAPABILITY_MAVLINK2
    | M.MAV_PROTOCOL_CAPABILITY_MISSION_FENCE
    | M.MAV_PROTOCOL_CAPABILITY_MISSION_RALLY
)
_SENSORS = (
    M.MAV_SYS_STATUS_SENSOR_3D_GYRO
    | M.MAV_SYS_STATUS_SENSOR_3D_ACCEL
    | M.MAV_SYS_STATUS_SENSOR_3D_MAG
    | M.MAV_SYS_STATUS_SENSOR_ABSOLUTE_PRESSURE
    | M.MAV_SYS_STATUS_SENSOR_GPS
    | M.MAV_SYS_STATUS_SENSOR_ANGULAR_RATE_CONTROL
    | M.MAV_SYS_STATUS_SENSOR_ATTITUDE_STABILIZATION
    | M.MAV_SYS_STATUS_SENSOR_YAW_POSITION
    | M.MAV_SYS_STATUS_SENSOR_Z_ALTITUDE_CONTROL
    | M.MAV_SYS_STATUS_SENSOR_XY_POSITION_CONTROL
    | M.MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS
    | M.MAV_SYS_STATUS_AHRS
    | M.MAV_SYS_STATUS_SENSOR_BATTERY
)
_FLIGHT_SW_VERSION = (4 << 24) | (5 << 16) | (7 << 8) | 255  # 4.5.7 official


class CopterMode(IntEnum):
    """ArduCopter custom modes this simulator flies."""

    STABILIZE = 0
    ALT_HOLD = 2
    AUTO = 3
    GUIDED = 4
    LOITER = 5
    RTL = 6
    LAND = 9
    BRAKE = 17


class LandedState(IntEnum):
    UNDEFINED = 0
    ON_GROUND = 1
    IN_AIR = 2
    TAKEOFF = 3
    LANDING = 4


_GPS_MODES = frozenset(
    {
        CopterMode.AUTO,
        CopterMode.GUIDED,
        CopterMode.LOITER,
        CopterMode.RTL,
        CopterMode.BRAKE,
    }
)
_ARMABLE = frozenset(
    {
        CopterMode.STABILIZE,
        CopterMode.ALT_HOLD,
        CopterMode.GUIDED,
        CopterMode.LOITER,
        CopterMode.AUTO,
    }
)


@dataclass(frozen=True, slots=True)
class VehiclePose:
    """Where a vehicle and its gimbal point at one simulated instant (for cameras, tests)."""

    t_s: float
    lat_deg: float
    lon_deg: float
    alt_amsl_m: float
    alt_rel_m: float
    roll_deg: float
    pitch_deg: float
    yaw_deg: float
    vel_north_m_s: float
    vel_east_m_s: float
    vel_down_m_s: float
    gimbal_pitch_deg: float
    gimbal_yaw_deg: float
    armed: bool
    mode: str
    battery_pct: float


@dataclass(frozen=True, slots=True)
class _Cmd:
    command: int
    p1: float
    p2: float
    p3: float
    p4: float
    x: float  # latitude (degrees) for COMMAND_INT, param5 for COMMAND_LONG
    y: float
    z: float
    frame: int
    is_int: bool
    sender: tuple[int, int]


class _RtlPhase(IntEnum):
    CLIMB = 0
    RETURN = 1
    LOITER = 2
    DESCEND = 3
    LAND = 4


class SimVehicle:
    """An ArduCopter-compatible vehicle. Time is simulated seconds since the simulator began.

    Subclasses for other ArduPilot vehicles (:class:`sim.quadplane.QuadPlaneVehicle`) name
    their own HEARTBEAT type and the modes that play the shared roles below.
    """

    MAV_TYPE: ClassVar[int] = M.MAV_TYPE_QUADROTOR
    AUTO_MODE: ClassVar[IntEnum] = CopterMode.AUTO
    GUIDED_MODE: ClassVar[IntEnum] = CopterMode.GUIDED
    RTL_MODE: ClassVar[IntEnum] = CopterMode.RTL
    LAND_MODE: ClassVar[IntEnum] = CopterMode.LAND
    GPS_MODES: ClassVar[frozenset[IntEnum]] = _GPS_MODES
    PARAM_SPECS: ClassVar[Mapping[str, ParamSpec]] = PARAM_SPECS
    TAKEOFF_COMMANDS: ClassVar[frozenset[int]] = frozenset({M.MAV_CMD_NAV_TAKEOFF})
    MISSION_COMMANDS: ClassVar[frozenset[int]] = frozenset()  # beyond sim.mission's common ones

    def __init__(
        self,
        *,
        vehicle_id: str,
        system_id: int,
        profile: VehicleProfile,
        home_lat_deg: float,
        home_lon_deg: float,
        home_alt_amsl_m: float,
        heading_deg: float = 0.0,
        params: dict[str, float] | None = None,
        wind: WindConfig | None = None,
        gps: GpsConfig | None = None,
        navigation: NavigationConfig | None = None,
        no_fly_zones: list[NoFlyZone] | None = None,
        seed: int = 0,
        terrain_amsl_m: Callable[[float, float], float] | None = None,
        link_time_s: Callable[[], float] | None = None,
        start_unix_s: float = 1_767_225_600.0,
        signing_key: bytes | None = None,
    ) -> None:
        self.vehicle_id = vehicle_id
        self.system_id = system_id
        self.profile = profile
        self.log = logging.LoggerAdapter(_log, {"vehicle_id": vehicle_id})
        self.frame = LocalFrame.at(home_lat_deg, home_lon_deg)
        self.home_alt_amsl_m = home_alt_amsl_m
        self._home_en = (0.0, 0.0)
        self._terrain = terrain_amsl_m or (lambda _lat, _lon: home_alt_amsl_m)
        self._link_time = link_time_s
        self._start_unix_s = start_unix_s
        rng = random.Random((seed << 32) ^ zlib.crc32(vehicle_id.encode()))
        self._rng = rng
        self.nav = NavErrorModel(
            navigation or NavigationConfig(),
            seed=(seed << 32) ^ zlib.crc32(f"{vehicle_id}/navigation".encode()),
        )
        self.params = ParamTable(
            {"SYSID_THISMAV": system_id, **(params or {})}, specs=self.PARAM_SPECS
        )
        capacity = self.params["BATT_CAPACITY"]
        if "BATT_CAPACITY" not in (params or {}):
            self.params.set("BATT_CAPACITY", profile.battery_capacity_mah)
            capacity = profile.battery_capacity_mah
        self.air = Airframe(
            profile,
            wind=wind or WindConfig(),
            gps=gps or GpsConfig(),
            rng=rng,
            heading_deg=heading_deg,
            capacity_mah=capacity,
        )
        self.t_s = 0.0
        self.armed = False
        self.mode: IntEnum = CopterMode.STABILIZE
        self.landed_state = LandedState.ON_GROUND
        self.motor_failed = False
        self._mav = M.MAVLink(None, srcSystem=system_id, srcComponent=M.MAV_COMP_ID_AUTOPILOT1)
        self._mav.robust_parsing = True
        self._signing_key = signing_key
        if signing_key is not None:
            self._mav.signing.secret_key = signing_key
            self._mav.signing.sign_outgoing = True
            self._mav.signing.timestamp = int((start_unix_s - 1_420_070_400) * 100_000)
        self._out = bytearray()
        self.streams = StreamSchedule()
        self.missions = MissionTransfer(
            send=self.send, home_item=self._home_item, extra_commands=self.MISSION_COMMANDS
        )
        self.missions.on_changed = self._on_list_changed
        self._guidance = Guidance()
        self._speed_override_m_s: float | None = None
        self._roi: tuple[float, float, float] | None = None  # east, north, up (local)
        self.gimbal_pitch_deg = 0.0
        self.gimbal_yaw_deg = 0.0
        self._gimbal_target = (0.0, 0.0)
        self._rtl_phase = _RtlPhase.CLIMB
        self._rtl_timer_s = 0.0
        self._armed_ground_s = 0.0
        # AUTO
        self.mission_seq = 0
        self._nav_started = False
        self._nav_reached_s: float | None = None
        self._loiter_angle = 0.0
        self._loiter_done_rad = 0.0
        self._jump_counts: dict[int, int] = {}
        self._mission_complete = False
        self._auto_rtl = False
        self._auto_land = False
        self._land_after_move = False
        self._rtl_up = 0.0
        self._rtl_dest = (0.0, 0.0)
        self._fence_cache: tuple[list[tuple[str, Any]], list[tuple[str, Any]]] | None = None
        # failsafes
        self._gcs_last_hb: float | None = None
        self.gcs_failsafe = False
        self._batt_low_since: float | None = None
        self._batt_crt_since: float | None = None
        self.battery_failsafe = 0  # 0 none, 1 low, 2 critical
        self.fence_breached = False
        self._fence_breach_s = 0.0
        self._no_fly = [
            [self.frame.to_local(lat, lon) for lat, lon in z.polygon] for z in no_fly_zones or []
        ]
        self._prev_mode_before_failsafe: CopterMode | None = None
        self._ground_sample_s = -1.0
        self._update_ground(force=True)
        self.air.up_m = self.air.ground_up_m
        self.statustexts: list[tuple[int, str]] = []

    # --- output ------------------------------------------------------------------------------

    def send(self, msg: Any) -> None:
        """Encode ``msg`` (MAVLink 2, signed when a key is set) into the output queue."""
        mav = self._mav
        self._out += msg.pack(mav)
        mav.seq = (mav.seq + 1) & 0xFF

    def take_output(self) -> bytes:
        """Everything queued since the last call."""
        if not self._out:
            return b""
        data = bytes(self._out)
        self._out.clear()
        return data

    def statustext(self, severity: int, text: str) -> None:
        self.statustexts.append((severity, text))
        del self.statustexts[:-50]
        self.log.info("%s", text)
        self.send(M.MAVLink_statustext_message(severity, text.encode()[:50]))

    def _link_now(self) -> float:
        return self._link_time() if self._link_time is not None else self.t_s

    # --- geometry ----------------------------------------------------------------------------

    def _update_ground(self, *, force: bool = False) -> None:
        if not force and self.t_s - self._ground_sample_s < 1.0:
            return
        self._ground_sample_s = self.t_s
        lat, lon = self.frame.to_geo(self.air.east_m, self.air.north_m)
        self.air.ground_up_m = self._terrain(lat, lon) - self.home_alt_amsl_m

    @property
    def position(self) -> tuple[float, float, float]:
        """(lat_deg, lon_deg, alt_amsl_m), true (no GPS error)."""
        lat, lon = self.frame.to_geo(self.air.east_m, self.air.north_m)
        return lat, lon, self.home_alt_amsl_m + self.air.up_m

    @property
    def alt_rel_m(self) -> float:
        return self.air.up_m

    @property
    def home(self) -> tuple[float, float, float]:
        lat, lon = self.frame.to_geo(*self._home_en)
        return lat, lon, self.home_alt_amsl_m

    @property
    def mission_complete(self) -> bool:
        """AUTO ran past the mission's last item (MISSION_CURRENT reports it completed)."""
        return self._mission_complete

    @property
    def on_ground(self) -> bool:
        return self.air.up_m <= self.air.ground_up_m + 0.05

    def pose(self) -> VehiclePose:
        """The true pose: what the vehicle does and its camera sees (the renderer, ground truth)."""
        lat, lon, alt = self.position
        roll, pitch, _yaw = self.air.attitude_rad()
        return VehiclePose(
            t_s=self.t_s,
            lat_deg=lat,
            lon_deg=lon,
            alt_amsl_m=alt,
            alt_rel_m=self.air.up_m,
            roll_deg=math.degrees(roll),
            pitch_deg=math.degrees(pitch),
            yaw_deg=self.air.yaw_deg,
            vel_north_m_s=self.air.vel_n,
            vel_east_m_s=self.air.vel_e,
            vel_down_m_s=-self.air.vel_u,
            gimbal_pitch_deg=self.gimbal_pitch_deg,
            gimbal_yaw_deg=self.gimbal_yaw_deg,
            armed=self.armed,
            mode=self.mode.name,
            battery_pct=self.air.battery_remaining * 100.0,
        )

    def reported_pose(self) -> VehiclePose:
        """The pose as the vehicle reports it: its navigation estimate (the truth plus
        :attr:`nav`'s errors and the GPS receiver's noise), as in its telemetry. A gimbal pitch
        the error takes past -90° is given as the same direction with pitch above -90°."""
        true, e = self.pose(), self.nav.error()
        lat, lon = self._gps_position()
        roll, pitch, yaw = self._reported_attitude_deg(e)
        gimbal_pitch, gimbal_yaw = self._reported_gimbal_deg(e)
        if gimbal_pitch < -90.0:
            gimbal_pitch, gimbal_yaw = -180.0 - gimbal_pitch, gimbal_yaw + 180.0
        return dataclasses.replace(
            true,
            lat_deg=lat,
            lon_deg=lon,
            alt_amsl_m=true.alt_amsl_m + e.up_m,
            alt_rel_m=true.alt_rel_m + e.up_m,
            roll_deg=roll,
            pitch_deg=pitch,
            yaw_deg=yaw,
            gimbal_pitch_deg=gimbal_pitch,
            gimbal_yaw_deg=(gimbal_yaw + 180.0) % 360.0 - 180.0,
        )

    def _reported_attitude_deg(self, e: NavError) -> tuple[float, float, float]:
        """(roll, pitch, yaw) degrees as the AHRS estimates them; yaw within 0..360."""
        roll, pitch, _yaw = self.air.attitude_rad()
        return (
            math.degrees(roll) + e.roll_deg,
            math.degrees(pitch) + e.pitch_deg,
            (self.air.yaw_deg + e.yaw_deg) % 360.0,
        )

    def _reported_gimbal_deg(self, e: NavError) -> tuple[float, float]:
        """(pitch against the horizon, yaw in the vehicle frame) as the gimbal reports them.

        The gimbal holds its pitch against the horizon the AHRS estimates, so the camera truly
        points off by the AHRS tilt error along its view (pitch error ahead, roll error to the
        side) on top of the gimbal's own angle errors; reported minus true is that sum. The
        tilt error across the view (a roll of the image) is left out: the camera model has no
        camera roll."""
        gimbal_yaw = math.radians(self.gimbal_yaw_deg)
        tilt = e.pitch_deg * math.cos(gimbal_yaw) - e.roll_deg * math.sin(gimbal_yaw)
        pitch = max(-90.0, min(30.0, self.gimbal_pitch_deg))
        return pitch + tilt + e.gimbal_pitch_deg, self.gimbal_yaw_deg + e.gimbal_yaw_deg

    def _alt_to_up(self, z: float, frame: int, lat: float, lon: float) -> float:
        if frame in (M.MAV_FRAME_GLOBAL, M.MAV_FRAME_GLOBAL_INT):
            return z - self.home_alt_amsl_m
        if frame in (M.MAV_FRAME_GLOBAL_TERRAIN_ALT, M.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT):
            return self._terrain(lat, lon) + z - self.home_alt_amsl_m
        return z

    def _target_en(self, lat: float, lon: float) -> tuple[float, float]:
        if lat == 0.0 and lon == 0.0:
            return self.air.east_m, self.air.north_m
        return self.frame.to_local(lat, lon)

    # --- speeds ------------------------------------------------------------------------------

    def _nav_speed(self) -> float:
        if self._speed_override_m_s is not None:
            return self._speed_override_m_s
        return min(self.params["WPNAV_SPEED"] / 100.0, self.profile.max_speed_m_s)

    def _climb(self) -> float:
        return min(self.params["WPNAV_SPEED_UP"] / 100.0, self.profile.climb_rate_m_s)

    def _descent(self) -> float:
        return min(self.params["WPNAV_SPEED_DN"] / 100.0, self.profile.descent_rate_m_s)

    def _goto(self, east: float, north: float, up: float, speed: float | None = None) -> None:
        self._guidance = Guidance(
            kind=GuidanceKind.POSITION,
            east_m=east,
            north_m=north,
            up_m=up,
            speed_m_s=speed if speed is not None else self._nav_speed(),
            climb_m_s=self._climb(),
            descent_m_s=self._descent(),
        )

    def _hold_here(self, *, stop: bool = True) -> None:
        a = self.air
        e, n = a.east_m, a.north_m
        if stop:
            v = math.hypot(a.vel_e, a.vel_n)
            if v > 0.1:
                d = v * v / (2.0 * self.profile.accel_m_s2)
                e, n = e + a.vel_e / v * d, n + a.vel_n / v * d
        self._goto(e, n, max(a.up_m, a.ground_up_m))

    # --- modes -------------------------------------------------------------------------------

    def set_mode(self, mode: int, *, reason: str = "GCS") -> bool:
        """Change flight mode as ArduCopter would; False when the mode refuses."""
        try:
            new = CopterMode(mode)
        except ValueError:
            return False
        if new in _GPS_MODES and self.air.gps_failed and self.armed:
            self.statustext(M.MAV_SEVERITY_WARNING, f"Mode change to {new.name} failed: no GPS")
            return False
        if new is CopterMode.AUTO and not self._enter_auto():
            return False
        self.mode = new
        a = self.air
        if new in (CopterMode.LOITER, CopterMode.GUIDED):
            self._hold_here()
        elif new is CopterMode.BRAKE:
            self._hold_here(stop=True)
        elif new in (CopterMode.ALT_HOLD, CopterMode.STABILIZE):
            self._guidance = Guidance(kind=GuidanceKind.DRIFT, up_m=a.up_m)
        elif new is CopterMode.RTL:
            self._start_rtl()
        elif new is CopterMode.LAND:
            self._start_land(a.east_m, a.north_m)
        if new is not CopterMode.AUTO:
            self._speed_override_m_s = None
        self.log.debug("mode %s (%s)", new.name, reason)
        self.send(self._heartbeat())
        return True

    def _enter_auto(self) -> bool:
        items = self.missions.mission
        if len(items) <= 1:
            self.statustext(M.MAV_SEVERITY_WARNING, "Auto: Mission empty")
            return False
        if self.armed and self.on_ground:
            first = next((it for it in items[1:] if _is_nav(it.command)), None)
            if first is None or first.command not in self.TAKEOFF_COMMANDS:
                self.statustext(M.MAV_SEVERITY_CRITICAL, "Auto: Missing Takeoff Cmd")
                return False
        self._mission_complete = False
        self._auto_rtl = self._auto_land = False
        self._jump_counts.clear()
        if self.mission_seq < 1 or self.mission_seq >= len(items):
            self.mission_seq = 1
        self._nav_started = False
        self._hold_here()
        return True

    def _start_rtl(self) -> None:
        self._rtl_phase = _RtlPhase.CLIMB
        self._rtl_timer_s = 0.0
        rtl_alt = self.params["RTL_ALT"] / 100.0
        target_up = max(self.air.up_m, rtl_alt) if rtl_alt > 0 else self.air.up_m
        fence_max = self.params["FENCE_ALT_MAX"]
        if self.params["FENCE_ENABLE"] and int(self.params["FENCE_TYPE"]) & 1:
            target_up = min(target_up, fence_max - 2.0)
        self._rtl_up = max(target_up, self.air.ground_up_m + 2.0)
        self._rtl_dest = self._rally_or_home()
        a = self.air
        self._goto(a.east_m, a.north_m, self._rtl_up)

    def _rally_or_home(self) -> tuple[float, float]:
        best = self._home_en
        a = self.air
        best_d = math.hypot(best[0] - a.east_m, best[1] - a.north_m)
        for it in self.missions.lists[M.MAV_MISSION_TYPE_RALLY]:
            e, n = self.frame.to_local(it.lat_deg, it.lon_deg)
            d = math.hypot(e - a.east_m, n - a.north_m)
            if d < best_d:
                best, best_d = (e, n), d
        return best

    def _start_land(self, east: float, north: float) -> None:
        self._guidance = Guidance(
            kind=GuidanceKind.DESCEND, east_m=east, north_m=north, descent_m_s=self._land_rate()
        )
        if self.armed and not self.on_ground:
            self.landed_state = LandedState.LANDING

    def _land_rate(self) -> float:
        above = self.air.up_m - self.air.ground_up_m
        if above > 10.0:
            high = self.params["LAND_SPEED_HIGH"] / 100.0
            return high if high > 0 else self._descent()
        return self.params["LAND_SPEED"] / 100.0

    # --- arming ------------------------------------------------------------------------------

    def prearm_failures(self) -> list[str]:
        """Why the vehicle may not arm now (empty: it may)."""
        out: list[str] = []
        if self.params["ARMING_CHECK"] == 0:
            return out
        if self.air.gps_failed:
            out.append("PreArm: GPS 1: Bad fix")
        if self.motor_failed:
            out.append("PreArm: Motors: Check failed")
        v = self.air.battery_voltage_v
        low_v = self.params["BATT_LOW_VOLT"]
        crt_v = self.params["BATT_CRT_VOLT"]
        arm_v = self.params["BATT_ARM_VOLT"]
        if (low_v > 0 and v < low_v) or (crt_v > 0 and v < crt_v) or (arm_v > 0 and v < arm_v):
            out.append(f"PreArm: Battery 1 below minimum arming voltage {v:.2f}V")
        remaining_mah = self.air.capacity_mah - self.air.battery_mah_used
        low_mah = self.params["BATT_LOW_MAH"]
        if low_mah > 0 and remaining_mah < low_mah:
            out.append("PreArm: Battery 1 below minimum arming capacity")
        if self.params["FENCE_ENABLE"] and self._fence_breach() is not None:
            out.append("PreArm: Vehicle breaching fence")
        if self.battery_failsafe:
            out.append("PreArm: Battery failsafe")
        return out

    def arm(self, *, force: bool = False) -> int:
        """Arm; a MAV_RESULT. Failures are explained in STATUSTEXT, as ArduCopter does."""
        if self.armed:
            return int(M.MAV_RESULT_ACCEPTED)
        if not self._mode_armable():
            self.statustext(M.MAV_SEVERITY_CRITICAL, "Arm: Mode not armable")
            return int(M.MAV_RESULT_FAILED)
        if not force:
            failures = self.prearm_failures()
            if failures:
                for text in failures:
                    self.statustext(M.MAV_SEVERITY_CRITICAL, text)
                return int(M.MAV_RESULT_FAILED)
        if self.mode is self.AUTO_MODE and not self._enter_auto():
            return int(M.MAV_RESULT_FAILED)
        self.armed = True
        self._armed_ground_s = 0.0
        self._home_en = (self.air.east_m, self.air.north_m)
        self.home_alt_amsl_m = self.home_alt_amsl_m + self.air.up_m
        self.air.ground_up_m -= self.air.up_m
        self.air.up_m = 0.0
        self.send(self._home_position())
        self.statustext(M.MAV_SEVERITY_INFO, "Arming motors")
        if self.mode in (CopterMode.GUIDED, CopterMode.LOITER):
            self._hold_here()
        return int(M.MAV_RESULT_ACCEPTED)

    def _mode_armable(self) -> bool:
        # AUTO arms only with AUTO_OPTIONS bit 0 (AllowArming), off as ArduCopter ships
        auto_armable = int(self.params["AUTO_OPTIONS"]) & 1
        return self.mode in _ARMABLE and (self.mode is not CopterMode.AUTO or bool(auto_armable))

    def disarm(self, *, force: bool = False, reason: str = "GCS") -> int:
        if not self.armed:
            return int(M.MAV_RESULT_ACCEPTED)
        if not self.on_ground and not force:
            self.statustext(M.MAV_SEVERITY_CRITICAL, "Disarm: vehicle is flying")
            return int(M.MAV_RESULT_FAILED)
        self.armed = False
        self.landed_state = LandedState.ON_GROUND if self.on_ground else LandedState.IN_AIR
        if self.on_ground:
            self.air.vel_e = self.air.vel_n = self.air.vel_u = 0.0
        self._guidance = Guidance()
        self.statustext(M.MAV_SEVERITY_INFO, f"Disarming motors ({reason})")
        return int(M.MAV_RESULT_ACCEPTED)

    def takeoff(self, alt_rel_m: float) -> int:
        if not math.isfinite(alt_rel_m) or not 0.0 < alt_rel_m <= 10_000.0:
            return int(M.MAV_RESULT_DENIED)
        if self.mode is not CopterMode.GUIDED or not self.armed or not self.on_ground:
            return int(M.MAV_RESULT_FAILED)
        a = self.air
        self._goto(a.east_m, a.north_m, a.ground_up_m + alt_rel_m)
        self._guidance.climb_m_s = self._climb()
        self.landed_state = LandedState.TAKEOFF
        return int(M.MAV_RESULT_ACCEPTED)

    # --- fault injection -----------------------------------------------------------------------

    def fail_motor(self, failed: bool = True) -> None:
        """A motor stops: the vehicle loses thrust and falls."""
        self.motor_failed = failed
        if failed:
            self.statustext(M.MAV_SEVERITY_EMERGENCY, "Potential Thrust Loss (1)")

    def fail_gps(self, failed: bool = True) -> None:
        """GPS loses its fix (or regains it). Flying in a GPS mode, the vehicle lands."""
        self.air.gps_failed = failed
        if failed and self.armed and not self.on_ground and self.mode in self.GPS_MODES:
            land = self.LAND_MODE
            self.statustext(M.MAV_SEVERITY_CRITICAL, f"EKF Failsafe: changed to {land.name} Mode")
            self.set_mode(land, reason="EKF failsafe")

    def drain_battery(self, fraction: float) -> None:
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must be within 0..1, got {fraction}")
        self.air.drain(fraction)

    # --- simulation step -----------------------------------------------------------------------

    def step(self, dt: float) -> None:
        """Advance ``dt`` simulated seconds: autopilot, flight model, failsafes, telemetry."""
        self.t_s += dt
        self._update_ground()
        if self.armed:
            self._autopilot(dt)
        g = self._guidance
        if self.motor_failed and self.armed:
            g = Guidance(kind=GuidanceKind.FALL)
        self._point_roi(g)
        self.air.step(dt, g, armed=self.armed)
        self.nav.step(dt)
        self._gimbal_step(dt)
        if self.armed:
            self._landing_check(dt)
            self._failsafes()
        self.missions.tick(self._link_now())
        for msg_id in self.streams.due(self.t_s):
            msg = self.build_message(msg_id)
            if msg is not None:
                self.send(msg)

    def _autopilot(self, dt: float) -> None:
        mode = self.mode
        a = self.air
        if mode is CopterMode.RTL:
            self._rtl_step(dt)
        elif mode is CopterMode.AUTO:
            self._auto_step(dt)
        if self.landed_state is LandedState.TAKEOFF:
            g = self._guidance
            if a.up_m >= g.up_m - 0.5 or g.kind is not GuidanceKind.POSITION:
                self.landed_state = LandedState.IN_AIR
        if self._guidance.kind is GuidanceKind.DESCEND:
            self._guidance.descent_m_s = self._land_rate()

    def _landing_check(self, dt: float) -> None:
        a = self.air
        if self.on_ground:
            if self._guidance.kind is GuidanceKind.DESCEND or self.motor_failed:
                self.landed_state = LandedState.ON_GROUND
                if self.motor_failed:
                    self.statustext(M.MAV_SEVERITY_EMERGENCY, "Crash: Disarming")
                else:
                    self.statustext(M.MAV_SEVERITY_INFO, "Land complete")
                self.disarm(force=True, reason="landed")
                if self.mode is self.AUTO_MODE:
                    self._finish_mission()
                return
            if self.landed_state is not LandedState.TAKEOFF:
                self._armed_ground_s += dt
                delay = self.params["DISARM_DELAY"]
                if delay > 0 and self._armed_ground_s >= delay:
                    self.disarm(reason="auto disarm")
                return
        else:
            self._armed_ground_s = 0.0
            if self.landed_state is LandedState.ON_GROUND:
                self.landed_state = LandedState.TAKEOFF
        if self._guidance.kind is GuidanceKind.DESCEND and a.up_m > a.ground_up_m:
            self.landed_state = LandedState.LANDING
        elif self.landed_state is LandedState.LANDING:
            self.landed_state = LandedState.IN_AIR

    def _rtl_step(self, dt: float) -> None:
        a = self.air
        dest_e, dest_n = self._rtl_dest
        phase = self._rtl_phase
        if phase is _RtlPhase.CLIMB:
            if a.up_m >= self._rtl_up - 1.0:
                self._rtl_phase = _RtlPhase.RETURN
                speed = self.params["RTL_SPEED"] / 100.0 or None
                self._goto(dest_e, dest_n, self._rtl_up, speed)
        elif phase is _RtlPhase.RETURN:
            if math.hypot(dest_e - a.east_m, dest_n - a.north_m) < 2.0:
                self._rtl_phase = _RtlPhase.LOITER
                self._rtl_timer_s = 0.0
        elif phase is _RtlPhase.LOITER:
            self._rtl_timer_s += dt
            if self._rtl_timer_s * 1000.0 >= self.params["RTL_LOIT_TIME"]:
                final = self.params["RTL_ALT_FINAL"] / 100.0
                if final > 0:
                    self._rtl_phase = _RtlPhase.DESCEND
                    self._goto(dest_e, dest_n, a.ground_up_m + final)
                else:
                    self._rtl_phase = _RtlPhase.LAND
                    self._start_land(dest_e, dest_n)

    # --- AUTO --------------------------------------------------------------------------------

    def _auto_step(self, dt: float) -> None:
        if self._mission_complete or self._auto_land:
            return
        if self._auto_rtl:
            self._rtl_step(dt)
            return
        items = self.missions.mission
        guard = 0
        while not self._mission_complete and guard < 64:
            guard += 1
            if self.mission_seq >= len(items):
                self._finish_mission()
                return
            item = items[self.mission_seq]
            if not _is_nav(item.command):
                self._do_command(item)
                if not self._advance(items):
                    return
                continue
            if not self._nav_started:
                self._start_nav(item)
                self._nav_started = True
                if self._auto_rtl or self._auto_land:
                    return
            if self._nav_done(item, dt):
                self.send(M.MAVLink_mission_item_reached_message(item.seq))
                if not self._advance(items):
                    return
                continue
            return

    def _advance(self, items: list[MissionItem]) -> bool:
        """Next item; False when the loop should wait for the next tick."""
        self.mission_seq += 1
        self._nav_started = False
        self._nav_reached_s = None
        if self.mission_seq < len(items) and items[self.mission_seq].command == M.MAV_CMD_DO_JUMP:
            jump = items[self.mission_seq]
            done = self._jump_counts.get(jump.seq, 0)
            repeat = int(jump.param2)
            target = int(jump.param1)
            if (repeat < 0 or done < repeat) and 1 <= target < len(items):
                self._jump_counts[jump.seq] = done + 1
                self.mission_seq = target
            else:
                self.mission_seq += 1
        self.send(self._mission_current())
        return True

    def _finish_mission(self) -> None:
        if not self._mission_complete:
            self._mission_complete = True
            self.statustext(M.MAV_SEVERITY_INFO, "Mission complete")
            self.send(self._mission_current())
            if self.armed and not self.on_ground and not self._auto_land:
                self._hold_here()

    def _start_nav(self, item: MissionItem) -> None:
        a = self.air
        cmd = item.command
        if cmd == M.MAV_CMD_NAV_TAKEOFF:
            if self.on_ground:
                self.landed_state = LandedState.TAKEOFF
            up = self._alt_to_up(item.z, item.frame, *self.position[:2])
            self._goto(a.east_m, a.north_m, max(up, a.ground_up_m + 1.0))
        elif cmd == M.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            self._auto_rtl = True
            self._start_rtl()
        elif cmd == M.MAV_CMD_NAV_LAND:
            e, n = self._target_en(item.lat_deg, item.lon_deg)
            if math.hypot(e - a.east_m, n - a.north_m) > 2.0:
                self._goto(e, n, a.up_m)
                self._land_after_move = True
            else:
                self._auto_land = True
                self._start_land(e, n)
        else:
            e, n = self._target_en(item.lat_deg, item.lon_deg)
            up = self._alt_to_up(item.z, item.frame, item.lat_deg, item.lon_deg)
            if item.z == 0.0 and item.frame in (
                M.MAV_FRAME_GLOBAL_RELATIVE_ALT,
                M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
            ):
                up = a.up_m
            self._goto(e, n, up)
            self._loiter_angle = math.atan2(a.north_m - n, a.east_m - e)
            self._loiter_done_rad = 0.0
        self._nav_reached_s = None

    def _nav_done(self, item: MissionItem, dt: float) -> bool:
        a = self.air
        g = self._guidance
        cmd = item.command
        if cmd == M.MAV_CMD_NAV_TAKEOFF:
            return a.up_m >= g.up_m - 0.5
        if cmd == M.MAV_CMD_NAV_LAND:
            if (
                self._land_after_move
                and math.hypot(g.east_m - a.east_m, g.north_m - a.north_m) < 1.0
            ):
                self._land_after_move = False
                self._auto_land = True
                self._start_land(g.east_m, g.north_m)
            return False
        dist = math.hypot(g.east_m - a.east_m, g.north_m - a.north_m)
        radius = self.params["WPNAV_RADIUS"] / 100.0
        if cmd == M.MAV_CMD_NAV_WAYPOINT and item.param2 > 0:
            radius = item.param2
        if self._nav_reached_s is None:
            if dist <= max(radius, 0.5) and abs(g.up_m - a.up_m) <= max(1.0, radius):
                self._nav_reached_s = self.t_s
            else:
                return False
        waited = self.t_s - self._nav_reached_s
        if cmd == M.MAV_CMD_NAV_WAYPOINT:
            return waited >= item.param1
        if cmd == M.MAV_CMD_NAV_LOITER_TIME:
            return waited >= item.param1
        if cmd == M.MAV_CMD_NAV_LOITER_TURNS:
            return self._circle(item, dt)
        return False  # LOITER_UNLIM

    def _circle(self, item: MissionItem, dt: float) -> bool:
        radius = abs(item.param3) or 10.0
        e0, n0 = self.frame.to_local(item.lat_deg, item.lon_deg)
        if item.x == 0 and item.y == 0:
            e0, n0 = self._guidance.east_m, self._guidance.north_m
        speed = min(self._nav_speed(), math.sqrt(self.profile.accel_m_s2 * radius))
        step = speed / radius * dt
        direction = -1.0 if item.param3 < 0 else 1.0
        self._loiter_angle -= direction * step
        self._loiter_done_rad += step
        a = self.air
        self._guidance.east_m = e0 + radius * math.cos(self._loiter_angle)
        self._guidance.north_m = n0 + radius * math.sin(self._loiter_angle)
        self._guidance.speed_m_s = speed * 1.5
        if self._loiter_done_rad >= 2.0 * math.pi * max(item.param1, 0.0):
            self._guidance.east_m, self._guidance.north_m = e0, n0
            self._goto(e0, n0, a.up_m)
            return True
        return False

    def _do_command(self, item: MissionItem) -> None:
        cmd = item.command
        if cmd == M.MAV_CMD_DO_CHANGE_SPEED:
            if 0.0 < item.param2 <= self.profile.max_speed_m_s:
                self._speed_override_m_s = item.param2
                if self._guidance.kind is GuidanceKind.POSITION:
                    self._guidance.speed_m_s = item.param2
        elif cmd in (M.MAV_CMD_DO_SET_ROI_LOCATION, M.MAV_CMD_DO_SET_ROI):
            self._set_roi(item.lat_deg, item.lon_deg, item.z, item.frame)
        elif cmd == M.MAV_CMD_DO_SET_ROI_NONE:
            self._roi = None
        elif cmd == M.MAV_CMD_DO_MOUNT_CONTROL:
            self._gimbal_target = (item.param1, item.param3)
        elif cmd == M.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW:
            self._gimbal_target = (item.param1, item.param2)
        elif cmd == M.MAV_CMD_CONDITION_YAW:
            self._guidance.yaw_deg = item.param1 % 360.0
        elif cmd == M.MAV_CMD_DO_SET_HOME:
            self._set_home(item.param1 == 1, item.lat_deg, item.lon_deg, item.z)
        self.send(M.MAVLink_mission_item_reached_message(item.seq))

    def _set_roi(self, lat: float, lon: float, z: float, frame: int) -> None:
        if lat == 0.0 and lon == 0.0:
            self._roi = None
            return
        e, n = self.frame.to_local(lat, lon)
        self._roi = (e, n, self._alt_to_up(z, frame, lat, lon))

    def _set_home(self, use_current: bool, lat: float, lon: float, alt_amsl: float) -> bool:
        if use_current:
            self._home_en = (self.air.east_m, self.air.north_m)
        else:
            if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0) or (lat == 0 and lon == 0):
                return False
            self._home_en = self.frame.to_local(lat, lon)
        self.send(self._home_position())
        return True

    def _point_roi(self, g: Guidance) -> None:
        if self._roi is None:
            return
        a = self.air
        de, dn = self._roi[0] - a.east_m, self._roi[1] - a.north_m
        if math.hypot(de, dn) > 1.0 and g.kind is not GuidanceKind.IDLE:
            g.yaw_deg = math.degrees(math.atan2(de, dn)) % 360.0

    def _gimbal_step(self, dt: float) -> None:
        if self._roi is not None:
            a = self.air
            de, dn = self._roi[0] - a.east_m, self._roi[1] - a.north_m
            dz = self._roi[2] - a.up_m
            pitch = math.degrees(math.atan2(dz, max(0.1, math.hypot(de, dn))))
            yaw = (math.degrees(math.atan2(de, dn)) - a.yaw_deg + 540.0) % 360.0 - 180.0
            self._gimbal_target = (max(-90.0, min(30.0, pitch)), yaw)
        max_step = 90.0 * dt
        tp, ty = self._gimbal_target
        self.gimbal_pitch_deg += max(-max_step, min(max_step, tp - self.gimbal_pitch_deg))
        dy = (ty - self.gimbal_yaw_deg + 540.0) % 360.0 - 180.0
        self.gimbal_yaw_deg += max(-max_step, min(max_step, dy))

    # --- failsafes -------------------------------------------------------------------------------

    def _failsafes(self) -> None:
        if self.on_ground and self.landed_state is LandedState.ON_GROUND:
            if self._gcs_check() and self.armed:
                self.disarm(reason="GCS failsafe")
            return
        if self._gcs_check():
            self._failsafe_action(int(self.params["FS_GCS_ENABLE"]), "GCS", gcs=True)
        self._battery_check()
        self._fence_check()

    def _gcs_check(self) -> bool:
        """True when the ground-station failsafe has just triggered."""
        enable = int(self.params["FS_GCS_ENABLE"])
        if enable == 0 or self._gcs_last_hb is None:
            return False
        silent = self._link_now() - self._gcs_last_hb
        if silent > self.params["FS_GCS_TIMEOUT"] and not self.gcs_failsafe:
            self.gcs_failsafe = True
            self.statustext(M.MAV_SEVERITY_CRITICAL, "GCS Failsafe")
            return True
        return False

    def _failsafe_action(self, action: int, what: str, *, gcs: bool = False) -> None:
        """ArduCopter's failsafe actions: RTL (1, 3), LAND (4/5 for GCS, 1 for battery)."""
        if action == 0:
            return
        if gcs:
            want = CopterMode.LAND if action in (4, 5) else CopterMode.RTL
        else:
            want = {1: CopterMode.LAND, 2: CopterMode.RTL, 3: CopterMode.RTL}.get(
                action, CopterMode.LAND
            )
            if action == 5:
                self.statustext(M.MAV_SEVERITY_EMERGENCY, f"{what} failsafe: terminate")
                self.disarm(force=True, reason="terminate")
                return
        if self.mode is CopterMode.LAND or self.mode is want:
            return
        if want is CopterMode.RTL and self.mode is CopterMode.RTL:
            return
        if not self.set_mode(want, reason=f"{what} failsafe"):
            self.set_mode(CopterMode.LAND, reason=f"{what} failsafe")

    def _battery_check(self) -> None:
        v = self.air.battery_voltage_v
        remaining_mah = self.air.capacity_mah - self.air.battery_mah_used
        timer = self.params["BATT_LOW_TIMER"]

        def below(volt_param: str, mah_param: str) -> bool:
            vv, mah = self.params[volt_param], self.params[mah_param]
            return (vv > 0 and v < vv) or (mah > 0 and remaining_mah < mah)

        if below("BATT_CRT_VOLT", "BATT_CRT_MAH"):
            self._batt_crt_since = self._batt_crt_since if self._batt_crt_since else self.t_s
        else:
            self._batt_crt_since = None
        if below("BATT_LOW_VOLT", "BATT_LOW_MAH"):
            self._batt_low_since = self._batt_low_since if self._batt_low_since else self.t_s
        else:
            self._batt_low_since = None
        used = self.air.battery_mah_used
        if (
            self.battery_failsafe < 2
            and self._batt_crt_since is not None
            and self.t_s - self._batt_crt_since >= timer
        ):
            self.battery_failsafe = 2
            self.statustext(
                M.MAV_SEVERITY_CRITICAL, f"Battery 1 is critical {v:.2f}V used {used:.0f} mAh"
            )
            self._failsafe_action(int(self.params["BATT_FS_CRT_ACT"]), "Battery")
        elif (
            self.battery_failsafe < 1
            and self._batt_low_since is not None
            and self.t_s - self._batt_low_since >= timer
        ):
            self.battery_failsafe = 1
            self.statustext(
                M.MAV_SEVERITY_CRITICAL, f"Battery 1 is low {v:.2f}V used {used:.0f} mAh"
            )
            self._failsafe_action(int(self.params["BATT_FS_LOW_ACT"]), "Battery")

    def _fence_breach(self) -> str | None:
        """Which fence the vehicle is outside of now, or None."""
        fence_type = int(self.params["FENCE_TYPE"])
        a = self.air
        if fence_type & 1 and a.up_m > self.params["FENCE_ALT_MAX"]:
            return "altitude"
        he, hn = self._home_en
        if (
            fence_type & 2
            and math.hypot(a.east_m - he, a.north_m - hn) > self.params["FENCE_RADIUS"]
        ):
            return "circle"
        if fence_type & 4:
            for poly in self._no_fly:
                if point_in_polygon(a.east_m, a.north_m, poly):
                    return "no-fly zone"
            inclusion, exclusion = self._fence_shapes()
            for kind, shape in exclusion:
                if _inside(kind, shape, a.east_m, a.north_m):
                    return "exclusion zone"
            if inclusion and not any(_inside(k, s, a.east_m, a.north_m) for k, s in inclusion):
                return "inclusion zone"
        return None

    def _fence_shapes(
        self,
    ) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
        if self._fence_cache is not None:
            return self._fence_cache
        inclusion: list[tuple[str, Any]] = []
        exclusion: list[tuple[str, Any]] = []
        items = self.missions.lists[M.MAV_MISSION_TYPE_FENCE]
        i = 0
        while i < len(items):
            it = items[i]
            e, n = self.frame.to_local(it.lat_deg, it.lon_deg)
            if it.command in (
                M.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION,
                M.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
            ):
                target = (
                    inclusion if it.command == M.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION else exclusion
                )
                target.append(("circle", (e, n, it.param1)))
                i += 1
            elif it.command in (
                M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
                M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
            ):
                count = max(3, int(it.param1))
                verts = [self.frame.to_local(v.lat_deg, v.lon_deg) for v in items[i : i + count]]
                target = (
                    inclusion
                    if it.command == M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION
                    else exclusion
                )
                target.append(("polygon", verts))
                i += count
            else:
                i += 1
        self._fence_cache = (inclusion, exclusion)
        return self._fence_cache

    def _fence_check(self) -> None:
        if not self.params["FENCE_ENABLE"]:
            return
        breach = self._fence_breach()
        if breach is None:
            if self.fence_breached:
                self.fence_breached = False
                self.statustext(M.MAV_SEVERITY_INFO, "Fence breach cleared")
            return
        if self.fence_breached:
            return
        self.fence_breached = True
        self.statustext(M.MAV_SEVERITY_CRITICAL, f"Fence Breached: {breach}")
        action = int(self.params["FENCE_ACTION"])
        if action == 0:
            return
        self._fence_action(land=action == 2 or self.mode is self.RTL_MODE)

    def _fence_action(self, *, land: bool) -> None:
        self._failsafe_action(1 if land else 2, "Fence")  # battery actions: 1 LAND, 2 RTL

    def _on_list_changed(self, mission_type: int) -> None:
        if mission_type == M.MAV_MISSION_TYPE_FENCE:
            self._fence_cache = None
            self.params.set_internal("FENCE_TOTAL", self.missions.count(mission_type))
        elif mission_type == M.MAV_MISSION_TYPE_RALLY:
            self.params.set_internal("RALLY_TOTAL", self.missions.count(mission_type))
        else:
            self.params.set_internal("MIS_TOTAL", self.missions.count(mission_type))
            if self.mission_seq >= max(1, self.missions.count(mission_type)):
                self.mission_seq = 0

    # --- incoming ------------------------------------------------------------------------------

    def handle(self, msg: Any) -> None:
        """React to one decoded MAVLink message from a ground station."""
        handler = _HANDLERS.get(msg.get_type())
        if handler is None:
            return
        target = getattr(msg, "target_system", None)
        if target is not None and target not in (0, self.system_id):
            return
        handler(self, msg)

    @property
    def gcs_heard(self) -> bool:
        """Whether a heartbeat from MAV_GCS_SYSID has been heard (arms the GCS failsafe)."""
        return self._gcs_last_hb is not None

    def _on_heartbeat(self, msg: Any) -> None:
        if msg.get_srcSystem() != int(self.params["MAV_GCS_SYSID"]):
            return
        self._gcs_last_hb = self._link_now()
        if self.gcs_failsafe:
            self.gcs_failsafe = False
            self.statustext(M.MAV_SEVERITY_INFO, "GCS Failsafe Cleared")

    def _sender(self, msg: Any) -> tuple[int, int]:
        return msg.get_srcSystem(), msg.get_srcComponent()

    def _on_command_long(self, msg: Any) -> None:
        cmd = _Cmd(
            msg.command,
            msg.param1,
            msg.param2,
            msg.param3,
            msg.param4,
            msg.param5,
            msg.param6,
            msg.param7,
            M.MAV_FRAME_GLOBAL_RELATIVE_ALT,
            False,
            self._sender(msg),
        )
        self._command(cmd)

    def _on_command_int(self, msg: Any) -> None:
        cmd = _Cmd(
            msg.command,
            msg.param1,
            msg.param2,
            msg.param3,
            msg.param4,
            msg.x * 1e-7,
            msg.y * 1e-7,
            msg.z,
            msg.frame,
            True,
            self._sender(msg),
        )
        self._command(cmd)

    def _command(self, cmd: _Cmd) -> None:
        values = (cmd.p1, cmd.p2, cmd.p3, cmd.p4, cmd.x, cmd.y, cmd.z)
        if any(math.isinf(v) for v in values):
            result = int(M.MAV_RESULT_DENIED)
        else:
            try:
                result = self._command_result(cmd)
            except (ValueError, OverflowError):  # NaN or absurd numbers where integers belong
                self.log.debug("command %d with unusable parameters %s", cmd.command, values)
                result = int(M.MAV_RESULT_DENIED)
        self.send(
            M.MAVLink_command_ack_message(cmd.command, result, 0, 0, cmd.sender[0], cmd.sender[1])
        )

    def _command_result(self, cmd: _Cmd) -> int:
        """One command's MAV_RESULT (a subclass answers its own commands, then these)."""
        handler = _COMMANDS.get(cmd.command)
        return int(M.MAV_RESULT_UNSUPPORTED) if handler is None else handler(self, cmd)

    # commands: each returns a MAV_RESULT
    def _cmd_arm(self, c: _Cmd) -> int:
        if c.p1 not in (0.0, 1.0):
            return int(M.MAV_RESULT_DENIED)
        force = c.p2 == FORCE_ARM_MAGIC
        return self.arm(force=force) if c.p1 == 1.0 else self.disarm(force=force)

    def _cmd_takeoff(self, c: _Cmd) -> int:
        return self.takeoff(c.z)

    def _cmd_set_mode(self, c: _Cmd) -> int:
        if not int(c.p1) & M.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED or c.p2 != int(c.p2):
            return int(M.MAV_RESULT_DENIED)
        return int(M.MAV_RESULT_ACCEPTED if self.set_mode(int(c.p2)) else M.MAV_RESULT_FAILED)

    def _cmd_mission_start(self, c: _Cmd) -> int:
        if c.p1 < 0 or c.p1 != int(c.p1):
            return int(M.MAV_RESULT_DENIED)
        if int(c.p1) > 0:
            if int(c.p1) >= len(self.missions.mission):
                return int(M.MAV_RESULT_DENIED)
            self.mission_seq = int(c.p1)
        else:
            self.mission_seq = 1
        self._mission_complete = False
        if self.mode is self.AUTO_MODE:
            self._nav_started = False
            return int(M.MAV_RESULT_ACCEPTED)
        return int(M.MAV_RESULT_ACCEPTED if self.set_mode(self.AUTO_MODE) else M.MAV_RESULT_FAILED)

    def _cmd_rtl(self, c: _Cmd) -> int:
        return int(M.MAV_RESULT_ACCEPTED if self.set_mode(self.RTL_MODE) else M.MAV_RESULT_FAILED)

    def _cmd_land(self, c: _Cmd) -> int:
        return int(M.MAV_RESULT_ACCEPTED if self.set_mode(CopterMode.LAND) else M.MAV_RESULT_FAILED)

    def _cmd_reposition(self, c: _Cmd) -> int:
        if not c.is_int:
            return int(M.MAV_RESULT_UNSUPPORTED)
        if not (-90.0 <= c.x <= 90.0 and -180.0 <= c.y <= 180.0) or math.isnan(c.z):
            return int(M.MAV_RESULT_DENIED)
        if self.mode is not self.GUIDED_MODE and (
            not int(c.p2) & 1 or not self.set_mode(self.GUIDED_MODE)
        ):
            return int(M.MAV_RESULT_FAILED)
        if not self.armed or self.on_ground:
            return int(M.MAV_RESULT_FAILED)
        speed = c.p1 if 0.0 < c.p1 <= self.profile.max_speed_m_s else None
        e, n = self._target_en(c.x, c.y)
        up = self.air.up_m if math.isnan(c.z) else self._alt_to_up(c.z, c.frame, c.x, c.y)
        self._reposition(e, n, up, speed, c)
        return int(M.MAV_RESULT_ACCEPTED)

    def _reposition(
        self, east: float, north: float, up: float, speed: float | None, c: _Cmd
    ) -> None:
        self._goto(east, north, up, speed)

    def _cmd_change_speed(self, c: _Cmd) -> int:
        if c.p2 == -1.0:
            self._speed_override_m_s = None
            return int(M.MAV_RESULT_ACCEPTED)
        if not 0.0 < c.p2 <= self.profile.max_speed_m_s:
            return int(M.MAV_RESULT_DENIED)
        self._speed_override_m_s = c.p2
        if self._guidance.kind is GuidanceKind.POSITION:
            self._guidance.speed_m_s = c.p2
        return int(M.MAV_RESULT_ACCEPTED)

    def _cmd_roi_location(self, c: _Cmd) -> int:
        if not (-90.0 <= c.x <= 90.0 and -180.0 <= c.y <= 180.0):
            return int(M.MAV_RESULT_DENIED)
        self._set_roi(c.x, c.y, c.z, c.frame)
        return int(M.MAV_RESULT_ACCEPTED)

    def _cmd_roi_none(self, c: _Cmd) -> int:
        self._roi = None
        return int(M.MAV_RESULT_ACCEPTED)

    def _cmd_gimbal_pitchyaw(self, c: _Cmd) -> int:
        pitch, yaw = c.p1, c.p2
        if math.isnan(pitch) and math.isnan(yaw):
            return int(M.MAV_RESULT_ACCEPTED)
        if (not math.isnan(pitch) and not -90.0 <= pitch <= 30.0) or (
            not math.isnan(yaw) and not -180.0 <= yaw <= 180.0
        ):
            return int(M.MAV_RESULT_DENIED)
        self._roi = None
        tp, ty = self._gimbal_target
        self._gimbal_target = (tp if math.isnan(pitch) else pitch, ty if math.isnan(yaw) else yaw)
        return int(M.MAV_RESULT_ACCEPTED)

    def _cmd_mount_control(self, c: _Cmd) -> int:
        pitch, yaw = c.p1, c.p3
        if not -90.0 <= pitch <= 30.0 or not -180.0 <= yaw <= 180.0:
            return int(M.MAV_RESULT_DENIED)
        self._roi = None
        self._gimbal_target = (pitch, yaw)
        return int(M.MAV_RESULT_ACCEPTED)

    def _cmd_condition_yaw(self, c: _Cmd) -> int:
        if not 0.0 <= c.p1 <= 360.0:
            return int(M.MAV_RESULT_DENIED)
        if not self.armed or self.mode not in (self.GUIDED_MODE, self.AUTO_MODE):
            return int(M.MAV_RESULT_FAILED)
        target = c.p1 if c.p4 == 0 else self.air.yaw_deg + (c.p1 if c.p3 >= 0 else -c.p1)
        self._guidance.yaw_deg = target % 360.0
        return int(M.MAV_RESULT_ACCEPTED)

    def _cmd_set_home(self, c: _Cmd) -> int:
        ok = self._set_home(c.p1 == 1.0, c.x, c.y, c.z)
        return int(M.MAV_RESULT_ACCEPTED if ok else M.MAV_RESULT_DENIED)

    def _cmd_fence_enable(self, c: _Cmd) -> int:
        if c.p1 not in (0.0, 1.0):
            return int(M.MAV_RESULT_DENIED)
        self.params.set("FENCE_ENABLE", c.p1)
        return int(M.MAV_RESULT_ACCEPTED)

    def _cmd_set_current(self, c: _Cmd) -> int:
        seq = int(c.p1)
        if c.p1 != seq or not 1 <= seq < len(self.missions.mission):
            return int(M.MAV_RESULT_DENIED)
        self._jump_to(seq)
        return int(M.MAV_RESULT_ACCEPTED)

    def _cmd_request_message(self, c: _Cmd) -> int:
        msg_id = int(c.p1)
        if c.p1 != msg_id or msg_id < 0:
            return int(M.MAV_RESULT_DENIED)
        msg = self.build_message(msg_id)
        if msg is None:
            return int(M.MAV_RESULT_UNSUPPORTED)
        self.send(msg)
        return int(M.MAV_RESULT_ACCEPTED)

    def _cmd_set_message_interval(self, c: _Cmd) -> int:
        msg_id, interval_us = int(c.p1), c.p2
        if c.p1 != msg_id or msg_id < 0 or math.isnan(interval_us):
            return int(M.MAV_RESULT_DENIED)
        if msg_id not in _BUILDERS or msg_id in _ON_REQUEST_ONLY:
            return int(M.MAV_RESULT_UNSUPPORTED)
        if interval_us == 0:
            self.streams.reset(msg_id, self.t_s)
        elif interval_us < 0:
            self.streams.set_interval(msg_id, 0.0, self.t_s)
        elif interval_us > 3.6e9:
            return int(M.MAV_RESULT_DENIED)
        else:
            self.streams.set_interval(msg_id, interval_us / 1e6, self.t_s)
        return int(M.MAV_RESULT_ACCEPTED)

    def _cmd_get_message_interval(self, c: _Cmd) -> int:
        msg_id = int(c.p1)
        if msg_id not in _BUILDERS:
            return int(M.MAV_RESULT_UNSUPPORTED)
        interval = self.streams.interval_s(msg_id)
        self.send(M.MAVLink_message_interval_message(msg_id, int(interval * 1e6) or -1))
        return int(M.MAV_RESULT_ACCEPTED)

    def _cmd_autopilot_capabilities(self, c: _Cmd) -> int:
        self.send(self._autopilot_version())
        return int(M.MAV_RESULT_ACCEPTED)

    def _jump_to(self, seq: int) -> None:
        self.mission_seq = seq
        self._nav_started = False
        self._nav_reached_s = None
        self._mission_complete = False
        self.send(self._mission_current())

    def _on_request_data_stream(self, msg: Any) -> None:
        if msg.req_stream_id != 0 and msg.req_stream_id not in STREAM_GROUPS:
            return
        rate = float(msg.req_message_rate) if msg.start_stop else 0.0
        self.streams.set_group(msg.req_stream_id, rate, self.t_s)

    def _on_set_position_target_global_int(self, msg: Any) -> None:
        if self.mode is not self.GUIDED_MODE or not self.armed or self.on_ground:
            return
        mask = msg.type_mask
        pos_ignored = mask & 0b111 == 0b111
        vel_ignored = mask & 0b111000 == 0b111000
        if not pos_ignored:
            lat, lon = msg.lat_int * 1e-7, msg.lon_int * 1e-7
            if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0) or not math.isfinite(msg.alt):
                return
            e, n = self._target_en(lat, lon)
            self._goto(e, n, self._alt_to_up(msg.alt, msg.coordinate_frame, lat, lon))
        elif not vel_ignored:
            if not all(math.isfinite(v) for v in (msg.vx, msg.vy, msg.vz)):
                return
            self._guidance = Guidance(
                kind=GuidanceKind.VELOCITY,
                vel_north_m_s=msg.vx,
                vel_east_m_s=msg.vy,
                vel_up_m_s=-msg.vz,
            )
        if not mask & 0x400 and math.isfinite(msg.yaw):
            self._guidance.yaw_deg = math.degrees(msg.yaw) % 360.0

    def _on_mission_count(self, msg: Any) -> None:
        self.missions.on_count(msg, self._sender(msg), self._link_now())

    def _on_mission_item(self, msg: Any) -> None:
        self.missions.on_item(msg, self._sender(msg), self._link_now())

    def _on_mission_request_list(self, msg: Any) -> None:
        self.missions.on_request_list(msg, self._sender(msg))

    def _on_mission_request_int(self, msg: Any) -> None:
        self.missions.on_request(msg, self._sender(msg), as_int=True)

    def _on_mission_request(self, msg: Any) -> None:
        self.missions.on_request(msg, self._sender(msg), as_int=False)

    def _on_mission_clear_all(self, msg: Any) -> None:
        if getattr(msg, "mission_type", 0) in (0, M.MAV_MISSION_TYPE_ALL) and (
            self.mode is self.AUTO_MODE and self.armed
        ):
            self.missions._ack(self._sender(msg), M.MAV_MISSION_DENIED, msg.mission_type)
            return
        self.missions.on_clear_all(msg, self._sender(msg))

    def _on_mission_ack(self, msg: Any) -> None:
        self.missions.on_ack(msg, self._sender(msg))

    def _on_mission_set_current(self, msg: Any) -> None:
        if 1 <= msg.seq < len(self.missions.mission):
            self._jump_to(msg.seq)
        else:
            self.send(self._mission_current())

    def _on_param_request_list(self, msg: Any) -> None:
        for name in self.params:
            self.send(self._param_value(name))

    def _on_param_request_read(self, msg: Any) -> None:
        name = msg.param_id if msg.param_index < 0 else self.params.name_at(msg.param_index)
        if name is not None and name in self.params:
            self.send(self._param_value(name))

    def _on_param_set(self, msg: Any) -> None:
        name = msg.param_id
        if name not in self.params:
            return
        if not self.params.set(name, float(msg.param_value)):
            self.statustext(M.MAV_SEVERITY_WARNING, f"Param {name} refused {msg.param_value}")
        elif name == "FENCE_ENABLE" and not self.params[name]:
            self.fence_breached = False
        self.send(self._param_value(name))

    def _on_timesync(self, msg: Any) -> None:
        if msg.tc1 == 0:
            self.send(M.MAVLink_timesync_message(int(self.t_s * 1e9), msg.ts1))

    # --- outgoing messages -----------------------------------------------------------------------

    def build_message(self, msg_id: int) -> Any | None:
        builder = _BUILDERS.get(msg_id)
        return builder(self) if builder is not None else None

    def _boot_ms(self) -> int:
        return int(self.t_s * 1000.0) & 0xFFFFFFFF

    def _system_status(self) -> int:
        if self.motor_failed and self.armed:
            return int(M.MAV_STATE_EMERGENCY)
        if self.armed and (self.gcs_failsafe or self.battery_failsafe or self.fence_breached):
            return int(M.MAV_STATE_CRITICAL)
        return int(M.MAV_STATE_ACTIVE if self.armed else M.MAV_STATE_STANDBY)

    def _heartbeat(self) -> Any:
        base = (
            M.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
            | M.MAV_MODE_FLAG_STABILIZE_ENABLED
            | M.MAV_MODE_FLAG_MANUAL_INPUT_ENABLED
        )
        if self.mode in self.GPS_MODES:
            base |= M.MAV_MODE_FLAG_GUIDED_ENABLED
        if self.armed:
            base |= M.MAV_MODE_FLAG_SAFETY_ARMED
        return M.MAVLink_heartbeat_message(
            self.MAV_TYPE,
            M.MAV_AUTOPILOT_ARDUPILOTMEGA,
            base,
            int(self.mode),
            self._system_status(),
            3,
        )

    def _sys_status(self) -> Any:
        present = _SENSORS
        if self.params["FENCE_ENABLE"]:
            present |= M.MAV_SYS_STATUS_GEOFENCE
        health = _SENSORS | M.MAV_SYS_STATUS_GEOFENCE
        if self.fence_breached:
            health &= ~M.MAV_SYS_STATUS_GEOFENCE
        if self.air.gps_failed:
            health &= ~M.MAV_SYS_STATUS_SENSOR_GPS
        if self.motor_failed:
            health &= ~M.MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS
        if self.battery_failsafe:
            health &= ~M.MAV_SYS_STATUS_SENSOR_BATTERY
        return M.MAVLink_sys_status_message(
            present,
            present,
            health,
            200,
            int(self.air.battery_voltage_v * 1000),
            int(self.air.current_a * 100),
            int(self.air.battery_remaining * 100),
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        )

    def _battery_status(self) -> Any:
        a = self.air
        cells = self.profile.battery_cells
        cell_mv = int(a.battery_voltage_v * 1000 / cells)
        voltages = [cell_mv if i < cells else 0xFFFF for i in range(10)]
        ext = [cell_mv if 10 <= i < cells else 0 for i in range(10, 14)]
        remaining = a.battery_remaining
        rate = a.current_a
        time_left = int(remaining * a.capacity_mah / 1000.0 / rate * 3600.0) if rate > 0.5 else 0
        charge = M.MAV_BATTERY_CHARGE_STATE_OK
        if self.battery_failsafe == 1:
            charge = M.MAV_BATTERY_CHARGE_STATE_LOW
        elif self.battery_failsafe == 2:
            charge = M.MAV_BATTERY_CHARGE_STATE_CRITICAL
        return M.MAVLink_battery_status_message(
            0,
            M.MAV_BATTERY_FUNCTION_ALL,
            M.MAV_BATTERY_TYPE_LION,
            0x7FFF,
            voltages,
            int(rate * 100),
            int(a.battery_mah_used),
            int(a.energy_j / 100.0),
            int(remaining * 100),
            time_left,
            charge,
            ext,
            0,
            0,
        )

    def _gps_position(self) -> tuple[float, float]:
        """The estimated position: the receiver's noise plus the navigation GNSS wander."""
        err_e, err_n = self.air.gps_error_m()
        e = self.nav.error()
        return self.frame.to_geo(
            self.air.east_m + err_e + e.east_m, self.air.north_m + err_n + e.north_m
        )

    def _gps_sigma_m(self) -> tuple[float, float]:
        """1-σ horizontal (per axis) and vertical error of the reported position, configured."""
        return math.hypot(self.air.gps.noise_m, self.nav.config.gnss_horizontal_m), (
            self.nav.config.altitude_m
        )

    def _global_position_int(self) -> Any:
        a = self.air
        e = self.nav.error()
        lat, lon = self._gps_position()
        return M.MAVLink_global_position_int_message(
            self._boot_ms(),
            int(lat * 1e7),
            int(lon * 1e7),
            int((self.home_alt_amsl_m + a.up_m + e.up_m) * 1000),
            int((a.up_m + e.up_m) * 1000),
            int(a.vel_n * 100),
            int(a.vel_e * 100),
            int(-a.vel_u * 100),
            int(self._reported_attitude_deg(e)[2] * 100),
        )

    def _gps_raw_int(self) -> Any:
        a = self.air
        g = a.gps
        if a.gps_failed:
            return M.MAVLink_gps_raw_int_message(
                int(self.t_s * 1e6), M.GPS_FIX_TYPE_NO_FIX, 0, 0, 0, 0xFFFF, 0xFFFF, 0, 0xFFFF, 0
            )
        lat, lon = self._gps_position()
        noise = g.noise_m * 0.3
        lat += self._rng.gauss(0.0, noise) / self.frame.m_per_deg_lat
        lon += self._rng.gauss(0.0, noise) / self.frame.m_per_deg_lon
        speed = math.hypot(a.vel_e, a.vel_n)
        cog = math.degrees(math.atan2(a.vel_e, a.vel_n)) % 360.0 if speed > 0.2 else 0.0
        alt_mm = int((self.home_alt_amsl_m + a.up_m + self.nav.error().up_m) * 1000)
        h_sigma_m, v_sigma_m = self._gps_sigma_m()
        return M.MAVLink_gps_raw_int_message(
            int(self.t_s * 1e6),
            M.GPS_FIX_TYPE_3D_FIX,
            int(lat * 1e7),
            int(lon * 1e7),
            alt_mm,
            int(g.hdop * 100),
            int(g.hdop * 150),
            int(speed * 100),
            int(cog * 100),
            g.satellites,
            alt_mm + 47_000,
            int(h_sigma_m * 1000),
            int(v_sigma_m * 1000),
            100,
            0,
            0,
        )

    def _attitude(self) -> Any:
        roll, pitch, yaw = (math.radians(x) for x in self._reported_attitude_deg(self.nav.error()))
        if yaw > math.pi:
            yaw -= 2.0 * math.pi
        return M.MAVLink_attitude_message(
            self._boot_ms(), roll, pitch, yaw, 0.0, 0.0, math.radians(self.air.yaw_rate_deg_s)
        )

    def _vfr_hud(self) -> Any:
        a = self.air
        e = self.nav.error()
        throttle = int(min(100.0, a.power_w / max(1.0, a._cruise_power_w) * 45.0))
        return M.MAVLink_vfr_hud_message(
            a.airspeed_m_s,
            math.hypot(a.vel_e, a.vel_n),
            int(self._reported_attitude_deg(e)[2]) % 360,
            throttle,
            self.home_alt_amsl_m + a.up_m + e.up_m,
            a.vel_u,
        )

    def _home_item(self) -> MissionItem:
        lat, lon, alt = self.home
        return MissionItem(
            seq=0,
            frame=M.MAV_FRAME_GLOBAL,
            command=M.MAV_CMD_NAV_WAYPOINT,
            x=int(lat * 1e7),
            y=int(lon * 1e7),
            z=alt,
        )

    def _home_position(self) -> Any:
        lat, lon, alt = self.home
        e, n = self._home_en
        return M.MAVLink_home_position_message(
            int(lat * 1e7),
            int(lon * 1e7),
            int(alt * 1000),
            n,
            e,
            0.0,
            [1.0, 0.0, 0.0, 0.0],
            0.0,
            0.0,
            0.0,
            int(self.t_s * 1e6),
        )

    def _extended_sys_state(self) -> Any:
        return M.MAVLink_extended_sys_state_message(self.vtol_state, int(self.landed_state))

    @property
    def vtol_state(self) -> int:
        """MAV_VTOL_STATE for EXTENDED_SYS_STATE: UNDEFINED on a multirotor."""
        return int(M.MAV_VTOL_STATE_UNDEFINED)

    def _mission_current(self) -> Any:
        total = max(0, len(self.missions.mission) - 1)
        if total == 0:
            state = M.MISSION_STATE_NO_MISSION
        elif self._mission_complete:
            state = M.MISSION_STATE_COMPLETE
        elif self.mode is self.AUTO_MODE:
            state = M.MISSION_STATE_ACTIVE
        elif self.mission_seq > 1:
            state = M.MISSION_STATE_PAUSED
        else:
            state = M.MISSION_STATE_NOT_STARTED
        in_auto = 1 if self.mode is self.AUTO_MODE else 2
        return M.MAVLink_mission_current_message(self.mission_seq, total, state, in_auto)

    def _gimbal_status(self) -> Any:
        p, y = (math.radians(x) for x in self._reported_gimbal_deg(self.nav.error()))
        cp, sp, cy, sy = math.cos(p / 2), math.sin(p / 2), math.cos(y / 2), math.sin(y / 2)
        q = [cp * cy, -sp * sy, sp * cy, cp * sy]
        flags = (
            M.GIMBAL_DEVICE_FLAGS_ROLL_LOCK
            | M.GIMBAL_DEVICE_FLAGS_PITCH_LOCK
            | M.GIMBAL_DEVICE_FLAGS_YAW_IN_VEHICLE_FRAME
        )
        return M.MAVLink_gimbal_device_attitude_status_message(
            0, 0, self._boot_ms(), flags, q, 0.0, 0.0, 0.0, 0, math.nan, math.nan, 1
        )

    def _system_time(self) -> Any:
        return M.MAVLink_system_time_message(
            int((self._start_unix_s + self.t_s) * 1e6), self._boot_ms()
        )

    def _autopilot_version(self) -> Any:
        uid = zlib.crc32(self.vehicle_id.encode()) | (self.system_id << 32)
        return M.MAVLink_autopilot_version_message(
            _CAPABILITIES,
            _FLIGHT_SW_VERSION,
            0,
            0,
            0,
            [0] * 8,
            [0] * 8,
            [0] * 8,
            0x1209,
            0x5741,
            uid,
            [0] * 18,
        )

    def _param_value(self, name: str) -> Any:
        spec = self.params.spec(name)
        return M.MAVLink_param_value_message(
            name.encode(),
            self.params[name],
            spec.param_type,
            len(self.params),
            self.params.index(name),
        )

    def _position_target(self) -> Any:
        g = self._guidance
        lat, lon = self.frame.to_geo(g.east_m, g.north_m)
        return M.MAVLink_position_target_global_int_message(
            self._boot_ms(),
            M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
            0xFF8,
            int(lat * 1e7),
            int(lon * 1e7),
            g.up_m,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
        )


def _is_nav(command: int) -> bool:
    return bool(command < M.MAV_CMD_NAV_LAST)


def _inside(kind: str, shape: Any, x: float, y: float) -> bool:
    if kind == "circle":
        e, n, r = shape
        return bool(math.hypot(x - e, y - n) <= r)
    return point_in_polygon(x, y, shape)


_HANDLERS: dict[str, Callable[[SimVehicle, Any], None]] = {
    "HEARTBEAT": SimVehicle._on_heartbeat,
    "COMMAND_LONG": SimVehicle._on_command_long,
    "COMMAND_INT": SimVehicle._on_command_int,
    "REQUEST_DATA_STREAM": SimVehicle._on_request_data_stream,
    "SET_POSITION_TARGET_GLOBAL_INT": SimVehicle._on_set_position_target_global_int,
    "MISSION_COUNT": SimVehicle._on_mission_count,
    "MISSION_ITEM_INT": SimVehicle._on_mission_item,
    "MISSION_ITEM": SimVehicle._on_mission_item,
    "MISSION_REQUEST_LIST": SimVehicle._on_mission_request_list,
    "MISSION_REQUEST_INT": SimVehicle._on_mission_request_int,
    "MISSION_REQUEST": SimVehicle._on_mission_request,
    "MISSION_CLEAR_ALL": SimVehicle._on_mission_clear_all,
    "MISSION_ACK": SimVehicle._on_mission_ack,
    "MISSION_SET_CURRENT": SimVehicle._on_mission_set_current,
    "PARAM_REQUEST_LIST": SimVehicle._on_param_request_list,
    "PARAM_REQUEST_READ": SimVehicle._on_param_request_read,
    "PARAM_SET": SimVehicle._on_param_set,
    "TIMESYNC": SimVehicle._on_timesync,
}

_COMMANDS: dict[int, Callable[[SimVehicle, _Cmd], int]] = {
    M.MAV_CMD_COMPONENT_ARM_DISARM: SimVehicle._cmd_arm,
    M.MAV_CMD_NAV_TAKEOFF: SimVehicle._cmd_takeoff,
    M.MAV_CMD_DO_SET_MODE: SimVehicle._cmd_set_mode,
    M.MAV_CMD_MISSION_START: SimVehicle._cmd_mission_start,
    M.MAV_CMD_NAV_RETURN_TO_LAUNCH: SimVehicle._cmd_rtl,
    M.MAV_CMD_NAV_LAND: SimVehicle._cmd_land,
    M.MAV_CMD_DO_REPOSITION: SimVehicle._cmd_reposition,
    M.MAV_CMD_DO_CHANGE_SPEED: SimVehicle._cmd_change_speed,
    M.MAV_CMD_DO_SET_ROI_LOCATION: SimVehicle._cmd_roi_location,
    M.MAV_CMD_DO_SET_ROI_NONE: SimVehicle._cmd_roi_none,
    M.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW: SimVehicle._cmd_gimbal_pitchyaw,
    M.MAV_CMD_DO_MOUNT_CONTROL: SimVehicle._cmd_mount_control,
    M.MAV_CMD_CONDITION_YAW: SimVehicle._cmd_condition_yaw,
    M.MAV_CMD_DO_SET_HOME: SimVehicle._cmd_set_home,
    M.MAV_CMD_DO_FENCE_ENABLE: SimVehicle._cmd_fence_enable,
    M.MAV_CMD_DO_SET_MISSION_CURRENT: SimVehicle._cmd_set_current,
    M.MAV_CMD_REQUEST_MESSAGE: SimVehicle._cmd_request_message,
    M.MAV_CMD_SET_MESSAGE_INTERVAL: SimVehicle._cmd_set_message_interval,
    M.MAV_CMD_GET_MESSAGE_INTERVAL: SimVehicle._cmd_get_message_interval,
    M.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES: SimVehicle._cmd_autopilot_capabilities,
}

_BUILDERS: dict[int, Callable[[SimVehicle], Any]] = {
    M.MAVLINK_MSG_ID_HEARTBEAT: SimVehicle._heartbeat,
    M.MAVLINK_MSG_ID_SYS_STATUS: SimVehicle._sys_status,
    M.MAVLINK_MSG_ID_BATTERY_STATUS: SimVehicle._battery_status,
    M.MAVLINK_MSG_ID_GLOBAL_POSITION_INT: SimVehicle._global_position_int,
    M.MAVLINK_MSG_ID_GPS_RAW_INT: SimVehicle._gps_raw_int,
    M.MAVLINK_MSG_ID_ATTITUDE: SimVehicle._attitude,
    M.MAVLINK_MSG_ID_VFR_HUD: SimVehicle._vfr_hud,
    M.MAVLINK_MSG_ID_HOME_POSITION: SimVehicle._home_position,
    M.MAVLINK_MSG_ID_EXTENDED_SYS_STATE: SimVehicle._extended_sys_state,
    M.MAVLINK_MSG_ID_MISSION_CURRENT: SimVehicle._mission_current,
    M.MAVLINK_MSG_ID_GIMBAL_DEVICE_ATTITUDE_STATUS: SimVehicle._gimbal_status,
    M.MAVLINK_MSG_ID_SYSTEM_TIME: SimVehicle._system_time,
    M.MAVLINK_MSG_ID_AUTOPILOT_VERSION: SimVehicle._autopilot_version,
    M.MAVLINK_MSG_ID_POSITION_TARGET_GLOBAL_INT: SimVehicle._position_target,
}
_ON_REQUEST_ONLY = frozenset({M.MAVLINK_MSG_ID_AUTOPILOT_VERSION})
