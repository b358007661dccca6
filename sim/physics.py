"""The flight model: a 3-D point mass with the limits of its profile, wind, battery and GPS.

The autopilot sets a :class:`Guidance` (a position to reach with speed limits, a velocity to
hold, or a descent to the ground) and :meth:`Airframe.step` integrates one tick. Power follows
the airspeed actually flown (wind counts) and the climb; the battery's voltage sags with
current and falls with charge used.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import Enum

from sim.scenario import GpsConfig, VehicleProfile, WindConfig

__all__ = ["Airframe", "Guidance", "GuidanceKind"]

G_M_S2 = 9.80665
_CELL_FULL_V = 4.2
_CELL_EMPTY_V = 3.5
_CELL_NOMINAL_V = 3.7
_CELL_RESISTANCE_OHM = 0.004
_VERTICAL_ACCEL_M_S2 = 3.0
_GPS_TAU_S = 30.0


class GuidanceKind(Enum):
    """What the autopilot asks of the airframe this tick."""

    IDLE = "idle"  # on the ground, motors stopped or spinning
    POSITION = "position"  # fly to (east, north, up) within the speed limits, then hold
    VELOCITY = "velocity"  # hold a ground velocity and climb rate
    DRIFT = "drift"  # hold altitude, no position control (ALT_HOLD without sticks)
    DESCEND = "descend"  # hold horizontal position, descend at a rate to the ground
    FALL = "fall"  # no thrust (motor failure)


@dataclass(slots=True)
class Guidance:
    """The autopilot's demand, in the vehicle's local frame (metres from home, up positive)."""

    kind: GuidanceKind = GuidanceKind.IDLE
    east_m: float = 0.0
    north_m: float = 0.0
    up_m: float = 0.0
    speed_m_s: float = 10.0
    climb_m_s: float = 2.5
    descent_m_s: float = 1.5
    vel_east_m_s: float = 0.0
    vel_north_m_s: float = 0.0
    vel_up_m_s: float = 0.0
    yaw_deg: float | None = None
    turn_accel_m_s2: float | None = None  # wing flight: lateral limit (bank), not accel_m_s2


class Airframe:
    """State and dynamics of one vehicle's body, battery and GPS receiver."""

    __slots__ = (
        "_capacity_mah",
        "_cruise_power_w",
        "_gps_err_e",
        "_gps_err_n",
        "_gust_e",
        "_gust_n",
        "_rng",
        "accel_e",
        "accel_n",
        "airspeed_m_s",
        "battery_mah_used",
        "battery_voltage_v",
        "current_a",
        "east_m",
        "energy_j",
        "gps",
        "gps_failed",
        "ground_up_m",
        "north_m",
        "power_w",
        "profile",
        "up_m",
        "vel_e",
        "vel_n",
        "vel_u",
        "wind",
        "yaw_deg",
        "yaw_rate_deg_s",
    )

    def __init__(
        self,
        profile: VehicleProfile,
        *,
        wind: WindConfig,
        gps: GpsConfig,
        rng: random.Random,
        heading_deg: float = 0.0,
        capacity_mah: float | None = None,
    ) -> None:
        self.profile = profile
        self.wind = wind
        self.gps = gps
        self._rng = rng
        self.east_m = self.north_m = self.up_m = 0.0
        self.ground_up_m = 0.0
        self.vel_e = self.vel_n = self.vel_u = 0.0
        self.accel_e = self.accel_n = 0.0
        self.yaw_deg = heading_deg % 360.0
        self.yaw_rate_deg_s = 0.0
        self.airspeed_m_s = 0.0
        self._gust_e = self._gust_n = 0.0
        self._gps_err_e = self._gps_err_n = 0.0
        self.gps_failed = False
        self._capacity_mah = capacity_mah or profile.battery_capacity_mah
        nominal_v = profile.battery_cells * _CELL_NOMINAL_V
        energy_wh = nominal_v * self._capacity_mah / 1000.0
        self._cruise_power_w = energy_wh * 60.0 / profile.endurance_min
        self.power_w = 0.0
        self.current_a = 0.0
        self.energy_j = 0.0
        self.battery_mah_used = 0.0
        self.battery_voltage_v = profile.battery_cells * _CELL_FULL_V

    # --- battery ---------------------------------------------------------------------------

    @property
    def capacity_mah(self) -> float:
        return self._capacity_mah

    @property
    def battery_remaining(self) -> float:
        """State of charge, 0..1."""
        return max(0.0, 1.0 - self.battery_mah_used / self._capacity_mah)

    def drain(self, fraction: float) -> None:
        """Fault injection: take ``fraction`` (0..1) of the capacity out of the battery now."""
        self.battery_mah_used = min(
            self._capacity_mah, self.battery_mah_used + fraction * self._capacity_mah
        )
        self._update_voltage()

    def _update_voltage(self) -> None:
        cells = self.profile.battery_cells
        ocv = _CELL_EMPTY_V + (_CELL_FULL_V - _CELL_EMPTY_V) * self.battery_remaining
        sag = self.current_a * _CELL_RESISTANCE_OHM * cells
        self.battery_voltage_v = max(0.0, cells * ocv - sag)

    def _power(self, airspeed: float, climb: float, armed: bool, on_ground: bool) -> float:
        if not armed:
            return 0.0
        p = self.profile
        if on_ground:
            return 0.08 * self._cruise_power_w  # motors spinning at idle
        below_wing = p.kind == "multirotor" or airspeed < p.transition_speed_m_s
        if below_wing:
            ratio = p.hover_power_ratio
            if p.kind == "multirotor":
                # translational lift makes cruise cheaper than hover; faster costs again
                x = airspeed / p.cruise_speed_m_s
                ratio = p.hover_power_ratio - (p.hover_power_ratio - 1.0) * min(x, 1.0) ** 2
                if x > 1.0:
                    ratio = 1.0 + 0.6 * (x - 1.0) ** 2
        else:
            x = airspeed / p.cruise_speed_m_s
            ratio = 1.0 + 0.5 * (x - 1.0) ** 2
        climb_w = max(0.0, climb) * self._cruise_power_w * 0.06
        return self._cruise_power_w * ratio + climb_w

    # --- dynamics --------------------------------------------------------------------------

    def step(self, dt: float, guidance: Guidance, *, armed: bool) -> None:
        """Advance ``dt`` seconds under ``guidance``."""
        p = self.profile
        wind_e, wind_n = self._wind(dt)
        on_ground = self.up_m <= self.ground_up_m + 0.05
        kind = guidance.kind
        if kind is GuidanceKind.IDLE or not armed:
            self.vel_e = self.vel_n = 0.0
            self.vel_u = min(0.0, self.vel_u - G_M_S2 * dt) if not on_ground else 0.0
            want_e = want_n = 0.0
            want_u = self.vel_u
        elif kind is GuidanceKind.FALL:
            want_e, want_n = wind_e, wind_n
            want_u = max(-25.0, self.vel_u - G_M_S2 * 0.7 * dt)
        else:
            want_e, want_n, want_u = self._demand(guidance)
        # horizontal: the autopilot leans against the wind; airspeed is capped by the airframe
        if kind not in (GuidanceKind.IDLE, GuidanceKind.FALL) and armed:
            if kind is GuidanceKind.DRIFT:
                want_e, want_n = wind_e, wind_n
            air_e, air_n = want_e - wind_e, want_n - wind_n
            air = math.hypot(air_e, air_n)
            if air > p.max_speed_m_s:
                k = p.max_speed_m_s / air
                want_e, want_n = air_e * k + wind_e, air_n * k + wind_n
            dv_e, dv_n = self._limit_dv(want_e - self.vel_e, want_n - self.vel_n, guidance, dt)
            self.accel_e, self.accel_n = dv_e / dt, dv_n / dt
            self.vel_e += dv_e
            self.vel_n += dv_n
            du = want_u - self.vel_u
            max_du = _VERTICAL_ACCEL_M_S2 * dt
            self.vel_u += max(-max_du, min(max_du, du))
            if on_ground and self.vel_u <= 0.0:
                self.vel_e = self.vel_n = 0.0
        elif kind is GuidanceKind.FALL:
            self.vel_e, self.vel_n, self.vel_u = want_e, want_n, want_u
            self.accel_e = self.accel_n = 0.0
        else:
            self.accel_e = self.accel_n = 0.0
        self.east_m += self.vel_e * dt
        self.north_m += self.vel_n * dt
        self.up_m += self.vel_u * dt
        if self.up_m <= self.ground_up_m:
            self.up_m = self.ground_up_m
            self.vel_u = max(0.0, self.vel_u)
            on_ground = True
        self._yaw(dt, guidance, armed and not on_ground)
        self.airspeed_m_s = math.hypot(self.vel_e - wind_e, self.vel_n - wind_n)
        if on_ground:
            self.airspeed_m_s = 0.0
        self.power_w = self._power(self.airspeed_m_s, self.vel_u, armed, on_ground)
        v = max(1.0, self.battery_voltage_v)
        self.current_a = self.power_w / v
        self.energy_j += self.power_w * dt
        self.battery_mah_used = min(
            self._capacity_mah, self.battery_mah_used + self.current_a * dt / 3.6
        )
        self._update_voltage()
        self._gps_walk(dt)

    def _limit_dv(self, dv_e: float, dv_n: float, g: Guidance, dt: float) -> tuple[float, float]:
        """The velocity change one tick allows: ``accel_m_s2`` in any direction, or on a wing
        ``accel_m_s2`` along the flight path and ``turn_accel_m_s2`` across it."""
        max_dv = self.profile.accel_m_s2 * dt
        speed = math.hypot(self.vel_e, self.vel_n)
        if g.turn_accel_m_s2 is None or speed < 1.0:
            dv = math.hypot(dv_e, dv_n)
            if dv > max_dv:
                dv_e, dv_n = dv_e * max_dv / dv, dv_n * max_dv / dv
            return dv_e, dv_n
        ue, un = self.vel_e / speed, self.vel_n / speed
        along = dv_e * ue + dv_n * un
        across = -dv_e * un + dv_n * ue
        along = max(-max_dv, min(max_dv, along))
        max_turn = g.turn_accel_m_s2 * dt
        across = max(-max_turn, min(max_turn, across))
        return along * ue - across * un, along * un + across * ue

    def _demand(self, g: Guidance) -> tuple[float, float, float]:
        p = self.profile
        if g.kind is GuidanceKind.VELOCITY:
            want_u = max(-p.descent_rate_m_s, min(p.climb_rate_m_s, g.vel_up_m_s))
            return g.vel_east_m_s, g.vel_north_m_s, want_u
        if g.kind is GuidanceKind.DESCEND:
            de, dn = g.east_m - self.east_m, g.north_m - self.north_m
            return de * 0.5, dn * 0.5, -min(g.descent_m_s, p.descent_rate_m_s)
        if g.kind is GuidanceKind.DRIFT:
            dz = g.up_m - self.up_m
            return 0.0, 0.0, max(-p.descent_rate_m_s, min(p.climb_rate_m_s, dz))
        de, dn = g.east_m - self.east_m, g.north_m - self.north_m
        dist = math.hypot(de, dn)
        speed = min(g.speed_m_s, p.max_speed_m_s, math.sqrt(2.0 * p.accel_m_s2 * 0.8 * dist))
        if dist > 1e-6:
            want_e, want_n = de / dist * speed, dn / dist * speed
        else:
            want_e = want_n = 0.0
        dz = g.up_m - self.up_m
        climb = min(g.climb_m_s, p.climb_rate_m_s)
        descent = min(g.descent_m_s, p.descent_rate_m_s)
        want_u = math.copysign(min(abs(dz), math.sqrt(2.0 * 2.0 * abs(dz))), dz)
        want_u = max(-descent, min(climb, want_u))
        return want_e, want_n, want_u

    def _yaw(self, dt: float, g: Guidance, flying: bool) -> None:
        target = g.yaw_deg
        if target is None and flying:
            speed = math.hypot(self.vel_e, self.vel_n)
            if speed > 1.0:
                target = math.degrees(math.atan2(self.vel_e, self.vel_n)) % 360.0
        if target is None or not flying:
            self.yaw_rate_deg_s = 0.0
            return
        diff = (target - self.yaw_deg + 540.0) % 360.0 - 180.0
        max_step = self.profile.yaw_rate_deg_s * dt
        step = max(-max_step, min(max_step, diff))
        self.yaw_deg = (self.yaw_deg + step) % 360.0
        self.yaw_rate_deg_s = step / dt

    def _wind(self, dt: float) -> tuple[float, float]:
        w = self.wind
        if w.gust_m_s > 0.0:
            a = math.exp(-dt / 5.0)
            s = w.gust_m_s * math.sqrt(1.0 - a * a)
            self._gust_e = a * self._gust_e + s * self._rng.gauss(0.0, 1.0)
            self._gust_n = a * self._gust_n + s * self._rng.gauss(0.0, 1.0)
        # "from" direction: a wind from the west (270) blows towards the east
        to = math.radians(w.direction_deg + 180.0)
        return (
            w.speed_m_s * math.sin(to) + self._gust_e,
            w.speed_m_s * math.cos(to) + self._gust_n,
        )

    def wind_velocity(self) -> tuple[float, float]:
        to = math.radians(self.wind.direction_deg + 180.0)
        return (
            self.wind.speed_m_s * math.sin(to) + self._gust_e,
            self.wind.speed_m_s * math.cos(to) + self._gust_n,
        )

    def _gps_walk(self, dt: float) -> None:
        sigma = self.gps.noise_m
        if sigma <= 0.0:
            return
        a = math.exp(-dt / _GPS_TAU_S)
        s = sigma * math.sqrt(1.0 - a * a)
        self._gps_err_e = a * self._gps_err_e + s * self._rng.gauss(0.0, 1.0)
        self._gps_err_n = a * self._gps_err_n + s * self._rng.gauss(0.0, 1.0)

    def gps_error_m(self) -> tuple[float, float]:
        """The receiver's current slowly wandering error (east, north), metres."""
        return self._gps_err_e, self._gps_err_n

    # --- attitude (derived from the acceleration a multirotor needs) -------------------------

    def attitude_rad(self) -> tuple[float, float, float]:
        """(roll, pitch, yaw) radians: tilt follows the horizontal acceleration demanded."""
        yaw = math.radians(self.yaw_deg)
        # body-frame acceleration: forward and right
        fwd = self.accel_n * math.cos(yaw) + self.accel_e * math.sin(yaw)
        right = -self.accel_n * math.sin(yaw) + self.accel_e * math.cos(yaw)
        pitch = -math.atan2(fwd, G_M_S2)
        roll = math.atan2(right, G_M_S2)
        return roll, pitch, yaw
