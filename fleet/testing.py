"""A scripted MAVLink vehicle on a real socket, for tests and load generation.

:class:`ScriptedVehicle` is a small autopilot stand-in that speaks real MAVLink 2 over UDP
(sending to a ground station's address, like ArduPilot's ``--serial0 udpclient:``) or TCP
(serving one client, like SITL's port 5760): heartbeats and telemetry at fixed rates,
COMMAND_LONG/COMMAND_INT with COMMAND_ACK (arming checks that fail with a STATUSTEXT
reason, modes, takeoff, reposition, land, RTL, ROI, gimbal, message intervals, mission
start), the mission protocol for missions, fences and rally points (re-requesting items on
silence), parameters, TIMESYNC and MAVLink 2 signing. It flies nothing: positions jump to
where they were sent. Use ``sim/`` for flight; use this to script the protocol's corners.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from fleet.signing import SigningKey, signing_timestamp
from fleet.telemetry import mode_number
from skyeye.clock import Clock, WallClock

__all__ = ["ScriptedVehicle", "VehicleScript"]

_M = mavlink
_COPTER = _M.MAV_TYPE_QUADROTOR


@dataclass(slots=True, kw_only=True)
class VehicleScript:
    """What the scripted vehicle does; tests change these fields while it runs."""

    system_id: int = 1
    component_id: int = 1
    lat_deg: float = 47.3977
    lon_deg: float = 8.5456
    home_alt_amsl_m: float = 488.0
    telemetry_rate_hz: float = 4.0
    battery_pct: int = 87
    heartbeat_rate_hz: float = 1.0
    prearm_failure: str | None = None  # refuse to arm with this STATUSTEXT
    ignore_commands: frozenset[int] = frozenset()  # never answer these MAV_CMDs
    in_progress_commands: frozenset[int] = frozenset()  # ack IN_PROGRESS, then ACCEPTED
    mission_capacity: int = 1000
    mission_request_timeout_s: float = 0.25  # re-request the awaited item after this silence
    signing_key: SigningKey | None = None  # when set: sign, and ignore anything not signed
    params: dict[str, float] = field(
        default_factory=lambda: {
            "FS_GCS_ENABLE": 0.0,
            "FS_GCS_TIMEOUT": 5.0,
            "BATT_FS_LOW_ACT": 0.0,
            "BATT_FS_CRT_ACT": 0.0,
            "FENCE_ENABLE": 0.0,
            "FENCE_RADIUS": 300.0,
            "FENCE_ALT_MAX": 100.0,
            "WPNAV_SPEED": 1000.0,
            "SYSID_THISMAV": 1.0,
        }
    )


class _UploadState:
    def __init__(self, mission_type: int, count: int) -> None:
        self.mission_type = mission_type
        self.count = count
        self.items: list[Any] = []
        self.last_request_s = 0.0


class ScriptedVehicle:
    """``async with ScriptedVehicle(script, udp_to=("127.0.0.1", port)) as vehicle:``.

    Or ``tcp_server=True``: then :attr:`tcp_port` is where a ground station connects.
    """

    def __init__(
        self,
        script: VehicleScript | None = None,
        *,
        udp_to: tuple[str, int] | None = None,
        tcp_server: bool = False,
        clock: Clock | None = None,
    ) -> None:
        if (udp_to is None) == (not tcp_server):
            raise ValueError("give exactly one of udp_to or tcp_server=True")
        self.script = script or VehicleScript()
        self._udp_to = udp_to
        self._tcp = tcp_server
        self._clock = clock or WallClock()
        s = self.script
        self._mav = _M.MAVLink(None, srcSystem=s.system_id, srcComponent=s.component_id)
        self._decoder = _M.MAVLink(None)
        self._decoder.robust_parsing = True
        self._udp: asyncio.DatagramTransport | None = None
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.tcp_port = 0
        self.udp_port = 0
        self.armed = False
        self.mode = "STABILIZE"
        self.alt_rel_m = 0.0
        self.speed_m_s = 5.0
        self.roi: tuple[float, float] | None = None
        self.gimbal_pitch_yaw_deg = (0.0, 0.0)
        self.missions: dict[int, list[Any]] = {0: [], 1: [], 2: []}
        self.mission_current = 0
        self.mission_started = False
        self.message_intervals_us: dict[int, float] = {}
        self.commands_received: list[tuple[int, int]] = []  # (command, confirmation)
        self.rejected_unsigned = 0
        self.gcs_heartbeats = 0
        self.paused = False  # when True: send nothing, answer nothing (a dead radio)
        self._upload: _UploadState | None = None
        self._in_progress: set[int] = set()

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> ScriptedVehicle:
        loop = asyncio.get_running_loop()
        if self._udp_to is not None:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=("127.0.0.1", 0)
            )
            self._udp = transport
            self.udp_port = int(transport.get_extra_info("sockname")[1])
        else:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            self.tcp_port = int(self._server.sockets[0].getsockname()[1])
        if self.script.signing_key is not None:
            self._mav.signing.secret_key = self.script.signing_key.secret
            self._mav.signing.sign_outgoing = True
            self._mav.signing.timestamp = signing_timestamp(self._clock.now())
        self._tasks.append(asyncio.create_task(self._beat(), name="scripted.heartbeat"))
        self._tasks.append(asyncio.create_task(self._telemetry(), name="scripted.telemetry"))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._udp is not None:
            self._udp.close()
        if self._writer is not None:
            self._writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def retarget(self, udp_to: tuple[str, int]) -> None:
        """Send to another ground-station address from now on (UDP only)."""
        if self._udp_to is None:
            raise ValueError("this vehicle serves TCP; it has no UDP target")
        self._udp_to = udp_to

    def drop_client(self) -> None:
        """Close the current TCP connection (the ground station should reconnect)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._writer is not None:
            self._writer.close()
        self._writer = writer
        self._decoder = _M.MAVLink(None)
        self._decoder.robust_parsing = True
        try:
            while data := await reader.read(4096):
                self.feed(data)
        except ConnectionError:
            return
        finally:
            if self._writer is writer:
                self._writer = None
            writer.close()

    # ---------------------------------------------------------------- sending

    def send(self, message: Any) -> None:
        if self.paused:
            return
        if self._mav.signing.sign_outgoing:
            self._mav.signing.timestamp = max(
                self._mav.signing.timestamp, signing_timestamp(self._clock.now())
            )
        data = message.pack(self._mav)
        self._mav.seq = (self._mav.seq + 1) & 0xFF
        if self._udp is not None and self._udp_to is not None:
            self._udp.sendto(data, self._udp_to)
        elif self._writer is not None and not self._writer.is_closing():
            self._writer.write(data)

    def statustext(self, text: str, severity: int = _M.MAV_SEVERITY_CRITICAL) -> None:
        self.send(self._mav.statustext_encode(severity, text.encode()[:50]))

    def _heartbeat(self) -> Any:
        base = _M.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | (
            _M.MAV_MODE_FLAG_SAFETY_ARMED if self.armed else 0
        )
        status = _M.MAV_STATE_ACTIVE if self.armed else _M.MAV_STATE_STANDBY
        custom = mode_number(_COPTER, self.mode) or 0
        return self._mav.heartbeat_encode(
            _COPTER, _M.MAV_AUTOPILOT_ARDUPILOTMEGA, base, custom, status
        )

    async def _beat(self) -> None:
        while True:
            self.send(self._heartbeat())
            await self._clock.sleep(1.0 / self.script.heartbeat_rate_hz)

    async def _telemetry(self) -> None:
        s = self.script
        boot = self._clock.monotonic()
        while True:
            t_ms = int((self._clock.monotonic() - boot) * 1000) & 0xFFFFFFFF
            alt_amsl = s.home_alt_amsl_m + self.alt_rel_m
            m = self._mav
            self.send(m.global_position_int_encode(
                t_ms, round(s.lat_deg * 1e7), round(s.lon_deg * 1e7), round(alt_amsl * 1000),
                round(self.alt_rel_m * 1000), 100, -50, 0, 9000,
            ))  # fmt: skip
            self.send(m.attitude_encode(t_ms, 0.01, -0.02, math.radians(90), 0, 0, 0))
            self.send(
                m.sys_status_encode(0, 0, 0, 500, 12_600, 1000, s.battery_pct, 0, 0, 0, 0, 0, 0)
            )
            self.send(m.gps_raw_int_encode(
                t_ms * 1000, 3, round(s.lat_deg * 1e7), round(s.lon_deg * 1e7),
                round(alt_amsl * 1000), 80, 120, 500, 9000, 14,
            ))  # fmt: skip
            self.send(m.mission_current_encode(self.mission_current))
            self.send(m.mount_status_encode(
                s.system_id, s.component_id, round(self.gimbal_pitch_yaw_deg[0] * 100), 0,
                round(self.gimbal_pitch_yaw_deg[1] * 100),
            ))  # fmt: skip
            await self._clock.sleep(1.0 / s.telemetry_rate_hz)
            if self._upload is not None:
                self._rerequest()

    # ---------------------------------------------------------------- receiving

    def feed(self, data: bytes) -> None:
        for message in self._decoder.parse_buffer(data) or ():
            header = message._header
            if header.msgId < 0:
                continue
            key = self.script.signing_key
            if key is not None and not key.verify(message, {}):
                self.rejected_unsigned += 1
                continue
            if self.paused:
                continue
            handler = _HANDLERS.get(header.msgId)
            if handler is not None:
                handler(self, message)

    def _for_me(self, message: Any) -> bool:
        return message.target_system in (0, self.script.system_id)

    def _on_heartbeat(self, message: Any) -> None:
        if message.type == _M.MAV_TYPE_GCS:
            self.gcs_heartbeats += 1

    def _on_timesync(self, message: Any) -> None:
        if message.tc1 == 0:
            self.send(self._mav.timesync_encode(int(self._clock.monotonic() * 1e9), message.ts1))

    def _ack(self, command: int, result: int) -> None:
        self.send(self._mav.command_ack_encode(command, result, 0, 0, 255, 190))

    def _on_command(self, message: Any) -> None:
        if not self._for_me(message):
            return
        command = message.command
        confirmation = getattr(message, "confirmation", 0)
        self.commands_received.append((command, confirmation))
        if command in self.script.ignore_commands:
            return
        if command in self.script.in_progress_commands and command not in self._in_progress:
            self._in_progress.add(command)
            self._ack(command, _M.MAV_RESULT_IN_PROGRESS)
            loop = asyncio.get_running_loop()
            loop.call_later(0.05 / self._clock.speedup, self._finish, message)
            return
        self._ack(command, self._execute(message))

    def _finish(self, message: Any) -> None:
        self._in_progress.discard(message.command)
        self._ack(message.command, self._execute(message))

    def _execute(self, m: Any) -> int:
        c = m.command
        if c == _M.MAV_CMD_COMPONENT_ARM_DISARM:
            if m.param1 == 1 and self.script.prearm_failure and m.param2 != 21196:
                self.statustext(f"PreArm: {self.script.prearm_failure}")
                return int(_M.MAV_RESULT_FAILED)
            if m.param1 == 0 and self.alt_rel_m > 0.5 and m.param2 != 21196:
                return int(_M.MAV_RESULT_FAILED)
            self.armed = m.param1 == 1
            return int(_M.MAV_RESULT_ACCEPTED)
        if c == _M.MAV_CMD_DO_SET_MODE:
            names = {v: k for k, v in _modes().items()}
            name = names.get(int(m.param2))
            if name is None:
                return int(_M.MAV_RESULT_DENIED)
            self.mode = name
            return int(_M.MAV_RESULT_ACCEPTED)
        if c == _M.MAV_CMD_NAV_TAKEOFF:
            if not self.armed or self.mode != "GUIDED":
                self.statustext("Takeoff: not armed in GUIDED", _M.MAV_SEVERITY_WARNING)
                return int(_M.MAV_RESULT_FAILED)
            self.alt_rel_m = float(m.param7 if hasattr(m, "param7") else m.z)
            return int(_M.MAV_RESULT_ACCEPTED)
        if c == _M.MAV_CMD_DO_REPOSITION:
            if not self.armed:
                return int(_M.MAV_RESULT_FAILED)
            self.mode = "GUIDED"
            self.script.lat_deg, self.script.lon_deg = m.x * 1e-7, m.y * 1e-7
            self.alt_rel_m = float(m.z)
            return int(_M.MAV_RESULT_ACCEPTED)
        if c == _M.MAV_CMD_DO_CHANGE_SPEED:
            self.speed_m_s = float(m.param2)
            return int(_M.MAV_RESULT_ACCEPTED)
        if c in (_M.MAV_CMD_NAV_LAND, _M.MAV_CMD_NAV_RETURN_TO_LAUNCH):
            self.mode = "LAND" if c == _M.MAV_CMD_NAV_LAND else "RTL"
            return int(_M.MAV_RESULT_ACCEPTED)
        if c == _M.MAV_CMD_DO_SET_ROI_LOCATION:
            self.roi = (m.x * 1e-7, m.y * 1e-7)
            return int(_M.MAV_RESULT_ACCEPTED)
        if c == _M.MAV_CMD_DO_SET_ROI_NONE:
            self.roi = None
            return int(_M.MAV_RESULT_ACCEPTED)
        if c == _M.MAV_CMD_DO_MOUNT_CONTROL:
            self.gimbal_pitch_yaw_deg = (float(m.param1), float(m.param3))
            return int(_M.MAV_RESULT_ACCEPTED)
        if c == _M.MAV_CMD_SET_MESSAGE_INTERVAL:
            self.message_intervals_us[int(m.param1)] = float(m.param2)
            return int(_M.MAV_RESULT_ACCEPTED)
        if c == _M.MAV_CMD_MISSION_START:
            if not self.missions[0]:
                self.statustext("Missing mission", _M.MAV_SEVERITY_WARNING)
                return int(_M.MAV_RESULT_FAILED)
            self.mode, self.mission_started = "AUTO", True
            return int(_M.MAV_RESULT_ACCEPTED)
        return int(_M.MAV_RESULT_UNSUPPORTED)

    # ---------------------------------------------------------------- missions

    def _mission_ack(self, mission_type: int, result: int) -> None:
        self.send(self._mav.mission_ack_encode(255, 190, result, mission_type))

    def _request(self, seq: int, mission_type: int) -> None:
        self.send(self._mav.mission_request_int_encode(255, 190, seq, mission_type))
        if self._upload is not None:
            self._upload.last_request_s = self._clock.monotonic()

    def _rerequest(self) -> None:
        up = self._upload
        if up is None:
            return
        if self._clock.monotonic() - up.last_request_s >= self.script.mission_request_timeout_s:
            self._request(len(up.items), up.mission_type)

    def _on_mission_count(self, m: Any) -> None:
        if not self._for_me(m):
            return
        if m.count > self.script.mission_capacity:
            self._mission_ack(m.mission_type, _M.MAV_MISSION_NO_SPACE)
            return
        up = self._upload
        if up is not None and up.mission_type == m.mission_type and up.count == m.count:
            self._request(len(up.items), up.mission_type)  # a resent count: same transfer
            return
        if m.count == 0:
            self.missions[m.mission_type] = []
            self._mission_ack(m.mission_type, _M.MAV_MISSION_ACCEPTED)
            return
        self._upload = _UploadState(m.mission_type, m.count)
        self._request(0, m.mission_type)

    def _on_mission_item_int(self, m: Any) -> None:
        up = self._upload
        if not self._for_me(m):
            return
        if up is None:
            if self.missions[m.mission_type] and m.seq == len(self.missions[m.mission_type]) - 1:
                self._mission_ack(m.mission_type, _M.MAV_MISSION_ACCEPTED)  # our ACK was lost
            return
        if m.mission_type != up.mission_type or m.seq != len(up.items):
            self._request(len(up.items), up.mission_type)
            return
        up.items.append(m)
        if len(up.items) == up.count:
            self.missions[up.mission_type] = up.items
            self._upload = None
            self._mission_ack(m.mission_type, _M.MAV_MISSION_ACCEPTED)
        else:
            self._request(len(up.items), up.mission_type)

    def _on_mission_request_list(self, m: Any) -> None:
        if self._for_me(m):
            count = len(self.missions[m.mission_type])
            self.send(self._mav.mission_count_encode(255, 190, count, m.mission_type))

    def _on_mission_request_int(self, m: Any) -> None:
        if not self._for_me(m):
            return
        items = self.missions[m.mission_type]
        if not 0 <= m.seq < len(items):
            self._mission_ack(m.mission_type, _M.MAV_MISSION_INVALID_SEQUENCE)
            return
        i = items[m.seq]
        self.send(self._mav.mission_item_int_encode(
            255, 190, m.seq, i.frame, i.command, i.current, i.autocontinue,
            i.param1, i.param2, i.param3, i.param4, i.x, i.y, i.z, m.mission_type,
        ))  # fmt: skip

    def _on_mission_clear_all(self, m: Any) -> None:
        if self._for_me(m):
            self.missions[m.mission_type] = []
            self._mission_ack(m.mission_type, _M.MAV_MISSION_ACCEPTED)

    def _on_mission_set_current(self, m: Any) -> None:
        if self._for_me(m) and 0 <= m.seq < len(self.missions[0]):
            self.mission_current = m.seq
            self.send(self._mav.mission_current_encode(m.seq))

    # ---------------------------------------------------------------- params

    def _param_value(self, name: str) -> None:
        names = list(self.script.params)
        self.send(self._mav.param_value_encode(
            name.encode(), self.script.params[name], _M.MAV_PARAM_TYPE_REAL32,
            len(names), names.index(name),
        ))  # fmt: skip

    def _on_param_request_read(self, m: Any) -> None:
        if not self._for_me(m):
            return
        names = list(self.script.params)
        if m.param_index >= 0:
            if m.param_index < len(names):
                self._param_value(names[m.param_index])
            return
        if m.param_id in self.script.params:
            self._param_value(m.param_id)

    def _on_param_request_list(self, m: Any) -> None:
        if self._for_me(m):
            for name in self.script.params:
                self._param_value(name)

    def _on_param_set(self, m: Any) -> None:
        if not self._for_me(m) or m.param_id not in self.script.params:
            return
        if m.param_id != "SYSID_THISMAV":  # read-only here: the echo keeps the old value
            self.script.params[m.param_id] = float(m.param_value)
        self._param_value(m.param_id)


