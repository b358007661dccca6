"""The simulator: every vehicle of a scenario, each on its own MAVLink endpoint, one loop tick.

::

    async with Simulator(load_scenario("sim/scenarios/demo.yaml"), speedup=10,
                         tcp_base_port=0) as sim:
        port = sim.tcp_port("drone-1")          # connect a ground station to tcp:127.0.0.1:port
        await sim.clock.sleep(30)               # 30 simulated seconds (3 s of wall time)

In lock-step mode (``lockstep=True``) simulated time moves only in :meth:`Simulator.step`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import Enum
from types import TracebackType

from sim.errors import SimLookupError, SimStateError
from sim.link import LinkFaults, VehicleEndpoint
from sim.quadplane import QuadPlaneVehicle
from sim.scenario import Scenario
from sim.vehicle import SimVehicle

__all__ = ["SimClock", "Simulator", "SimulatorState"]

_log = logging.getLogger(__name__)
_MAX_STEPS_PER_WAKE = 40


class SimulatorState(Enum):
    CREATED = "created"
    RUNNING = "running"
    CLOSED = "closed"


class SimClock:
    """The simulator's time as a :class:`skyeye.clock.Clock`: ``monotonic`` is simulated
    seconds since start, ``sleep`` waits for simulated time (works in lock-step too)."""

    def __init__(self, sim: Simulator, start: datetime) -> None:
        self._sim = sim
        self._start = start

    @property
    def speedup(self) -> float:
        return self._sim.speedup

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._sim.time_s)

    def monotonic(self) -> float:
        return self._sim.time_s

    async def sleep(self, seconds: float) -> None:
        await self._sim.wait_until(self._sim.time_s + max(0.0, seconds))


class Simulator:
    """All vehicles of a scenario, flown in one asyncio task.

    ``tcp_base_port``: vehicle i listens on ``tcp_base_port + 10*i`` (ArduPilot SITL's layout;
    0 gives each an ephemeral port, read back with :meth:`tcp_port`; None: no TCP).
    ``gcs_udp``: (host, port) where vehicle i also sends UDP, to ``port + udp_port_step*i``.
    System ids are 1..N in scenario order.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        speedup: float = 1.0,
        lockstep: bool = False,
        tick_s: float = 0.05,
        vehicles: int | None = None,
        host: str = "127.0.0.1",
        tcp_base_port: int | None = 5760,
        gcs_udp: tuple[str, int] | None = None,
        udp_port_step: int = 10,
        signing_keys: dict[str, bytes] | None = None,
        start: datetime | None = None,
        terrain_amsl_m: Callable[[float, float], float] | None = None,
    ) -> None:
        if not math.isfinite(speedup) or speedup <= 0:
            raise ValueError(f"speedup must be a positive number, got {speedup}")
        if not 0.001 <= tick_s <= 0.5:
            raise ValueError(f"tick_s must be within 0.001..0.5 s, got {tick_s}")
        if vehicles is not None:
            scenario = scenario.with_vehicles(vehicles)
        for vid, key in (signing_keys or {}).items():
            if len(key) != 32:
                raise ValueError(f"signing key for {vid} must be 32 bytes, got {len(key)}")
        self.scenario = scenario
        self.speedup = speedup
        self.lockstep = lockstep
        self.tick_s = tick_s
        self.time_s = 0.0
        self.state = SimulatorState.CREATED
        self._start = start or datetime.now(UTC)
        self.clock = SimClock(self, self._start)
        self.host = host
        self._tcp_base_port = tcp_base_port
        self._gcs_udp = gcs_udp
        self._udp_port_step = udp_port_step
        self._signing_keys = signing_keys or {}
        self._terrain = terrain_amsl_m or self._world_terrain()
        self.vehicles: dict[str, SimVehicle] = {}
        self.endpoints: dict[str, VehicleEndpoint] = {}
        self._by_sysid: dict[int, SimVehicle] = {}
        self._waiters: list[tuple[float, asyncio.Future[None]]] = []
        self._tg: asyncio.TaskGroup | None = None
        self._wall_start = time.monotonic()
        self._tick_task: asyncio.Task[None] | None = None
        self._build()
        self.steps = 0
        self.lag_s = 0.0

    def _world_terrain(self) -> Callable[[float, float], float] | None:
        if self.scenario.world is None:
            return None
        import numpy as np

        from sim.world.world import World

        world = World(self.scenario.world, seed=self.scenario.seed, weather=self.scenario.weather)

        def height(lat: float, lon: float) -> float:
            x, y = world.frame.to_xy(lat, lon)
            return float(world.height_m(np.array([x]), np.array([y]))[0])

        return height

    def _build(self) -> None:
        sc = self.scenario
        profiles = sc.all_profiles
        link_time = None if self.lockstep else time.monotonic
        for i, spec in enumerate(sc.vehicles):
            base = sc.base(spec.base)
            ground = (
                self._terrain(base.lat_deg, base.lon_deg)
                if self._terrain is not None
                else base.alt_amsl_m
            )
            # vehicles sharing a base stand 5 m apart
            slot = sum(1 for s in sc.vehicles[:i] if s.base == spec.base)
            lat = base.lat_deg + (slot // 4) * 5.0 / 111_320.0
            lon = base.lon_deg + (slot % 4) * 5.0 / (111_320.0 * math.cos(math.radians(lat)))
            profile = profiles[spec.profile]
            kind = QuadPlaneVehicle if profile.kind == "vtol" else SimVehicle
            v = kind(
                vehicle_id=spec.id,
                system_id=i + 1,
                profile=profile,
                home_lat_deg=lat,
                home_lon_deg=lon,
                home_alt_amsl_m=ground,
                heading_deg=spec.heading_deg,
                params={**sc.params, **spec.params},
                wind=sc.wind,
                gps=sc.gps,
                navigation=sc.navigation,
                no_fly_zones=sc.no_fly_zones,
                seed=sc.seed,
                terrain_amsl_m=self._terrain,
                link_time_s=link_time,
                start_unix_s=self._start.timestamp(),
                signing_key=self._signing_keys.get(spec.id),
            )
            self.vehicles[spec.id] = v
            self._by_sysid[i + 1] = v
            tcp = (
                None
                if self._tcp_base_port is None
                else (0 if self._tcp_base_port == 0 else self._tcp_base_port + 10 * i)
            )
            udp = None
            if self._gcs_udp is not None:
                udp = (self._gcs_udp[0], self._gcs_udp[1] + self._udp_port_step * i)
            self.endpoints[spec.id] = VehicleEndpoint(
                v,
                host=self.host,
                tcp_port=tcp,
                gcs_udp=udp,
                signing_key=self._signing_keys.get(spec.id),
            )

    # --- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Simulator:
        if self.state is not SimulatorState.CREATED:
            raise SimStateError(f"simulator is {self.state.value}; create a new one")
        opened: list[VehicleEndpoint] = []
        try:
            for ep in self.endpoints.values():
                await ep.open()
                opened.append(ep)
        except BaseException:
            for ep in opened:
                await ep.close()
            self.state = SimulatorState.CLOSED
            raise
        self.state = SimulatorState.RUNNING
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        self._wall_start = time.monotonic()
        if not self.lockstep:
            self._tick_task = self._tg.create_task(self._run(), name="sim.tick")
        _log.info(
            "simulator: %d vehicles, speed-up %g%s",
            len(self.vehicles),
            self.speedup,
            " (lock-step)" if self.lockstep else "",
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop the tick and close every socket. Calling it twice is harmless."""
        if self.state is SimulatorState.CLOSED:
            return
        self.state = SimulatorState.CLOSED
        tg, self._tg = self._tg, None
        if tg is not None:
            if self._tick_task is not None:
                self._tick_task.cancel()
            await tg.__aexit__(None, None, None)
        for ep in self.endpoints.values():
            await ep.close()
        for _, fut in self._waiters:
            if not fut.done():
                fut.cancel()
        self._waiters.clear()

    # --- access --------------------------------------------------------------------------------

    def vehicle(self, vehicle_id: str) -> SimVehicle:
        try:
            return self.vehicles[vehicle_id]
        except KeyError:
            raise SimLookupError(f"no vehicle {vehicle_id!r} in this simulator") from None

    def by_system_id(self, system_id: int) -> SimVehicle:
        try:
            return self._by_sysid[system_id]
        except KeyError:
            raise SimLookupError(f"no vehicle with system id {system_id}") from None

    def tcp_port(self, vehicle_id: str) -> int:
        """The TCP port vehicle ``vehicle_id`` listens on (after the block is entered)."""
        port = self._endpoint(vehicle_id).tcp_port
        if port is None:
            raise SimStateError(f"vehicle {vehicle_id} has no TCP port open")
        return port

    def udp_port(self, vehicle_id: str) -> int:
        """The local UDP port vehicle ``vehicle_id`` sends from (and listens on)."""
        port = self._endpoint(vehicle_id).udp_port
        if port is None:
            raise SimStateError(f"vehicle {vehicle_id} has no UDP output")
        return port

    def faults(self, vehicle_id: str) -> LinkFaults:
        """Fault injection on this vehicle's links (drop, delay, duplicate, reorder, cut)."""
        return self._endpoint(vehicle_id).faults

    def rejected_packets(self, vehicle_id: str) -> int:
        """Datagrams/frames this vehicle could not decode or refused (bad CRC, signature)."""
        return self._endpoint(vehicle_id).rejected

    def _endpoint(self, vehicle_id: str) -> VehicleEndpoint:
        try:
            return self.endpoints[vehicle_id]
        except KeyError:
            raise SimLookupError(f"no vehicle {vehicle_id!r} in this simulator") from None

    # --- time ----------------------------------------------------------------------------------

    def _tick(self) -> None:
        dt = self.tick_s
        for v in self.vehicles.values():
            v.step(dt)
        self.time_s += dt
        self.steps += 1

    def _flush(self) -> None:
        for vid, v in self.vehicles.items():
            data = v.take_output()
            if data:
                self.endpoints[vid].send(data)
        if self._waiters:
            now = self.time_s
            keep = []
            for t, fut in self._waiters:
                if t <= now + 1e-9:
                    if not fut.done():
                        fut.set_result(None)
                else:
                    keep.append((t, fut))
            self._waiters = keep

    async def step(self, seconds: float) -> None:
        """Lock-step: advance ``seconds`` of simulated time now (in ``tick_s`` steps)."""
        if not self.lockstep:
            raise SimStateError("step() is for lock-step simulators (lockstep=True)")
        if self.state is not SimulatorState.RUNNING:
            raise SimStateError(f"simulator is {self.state.value}")
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds}")
        n = round(seconds / self.tick_s)
        for _ in range(n):
            self._tick()
            self._flush()
            await asyncio.sleep(0)  # let sockets deliver both ways between ticks
        await asyncio.sleep(0)

    async def wait_until(self, time_s: float) -> None:
        """Wait until simulated time reaches ``time_s``."""
        if self.time_s >= time_s:
            return
        if self.state is not SimulatorState.RUNNING:
            raise SimStateError(f"simulator is {self.state.value}")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((time_s, fut))
        await fut

    async def run_until(
        self, predicate: Callable[[], bool], *, timeout_s: float, poll_s: float = 0.5
    ) -> bool:
        """Run (or in lock-step, step) until ``predicate()`` holds or ``timeout_s`` simulated
        seconds pass; the predicate's final value."""
        deadline = self.time_s + timeout_s
        while not predicate():
            if self.time_s >= deadline:
                return False
            if self.lockstep:
                await self.step(poll_s)
            else:
                await self.wait_until(min(deadline, self.time_s + poll_s))
        return True

    async def _run(self) -> None:
        wall0 = time.monotonic()
        sim0 = self.time_s
        speedup = self.speedup
        tick = self.tick_s
        while True:
            target = sim0 + (time.monotonic() - wall0) * speedup
            n = 0
            while self.time_s + tick <= target and n < _MAX_STEPS_PER_WAKE:
                self._tick()
                n += 1
            if n:
                self._flush()
            self.lag_s = max(0.0, target - self.time_s)
            ahead = self.time_s + tick - (sim0 + (time.monotonic() - wall0) * speedup)
            await asyncio.sleep(max(0.0, ahead / speedup))

    @property
    def achieved_speedup(self) -> float:
        """Simulated seconds per wall second since the start (free-running mode)."""
        return self.time_s / max(1e-9, time.monotonic() - self._wall_start)
