"""Live state of one vehicle, updated in place from decoded MAVLink messages.

Handlers are looked up by message id in a table (decode once, update a few slots); the
frozen :class:`~skyeye.contracts.VehicleState` snapshot is only built when someone asks for
it (cached until the next update), so per-message work stays small at hundreds of vehicles.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from skyeye.clock import Clock
from skyeye.contracts import (
    GeoPoint,
    LinkQuality,
    StatusText,
    VehicleEventKind,
    VehicleState,
)

__all__ = ["EventSink", "LinkStats", "Telemetry", "is_vtol", "mode_name", "mode_number"]

EventSink = Callable[..., None]  # (kind, detail="", *, mode=None, mission_seq=None, severity=None)

_ARMED = mavlink.MAV_MODE_FLAG_SAFETY_ARMED
_STATE_NAMES = {k: v.name.removeprefix("MAV_STATE_") for k, v in mavlink.enums["MAV_STATE"].items()}
_FAILSAFE_STATES = frozenset({mavlink.MAV_STATE_CRITICAL, mavlink.MAV_STATE_EMERGENCY})
_WARNING = mavlink.MAV_SEVERITY_WARNING
_DRAIN_MIN_S = 30.0  # clock seconds of drain before time left is extrapolated
_LOSS_WINDOW = 512  # packets: the window is halved when full, so loss follows recent traffic


# MAV_TYPE 19..25 are the VTOL types (their names changed across MAVLink releases:
# VTOL_DUOROTOR / VTOL_TAILSITTER_DUOROTOR, VTOL_QUADROTOR / VTOL_TAILSITTER_QUADROTOR,
# VTOL_TILTROTOR, VTOL_FIXEDROTOR, VTOL_TAILSITTER, VTOL_TILTWING, VTOL_RESERVED5). On
# ArduPilot every one of them is ArduPlane (a QuadPlane reports its Q_MAV_TYPE), whose modes
# pymavlink only maps for some of them, depending on its version.
_VTOL_TYPES = frozenset(range(mavlink.MAV_TYPE_VTOL_DUOROTOR, mavlink.MAV_TYPE_VTOL_RESERVED5 + 1))
_PLANE_MODES: dict[int, str] = dict(mavutil.mode_mapping_apm)
_PLANE_MODE_NUMBERS = {name: number for number, name in _PLANE_MODES.items()}


def is_vtol(vehicle_type: int) -> bool:
    """Whether a HEARTBEAT type is a VTOL (ArduPlane QuadPlane modes: QLAND, QRTL …)."""
    return vehicle_type in _VTOL_TYPES


def mode_name(vehicle_type: int, custom_mode: int) -> str:
    if vehicle_type in _VTOL_TYPES:
        return _PLANE_MODES.get(custom_mode, f"MODE({custom_mode})")
    mapping = mavutil.mode_mapping_bynumber(vehicle_type) or {}
    return str(mapping.get(custom_mode, f"MODE({custom_mode})"))


def mode_number(vehicle_type: int, name: str) -> int | None:
    if vehicle_type in _VTOL_TYPES:
        return _PLANE_MODE_NUMBERS.get(name.upper())
    mapping = mavutil.mode_mapping_byname(vehicle_type) or {}
    value = mapping.get(name.upper())
    return None if value is None else int(value)


class LinkStats:
    """Packet loss from MAVLink sequence numbers per (system, component) stream."""

    __slots__ = ("_expected", "lost", "received", "window_lost", "window_received")

    def __init__(self) -> None:
        self._expected: dict[int, int] = {}
        self.received = 0
        self.lost = 0
        self.window_received = 0
        self.window_lost = 0

    def count(self, component_id: int, seq: int) -> None:
        expected = self._expected.get(component_id)
        if expected is not None:
            gap = (seq - expected) & 0xFF
            if gap < 128:  # a larger jump is a duplicate or a reordered packet, not loss
                self.lost += gap
                self.window_lost += gap
        self._expected[component_id] = (seq + 1) & 0xFF
        self.received += 1
        self.window_received += 1
        if self.window_received + self.window_lost >= _LOSS_WINDOW:
            self.window_received //= 2
            self.window_lost //= 2

    def loss_pct(self) -> float:
        total = self.window_received + self.window_lost
        return 0.0 if total == 0 else 100.0 * self.window_lost / total

    def restart(self) -> None:
        self._expected.clear()


class Telemetry:
    """Mutable state of one vehicle. Only the fleet's event loop touches it."""

    def __init__(
        self,
        vehicle_id: str,
        system_id: int,
        *,
        clock: Clock,
        emit: EventSink,
        status_texts_kept: int,
    ) -> None:
        self._clock = clock
        self.vehicle_id = vehicle_id
        self.system_id = system_id
        self._emit = emit
        self.vehicle_type = mavlink.MAV_TYPE_QUADROTOR
        self.autopilot = mavlink.MAV_AUTOPILOT_ARDUPILOTMEGA
        self.custom_mode: int | None = None
        self.mode = "UNKNOWN"
        self.armed = False
        self.system_status = "UNINIT"
        self._system_status_id = 0
        self.lat_deg: float | None = None
        self.lon_deg: float | None = None
        self.alt_amsl_m: float | None = None
        self.alt_rel_m: float | None = None
        self.vel_ned_m_s = (0.0, 0.0, 0.0)
        self.heading_deg: float | None = None
        self.attitude_deg = (0.0, 0.0, 0.0)
        self.battery_voltage_v: float | None = None
        self.battery_pct: float | None = None
        self.battery_time_left_s: float | None = None
        self._battery_reported_time = False  # BATTERY_STATUS.time_remaining seen
        self._battery_samples: deque[tuple[float, float]] = deque(maxlen=64)
        self.gps_fix_type = 0
        self.gps_satellites = 0
        self.home: GeoPoint | None = None
        self.mission_seq: int | None = None
        self.gimbal_pitch_deg: float | None = None
        self.gimbal_yaw_deg: float | None = None
        self.status_texts: deque[StatusText] = deque(maxlen=max(1, status_texts_kept))
        self._status_texts_kept = status_texts_kept
        self.status_text_count = 0
        self.heartbeats = 0
        self._snapshot: VehicleState | None = None

    def handle(self, msg_id: int, message: Any) -> None:
        handler = _HANDLERS.get(msg_id)
        if handler is not None:
            handler(self, message)
            self._snapshot = None

    def invalidate(self) -> None:
        self._snapshot = None

    def snapshot(self, now: datetime, link: LinkQuality) -> VehicleState:
        cached = self._snapshot
        if cached is not None and cached.link == link:
            return cached
        vn, ve, vd = self.vel_ned_m_s
        roll, pitch, yaw = self.attitude_deg
        texts = (
            tuple(self.status_texts)[-self._status_texts_kept :] if self._status_texts_kept else ()
        )
        state = VehicleState.model_construct(
            vehicle_id=self.vehicle_id,
            system_id=self.system_id,
            time=now,
            lat_deg=self.lat_deg,
            lon_deg=self.lon_deg,
            alt_rel_m=self.alt_rel_m,
            alt_amsl_m=self.alt_amsl_m,
            vel_north_m_s=vn,
            vel_east_m_s=ve,
            vel_down_m_s=vd,
            ground_speed_m_s=math.hypot(vn, ve),
            heading_deg=self.heading_deg,
            roll_deg=roll,
            pitch_deg=pitch,
            yaw_deg=yaw,
            battery_voltage_v=self.battery_voltage_v,
            battery_pct=self.battery_pct,
            battery_time_left_s=self.battery_time_left_s,
            gps_fix_type=self.gps_fix_type,
            gps_satellites=self.gps_satellites,
            mode=self.mode,
            armed=self.armed,
            system_status=self.system_status,
            home=self.home,
            mission_seq=self.mission_seq,
            gimbal_pitch_deg=self.gimbal_pitch_deg,
            gimbal_yaw_deg=self.gimbal_yaw_deg,
            status_texts=texts,
            link=link,
        )
        self._snapshot = state
        return state

    # ----------------------------------------------------------------- handlers

    def _heartbeat(self, m: Any) -> None:
        self.heartbeats += 1
        self.vehicle_type = m.type
        self.autopilot = m.autopilot
        armed = bool(m.base_mode & _ARMED)
        if armed != self.armed and self.heartbeats > 1:
            self._emit(VehicleEventKind.ARMED if armed else VehicleEventKind.DISARMED)
        self.armed = armed
        if m.custom_mode != self.custom_mode:
            self.custom_mode = m.custom_mode
            previous, self.mode = self.mode, mode_name(m.type, m.custom_mode)
            if self.heartbeats > 1:
                self._emit(
                    VehicleEventKind.MODE_CHANGED, f"{previous} → {self.mode}", mode=self.mode
                )
        if m.system_status != self._system_status_id:
            entering = m.system_status in _FAILSAFE_STATES
            was = self._system_status_id in _FAILSAFE_STATES
            self._system_status_id = m.system_status
            self.system_status = _STATE_NAMES.get(m.system_status, str(m.system_status))
            if entering and not was:
                self._emit(
                    VehicleEventKind.FAILSAFE,
                    f"system status {self.system_status} in {self.mode}",
                    mode=self.mode,
                )

    def _global_position_int(self, m: Any) -> None:
        self.lat_deg = m.lat * 1e-7
        self.lon_deg = m.lon * 1e-7
        self.alt_amsl_m = m.alt * 1e-3
        self.alt_rel_m = m.relative_alt * 1e-3
        self.vel_ned_m_s = (m.vx * 0.01, m.vy * 0.01, m.vz * 0.01)
        if m.hdg != 65535:
            self.heading_deg = (m.hdg * 0.01) % 360.0

    def _attitude(self, m: Any) -> None:
        self.attitude_deg = (math.degrees(m.roll), math.degrees(m.pitch), math.degrees(m.yaw))

    def _sys_status(self, m: Any) -> None:
        if m.voltage_battery != 65535:
            self.battery_voltage_v = m.voltage_battery * 1e-3
        if 0 <= m.battery_remaining <= 100:
            self._battery_level(float(m.battery_remaining))

    def _battery_level(self, pct: float) -> None:
        """Track remaining %; without the vehicle's own estimate, extrapolate the drain."""
        samples = self._battery_samples
        if pct != self.battery_pct or not samples:
            samples.append((self._clock.monotonic(), pct))
        self.battery_pct = pct
        if self._battery_reported_time or len(samples) < 2:
            return
        (t0, p0), (t1, p1) = samples[0], samples[-1]
        if t1 - t0 >= _DRAIN_MIN_S and p0 > p1:
            self.battery_time_left_s = p1 / ((p0 - p1) / (t1 - t0))

    def _battery_status(self, m: Any) -> None:
        if m.id == 0:  # BATTERY_STATUS's own 'id' field: the battery instance
            if m.time_remaining > 0:
                self._battery_reported_time = True
                self.battery_time_left_s = float(m.time_remaining)
            if 0 <= m.battery_remaining <= 100:
                self._battery_level(float(m.battery_remaining))

    def _gps_raw_int(self, m: Any) -> None:
        self.gps_fix_type = min(8, m.fix_type)
        self.gps_satellites = m.satellites_visible if m.satellites_visible != 255 else 0

    def _home_position(self, m: Any) -> None:
        self.home = GeoPoint(
            lat_deg=m.latitude * 1e-7, lon_deg=m.longitude * 1e-7, alt_amsl_m=m.altitude * 1e-3
        )

    def _mission_current(self, m: Any) -> None:
        self.mission_seq = m.seq

    def _mission_item_reached(self, m: Any) -> None:
        self._emit(VehicleEventKind.MISSION_ITEM_REACHED, f"item {m.seq}", mission_seq=m.seq)

    def _mount_status(self, m: Any) -> None:
        self.gimbal_pitch_deg = m.pointing_a * 0.01
        self.gimbal_yaw_deg = m.pointing_c * 0.01

    def _gimbal_device_attitude_status(self, m: Any) -> None:
        w, x, y, z = m.q
        if any(math.isnan(v) for v in (w, x, y, z)):
            return
        self.gimbal_pitch_deg = math.degrees(math.asin(max(-1.0, min(1.0, 2 * (w * y - z * x)))))
        self.gimbal_yaw_deg = math.degrees(math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))

    def _vfr_hud(self, m: Any) -> None:
        if self.heading_deg is None:
            self.heading_deg = float(m.heading) % 360.0

    def _statustext(self, m: Any) -> None:
        text = m.text if isinstance(m.text, str) else bytes(m.text).decode("utf-8", "replace")
        text = text.rstrip("\x00")[:200]
        severity = min(7, max(0, int(m.severity)))
        self.status_texts.append(StatusText(time=self._clock.now(), severity=severity, text=text))
        self.status_text_count += 1
        if "failsafe" in text.lower():
            self._emit(VehicleEventKind.FAILSAFE, text, severity=severity, mode=self.mode)
        elif severity <= _WARNING:
            self._emit(VehicleEventKind.STATUSTEXT, text, severity=severity)

    def texts_since(self, count: int) -> list[str]:
        """The STATUSTEXTs received after the ``count``-th one (as far as they are kept)."""
        new = self.status_text_count - count
        if new <= 0:
            return []
        return [t.text for t in list(self.status_texts)[-new:]]


