"""One vehicle: its live state, its link health and its commands.

A :class:`Vehicle` is created by :class:`~fleet.Fleet` when a heartbeat with a new system
id is heard, and lives as long as the fleet. Messages reach it through :meth:`_receive`
(called from the transport callback, so it only does cheap in-place updates); commands,
mission transfers and parameter exchanges wait on :class:`~fleet.port.Inbox` es that the
link monitor wakes with :class:`~fleet.errors.LinkDown` when the vehicle falls silent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from fleet import missions, params
from fleet.commands import CommandAck, run_command
from fleet.errors import CommandDenied, LinkDown, ParameterTimeout, SigningError
from fleet.links import Link, Peer
from fleet.missions import MissionItem, MissionType
from fleet.port import LINK_LOST, Inbox, watching
from fleet.settings import DATA_STREAMS, FleetSettings
from fleet.signing import SigningKey, TimestampStore
from fleet.telemetry import LinkStats, Telemetry, is_vtol, mode_number
from skyeye.clock import Clock
from skyeye.contracts import LinkQuality, VehicleEvent, VehicleEventKind, VehicleState

__all__ = ["FailsafeSettings", "Subscription", "Vehicle"]

T = TypeVar("T")

_log = logging.getLogger(__name__)
_TIMESYNC = mavlink.MAVLINK_MSG_ID_TIMESYNC
_HEARTBEAT = mavlink.MAVLINK_MSG_ID_HEARTBEAT
_FORCE_ARM = 21196.0
_EVENT_BACKLOG = 256


@dataclass(frozen=True, slots=True, kw_only=True)
class FailsafeSettings:
    """The vehicle's own failsafe parameters, read back from it (ArduPilot ships them off).

    ``None`` means the vehicle has no such parameter.
    """

    gcs_failsafe_action: int | None  # FS_GCS_ENABLE: 0 = off
    gcs_timeout_s: float | None  # FS_GCS_TIMEOUT
    battery_low_action: int | None  # BATT_FS_LOW_ACT: 0 = none
    battery_critical_action: int | None  # BATT_FS_CRT_ACT: 0 = none
    fence_enabled: bool  # FENCE_ENABLE
    fence_radius_m: float | None  # FENCE_RADIUS
    fence_alt_max_m: float | None  # FENCE_ALT_MAX

    @property
    def gcs_failsafe_enabled(self) -> bool:
        return bool(self.gcs_failsafe_action)

    @property
    def battery_failsafe_enabled(self) -> bool:
        return bool(self.battery_low_action) and bool(self.battery_critical_action)

    def missing(self) -> list[str]:
        """Names of the failsafes that are off; empty when the vehicle may launch."""
        checks = {
            "ground-station loss failsafe (FS_GCS_ENABLE)": self.gcs_failsafe_enabled,
            "battery failsafe (BATT_FS_LOW_ACT/BATT_FS_CRT_ACT)": self.battery_failsafe_enabled,
            "geofence (FENCE_ENABLE)": self.fence_enabled,
        }
        return [name for name, on in checks.items() if not on]


_FAILSAFE_PARAMS = (
    "FS_GCS_ENABLE",
    "FS_GCS_TIMEOUT",
    "BATT_FS_LOW_ACT",
    "BATT_FS_CRT_ACT",
    "FENCE_ENABLE",
    "FENCE_RADIUS",
    "FENCE_ALT_MAX",
)


class Subscription(Generic[T]):
    """An async iterator over a vehicle's states or events; registered when created."""

    def __init__(self, queue: asyncio.Queue[T], registry: set[asyncio.Queue[T]]) -> None:
        self._queue = queue
        self._registry = registry
        registry.add(queue)

    def __aiter__(self) -> Subscription[T]:
        return self

    async def __anext__(self) -> T:
        if self._queue not in self._registry:
            raise StopAsyncIteration
        return await self._queue.get()

    async def aclose(self) -> None:
        self._registry.discard(self._queue)

    async def __aenter__(self) -> Subscription[T]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _VehicleLog(logging.LoggerAdapter[logging.Logger]):
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"[{self.extra['vehicle_id'] if self.extra else '?'}] {msg}", kwargs


