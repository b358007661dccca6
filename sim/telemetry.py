"""Telemetry streams: which messages a vehicle sends unprompted, how often, and their groups.

Rates are ArduPilot-like defaults (what a ground station's usual stream request gives) and
change with SET_MESSAGE_INTERVAL, REQUEST_DATA_STREAM (ArduPilot's SRn_* groups) and
REQUEST_MESSAGE (one-off). Intervals are in simulated seconds, as ArduPilot SITL counts them.
"""

from __future__ import annotations

from pymavlink.dialects.v20 import ardupilotmega as mavlink

__all__ = ["DEFAULT_INTERVALS_S", "STREAM_GROUPS", "StreamSchedule"]

M = mavlink

DEFAULT_INTERVALS_S: dict[int, float] = {
    M.MAVLINK_MSG_ID_HEARTBEAT: 1.0,
    M.MAVLINK_MSG_ID_SYS_STATUS: 0.5,
    M.MAVLINK_MSG_ID_GPS_RAW_INT: 0.5,
    M.MAVLINK_MSG_ID_MISSION_CURRENT: 0.5,
    M.MAVLINK_MSG_ID_GLOBAL_POSITION_INT: 0.25,
    M.MAVLINK_MSG_ID_ATTITUDE: 0.25,
    M.MAVLINK_MSG_ID_VFR_HUD: 0.25,
    M.MAVLINK_MSG_ID_BATTERY_STATUS: 0.5,
    M.MAVLINK_MSG_ID_EXTENDED_SYS_STATE: 0.5,
    M.MAVLINK_MSG_ID_GIMBAL_DEVICE_ATTITUDE_STATUS: 0.5,
    M.MAVLINK_MSG_ID_SYSTEM_TIME: 1.0,
    M.MAVLINK_MSG_ID_HOME_POSITION: 10.0,
}

# MAV_DATA_STREAM → the messages ArduPilot sends in that SRn_* group.
STREAM_GROUPS: dict[int, tuple[int, ...]] = {
    M.MAV_DATA_STREAM_EXTENDED_STATUS: (
        M.MAVLINK_MSG_ID_SYS_STATUS,
        M.MAVLINK_MSG_ID_GPS_RAW_INT,
        M.MAVLINK_MSG_ID_MISSION_CURRENT,
    ),
    M.MAV_DATA_STREAM_POSITION: (M.MAVLINK_MSG_ID_GLOBAL_POSITION_INT,),
    M.MAV_DATA_STREAM_EXTRA1: (M.MAVLINK_MSG_ID_ATTITUDE,),
    M.MAV_DATA_STREAM_EXTRA2: (M.MAVLINK_MSG_ID_VFR_HUD,),
    M.MAV_DATA_STREAM_EXTRA3: (
        M.MAVLINK_MSG_ID_BATTERY_STATUS,
        M.MAVLINK_MSG_ID_EXTENDED_SYS_STATE,
        M.MAVLINK_MSG_ID_GIMBAL_DEVICE_ATTITUDE_STATUS,
        M.MAVLINK_MSG_ID_SYSTEM_TIME,
    ),
}
_MIN_INTERVAL_S = 0.02  # 50 Hz, as ArduPilot caps a stream


class StreamSchedule:
    """Per-message intervals and the next time each is due (simulated seconds)."""

    __slots__ = ("_due", "_intervals")

    def __init__(self, start_s: float = 0.0) -> None:
        self._intervals: dict[int, float] = dict(DEFAULT_INTERVALS_S)
        self._due: dict[int, float] = dict.fromkeys(self._intervals, start_s)

    def interval_s(self, msg_id: int) -> float:
        """Current interval; 0 means not streamed."""
        return self._intervals.get(msg_id, 0.0)

    def set_interval(self, msg_id: int, interval_s: float, now_s: float) -> None:
        """``interval_s`` > 0 streams, 0 stops; a default is restored with :meth:`reset`."""
        if interval_s <= 0.0:
            self._intervals.pop(msg_id, None)
            self._due.pop(msg_id, None)
            return
        self._intervals[msg_id] = max(_MIN_INTERVAL_S, interval_s)
        self._due[msg_id] = now_s

    def reset(self, msg_id: int, now_s: float) -> None:
        default = DEFAULT_INTERVALS_S.get(msg_id, 0.0)
        self.set_interval(msg_id, default, now_s)

    def set_group(self, stream_id: int, rate_hz: float, now_s: float) -> None:
        groups = STREAM_GROUPS.values() if stream_id == 0 else (STREAM_GROUPS[stream_id],)
        for ids in groups:
            for msg_id in ids:
                self.set_interval(msg_id, 1.0 / rate_hz if rate_hz > 0 else 0.0, now_s)

    def due(self, now_s: float) -> list[int]:
        """Message ids due now; each is rescheduled one interval on."""
        out: list[int] = []
        due = self._due
        for msg_id, t in due.items():
            if t <= now_s:
                out.append(msg_id)
                nxt = t + self._intervals[msg_id]
                due[msg_id] = nxt if nxt > now_s else now_s + self._intervals[msg_id]
        return out
