"""An in-process vehicle with point-mass kinematics that implements :class:`VehicleLink`.

It plays the part httpx's ``MockTransport`` plays for httpx: the controller's own logic can be
exercised, benched and demonstrated without a MAVLink vehicle. It flies the ArduCopter way in
the modes the controller uses (GUIDED takeoff, AUTO through the plan, orbit, RTL, LAND), drains
its battery, and has the two failsafes that matter here: ground-station loss and low battery
both switch it to RTL when enabled. Its link can be cut and restored.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from missions.controller.errors import VehicleCommandError
from missions.controller.vehicle import FailsafeSettings, FlightPlan, PlanItemKind
from missions.dispatch import VehicleProfile
from skyeye.clock import Clock
from skyeye.contracts import GeoPoint, LinkQuality, StatusText, VehicleState

__all__ = ["LoopbackFleet", "LoopbackVehicle"]

log = logging.getLogger(__name__)

_M_PER_DEG_LAT = 111_195.0
_MODES = frozenset({"STABILIZE", "GUIDED", "LOITER", "AUTO", "RTL", "LAND"})


@dataclass(slots=True)
class _Physics:
    lat_deg: float
    lon_deg: float
    alt_rel_m: float = 0.0
    battery_pct: float = 100.0
    armed: bool = False
    mode: str = "STABILIZE"
    takeoff_alt_m: float | None = None
    seq: int = 0
    orbit_angle_rad: float | None = None
    ground_speed_m_s: float = 0.0
    nav_speed_m_s: float | None = None


class LoopbackVehicle:
    """One simulated copter in this process; use it inside ``async with``."""

    def __init__(
        self,
        vehicle_id: str,
        *,
        clock: Clock,
        lat_deg: float,
        lon_deg: float,
        profile: VehicleProfile,
        battery_pct: float = 100.0,
        failsafes: FailsafeSettings | None = None,
        gcs_timeout_s: float = 5.0,
        battery_failsafe_pct: float = 12.0,
        system_id: int = 1,
        tick_s: float = 0.2,
    ) -> None:
        self._id = vehicle_id
        self._clock = clock
        self._profile = profile
        self._failsafes = failsafes or FailsafeSettings(
            gcs_failsafe_enabled=True, battery_failsafe_enabled=True, fence_enabled=True
        )
        self._gcs_timeout_s = gcs_timeout_s
        self._battery_failsafe_pct = battery_failsafe_pct
        self._system_id = system_id
        self._tick_s = tick_s
        self._home = (lat_deg, lon_deg)
        self._p = _Physics(lat_deg=lat_deg, lon_deg=lon_deg, battery_pct=battery_pct)
        self._plan: FlightPlan | None = None
        self._link_up = True
        self._link_cut_at: float | None = None
        self._texts: tuple[StatusText, ...] = ()
        self._tasks: asyncio.TaskGroup | None = None
        self._stop = asyncio.Event()
        self.commands: list[str] = []
        self._snapshot: VehicleState | None = None

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Self:
        self._tasks = asyncio.TaskGroup()
        await self._tasks.__aenter__()
        self._tasks.create_task(self._physics(), name=f"loopback[{self._id}].physics")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._tasks is not None:
            await self._tasks.__aexit__(exc_type, exc, tb)
            self._tasks = None

    # ----------------------------------------------------------------- test handles

    def cut_link(self) -> None:
        self._link_up = False
        self._link_cut_at = self._clock.monotonic()

    def restore_link(self) -> None:
        self._link_up = True
        self._link_cut_at = None
        self._snapshot = None

    def set_battery(self, pct: float) -> None:
        self._p.battery_pct = pct
        self._snapshot = None

    # ----------------------------------------------------------------- VehicleLink

    @property
    def vehicle_id(self) -> str:
        return self._id

    @property
    def state(self) -> VehicleState:
        """A snapshot, rebuilt only when something changed (as a fleet link caches it)."""
        if self._snapshot is None or self._link_cut_at is not None:
            self._snapshot = self._build_state()
        return self._snapshot

    def _build_state(self) -> VehicleState:
        p = self._p
        age = 0.0 if self._link_cut_at is None else self._clock.monotonic() - self._link_cut_at
        return VehicleState(
            vehicle_id=self._id,
            system_id=self._system_id,
            time=self._clock.now(),
            lat_deg=p.lat_deg,
            lon_deg=p.lon_deg,
            alt_rel_m=p.alt_rel_m,
            ground_speed_m_s=p.ground_speed_m_s,
            battery_pct=max(0.0, min(100.0, p.battery_pct)),
            gps_fix_type=3,
            gps_satellites=12,
            mode=p.mode,
            armed=p.armed,
            system_status="ACTIVE" if p.armed else "STANDBY",
            home=GeoPoint(lat_deg=self._home[0], lon_deg=self._home[1]),
            mission_seq=p.seq if self._plan is not None else None,
            status_texts=self._texts,
            link=LinkQuality(connected=self._link_up, last_heard_age_s=age),
        )

    def _command(self, name: str) -> None:
        self._snapshot = None
        if not self._link_up:
            raise VehicleCommandError(self._id, name, "link down")
        self.commands.append(name)

    async def failsafe_settings(self) -> FailsafeSettings:
        self._command("failsafe_settings")
        return self._failsafes

    async def upload_plan(self, plan: FlightPlan) -> None:
        self._command("upload_plan")
        self._plan = plan
        self._p.seq = 0

    async def download_plan(self) -> FlightPlan:
        self._command("download_plan")
        if self._plan is None:
            raise VehicleCommandError(self._id, "download_plan", "no mission loaded")
        return self._plan

    async def set_mode(self, mode: str) -> None:
        self._command(f"set_mode {mode}")
        if mode not in _MODES:
            raise VehicleCommandError(self._id, f"set_mode {mode}", "unknown mode")
        if mode == "AUTO" and self._plan is None:
            raise VehicleCommandError(self._id, "set_mode AUTO", "no mission loaded")
        self._p.mode = mode
        self._p.orbit_angle_rad = None

    async def arm(self) -> None:
        self._command("arm")
        if self._p.mode not in {"GUIDED", "LOITER", "STABILIZE"}:
            raise VehicleCommandError(self._id, "arm", f"mode {self._p.mode} is not armable")
        if self._p.battery_pct < 20:
            raise VehicleCommandError(self._id, "arm", "PreArm: battery below 20%")
        self._p.armed = True

    async def takeoff(self, alt_rel_m: float) -> None:
        self._command("takeoff")
        if not (self._p.armed and self._p.mode == "GUIDED"):
            raise VehicleCommandError(self._id, "takeoff", "must be armed in GUIDED")
        self._p.takeoff_alt_m = alt_rel_m

    async def start_mission(self) -> None:
        self._command("start_mission")
        if not (self._p.armed and self._p.mode == "AUTO"):
            raise VehicleCommandError(self._id, "start_mission", "must be armed in AUTO")
        self._p.seq = 0

    async def rtl(self) -> None:
        await self.set_mode("RTL")

    async def land(self) -> None:
        await self.set_mode("LAND")

    # ----------------------------------------------------------------- physics

    async def _physics(self) -> None:
        last = self._clock.monotonic()
        while not self._stop.is_set():
            await self._clock.sleep(self._tick_s)
            now = self._clock.monotonic()
            self._step(now - last, now)
            last = now

    def _say(self, severity: int, text: str) -> None:
        item = StatusText(time=self._clock.now(), severity=severity, text=text)
        self._texts = (*self._texts, item)[-8:]
        log.info("%s: %s", self._id, text)

    def _step(self, dt: float, now: float) -> None:
        p = self._p
        if not p.armed and p.ground_speed_m_s == 0.0:
            return
        self._snapshot = None
        if not p.armed:
            p.ground_speed_m_s = 0.0
            return
        p.battery_pct -= self._profile.battery_use_pct_per_s * dt
        airborne = p.alt_rel_m > 0.5
        if airborne and p.mode not in {"RTL", "LAND"}:
            lost = self._link_cut_at is not None and now - self._link_cut_at > self._gcs_timeout_s
            if lost and self._failsafes.gcs_failsafe_enabled:
                self._say(2, "Failsafe: GCS, RTL")
                p.mode = "RTL"
            elif (
                p.battery_pct < self._battery_failsafe_pct
                and self._failsafes.battery_failsafe_enabled
            ):
                self._say(2, "Failsafe: battery low, RTL")
                p.mode = "RTL"
        p.ground_speed_m_s = 0.0
        if p.mode == "GUIDED" and p.takeoff_alt_m is not None:
            self._climb_to(p.takeoff_alt_m, dt)
        elif p.mode == "AUTO":
            self._auto(dt)
        elif p.mode == "RTL":
            if self._fly_to(self._home[0], self._home[1], dt):
                self._descend(dt)
        elif p.mode == "LAND":
            self._descend(dt)

    def _climb_to(self, alt_m: float, dt: float) -> bool:
        p = self._p
        rate = (
            self._profile.climb_rate_m_s if alt_m > p.alt_rel_m else self._profile.descent_rate_m_s
        )
        step = rate * dt
        if abs(alt_m - p.alt_rel_m) <= step:
            p.alt_rel_m = alt_m
            return True
        p.alt_rel_m += math.copysign(step, alt_m - p.alt_rel_m)
        return False

    def _descend(self, dt: float) -> None:
        p = self._p
        p.alt_rel_m = max(0.0, p.alt_rel_m - self._profile.descent_rate_m_s * dt)
        if p.alt_rel_m == 0.0:
            p.armed = False
            p.mode = "LAND" if p.mode == "LAND" else "RTL"
            p.takeoff_alt_m = None
            self._say(6, "Disarming motors")

    def _fly_to(self, lat_deg: float, lon_deg: float, dt: float) -> bool:
        p = self._p
        m_per_deg_lon = _M_PER_DEG_LAT * math.cos(math.radians(p.lat_deg))
        north = (lat_deg - p.lat_deg) * _M_PER_DEG_LAT
        east = (lon_deg - p.lon_deg) * m_per_deg_lon
        distance = math.hypot(north, east)
        speed = self._p.nav_speed_m_s or self._profile.cruise_speed_m_s
        step = speed * dt
        if distance <= step:
            p.lat_deg, p.lon_deg = lat_deg, lon_deg
            p.ground_speed_m_s = distance / dt if dt > 0 else 0.0
            return True
        p.lat_deg += north / distance * step / _M_PER_DEG_LAT
        p.lon_deg += east / distance * step / m_per_deg_lon
        p.ground_speed_m_s = speed
        return False

    def _auto(self, dt: float) -> None:
        p, plan = self._p, self._plan
        if plan is None or p.seq >= len(plan.items):
            return
        item = plan.items[p.seq]
        if item.kind is PlanItemKind.TAKEOFF:
            if self._climb_to(item.alt_rel_m, dt):
                p.seq += 1
        elif item.kind in (PlanItemKind.ROI, PlanItemKind.GIMBAL):
            p.seq += 1
        elif item.kind is PlanItemKind.SPEED:
            p.nav_speed_m_s = min(item.speed_m_s, self._profile.cruise_speed_m_s)
            p.seq += 1
        elif item.kind is PlanItemKind.WAYPOINT:
            at_alt = self._climb_to(item.alt_rel_m, dt)
            if self._fly_to(item.lat_deg, item.lon_deg, dt) and at_alt:
                p.seq += 1
        elif item.kind is PlanItemKind.ORBIT:
            self._climb_to(item.alt_rel_m, dt)
            self._orbit(item.lat_deg, item.lon_deg, item.radius_m, dt)
        elif item.kind is PlanItemKind.RTL:
            p.mode = "RTL"

    def _orbit(self, lat_deg: float, lon_deg: float, radius_m: float, dt: float) -> None:
        p = self._p
        m_per_deg_lon = _M_PER_DEG_LAT * math.cos(math.radians(lat_deg))
        north = (p.lat_deg - lat_deg) * _M_PER_DEG_LAT
        east = (p.lon_deg - lon_deg) * m_per_deg_lon
        if p.orbit_angle_rad is None and math.hypot(north, east) > radius_m + 1.0:
            angle = math.atan2(east, north)
            self._fly_to(
                lat_deg + radius_m * math.cos(angle) / _M_PER_DEG_LAT,
                lon_deg + radius_m * math.sin(angle) / m_per_deg_lon,
                dt,
            )
            return
        if p.orbit_angle_rad is None:
            p.orbit_angle_rad = math.atan2(east, north)
        p.orbit_angle_rad += self._profile.cruise_speed_m_s * dt / radius_m
        p.lat_deg = lat_deg + radius_m * math.cos(p.orbit_angle_rad) / _M_PER_DEG_LAT
        p.lon_deg = lon_deg + radius_m * math.sin(p.orbit_angle_rad) / m_per_deg_lon
        p.ground_speed_m_s = self._profile.cruise_speed_m_s


class LoopbackFleet:
    """A :class:`FleetView` over loopback vehicles."""

    def __init__(self, vehicles: list[LoopbackVehicle]) -> None:
        self._vehicles = {v.vehicle_id: v for v in vehicles}

    def vehicle_ids(self) -> list[str]:
        return list(self._vehicles)

    def vehicle(self, vehicle_id: str) -> LoopbackVehicle:
        return self._vehicles[vehicle_id]