class Vehicle:
    """A vehicle heard on one or more links. Obtain it from :class:`~fleet.Fleet`."""

    def __init__(
        self,
        *,
        vehicle_id: str,
        system_id: int,
        component_id: int,
        settings: FleetSettings,
        clock: Clock,
        emit: Callable[[VehicleEvent], None],
        timestamps: TimestampStore,
        key: SigningKey | None = None,
    ) -> None:
        self._vehicle_id = vehicle_id
        self._system_id = system_id
        self._component_id = component_id
        self._settings = settings
        self._clock = clock
        self._emit_event = emit
        self._timestamps = timestamps
        self._log = _VehicleLog(_log, {"vehicle_id": vehicle_id})
        self._telemetry = Telemetry(
            vehicle_id,
            system_id,
            clock=clock,
            emit=self._event,
            status_texts_kept=settings.status_texts_kept,
        )
        self._encoder = mavlink.MAVLink(
            None, srcSystem=settings.gcs_system_id, srcComponent=settings.gcs_component_id
        )
        self._key: SigningKey | None = None
        self._sig_timestamps: dict[tuple[int, int], int] = {}
        self.rejected_signatures = 0
        self._link: Link | None = None
        self._peer: Peer = None
        self._stats = LinkStats()
        self._loop = asyncio.get_running_loop()  # link timing is wall time (see settings)
        self._last_heard = self._loop.time()
        self._connected = True
        self._rtt_s: float | None = None
        self._timesync_sent: dict[int, float] = {}
        self._inboxes: dict[int, list[Inbox]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._state_queues: set[asyncio.Queue[VehicleState]] = set()
        self._event_queues: set[asyncio.Queue[VehicleEvent]] = set()
        self.sent_messages = 0
        if key is not None:
            self.set_signing_key(key)

    # ------------------------------------------------------------- identity / port

    @property
    def vehicle_id(self) -> str:
        return self._vehicle_id

    @property
    def system_id(self) -> int:
        return self._system_id

    @property
    def component_id(self) -> int:
        return self._component_id

    @property
    def settings(self) -> FleetSettings:
        return self._settings

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def telemetry(self) -> Telemetry:
        return self._telemetry

    @property
    def encoder(self) -> Any:
        return self._encoder

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def link(self) -> Link | None:
        """The link the vehicle was last heard on (replies go there)."""
        return self._link

    @property
    def rtt_s(self) -> float | None:
        """Smoothed round-trip time from TIMESYNC in wall seconds, None until measured."""
        return self._rtt_s

    def link_time(self) -> float:
        """Wall-clock seconds (the event loop's clock) for link-level timing."""
        return self._loop.time()

    def silent_s(self) -> float:
        return max(0.0, self._loop.time() - self._last_heard)

    def link_quality(self) -> LinkQuality:
        rtt = None if self._rtt_s is None else round(self._rtt_s * 1000.0, 3)
        return LinkQuality(
            connected=self._connected,
            last_heard_age_s=round(self.silent_s(), 3),
            packet_loss_pct=round(min(100.0, self._stats.loss_pct()), 2),
            rtt_ms=rtt,
        )

    @property
    def state(self) -> VehicleState:
        """A frozen snapshot of everything known about the vehicle now."""
        return self._telemetry.snapshot(self._clock.now(), self.link_quality())

    def link_down(self, what: str) -> LinkDown:
        hint = self.signing_hint() if self.rejected_signatures else ""
        return LinkDown(self._vehicle_id, self.silent_s(), what, hint)

    def require_link(self, what: str) -> None:
        if not self._connected:
            raise self.link_down(what)

    def signing_hint(self) -> str:
        if self._key is not None and self.rejected_signatures:
            return (
                f"{self.rejected_signatures} message(s) from it failed the signature check: "
                "does it have the same signing key?"
            )
        if self._key is not None:
            return "signing is on: a vehicle with another key ignores every command"
        return ""

    @contextlib.contextmanager
    def watch(self, what: str, *msg_ids: int) -> Iterator[Inbox]:
        with watching(self._inboxes, Inbox(self, what), msg_ids) as inbox:
            yield inbox

    # ------------------------------------------------------------------ signing

    def set_signing_key(self, key: SigningKey) -> None:
        """Sign everything sent from now on; accept only messages signed with ``key``."""
        signing = self._encoder.signing
        signing.secret_key = key.secret
        signing.link_id = self._settings.signing.link_id
        signing.sign_outgoing = True
        signing.timestamp = self._timestamps.next_floor()
        self._key = key
        self._sig_timestamps.clear()
        self._log.info("signing enabled")

    @property
    def signing(self) -> bool:
        return self._key is not None

    # ------------------------------------------------------------------ sending

    def send(self, message: Any) -> None:
        link = self._link
        if link is None:
            raise self.link_down("send")
        signing = self._encoder.signing
        if self._key is not None:
            if not signing.sign_outgoing or signing.secret_key != self._key.secret:
                raise SigningError(f"{self._vehicle_id}: refusing to send unsigned")
            signing.timestamp = max(signing.timestamp, self._timestamps.next_floor())
        data = message.pack(self._encoder)
        self._encoder.seq = (self._encoder.seq + 1) & 0xFF
        if self._key is not None:
            self._timestamps.note(signing.timestamp)
        link.send(data, self._peer)
        self.sent_messages += 1

    def send_heartbeat(self) -> None:
        if self._link is None:
            return
        self.send(
            self._encoder.heartbeat_encode(
                mavlink.MAV_TYPE_GCS, mavlink.MAV_AUTOPILOT_INVALID, 0, 0, mavlink.MAV_STATE_ACTIVE
            )
        )

    def send_timesync(self) -> None:
        if self._link is None or not self._connected:
            return
        now = self._loop.time()
        ts1 = int(now * 1e9)
        self._timesync_sent[ts1] = now
        if len(self._timesync_sent) > 8:
            self._timesync_sent.pop(next(iter(self._timesync_sent)))
        self.send(self._encoder.timesync_encode(0, ts1))

    def request_streams(self) -> None:
        """Ask for the configured REQUEST_DATA_STREAM rates (ArduPilot's SRn_ groups)."""
        for name, rate in self._settings.stream_rates_hz.items():
            self.send(
                self._encoder.request_data_stream_encode(
                    self._system_id, self._component_id, DATA_STREAMS[name], round(rate), 1
                )
            )

    # ------------------------------------------------------------------ receiving

    def _receive(self, link: Link, peer: Peer, msg_id: int, message: Any) -> None:
        header = message._header
        if self._key is not None and not self._key.verify(message, self._sig_timestamps):
            self.rejected_signatures += 1
            if self.rejected_signatures == 1:
                self._event(
                    VehicleEventKind.STATUSTEXT,
                    "messages from the vehicle fail the signature check (wrong key?)",
                    severity=mavlink.MAV_SEVERITY_WARNING,
                )
            return
        self._stats.count(header.srcComponent, header.seq)
        self._last_heard = self._loop.time()
        self._link, self._peer = link, peer
        if not self._connected:
            self._restored()
        if msg_id == _TIMESYNC:
            self._timesync(message)
            return
        if header.srcComponent == self._component_id or msg_id != _HEARTBEAT:
            self._telemetry.handle(msg_id, message)
        if header.srcComponent == self._component_id:
            inboxes = self._inboxes.get(msg_id)
            if inboxes:
                for inbox in inboxes:
                    inbox.put(message)

    def _timesync(self, message: Any) -> None:
        if message.tc1 == 0:
            self.send(self._encoder.timesync_encode(int(self._loop.time() * 1e9), message.ts1))
            return
        sent = self._timesync_sent.pop(message.ts1, None)
        if sent is not None:
            rtt = self._loop.time() - sent
            self._rtt_s = rtt if self._rtt_s is None else 0.8 * self._rtt_s + 0.2 * rtt

    # ------------------------------------------------------------- link health

    def check_link(self) -> None:
        """Declare the link lost after ``link_timeout_s`` of silence (called periodically)."""
        if self._connected and self.silent_s() > self._settings.link_timeout_s:
            self._connected = False
            self._stats.restart()
            self._rtt_s = None
            hint = self.signing_hint() if self.rejected_signatures else ""
            detail = f"silent for {self.silent_s():.1f} s" + (f"; {hint}" if hint else "")
            self._log.warning("link lost: %s", detail)
            self._event(VehicleEventKind.LINK_LOST, detail)
            for inboxes in self._inboxes.values():
                for inbox in inboxes:
                    inbox.put(LINK_LOST)

    def _restored(self) -> None:
        self._connected = True
        self._log.info("link restored")
        self._event(VehicleEventKind.LINK_RESTORED, f"on {self._link.spec if self._link else '?'}")
        self.request_streams()

    # ------------------------------------------------------------ state & events

    def _event(
        self,
        kind: VehicleEventKind,
        detail: str = "",
        *,
        mode: str | None = None,
        mission_seq: int | None = None,
        severity: int | None = None,
    ) -> None:
        event = VehicleEvent(
            vehicle_id=self._vehicle_id,
            time=self._clock.now(),
            kind=kind,
            detail=detail[:500],
            mode=mode,
            mission_seq=mission_seq,
            severity=severity,
        )
        self._emit_event(event)
        for queue in self._event_queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    def publish_tick(self) -> VehicleState:
        """Snapshot for the bus; also hands it to every ``states()`` iterator."""
        state = self.state
        for queue in self._state_queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(state)
        return state

    def states(self) -> Subscription[VehicleState]:
        """The current state, then one snapshot per publish tick (latest wins).

        ``async for state in vehicle.states():`` (or ``async with`` it to close it early).
        """
        queue: asyncio.Queue[VehicleState] = asyncio.Queue(maxsize=1)
        queue.put_nowait(self.state)
        return Subscription(queue, self._state_queues)

    def events(self) -> Subscription[VehicleEvent]:
        """Events from the moment of this call, in order (oldest dropped past 256 queued)."""
        queue: asyncio.Queue[VehicleEvent] = asyncio.Queue(maxsize=_EVENT_BACKLOG)
        return Subscription(queue, self._event_queues)

    # ---------------------------------------------------------------- commands

    async def command(
        self,
        command: int,
        *params: float,
        frame: int | None = None,
        lat_deg: float = 0.0,
        lon_deg: float = 0.0,
        expires_in_s: float | None = None,
    ) -> CommandAck:
        """Any MAV_CMD, acknowledged (see :func:`fleet.commands.run_command`)."""
        if len(params) > 7:
            raise ValueError(f"a command has at most 7 params, got {len(params)}")
        lock = self._locks.setdefault(f"cmd{command}", asyncio.Lock())
        async with lock:
            return await run_command(
                self,
                command,
                tuple(float(p) for p in params),
                frame=frame,
                lat_deg=lat_deg,
                lon_deg=lon_deg,
                expires_in_s=expires_in_s,
            )

    async def arm(self, *, force: bool = False, expires_in_s: float | None = None) -> None:
        await self.command(
            mavlink.MAV_CMD_COMPONENT_ARM_DISARM, 1, _FORCE_ARM if force else 0,
            expires_in_s=expires_in_s,
        )  # fmt: skip

    async def disarm(self, *, force: bool = False, expires_in_s: float | None = None) -> None:
        await self.command(
            mavlink.MAV_CMD_COMPONENT_ARM_DISARM, 0, _FORCE_ARM if force else 0,
            expires_in_s=expires_in_s,
        )  # fmt: skip

    async def set_mode(self, mode: str, *, expires_in_s: float | None = None) -> None:
        number = mode_number(self._telemetry.vehicle_type, mode)
        if number is None:
            raise CommandDenied(
                self._vehicle_id, "MAV_CMD_DO_SET_MODE", "UNKNOWN_MODE",
                f"{mode!r} is not a mode of this vehicle type",
            )  # fmt: skip
        await self.command(
            mavlink.MAV_CMD_DO_SET_MODE, mavlink.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, number,
            expires_in_s=expires_in_s,
        )  # fmt: skip

    async def takeoff(self, alt_rel_m: float, *, expires_in_s: float | None = None) -> None:
        _check_alt(alt_rel_m)
        await self.command(
            mavlink.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, math.nan, math.nan, math.nan, alt_rel_m,
            expires_in_s=expires_in_s,
        )  # fmt: skip

    async def goto(
        self,
        lat_deg: float,
        lon_deg: float,
        alt_rel_m: float,
        *,
        speed_m_s: float = -1.0,
        expires_in_s: float | None = None,
    ) -> None:
        """MAV_CMD_DO_REPOSITION (switches to GUIDED), altitude relative to home."""
        _check_point(lat_deg, lon_deg)
        _check_alt(alt_rel_m)
        await self.command(
            mavlink.MAV_CMD_DO_REPOSITION, speed_m_s, mavlink.MAV_DO_REPOSITION_FLAGS_CHANGE_MODE,
            0, math.nan, 0, 0, alt_rel_m,
            frame=mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, lat_deg=lat_deg, lon_deg=lon_deg,
            expires_in_s=expires_in_s,
        )  # fmt: skip

    async def change_speed(
        self, speed_m_s: float, *, ground: bool = True, expires_in_s: float | None = None
    ) -> None:
        if not (math.isfinite(speed_m_s) and 0 < speed_m_s <= 100):
            raise ValueError(f"speed {speed_m_s} m/s is outside 0..100")
        await self.command(
            mavlink.MAV_CMD_DO_CHANGE_SPEED, 1 if ground else 0, speed_m_s, -1,
            expires_in_s=expires_in_s,
        )  # fmt: skip

    async def land(self, *, expires_in_s: float | None = None) -> None:
        """Land where it is: MAV_CMD_NAV_LAND; a VTOL (ArduPlane takes no NAV_LAND command)
        switches to QLAND and lands vertically."""
        if is_vtol(self._telemetry.vehicle_type):
            await self.set_mode("QLAND", expires_in_s=expires_in_s)
            return
        await self.command(mavlink.MAV_CMD_NAV_LAND, expires_in_s=expires_in_s)

    async def rtl(self, *, expires_in_s: float | None = None) -> None:
        await self.command(mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH, expires_in_s=expires_in_s)

    async def set_roi(
        self,
        lat_deg: float,
        lon_deg: float,
        alt_rel_m: float = 0.0,
        *,
        expires_in_s: float | None = None,
    ) -> None:
        """Point the gimbal (and/or nose) at a location: MAV_CMD_DO_SET_ROI_LOCATION."""
        _check_point(lat_deg, lon_deg)
        await self.command(
            mavlink.MAV_CMD_DO_SET_ROI_LOCATION, 0, 0, 0, 0, 0, 0, alt_rel_m,
            frame=mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, lat_deg=lat_deg, lon_deg=lon_deg,
            expires_in_s=expires_in_s,
        )  # fmt: skip

    async def clear_roi(self, *, expires_in_s: float | None = None) -> None:
        await self.command(mavlink.MAV_CMD_DO_SET_ROI_NONE, expires_in_s=expires_in_s)

    async def gimbal_pitch_yaw(
        self, pitch_deg: float, yaw_deg: float, *, expires_in_s: float | None = None
    ) -> None:
        """Point the gimbal: MAV_CMD_DO_MOUNT_CONTROL in MAVLink-targeting mode."""
        if not (-90 <= pitch_deg <= 90 and -180 <= yaw_deg <= 360):
            raise ValueError(f"gimbal pitch {pitch_deg}° / yaw {yaw_deg}° out of range")
        await self.command(
            mavlink.MAV_CMD_DO_MOUNT_CONTROL, pitch_deg, 0, yaw_deg, 0, 0, 0,
            mavlink.MAV_MOUNT_MODE_MAVLINK_TARGETING, expires_in_s=expires_in_s,
        )  # fmt: skip

    async def set_message_interval(self, msg_id: int, rate_hz: float) -> None:
        """MAV_CMD_SET_MESSAGE_INTERVAL; ``rate_hz`` 0 stops the message."""
        if not (math.isfinite(rate_hz) and 0 <= rate_hz <= 1000):
            raise ValueError(f"rate {rate_hz} Hz is outside 0..1000")
        interval_us = -1.0 if rate_hz == 0 else 1e6 / rate_hz
        await self.command(mavlink.MAV_CMD_SET_MESSAGE_INTERVAL, msg_id, interval_us)

    async def start_mission(self, *, expires_in_s: float | None = None) -> None:
        await self.command(mavlink.MAV_CMD_MISSION_START, 0, 0, expires_in_s=expires_in_s)

    # --------------------------------------------------------------- missions

    async def upload_mission(
        self, items: Sequence[MissionItem], *, mission_type: MissionType = MissionType.MISSION
    ) -> None:
        async with self._locks.setdefault("mission", asyncio.Lock()):
            await missions.upload_mission(self, list(items), mission_type)

    async def download_mission(
        self, *, mission_type: MissionType = MissionType.MISSION
    ) -> list[MissionItem]:
        async with self._locks.setdefault("mission", asyncio.Lock()):
            return await missions.download_mission(self, mission_type)

    async def clear_mission(self, *, mission_type: MissionType = MissionType.MISSION) -> None:
        async with self._locks.setdefault("mission", asyncio.Lock()):
            await missions.clear_mission(self, mission_type)

    async def set_current(self, seq: int) -> None:
        async with self._locks.setdefault("mission", asyncio.Lock()):
            await missions.set_current(self, seq)

    # ------------------------------------------------------------- parameters

    async def get_param(self, name: str) -> float:
        async with self._locks.setdefault("params", asyncio.Lock()):
            return await params.get_param(self, name)

    async def set_param(self, name: str, value: float) -> float:
        async with self._locks.setdefault("params", asyncio.Lock()):
            return await params.set_param(self, name, value)

    async def list_params(self) -> dict[str, float]:
        async with self._locks.setdefault("params", asyncio.Lock()):
            return await params.list_params(self)

    async def failsafe_settings(self) -> FailsafeSettings:
        """Read the failsafe parameters back from the vehicle (missing ones are None)."""
        values: dict[str, float | None] = {}
        for name in _FAILSAFE_PARAMS:
            try:
                values[name] = await self.get_param(name)
            except ParameterTimeout:
                self.require_link("read failsafe settings")
                values[name] = None

        def as_int(name: str) -> int | None:
            value = values[name]
            return None if value is None else int(value)

        return FailsafeSettings(
            gcs_failsafe_action=as_int("FS_GCS_ENABLE"),
            gcs_timeout_s=values["FS_GCS_TIMEOUT"],
            battery_low_action=as_int("BATT_FS_LOW_ACT"),
            battery_critical_action=as_int("BATT_FS_CRT_ACT"),
            fence_enabled=bool(values["FENCE_ENABLE"]),
            fence_radius_m=values["FENCE_RADIUS"],
            fence_alt_max_m=values["FENCE_ALT_MAX"],
        )

    def __repr__(self) -> str:
        return f"<Vehicle {self._vehicle_id} sys={self._system_id} connected={self._connected}>"


def _check_point(lat_deg: float, lon_deg: float) -> None:
    if not (-90 <= lat_deg <= 90 and -180 <= lon_deg <= 180):
        raise ValueError(f"({lat_deg}, {lon_deg}) is outside WGS84")


def _check_alt(alt_rel_m: float) -> None:
    if not (math.isfinite(alt_rel_m) and -100 <= alt_rel_m <= 10_000):
        raise ValueError(f"altitude {alt_rel_m} m is outside -100..10000 m")
