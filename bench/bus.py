"""Bus throughput and latency through Mosquitto and the embedded broker, 1 KB state messages.

Throughput: one process publishes N state messages as fast as it can and subscribes to them;
the figure is messages received per second, publish of the first to receipt of the last.
Latency: the same pair at a paced 1,000 msg/s; publish → receive per message.
Baseline: raw aiomqtt with the same bytes (no pydantic, no outbox) in the same run.

    .venv/bin/python bench/bus.py
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from skyeye import topics  # noqa: E402
from skyeye.broker import EmbeddedBroker  # noqa: E402
from skyeye.bus import Bus, BusSettings  # noqa: E402
from skyeye.contracts import LinkQuality, StatusText, VehicleState  # noqa: E402
from tests.mosquitto import MosquittoServer  # noqa: E402

THROUGHPUT_N = 20_000
PACED_RATE_HZ = 1_000
PACED_SECONDS = 5


def _state(seq: int) -> VehicleState:
    now = datetime.now(UTC)
    return VehicleState(
        vehicle_id="bench-1",
        system_id=1,
        time=now,
        lat_deg=52.1,
        lon_deg=5.1,
        alt_rel_m=100.0,
        alt_amsl_m=112.0,
        battery_pct=80.0,
        battery_voltage_v=15.9,
        mode="AUTO",
        armed=True,
        mission_seq=seq,
        home=None,
        status_texts=(
            StatusText(time=now, severity=6, text="Mission: 7 WP " + "x" * 150),
            StatusText(time=now, severity=4, text="EKF3 IMU0 is using GPS " + "y" * 150),
        ),
        link=LinkQuality(connected=True, last_heard_age_s=0.05, packet_loss_pct=0.0, rtt_ms=4.0),
    )


async def _bus_run(
    url: str, protocol: str, count: int, rate_hz: float | None
) -> tuple[float, list[float]]:
    """(messages/s received, latencies in ms) through the Bus."""
    sent_at: dict[int, float] = {}
    latencies: list[float] = []
    settings = BusSettings(url=url, protocol=protocol, subscriber_queue_limit=count + 10)  # type: ignore[arg-type]
    topic = topics.vehicle_state("bench-1")
    publisher_settings = BusSettings(url=url, protocol=protocol)  # type: ignore[arg-type]
    async with (
        Bus(settings) as subscriber,
        subscriber.subscribe(topic) as states,
        Bus(publisher_settings) as publisher,
    ):
        await publisher.publish(topic, _state(10**9))
        warm = await states.get()
        assert warm.payload.mission_seq is not None

        async def receive() -> float:
            while len(latencies) < count:
                message = await states.get()
                seq = message.payload.mission_seq
                if seq is None or seq not in sent_at:
                    continue
                latencies.append((time.perf_counter() - sent_at[seq]) * 1000)
            return time.perf_counter()

        states_to_send = [_state(seq) for seq in range(count)]
        receiver = asyncio.create_task(receive())
        start = time.perf_counter()
        for seq, state in enumerate(states_to_send):
            if rate_hz is not None:
                delay = start + seq / rate_hz - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            sent_at[seq] = time.perf_counter()
            await publisher.publish(topic, state)
        async with asyncio.timeout(60):
            end = await receiver
    return count / (end - start), latencies


async def _raw_run(url: str, protocol: str, count: int) -> float:
    """Messages/s received with bare aiomqtt and pre-encoded payloads (the baseline)."""
    host, port = BusSettings(url=url).host_port
    version = aiomqtt.ProtocolVersion.V5 if protocol == "5" else aiomqtt.ProtocolVersion.V311
    payloads = [_state(seq).model_dump_json().encode() for seq in range(count)]
    name = topics.vehicle_state("bench-raw").name
    async with (
        aiomqtt.Client(host, port, protocol=version) as subscriber,
        aiomqtt.Client(host, port, protocol=version) as publisher,
    ):
        await subscriber.subscribe(name, qos=0)
        received = 0

        async def receive() -> float:
            nonlocal received
            async for _ in subscriber.messages:
                received += 1
                if received >= count:
                    break
            return time.perf_counter()

        receiver = asyncio.create_task(receive())
        await asyncio.sleep(0.1)
        start = time.perf_counter()
        for payload in payloads:
            await publisher.publish(name, payload, qos=0)
        async with asyncio.timeout(60):
            end = await receiver
    return count / (end - start)


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


async def _measure(label: str, url: str, protocol: str) -> dict[str, float]:
    rate, _ = await _bus_run(url, protocol, THROUGHPUT_N, None)
    raw = await _raw_run(url, protocol, THROUGHPUT_N)
    _, latencies = await _bus_run(url, protocol, PACED_RATE_HZ * PACED_SECONDS, PACED_RATE_HZ)
    return {
        f"{label}_throughput_msg_s": round(rate, 1),
        f"{label}_raw_aiomqtt_throughput_msg_s": round(raw, 1),
        f"{label}_throughput_ratio_to_raw": round(rate / raw, 3),
        f"{label}_latency_p50_ms_at_1000_msg_s": round(_pct(latencies, 50), 3),
        f"{label}_latency_p99_ms_at_1000_msg_s": round(_pct(latencies, 99), 3),
    }


async def main() -> dict[str, float]:
    size = len(_state(0).model_dump_json().encode())
    results: dict[str, float] = {"message_size_bytes": size}
    with tempfile.TemporaryDirectory() as tmp:
        server = MosquittoServer(Path(tmp))
        server.start()
        try:
            results |= await _measure("mosquitto", server.url, "5")
        finally:
            server.stop()
    async with EmbeddedBroker(port=0) as broker:
        results |= await _measure("embedded", broker.url, "3.1.1")
    results["mosquitto_throughput_msg_s_target"] = 5000
    results["mosquitto_latency_p99_ms_at_1000_msg_s_target"] = 20
    return results


def report(results: dict[str, float]) -> None:
    table = Table(title=f"bus: {results['message_size_bytes']:.0f}-byte VehicleState messages")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    for key, value in results.items():
        if key.endswith("_target"):
            continue
        target = results.get(f"{key}_target")
        table.add_row(key, f"{value:,.3f}", "" if target is None else f"{target:,}")
    Console().print(table)


if __name__ == "__main__":
    figures = asyncio.run(main())
    report(figures)
    out = ROOT / "bench" / "results" / "bus.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
