"""Fleet scale: vehicles one controller core keeps up with, command round trips, big uploads.

A load generator in a separate process plays N vehicles, each on its own UDP socket, at the
telemetry rates ArduPilot streams to a ground station (the set the simulator documents,
26 messages/s per vehicle: HEARTBEAT 1 Hz; SYS_STATUS, GPS_RAW_INT, MISSION_CURRENT,
BATTERY_STATUS, EXTENDED_SYS_STATE, GIMBAL_DEVICE_ATTITUDE_STATUS 2 Hz;
GLOBAL_POSITION_INT, ATTITUDE, VFR_HUD 4 Hz; SYSTEM_TIME 1 Hz; HOME_POSITION 0.1 Hz). Frames
are pre-encoded once per vehicle and sent with consecutive sequence numbers (the sequence
byte and CRC patched per send, so the fleet's loss counter sees a clean link); every
COMMAND_LONG is answered with COMMAND_ACK at once. This process runs the fleet on one
event loop (one core), its state serialised to JSON at 2 Hz per vehicle as the bus would.

For each load step: fleet CPU (process time / wall time), messages processed vs sent
(keeping up = ≥ 99.5 % processed, nothing dropped in the kernel), and the round trip of
``vehicle.command`` (send → COMMAND_ACK → return) for 20 commands/s spread over the vehicles.
Then a 500-item mission is uploaded at the top load to a scripted vehicle on loopback and to
one behind the impairment proxy with a 5 ms round trip, each compared with the protocol's
lower bound: (items + 1) round trips at the median command round trip on that link.

    .venv/bin/python bench/fleet_scale.py
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import multiprocessing as mp
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pymavlink.dialects.v20 import ardupilotmega as mavlink  # noqa: E402

from fleet import Fleet, FleetSettings, MissionItem  # noqa: E402
from fleet.proxy import Impairment, ImpairmentProxy  # noqa: E402
from fleet.testing import ScriptedVehicle, VehicleScript  # noqa: E402
from skyeye.clock import WallClock  # noqa: E402

STEPS = (50, 100, 150, 200, 250)  # MAVLink has 255 system ids; 255 is ours, 251 the uploader
STEP_S = 5.0
COMMANDS_PER_S = 20
MISSION_ITEMS = 500
MISSION_SYSID = 251
PROXIED_SYSID = 252
PROXY_DELAY_S = 0.0025  # each way: a 5 ms round trip
RATES_HZ = {  # message → Hz, ArduPilot's stream set as sim/README.md documents it
    "heartbeat": 1.0, "sys_status": 2.0, "gps_raw_int": 2.0, "mission_current": 2.0,
    "battery_status": 2.0, "extended_sys_state": 2.0, "gimbal_device_attitude_status": 2.0,
    "global_position_int": 4.0, "attitude": 4.0, "vfr_hud": 4.0, "system_time": 1.0,
    "home_position": 0.1,
}  # fmt: skip
RESULTS = ROOT / "bench" / "results" / "fleet_scale.json"


# ------------------------------------------------------------------ load generator process


def _messages(mav: Any, sysid: int) -> dict[str, Any]:
    lat, lon = round((52.0 + sysid * 1e-3) * 1e7), round(5.1 * 1e7)
    q = [1.0, 0.0, 0.0, 0.0]
    return {
        "heartbeat": mav.heartbeat_encode(2, 3, 209, 4, 4),
        "sys_status": mav.sys_status_encode(0, 0, 0, 500, 24_000, 1000, 80, 0, 0, 0, 0, 0, 0),
        "gps_raw_int": mav.gps_raw_int_encode(0, 3, lat, lon, 50_000, 80, 120, 500, 9000, 14),
        "mission_current": mav.mission_current_encode(3),
        "battery_status": mav.battery_status_encode(
            0, 0, 0, 2500, [4000] * 10, 1000, 1000, 100, 80, 900
        ),
        "extended_sys_state": mav.extended_sys_state_encode(0, 2),
        "gimbal_device_attitude_status": mav.gimbal_device_attitude_status_encode(
            0, 0, 0, 0, q, 0.0, 0.0, 0.0, 0
        ),
        "global_position_int": mav.global_position_int_encode(
            0, lat, lon, 80_000, 30_000, 500, 100, 0, 9000
        ),
        "attitude": mav.attitude_encode(0, 0.01, 0.02, 1.57, 0.0, 0.0, 0.0),
        "vfr_hud": mav.vfr_hud_encode(5.0, 5.1, 90, 50, 80.0, 0.0),
        "system_time": mav.system_time_encode(0, 0),
        "home_position": mav.home_position_encode(lat, lon, 50_000, 0, 0, 0, q, 0, 0, 0),
    }


def _schedule() -> list[str]:
    """One 10-second cycle of message names in send order, spread evenly."""
    events: list[tuple[float, str]] = []
    for name, hz in RATES_HZ.items():
        n = round(hz * 10)
        events += [((i + 0.5) / n * 10.0, name) for i in range(n)]
    return [name for _, name in sorted(events)]


class _GenVehicle(asyncio.DatagramProtocol):
    def __init__(self, sysid: int, target: tuple[str, int]) -> None:
        self.mav = mavlink.MAVLink(None, srcSystem=sysid, srcComponent=1)
        self.decoder = mavlink.MAVLink(None)
        self.target = target
        messages = _messages(self.mav, sysid)
        self.templates = {
            name: (bytearray(m.pack(self.mav)), m.crc_extra) for name, m in messages.items()
        }
        self.schedule = _schedule()
        self.next = 0
        self.transport: asyncio.DatagramTransport | None = None
        self.seq = 0
        self.acks = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Python 3.11's selector datagram transport is not a DatagramTransport subclass
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        for m in self.decoder.parse_buffer(data) or ():
            if m._header.msgId == mavlink.MAVLINK_MSG_ID_COMMAND_LONG:
                self.mav.seq = self.seq
                ack = self.mav.command_ack_encode(m.command, 0, 0, 0, 255, 190).pack(self.mav)
                self.seq = (self.seq + 1) & 0xFF
                self.acks += 1
                assert self.transport is not None
                self.transport.sendto(ack, self.target)

    def send_due(self, count: int) -> int:
        """Send the next ``count`` frames of the schedule, each with the next sequence number."""
        assert self.transport is not None
        schedule, n = self.schedule, len(self.schedule)
        for _ in range(count):
            template, crc_extra = self.templates[schedule[self.next]]
            frame = template[:]
            frame[4] = self.seq
            crc = mavlink.x25crc(bytes(frame[1:-2]) + bytes((crc_extra,))).crc
            frame[-2], frame[-1] = crc & 0xFF, crc >> 8
            self.transport.sendto(frame, self.target)
            self.seq = (self.seq + 1) & 0xFF
            self.next = (self.next + 1) % n
        return count


async def _generate(port: int, conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    target = ("127.0.0.1", port)
    vehicles: list[_GenVehicle] = []
    per_vehicle_hz = sum(RATES_HZ.values())
    sent = 0
    owed = 0.0
    stack = contextlib.AsyncExitStack()
    last = loop.time()
    while True:
        if conn.poll():
            command, arg = conn.recv()
            if command == "vehicles":
                while len(vehicles) < arg:
                    sysid = len(vehicles) + 1
                    _, vehicle = await loop.create_datagram_endpoint(
                        functools.partial(_GenVehicle, sysid, target), local_addr=("127.0.0.1", 0)
                    )
                    vehicles.append(vehicle)
                conn.send(len(vehicles))
            elif command == "sent":
                conn.send(sent)
            elif command == "mission":
                script = VehicleScript(system_id=MISSION_SYSID, mission_capacity=1000)
                await stack.enter_async_context(ScriptedVehicle(script, udp_to=target))
                proxy = await stack.enter_async_context(
                    ImpairmentProxy(upstream=target, impairment=Impairment(delay_s=PROXY_DELAY_S))
                )
                script = VehicleScript(system_id=PROXIED_SYSID, mission_capacity=1000)
                await stack.enter_async_context(
                    ScriptedVehicle(script, udp_to=("127.0.0.1", proxy.vehicle_port))
                )
                conn.send(True)
            elif command == "stop":
                await stack.aclose()
                conn.send(True)
                return
        now = loop.time()
        owed += (now - last) * per_vehicle_hz
        last = now
        whole = int(owed)
        if whole:
            owed -= whole
            for vehicle in vehicles:
                sent += vehicle.send_due(whole)
        await asyncio.sleep(0.01)


def _generator_main(port: int, conn: Connection) -> None:
    asyncio.run(_generate(port, conn))


# ------------------------------------------------------------------ fleet side


class _JsonSink:
    """Stands in for the bus: serialises what would be published."""

    def __init__(self) -> None:
        self.published = 0

    async def publish(self, topic: Any, payload: Any) -> None:
        payload.model_dump_json()
        self.published += 1


def _ask(conn: Connection, command: str, arg: Any = None) -> Any:
    conn.send((command, arg))
    return conn.recv()


async def _commands(
    fleet: Fleet, duration_s: float, rtts: list[float], failures: list[str]
) -> None:
    vehicles = [v for v in fleet.vehicles if v.system_id < MISSION_SYSID]
    loop = asyncio.get_running_loop()
    end = loop.time() + duration_s
    i = 0

    async def one(vehicle: Any) -> None:
        t0 = time.perf_counter()
        try:
            await vehicle.command(mavlink.MAV_CMD_DO_SET_MODE, 1, 4)
        except Exception as exc:  # recorded and reported in the table
            failures.append(type(exc).__name__)
            return
        rtts.append((time.perf_counter() - t0) * 1000.0)

    async with asyncio.TaskGroup() as tasks:
        while loop.time() < end:
            tasks.create_task(one(vehicles[i % len(vehicles)]))
            i += 1
            await asyncio.sleep(1.0 / COMMANDS_PER_S)


async def _upload(vehicle: Any, items: list[MissionItem]) -> tuple[float, float]:
    """Upload time, and the median of 20 command round trips on the same link."""
    probes = []
    for _ in range(20):
        t0 = time.perf_counter()
        await vehicle.command(mavlink.MAV_CMD_DO_SET_MODE, 1, 4)
        probes.append((time.perf_counter() - t0) * 1000.0)
    t0 = time.perf_counter()
    await vehicle.upload_mission(items)
    upload_s = time.perf_counter() - t0
    if await vehicle.download_mission() != items:
        raise RuntimeError(f"{vehicle.vehicle_id}: the mission did not read back identical")
    return upload_s, statistics.median(probes)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> dict[str, float]:
    settings = FleetSettings(state_rate_hz=2.0, stream_rates_hz={})
    sink = _JsonSink()
    results: dict[str, float] = {}
    rows: list[tuple[str, ...]] = []
    ctx = mp.get_context("spawn")
    async with Fleet(settings=settings, clock=WallClock(), bus=sink) as fleet:
        link = await fleet.connect("udp:127.0.0.1:0")
        parent, child = ctx.Pipe()
        generator = ctx.Process(target=_generator_main, args=(link.local_port, child), daemon=True)
        generator.start()
        best = 0
        top_rtts: list[float] = []
        for n in STEPS:
            await asyncio.to_thread(_ask, parent, "vehicles", n)
            await fleet.wait_vehicle(n, timeout_s=10)
            await asyncio.sleep(1.0)  # settle
            sent0 = await asyncio.to_thread(_ask, parent, "sent")
            got0 = fleet.messages_received
            cpu0, wall0 = time.process_time(), time.perf_counter()
            rtts: list[float] = []
            failures: list[str] = []
            await _commands(fleet, STEP_S, rtts, failures)
            cpu = time.process_time() - cpu0
            wall = time.perf_counter() - wall0
            sent = await asyncio.to_thread(_ask, parent, "sent") - sent0
            await asyncio.sleep(0.3)  # let what is in flight arrive
            got = fleet.messages_received - got0
            acks = len(rtts)
            processed = min(1.0, got / max(1, sent + acks))
            cpu_frac = cpu / wall
            keeps_up = processed >= 0.995 and not failures
            if keeps_up:
                best, top_rtts = n, rtts
            results[f"v{n}_cpu_pct"] = round(100 * cpu_frac, 1)
            results[f"v{n}_processed_pct"] = round(100 * processed, 2)
            results[f"v{n}_msgs_per_s"] = round(sent / wall, 0)
            results[f"v{n}_cmd_rtt_p50_ms"] = round(_pct(rtts, 0.5), 2)
            results[f"v{n}_cmd_rtt_p99_ms"] = round(_pct(rtts, 0.99), 2)
            rows.append((
                str(n), f"{sent / wall:,.0f}", f"{100 * processed:.2f}", f"{100 * cpu_frac:.1f}",
                f"{_pct(rtts, 0.5):.2f}", f"{_pct(rtts, 0.99):.2f}", str(len(failures)),
                "yes" if keeps_up else "no",
            ))  # fmt: skip
        await asyncio.to_thread(_ask, parent, "mission", None)
        items = [MissionItem.takeoff(30.0)] + [
            MissionItem.waypoint(52.0 + i * 1e-5, 5.1, 40.0) for i in range(MISSION_ITEMS - 1)
        ]
        uploads = {}
        for label, sysid in (("loopback", MISSION_SYSID), ("rtt5ms", PROXIED_SYSID)):
            uploads[label] = await _upload(await fleet.wait_vehicle(sysid, timeout_s=10), items)
        await asyncio.to_thread(_ask, parent, "stop", None)
        generator.join(5)

    per_vehicle = results[f"v{best}_cpu_pct"] / best if best else float("nan")
    results |= {
        "vehicles_kept_up": best,
        "vehicles_kept_up_target": 200,
        "telemetry_msgs_per_vehicle_per_s": sum(RATES_HZ.values()),
        "cpu_per_vehicle_pct": round(per_vehicle, 3),
        "vehicles_per_core_extrapolated": round(100.0 / per_vehicle) if best else 0,
        "cmd_rtt_p50_ms": round(_pct(top_rtts, 0.5), 2),
        "cmd_rtt_p99_ms": round(_pct(top_rtts, 0.99), 2),
        "cmd_rtt_p99_ms_target": 50.0,
    }
    for label, (upload_s, rtt_ms) in uploads.items():
        bound_s = (MISSION_ITEMS + 1) * rtt_ms / 1000.0
        results |= {
            f"mission500_{label}_upload_s": round(upload_s, 3),
            f"mission500_{label}_rtt_ms": round(rtt_ms, 3),
            f"mission500_{label}_lower_bound_s": round(bound_s, 3),
            f"mission500_{label}_vs_bound_ratio": round(upload_s / bound_s, 2),
        }
    console = Console()
    table = Table(title="fleet: one controller core (UDP loopback, separate load process)")
    for col in ("vehicles", "msgs/s", "processed %", "fleet CPU %", "cmd p50 ms",
                "cmd p99 ms", "cmd failures", "keeps up"):  # fmt: skip
        table.add_column(col, justify="right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    summary = Table(title="summary")
    summary.add_column("figure")
    summary.add_column("value", justify="right")
    keys = ["vehicles_kept_up", "cpu_per_vehicle_pct", "vehicles_per_core_extrapolated"]
    keys += ["cmd_rtt_p50_ms", "cmd_rtt_p99_ms"]
    keys += [k for k in results if k.startswith("mission")]
    for key in keys:
        summary.add_row(key, str(results[key]))
    console.print(summary)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    logging.getLogger("fleet").setLevel(logging.ERROR)
    asyncio.run(main())