def _modes() -> dict[str, int]:
    from pymavlink import mavutil

    return dict(mavutil.mode_mapping_byname(_COPTER))


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, vehicle: ScriptedVehicle) -> None:
        self._vehicle = vehicle

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self._vehicle.feed(data)


_HANDLERS: dict[int, Any] = {
    _M.MAVLINK_MSG_ID_HEARTBEAT: ScriptedVehicle._on_heartbeat,
    _M.MAVLINK_MSG_ID_TIMESYNC: ScriptedVehicle._on_timesync,
    _M.MAVLINK_MSG_ID_COMMAND_LONG: ScriptedVehicle._on_command,
    _M.MAVLINK_MSG_ID_COMMAND_INT: ScriptedVehicle._on_command,
    _M.MAVLINK_MSG_ID_MISSION_COUNT: ScriptedVehicle._on_mission_count,
    _M.MAVLINK_MSG_ID_MISSION_ITEM_INT: ScriptedVehicle._on_mission_item_int,
    _M.MAVLINK_MSG_ID_MISSION_REQUEST_LIST: ScriptedVehicle._on_mission_request_list,
    _M.MAVLINK_MSG_ID_MISSION_REQUEST_INT: ScriptedVehicle._on_mission_request_int,
    _M.MAVLINK_MSG_ID_MISSION_CLEAR_ALL: ScriptedVehicle._on_mission_clear_all,
    _M.MAVLINK_MSG_ID_MISSION_SET_CURRENT: ScriptedVehicle._on_mission_set_current,
    _M.MAVLINK_MSG_ID_PARAM_REQUEST_READ: ScriptedVehicle._on_param_request_read,
    _M.MAVLINK_MSG_ID_PARAM_REQUEST_LIST: ScriptedVehicle._on_param_request_list,
    _M.MAVLINK_MSG_ID_PARAM_SET: ScriptedVehicle._on_param_set,
}
