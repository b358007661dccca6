"""The bus against real brokers: Mosquitto (MQTT 5) and the embedded amqtt broker (3.1.1)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiomqtt
import pytest

from skyeye import topics
from skyeye.broker import EmbeddedBroker, free_port
from skyeye.bus import Bus, BusSettings
from skyeye.contracts import LinkQuality, VehicleEvent, VehicleEventKind, VehicleState
from skyeye.errors import BrokerPortInUseError, BusClosedError, BusConnectError, BusOutboxFullError
from tests.mosquitto import MosquittoServer


def _state(vehicle_id: str, battery_pct: float = 80.0) -> VehicleState:
    return VehicleState(
        vehicle_id=vehicle_id,
        system_id=1,
        time=datetime.now(UTC),
        lat_deg=52.1,
        lon_deg=5.1,
        alt_rel_m=100.0,
        battery_pct=battery_pct,
        mode="GUIDED",
        armed=True,
        link=LinkQuality(connected=True, last_heard_age_s=0.1),
    )


def _event(vehicle_id: str, n: int) -> VehicleEvent:
    return VehicleEvent(
        vehicle_id=vehicle_id,
        time=datetime.now(UTC),
        kind=VehicleEventKind.MISSION_ITEM_REACHED,
        mission_seq=n,
    )


@pytest.fixture
async def embedded_url() -> AsyncIterator[str]:
    async with EmbeddedBroker(port=0) as broker:
        yield broker.url


@pytest.fixture(params=["mosquitto", "embedded"])
async def broker(
    request: pytest.FixtureRequest, mosquitto: MosquittoServer
) -> AsyncIterator[tuple[str, str]]:
    """(url, protocol) of each kind of broker the bus must work with."""
    if request.param == "mosquitto":
        yield mosquitto.url, "5"
    else:
        async with EmbeddedBroker(port=0) as embedded:
            yield embedded.url, "3.1.1"


async def test_typed_round_trip(broker: tuple[str, str]) -> None:
    url, protocol = broker
    async with (
        Bus(BusSettings(url=url, protocol=protocol)) as bus,  # type: ignore[arg-type]
        bus.subscribe(topics.vehicle_event("+")) as events,
    ):
        sent = _event("drone-7", 3)
        await bus.publish(topics.vehicle_event("drone-7"), sent)
        async with asyncio.timeout(5):
            message = await events.get()
    assert message.topic == "skyeye/v1/fleet/drone-7/event"
    assert isinstance(message.payload, VehicleEvent)
    assert message.payload == sent


async def test_retained_state_reaches_a_late_subscriber(broker: tuple[str, str]) -> None:
    url, protocol = broker
    async with Bus(BusSettings(url=url, protocol=protocol)) as publisher:  # type: ignore[arg-type]
        await publisher.publish(topics.vehicle_state("drone-1"), _state("drone-1", 55.0))
        await asyncio.sleep(0.2)
    async with (
        Bus(BusSettings(url=url, protocol=protocol)) as late,  # type: ignore[arg-type]
        late.subscribe(topics.vehicle_state("+")) as states,
    ):
        async with asyncio.timeout(5):
            message = await states.get()
    assert message.retained
    assert message.payload.vehicle_id == "drone-1"
    assert message.payload.battery_pct == 55.0


async def test_malformed_payload_is_skipped_and_subscriber_keeps_running(
    broker: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    url, protocol = broker
    host, port = BusSettings(url=url).host_port
    version = aiomqtt.ProtocolVersion.V5 if protocol == "5" else aiomqtt.ProtocolVersion.V311
    async with Bus(BusSettings(url=url, protocol=protocol)) as bus:  # type: ignore[arg-type]
        async with bus.subscribe(topics.vehicle_event("+")) as events:
            async with aiomqtt.Client(host, port, protocol=version) as raw:
                caplog.set_level(logging.WARNING, logger="skyeye.bus")
                bad_topic = "skyeye/v1/fleet/drone-2/event"
                await raw.publish(bad_topic, b"{not json", qos=1)
                await raw.publish(bad_topic, b'{"vehicle_id": "drone-2"}', qos=1)
            good = _event("drone-2", 9)
            await bus.publish(topics.vehicle_event("drone-2"), good)
            async with asyncio.timeout(5):
                message = await events.get()
        assert bus.stats.malformed == 2
    assert message.payload == good
    assert any("skyeye/v1/fleet/drone-2/event" in r.getMessage() for r in caplog.records)


async def test_qos1_survives_a_broker_restart(mosquitto: MosquittoServer) -> None:
    """Messages published while Mosquitto is down are delivered after it comes back."""

    def settings(client_id: str) -> BusSettings:
        return BusSettings(
            url=mosquitto.url,
            client_id=client_id,
            reconnect_initial_s=0.05,
            reconnect_max_s=0.2,
            publish_timeout_s=1.0,
        )

    async with (
        Bus(settings("test-subscriber")) as subscriber,
        subscriber.subscribe(topics.vehicle_event("+")) as events,
        Bus(settings("test-publisher")) as publisher,
    ):
        for n in range(20):
            await publisher.publish(topics.vehicle_event("drone-3"), _event("drone-3", n))
        mosquitto.stop()
        for n in range(20, 60):
            await publisher.publish(topics.vehicle_event("drone-3"), _event("drone-3", n))
        assert publisher.stats.queued > 0
        mosquitto.start()
        for n in range(60, 80):
            await publisher.publish(topics.vehicle_event("drone-3"), _event("drone-3", n))
        received: set[int] = set()
        async with asyncio.timeout(20):
            while len(received) < 80:
                message = await events.get()
                assert message.payload.mission_seq is not None
                received.add(message.payload.mission_seq)
    assert received == set(range(80))


async def test_outbox_is_bounded_and_says_so(mosquitto: MosquittoServer) -> None:
    settings = BusSettings(url=mosquitto.url, outbox_limit=5, reconnect_initial_s=5.0)
    async with Bus(settings) as bus:
        mosquitto.stop()
        async with asyncio.timeout(5):
            await bus.wait_disconnected()
        for n in range(5):
            await bus.publish(topics.vehicle_event("drone-4"), _event("drone-4", n))
        with pytest.raises(BusOutboxFullError, match="outbox already holds 5"):
            await bus.publish(topics.vehicle_event("drone-4"), _event("drone-4", 5))
        await bus.publish(topics.vehicle_state("drone-4"), _state("drone-4"))
        assert bus.stats.queued == 5
        mosquitto.start()


async def test_wrong_use_is_refused(mqtt_url: str) -> None:
    bus = Bus(BusSettings(url=mqtt_url))
    with pytest.raises(BusClosedError, match="publish"):
        await bus.publish(topics.vehicle_event("x"), _event("x", 0))
    async with bus:
        with pytest.raises(ValueError, match="wildcard"):
            await bus.publish(topics.vehicle_event("+"), _event("x", 0))
        with pytest.raises(TypeError, match="carries VehicleEvent"):
            await bus.publish(topics.vehicle_event("x"), _state("x"))  # type: ignore[misc]
    await bus.aclose()
    with pytest.raises(ValueError, match="mqtt://host:port"):
        BusSettings(url="http://example").host_port  # noqa: B018


async def test_unreachable_broker_fails_with_the_url() -> None:
    url = f"mqtt://127.0.0.1:{free_port()}"
    with pytest.raises(BusConnectError, match=url):
        async with Bus(BusSettings(url=url, connect_timeout_s=0.5)):
            pass


async def test_embedded_broker_names_a_taken_port(mosquitto: MosquittoServer) -> None:
    with pytest.raises(BrokerPortInUseError, match=str(mosquitto.port)):
        async with EmbeddedBroker(port=mosquitto.port):
            pass
