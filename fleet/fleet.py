"""The fleet: links, vehicle discovery by heartbeat, GCS heartbeats, link monitor, bus output.

::

    async with Fleet(settings=FleetSettings(), clock=WallClock(), bus=bus) as fleet:
        await fleet.connect("udp:0.0.0.0:14550")
        vehicle = await fleet.wait_vehicle(system_id=1)
        await vehicle.arm()

The fleet owns one TaskGroup: a ``heartbeat`` task that sends our heartbeat to every
vehicle once a heartbeat period from the same event loop that does the work (a wedged
controller goes quiet, so the vehicle's own failsafe fires), a ``monitor`` task that
declares silent links lost, a ``publish`` task that puts each vehicle's state on the bus at
``state_rate_hz`` and its events as they happen, and one ``run`` task per link (TCP
reconnects, serial reads).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from types import TracebackType
from typing import Any, Protocol

from pydantic import BaseModel
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from fleet.errors import DiscoveryTimeout, FleetError, FleetStateError, UnknownVehicleError
from fleet.links import Link, Peer, open_link, parse_spec
from fleet.settings import FleetSettings
from fleet.signing import SigningKey, TimestampStore
from fleet.telemetry import mode_number
from fleet.vehicle import Vehicle
from skyeye import topics
from skyeye.clock import Clock, WallClock
from skyeye.contracts import VehicleEvent, VehicleEventKind
from skyeye.topics import Topic

__all__ = ["Fleet", "FleetState", "Publisher"]

_log = logging.getLogger(__name__)
_HEARTBEAT = mavlink.MAVLINK_MSG_ID_HEARTBEAT
_NOT_VEHICLES = frozenset(
    {mavlink.MAV_TYPE_GCS, mavlink.MAV_TYPE_ONBOARD_CONTROLLER, mavlink.MAV_TYPE_GIMBAL,
     mavlink.MAV_TYPE_CAMERA, mavlink.MAV_TYPE_ADSB, mavlink.MAV_TYPE_ODID}
)  # fmt: skip
_MONITOR_PERIOD_S = 0.2
_TIMESYNC_EVERY = 2  # heartbeats


class Publisher(Protocol):
    """The slice of :class:`skyeye.bus.Bus` the fleet uses (so it can run with no bus)."""

    async def publish(self, topic: Topic[Any], payload: BaseModel) -> None: ...


class FleetState(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


class Fleet:
    """Every vehicle on every link. An async context manager; see the module docstring."""

    def __init__(
        self,
        *,
        settings: FleetSettings | None = None,
        clock: Clock | None = None,
        bus: Publisher | None = None,
    ) -> None:
        self._settings = settings or FleetSettings()
        self._clock: Clock = clock or WallClock()
        self._bus = bus
        self._state = FleetState.NEW
        self._links: list[Link] = []
        self._vehicles: dict[int, Vehicle] = {}
        self._by_id: dict[str, Vehicle] = {}
        self._keys = {
            sysid: SigningKey.from_hex(key.get_secret_value())
            for sysid, key in self._settings.signing.keys.items()
        }
        self._timestamps = TimestampStore(self._settings.signing.timestamp_path, self._clock)
        self._events: asyncio.Queue[VehicleEvent] = asyncio.Queue()
        self._discovered = asyncio.Event()
        self._tasks: asyncio.TaskGroup | None = None
        self._running: list[asyncio.Task[Any]] = []
        self._stack = contextlib.AsyncExitStack()
        self.messages_received = 0
        self.publish_errors = 0

    # ------------------------------------------------------------ lifecycle

    @property
    def state(self) -> FleetState:
        return self._state

    @property
    def settings(self) -> FleetSettings:
        return self._settings

    async def __aenter__(self) -> Fleet:
        if self._state is not FleetState.NEW:
            raise FleetStateError(f"a Fleet is entered once; this one is {self._state.value}")
        self._tasks = await self._stack.enter_async_context(asyncio.TaskGroup())
        self._stack.callback(self._close_links)
        self._stack.push_async_callback(self._cancel_tasks)
        self._state = FleetState.OPEN
        self._spawn(self._heartbeat_loop(), "heartbeat")
        self._spawn(self._monitor_loop(), "monitor")
        self._spawn(self._publish_loop(), "publish")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._state is not FleetState.OPEN:
            return
        self._state = FleetState.CLOSED
        if exc is not None and not isinstance(exc, asyncio.CancelledError):
            self._leave_safe()
        try:
            await self._stack.aclose()
        finally:
            self._timestamps.save()

    def _spawn(self, coro: Any, name: str) -> None:
        assert self._tasks is not None
        self._running.append(self._tasks.create_task(coro, name=f"fleet.{name}"))

    async def _cancel_tasks(self) -> None:
        for task in self._running:
            task.cancel()

    def _close_links(self) -> None:
        for link in self._links:
            link.close()

    def _leave_safe(self) -> None:
        """The block raised: ask every armed vehicle to hold position (LOITER), once.

        Best effort by design: the fleet is going away, so nobody could act on an ack; if
        the mode change is lost, the vehicle's own ground-station failsafe takes over when
        our heartbeat stops.
        """
        for vehicle in self._vehicles.values():
            telemetry = vehicle.telemetry
            loiter = mode_number(telemetry.vehicle_type, "LOITER")
            if not (vehicle.connected and telemetry.armed and loiter is not None):
                continue
            _log.warning("%s: the fleet's block failed, sending LOITER", vehicle.vehicle_id)
            with contextlib.suppress(FleetError, OSError):
                vehicle.send(
                    vehicle.encoder.command_long_encode(
                        vehicle.system_id, vehicle.component_id, mavlink.MAV_CMD_DO_SET_MODE, 0,
                        mavlink.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, loiter, 0, 0, 0, 0, 0,
                    )
                )  # fmt: skip

    def _require_open(self) -> None:
        if self._state is not FleetState.OPEN:
            raise FleetStateError(f"the fleet is {self._state.value}; use it inside 'async with'")

    # ------------------------------------------------------------ links

    async def connect(self, spec: str) -> Link:
        """Open a link: ``udp:HOST:PORT``, ``udpout:…``, ``tcp:HOST:PORT``, ``serial:DEV:BAUD``."""
        self._require_open()
        link = await open_link(parse_spec(spec), self._on_message)
        self._links.append(link)
        self._spawn(link.run(), f"link[{link.spec}]")
        if link.has_default_peer:
            self._link_heartbeat(link)
        _log.info("connected %s", link.spec)
        return link

    @property
    def links(self) -> tuple[Link, ...]:
        return tuple(self._links)

    def _link_heartbeat(self, link: Link) -> None:
        """Announce ourselves on a client link before any vehicle is known (unsigned)."""
        encoder = mavlink.MAVLink(
            None,
            srcSystem=self._settings.gcs_system_id,
            srcComponent=self._settings.gcs_component_id,
        )
        beat = encoder.heartbeat_encode(
            mavlink.MAV_TYPE_GCS, mavlink.MAV_AUTOPILOT_INVALID, 0, 0, mavlink.MAV_STATE_ACTIVE
        )
        link.send(beat.pack(encoder), link.default_peer)

    # ------------------------------------------------------------ vehicles

    @property
    def vehicles(self) -> tuple[Vehicle, ...]:
        return tuple(self._vehicles.values())

    def vehicle_ids(self) -> list[str]:
        return list(self._by_id)

    def vehicle(self, vehicle: str | int) -> Vehicle:
        """By vehicle id or MAVLink system id."""
        found = (
            self._vehicles.get(vehicle) if isinstance(vehicle, int) else self._by_id.get(vehicle)
        )
        if found is None:
            raise UnknownVehicleError(vehicle)
        return found

    async def wait_vehicle(
        self, vehicle: str | int | None = None, *, timeout_s: float = 10.0
    ) -> Vehicle:
        """The vehicle (any, if None) once its first heartbeat has been heard."""
        self._require_open()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            if vehicle is None and self._vehicles:
                return next(iter(self._vehicles.values()))
            if vehicle is not None:
                with contextlib.suppress(UnknownVehicleError):
                    return self.vehicle(vehicle)
            left = deadline - loop.time()
            if left <= 0:
                raise DiscoveryTimeout(
                    "any vehicle" if vehicle is None else repr(vehicle), timeout_s
                )
            self._discovered.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._discovered.wait()

    def _on_message(self, link: Link, peer: Peer, message: Any) -> None:
        self.messages_received += 1
        header = message._header
        vehicle = self._vehicles.get(header.srcSystem)
        msg_id = header.msgId
        if vehicle is None:
            if msg_id != _HEARTBEAT or message.type in _NOT_VEHICLES:
                return
            if header.srcSystem == self._settings.gcs_system_id:
                return
            vehicle = self._discover(link, peer, header.srcSystem, header.srcComponent)
        vehicle._receive(link, peer, msg_id, message)

    def _discover(self, link: Link, peer: Peer, system_id: int, component_id: int) -> Vehicle:
        vehicle_id = self._settings.vehicle_id_for(system_id)
        vehicle = Vehicle(
            vehicle_id=vehicle_id,
            system_id=system_id,
            component_id=component_id,
            settings=self._settings,
            clock=self._clock,
            emit=self._events.put_nowait,
            timestamps=self._timestamps,
            key=self._keys.get(system_id),
        )
        self._vehicles[system_id] = vehicle
        self._by_id[vehicle_id] = vehicle
        vehicle._link, vehicle._peer = link, peer
        _log.info("discovered %s (system %d) on %s", vehicle_id, system_id, link.spec)
        vehicle._event(VehicleEventKind.DISCOVERED, f"system {system_id} on {link.spec}")
        vehicle.send_heartbeat()
        vehicle.send_timesync()
        vehicle.request_streams()
        self._discovered.set()
        return vehicle

    # ------------------------------------------------------------ tasks

    async def _heartbeat_loop(self) -> None:
        beats = 0
        while True:
            for vehicle in self._vehicles.values():
                vehicle.send_heartbeat()
                if beats % _TIMESYNC_EVERY == 0:
                    vehicle.send_timesync()
            for link in self._links:
                if link.has_default_peer and not any(
                    v.link is link for v in self._vehicles.values()
                ):
                    self._link_heartbeat(link)
            if beats % 10 == 0:
                await asyncio.to_thread(self._timestamps.save)
            beats += 1
            await asyncio.sleep(self._settings.heartbeat_period_s)

    async def _monitor_loop(self) -> None:
        while True:
            for vehicle in self._vehicles.values():
                vehicle.check_link()
            await asyncio.sleep(min(_MONITOR_PERIOD_S, self._settings.link_timeout_s / 4))

    async def _publish_loop(self) -> None:
        period_s = 1.0 / self._settings.state_rate_hz
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while True:
            while not self._events.empty():
                event = self._events.get_nowait()
                await self._publish(topics.vehicle_event(event.vehicle_id), event)
            if loop.time() >= next_tick:
                next_tick += period_s
                for vehicle in list(self._vehicles.values()):
                    state = vehicle.publish_tick()
                    await self._publish(topics.vehicle_state(vehicle.vehicle_id), state)
            with contextlib.suppress(TimeoutError):
                wait_s = max(0.0, next_tick - loop.time())
                async with asyncio.timeout(wait_s):
                    event = await self._events.get()
                    await self._publish(topics.vehicle_event(event.vehicle_id), event)

    async def _publish(self, topic: Topic[Any], payload: BaseModel) -> None:
        if self._bus is None:
            return
        try:
            await self._bus.publish(topic, payload)
        except Exception:
            # the bus reconnects on its own; state is superseded by the next tick and
            # events are also delivered to every Vehicle.events() iterator
            self.publish_errors += 1
            _log.exception("publish to %s failed", topic.name)