_HANDLERS: dict[int, Callable[[Telemetry, Any], None]] = {
    mavlink.MAVLINK_MSG_ID_HEARTBEAT: Telemetry._heartbeat,
    mavlink.MAVLINK_MSG_ID_GLOBAL_POSITION_INT: Telemetry._global_position_int,
    mavlink.MAVLINK_MSG_ID_ATTITUDE: Telemetry._attitude,
    mavlink.MAVLINK_MSG_ID_SYS_STATUS: Telemetry._sys_status,
    mavlink.MAVLINK_MSG_ID_BATTERY_STATUS: Telemetry._battery_status,
    mavlink.MAVLINK_MSG_ID_GPS_RAW_INT: Telemetry._gps_raw_int,
    mavlink.MAVLINK_MSG_ID_HOME_POSITION: Telemetry._home_position,
    mavlink.MAVLINK_MSG_ID_MISSION_CURRENT: Telemetry._mission_current,
    mavlink.MAVLINK_MSG_ID_MISSION_ITEM_REACHED: Telemetry._mission_item_reached,
    mavlink.MAVLINK_MSG_ID_MOUNT_STATUS: Telemetry._mount_status,
    mavlink.MAVLINK_MSG_ID_GIMBAL_DEVICE_ATTITUDE_STATUS: Telemetry._gimbal_device_attitude_status,
    mavlink.MAVLINK_MSG_ID_VFR_HUD: Telemetry._vfr_hud,
    mavlink.MAVLINK_MSG_ID_STATUSTEXT: Telemetry._statustext,
}
