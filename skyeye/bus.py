"""The message bus: typed publish/subscribe over MQTT (aiomqtt), robust to broker outages.

::

    async with Bus(BusSettings(url="mqtt://127.0.0.1:1883"), clock=clock) as bus:
        await bus.publish(topics.vehicle_state("drone-1"), state)
        async with bus.subscribe(topics.vehicle_state("+")) as messages:
            async for message in messages:
                message.payload  # VehicleState

One task keeps the connection: it reconnects with exponential backoff and, once
connected, re-subscribes and flushes the outbox. Publishing while the broker is away
queues QoS 1 messages in a bounded outbox (a full outbox raises
:class:`BusOutboxFullError`, never drops), keeps only the latest retained QoS 0 message per
topic (state supersedes state), and counts dropped plain QoS 0 messages. With a
persistent session (a fixed ``client_id``) the broker also keeps QoS 1 messages for our
subscriptions while we are away. Delivery is at least once: a message whose
acknowledgement was lost with the connection is sent again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import logging
import math
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Generic, Literal, Self, TypeVar
from urllib.parse import urlsplit

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import BaseModel, ValidationError

from skyeye.clock import Clock, WallClock
from skyeye.errors import BusClosedError, BusConnectError, BusOutboxFullError
from skyeye.topics import Topic

__all__ = ["Bus", "BusMessage", "BusSettings", "BusStats", "Subscription"]

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True, kw_only=True)
class BusSettings:
    """How to reach the broker. ``client_id`` fixed ⇒ a persistent session."""

    url: str
    username: str | None = None
    password: str | None = None
    protocol: Literal["5", "3.1.1"] = "5"
    client_id: str | None = None
    session_expiry_s: int = 3600
    outbox_limit: int = 10_000
    subscriber_queue_limit: int = 10_000
    reconnect_initial_s: float = 0.2
    reconnect_max_s: float = 5.0
    connect_timeout_s: float = 10.0
    keepalive_s: int = 10
    publish_timeout_s: float = 5.0

    @property
    def host_port(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"broker URL must look like mqtt://host:port, got {self.url!r}")
        return parts.hostname, parts.port or 1883


@dataclass(frozen=True, slots=True)
class BusMessage(Generic[M]):
    topic: str
    payload: M
    retained: bool


@dataclass(slots=True)
class BusStats:
    """Counters for health pages and benches."""

    published: int = 0
    received: int = 0
    queued: int = 0
    outbox_flushed: int = 0
    dropped_qos0: int = 0
    malformed: int = 0
    subscriber_overflow: int = 0
    reconnects: int = 0


@dataclass(slots=True)
class _Outgoing:
    topic: str
    data: bytes
    qos: int
    retain: bool


class _State(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(slots=True, eq=False)
class _Route:
    """One local subscription: the MQTT filter and the queue its messages go to."""

    topic: Topic[BaseModel]
    mqtt_filter: str
    queue: asyncio.Queue[BusMessage[BaseModel]] = field(repr=False)


class Subscription(Generic[M]):
    """An active subscription: ``async with bus.subscribe(topic) as messages``."""

    def __init__(self, bus: Bus, route: _Route) -> None:
        self._bus = bus
        self._route = route

    async def __aenter__(self) -> Self:
        await self._bus._add_route(self._route)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._bus._remove_route(self._route)

    def __aiter__(self) -> AsyncIterator[BusMessage[M]]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[BusMessage[M]]:
        while True:
            message = await self._route.queue.get()
            yield message  # type: ignore[misc]

    async def get(self) -> BusMessage[M]:
        """The next message."""
        return await self._route.queue.get()  # type: ignore[return-value]


class Bus:
    """Typed MQTT client that survives broker outages; see the module docstring."""

    def __init__(self, settings: BusSettings, *, clock: Clock | None = None) -> None:
        settings.host_port  # noqa: B018 - validate the URL now, not in the connection task
        self._settings = settings
        self._clock = clock or WallClock()
        self._client_id = settings.client_id or f"skyeye-{uuid.uuid4().hex[:12]}"
        self._state = _State.NEW
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._disconnected = asyncio.Event()
        self._outbox: collections.deque[_Outgoing] = collections.deque()
        self._latest_state: dict[str, _Outgoing] = {}
        self._routes: list[_Route] = []
        self._match_cache: dict[tuple[str, str], bool] = {}
        self._filters: collections.Counter[tuple[str, int]] = collections.Counter()
        self._flush_lock = asyncio.Lock()
        self._tasks: asyncio.TaskGroup | None = None
        self._connection_task: asyncio.Task[None] | None = None
        self._exit_stack = contextlib.AsyncExitStack()
        self._last_error = "not connected yet"
        self.stats = BusStats()

    # ------------------------------------------------------------------ lifecycle

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def wait_connected(self) -> None:
        """Return once the broker connection is up (at once if it is)."""
        await self._connected.wait()

    async def wait_disconnected(self) -> None:
        """Return once the broker connection is down (at once if it is)."""
        await self._disconnected.wait()

    async def __aenter__(self) -> Self:
        if self._state is not _State.NEW:
            raise BusClosedError(f"open a bus that is {self._state.value} (a Bus opens once)")
        self._tasks = await self._exit_stack.enter_async_context(asyncio.TaskGroup())
        self._connection_task = self._tasks.create_task(
            self._keep_connected(), name=f"bus[{self._client_id}].connection"
        )
        self._state = _State.OPEN
        try:
            async with asyncio.timeout(self._settings.connect_timeout_s):
                await self._connected.wait()
        except TimeoutError:
            await self.aclose()
            raise BusConnectError(
                self._settings.url, self._settings.connect_timeout_s, self._last_error
            ) from None
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Flush what can be flushed quickly, then disconnect; harmless when already closed."""
        if self._state is not _State.OPEN:
            self._state = _State.CLOSED
            return
        if self._client is not None and (self._outbox or self._latest_state):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self._flush(self._client)
        self._state = _State.CLOSED
        if self._outbox:
            logger.warning("bus closed with %d QoS 1 messages unsent", len(self._outbox))
        if self._connection_task is not None:
            self._connection_task.cancel()
        await self._exit_stack.aclose()

    # ------------------------------------------------------------------ publishing

    async def publish(self, topic: Topic[M], payload: M) -> None:
        """Publish ``payload`` on ``topic`` with the topic's QoS and retain flag."""
        if self._state is not _State.OPEN:
            raise BusClosedError(f"publish to {topic.name}")
        if topic.is_filter:
            raise ValueError(f"cannot publish to a wildcard topic {topic.name!r}")
        if not isinstance(payload, topic.model):
            raise TypeError(
                f"{topic.name} carries {topic.model.__name__}, not {type(payload).__name__}"
            )
        message = _Outgoing(topic.name, payload.model_dump_json().encode(), topic.qos, topic.retain)
        client = self._client
        if client is not None and not self._outbox:
            try:
                await self._send(client, message)
            except aiomqtt.MqttError as exc:
                self._last_error = str(exc)
            else:
                self.stats.published += 1
                return
        self._hold(message)

    async def _send(self, client: aiomqtt.Client, message: _Outgoing) -> None:
        """Publish and wait for the broker's acknowledgement (QoS 1) or the write (QoS 0).

        The timeout is ours, not aiomqtt's: aiomqtt times out with ``asyncio.wait_for``,
        which on Python 3.11 can swallow a cancellation that races with completion.
        """
        try:
            async with asyncio.timeout(self._settings.publish_timeout_s):
                await client.publish(
                    message.topic,
                    message.data,
                    qos=message.qos,
                    retain=message.retain,
                    timeout=math.inf,
                )
        except TimeoutError:
            limit = self._settings.publish_timeout_s
            raise aiomqtt.MqttError(
                f"no acknowledgement for {message.topic} within {limit:g} s"
            ) from None

    async def _call(self, what: str, call: Awaitable[object]) -> None:
        """Await a subscribe/unsubscribe with our own timeout (see :meth:`_send`)."""
        try:
            async with asyncio.timeout(self._settings.publish_timeout_s):
                await call
        except TimeoutError:
            raise aiomqtt.MqttError(
                f"no answer to {what} within {self._settings.publish_timeout_s:g} s"
            ) from None

    def _hold(self, message: _Outgoing) -> None:
        if message.qos > 0:
            if len(self._outbox) >= self._settings.outbox_limit:
                raise BusOutboxFullError(message.topic, self._settings.outbox_limit)
            self._outbox.append(message)
            self.stats.queued += 1
        elif message.retain:
            self._latest_state[message.topic] = message
        else:
            self.stats.dropped_qos0 += 1

    async def _flush(self, client: aiomqtt.Client) -> None:
        async with self._flush_lock:
            while self._outbox:
                message = self._outbox[0]
                await self._send(client, message)
                self._outbox.popleft()
                self.stats.published += 1
                self.stats.outbox_flushed += 1
            while self._latest_state:
                topic, message = next(iter(self._latest_state.items()))
                await self._send(client, message)
                del self._latest_state[topic]
                self.stats.published += 1

    # ------------------------------------------------------------------ subscribing

    def subscribe(self, topic: Topic[M], *, share_group: str | None = None) -> Subscription[M]:
        """Subscribe to ``topic`` (wildcards allowed); use as ``async with``.

        ``share_group`` makes it an MQTT 5 shared subscription: each message goes to one
        member of the group, which is how detector workers split the feeds.
        """
        if self._state is not _State.OPEN:
            raise BusClosedError(f"subscribe to {topic.name}")
        mqtt_filter = topic.name if share_group is None else f"$share/{share_group}/{topic.name}"
        queue: asyncio.Queue[BusMessage[BaseModel]] = asyncio.Queue(
            maxsize=self._settings.subscriber_queue_limit
        )
        route = _Route(topic, mqtt_filter, queue)  # type: ignore[arg-type]
        return Subscription(self, route)

    async def _add_route(self, route: _Route) -> None:
        self._routes.append(route)
        key = (route.mqtt_filter, route.topic.qos)
        self._filters[key] += 1
        client = self._client
        if self._filters[key] == 1 and client is not None:
            with contextlib.suppress(aiomqtt.MqttError):  # re-subscribed on reconnect
                await self._call(
                    f"subscribe {route.mqtt_filter}",
                    client.subscribe(route.mqtt_filter, qos=route.topic.qos, timeout=math.inf),
                )

    async def _remove_route(self, route: _Route) -> None:
        self._routes.remove(route)
        key = (route.mqtt_filter, route.topic.qos)
        self._filters[key] -= 1
        if self._filters[key] == 0:
            del self._filters[key]
            client = self._client
            if client is not None and self._state is _State.OPEN:
                with contextlib.suppress(aiomqtt.MqttError):  # gone with the session anyway
                    await self._call(
                        f"unsubscribe {route.mqtt_filter}",
                        client.unsubscribe(route.mqtt_filter, timeout=math.inf),
                    )

    def _matches(self, topic: aiomqtt.Topic, topic_filter: str) -> bool:
        key = (topic.value, topic_filter)
        matched = self._match_cache.get(key)
        if matched is None:
            if len(self._match_cache) > 100_000:
                self._match_cache.clear()
            matched = self._match_cache[key] = topic.matches(topic_filter)
        return matched

    def _deliver(self, message: aiomqtt.Message) -> None:
        topic = message.topic
        payload = message.payload
        if not isinstance(payload, bytes | bytearray):
            payload = str(payload).encode()
        parsed: dict[type[BaseModel], BaseModel | None] = {}
        for route in self._routes:
            if not self._matches(topic, route.topic.name):
                continue
            model = route.topic.model
            if model not in parsed:
                try:
                    parsed[model] = model.model_validate_json(payload)
                except ValidationError as exc:
                    parsed[model] = None
                    self.stats.malformed += 1
                    logger.warning(
                        "skipped a malformed %s on %s: %s",
                        model.__name__,
                        topic.value,
                        exc.errors(include_url=False)[:3],
                    )
            value = parsed[model]
            if value is None:
                continue
            item = BusMessage(topic.value, value, bool(message.retain))
            if route.queue.full():
                route.queue.get_nowait()
                self.stats.subscriber_overflow += 1
                logger.warning(
                    "subscriber of %s is too slow: dropped its oldest message", route.mqtt_filter
                )
            route.queue.put_nowait(item)
        self.stats.received += 1

    # ------------------------------------------------------------------ connection

    def _make_client(self) -> aiomqtt.Client:
        host, port = self._settings.host_port
        persistent = self._settings.client_id is not None
        common = {
            "hostname": host,
            "port": port,
            "username": self._settings.username,
            "password": self._settings.password,
            "identifier": self._client_id,
            "keepalive": self._settings.keepalive_s,
            "timeout": self._settings.connect_timeout_s,
        }
        if self._settings.protocol == "5":
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self._settings.session_expiry_s if persistent else 0
            return aiomqtt.Client(
                **common,  # type: ignore[arg-type]
                protocol=aiomqtt.ProtocolVersion.V5,
                clean_start=not persistent,
                properties=properties,
            )
        return aiomqtt.Client(
            **common,  # type: ignore[arg-type]
            protocol=aiomqtt.ProtocolVersion.V311,
            clean_session=not persistent,
        )

    async def _keep_connected(self) -> None:
        delay = self._settings.reconnect_initial_s
        first = True
        while True:
            try:
                async with self._make_client() as client:
                    for mqtt_filter, qos in list(self._filters):
                        await self._call(
                            f"subscribe {mqtt_filter}",
                            client.subscribe(mqtt_filter, qos=qos, timeout=math.inf),
                        )
                    await self._flush(client)
                    self._client = client
                    if not first:
                        self.stats.reconnects += 1
                        logger.info("reconnected to the MQTT broker at %s", self._settings.url)
                    first = False
                    delay = self._settings.reconnect_initial_s
                    self._disconnected.clear()
                    self._connected.set()
                    async for message in client.messages:
                        self._deliver(message)
            except aiomqtt.MqttError as exc:
                self._last_error = str(exc) or type(exc).__name__
                logger.warning(
                    "MQTT broker at %s unreachable (%s); retrying in %.1f s",
                    self._settings.url,
                    self._last_error,
                    delay,
                )
            finally:
                self._client = None
                self._connected.clear()
                self._disconnected.set()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._settings.reconnect_max_s)
