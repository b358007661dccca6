"""A simulated QuadPlane: ArduPlane 4.5's VTOL, over the same MAVLink as :mod:`sim.vehicle`.

It reports ``MAV_TYPE_VTOL_QUADROTOR`` (ArduPlane's ``Q_MAV_TYPE`` 20) and ArduPlane's custom
mode numbers. It hovers on its lift motors (MC) and flies on its wing (FW): a wing mode or a
waypoint starts a transition that ends ``Q_TRANSITION_MS`` after the airspeed passed
``AIRSPEED_MIN``; a VTOL mode or a vertical landing starts a back transition that ends once the
airspeed fell below half of it. EXTENDED_SYS_STATE reports MC / TRANSITION_TO_FW / FW /
TRANSITION_TO_MC. On the wing it flies at ``AIRSPEED_CRUISE`` and circles (LOITER, GUIDED
arrival, RTL at home, loiter items) no tighter than its bank limit ``ROLL_LIMIT_DEG`` allows.

Commands as ArduPlane answers them: NAV_TAKEOFF is a VTOL takeoff in GUIDED (COMMAND_INT only
in MAV_FRAME_LOCAL_OFFSET_NED, z down), DO_REPOSITION flies GUIDED to a point and loiters
there, DO_VTOL_TRANSITION only in AUTO, NAV_RETURN_TO_LAUNCH is RTL, NAV_LOITER_UNLIM is
LOITER, MISSION_START with a first/last item is DENIED, NAV_LAND is UNSUPPORTED (a QuadPlane
lands in QLAND or QRTL); SET_POSITION_TARGET_GLOBAL_INT changes only the altitude in GUIDED.
Missions fly NAV_VTOL_TAKEOFF (and NAV_TAKEOFF as one), waypoints and loiters on the wing,
NAV_VTOL_LAND and NAV_LAND as a vertical landing, DO_VTOL_TRANSITION; NAV_RETURN_TO_LAUNCH
switches to RTL, and a finished mission ends in RTL. RTL returns on the wing at
``ALT_HOLD_RTL`` and circles home; with ``Q_RTL_MODE`` 1 or 2 it turns into QRTL there (3: RTL
is always QRTL). QRTL returns on the wing when far, then transitions back and lands vertically.

Failsafes keep the parameter names fleet reads (FS_GCS_ENABLE, BATT_FS_*_ACT, FENCE_*), with
ArduPlane's actions: GCS loss RTL (QLAND when hovering in a Q mode; AUTO carries on with
FS_LONG_ACTN 0), battery 1 RTL, 2 and 4 QLAND, 3 terminate; a fence breach RTL (or QLAND).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any, ClassVar

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.mission import MissionItem
from sim.params import QUADPLANE_PARAM_SPECS
from sim.physics import G_M_S2, Guidance, GuidanceKind
from sim.vehicle import LandedState, SimVehicle, _Cmd

__all__ = ["PlaneMode", "QuadPlaneVehicle"]

M = mavlink
_MC = int(M.MAV_VTOL_STATE_MC)
_FW = int(M.MAV_VTOL_STATE_FW)
_TO_FW = int(M.MAV_VTOL_STATE_TRANSITION_TO_FW)
_TO_MC = int(M.MAV_VTOL_STATE_TRANSITION_TO_MC)
_STRAIGHT_AHEAD_M = 100_000.0


class PlaneMode(IntEnum):
    """ArduPlane custom modes this simulator flies (ArduPlane's numbers)."""

    MANUAL = 0
    CIRCLE = 1
    STABILIZE = 2
    FBWA = 5
    FBWB = 6
    CRUISE = 7
    AUTO = 10
    RTL = 11
    LOITER = 12
    GUIDED = 15
    QSTABILIZE = 17
    QHOVER = 18
    QLOITER = 19
    QLAND = 20
    QRTL = 21


_PILOT_WING = frozenset(
    {PlaneMode.MANUAL, PlaneMode.STABILIZE, PlaneMode.FBWA, PlaneMode.FBWB, PlaneMode.CRUISE}
)
_Q_HOVER = frozenset({PlaneMode.QSTABILIZE, PlaneMode.QHOVER, PlaneMode.QLOITER})
_PLANE_GPS_MODES: frozenset[IntEnum] = frozenset(
    {
        PlaneMode.AUTO,
        PlaneMode.RTL,
        PlaneMode.LOITER,
        PlaneMode.CIRCLE,
        PlaneMode.GUIDED,
        PlaneMode.QLOITER,
        PlaneMode.QRTL,
    }
)
_NOT_ARMABLE = frozenset({PlaneMode.QLAND, PlaneMode.QRTL})


class _Demand(Enum):
    """What the autopilot wants of the airframe; the transitions get it there."""

    NONE = "none"  # on the ground
    WING = "wing"  # fly on the wing to a point, circling it when a radius is set
    HOVER = "hover"  # hover to a point
    DRIFT = "drift"  # hover at an altitude without position hold (QHOVER, QSTABILIZE)
    LAND = "land"  # hover over a point and descend to the ground


class _Approach(IntEnum):
    WING = 0
    HOVER = 1
    LAND = 2


@dataclass(slots=True)
class _Target:
    kind: _Demand = _Demand.NONE
    east_m: float = 0.0
    north_m: float = 0.0
    up_m: float = 0.0
    radius_m: float | None = None  # WING: circle at this radius (negative: counter-clockwise)


class QuadPlaneVehicle(SimVehicle):
    """An ArduPlane QuadPlane. Same constructor as :class:`~sim.vehicle.SimVehicle`."""

    MAV_TYPE: ClassVar[int] = M.MAV_TYPE_VTOL_QUADROTOR
    AUTO_MODE: ClassVar[IntEnum] = PlaneMode.AUTO
    GUIDED_MODE: ClassVar[IntEnum] = PlaneMode.GUIDED
    RTL_MODE: ClassVar[IntEnum] = PlaneMode.RTL
    LAND_MODE: ClassVar[IntEnum] = PlaneMode.QLAND
    GPS_MODES: ClassVar[frozenset[IntEnum]] = _PLANE_GPS_MODES
    PARAM_SPECS = QUADPLANE_PARAM_SPECS
    TAKEOFF_COMMANDS: ClassVar[frozenset[int]] = frozenset(
        {M.MAV_CMD_NAV_TAKEOFF, M.MAV_CMD_NAV_VTOL_TAKEOFF}
    )
    MISSION_COMMANDS: ClassVar[frozenset[int]] = frozenset(
        {M.MAV_CMD_NAV_VTOL_TAKEOFF, M.MAV_CMD_NAV_VTOL_LAND, M.MAV_CMD_DO_VTOL_TRANSITION}
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        own = kwargs.get("params") or {}
        if "AIRSPEED_CRUISE" not in own:
            self.params.set("AIRSPEED_CRUISE", self.profile.cruise_speed_m_s)
        if "AIRSPEED_MIN" not in own:
            self.params.set("AIRSPEED_MIN", math.ceil(self.profile.transition_speed_m_s))
        self.mode = PlaneMode.MANUAL
        self._vtol = _MC
        self._transition_s = 0.0
        self._target = _Target()
        self._stop_en: tuple[float, float] | None = None
        self._guided_vtol = False
        self._guided_radius_m: float | None = None
        self._auto_vtol = False
        self._approach = _Approach.WING
        self._approach_land = True
        self._approach_up = (0.0, 0.0)  # (on the wing, hovering)
        self._loiter_last: float | None = None

    # --- reported state ------------------------------------------------------------------

    @property
    def vtol_state(self) -> int:
        return self._vtol

    @property
    def hovering(self) -> bool:
        """On the lift motors only (MAV_VTOL_STATE_MC)."""
        return self._vtol == _MC

    # --- parameters as speeds and distances -----------------------------------------------

    def _nav_speed(self) -> float:
        return min(self.params["Q_WP_SPEED"] / 100.0, self.profile.max_speed_m_s)

    def _climb(self) -> float:
        return min(self.params["Q_WP_SPEED_UP"] / 100.0, self.profile.climb_rate_m_s)

    def _descent(self) -> float:
        return min(self.params["Q_WP_SPEED_DN"] / 100.0, self.profile.descent_rate_m_s)

    def _land_rate(self) -> float:
        above = self.air.up_m - self.air.ground_up_m
        if above > self.params["Q_LAND_FINAL_ALT"]:
            return self._descent()
        return self.params["Q_LAND_SPEED"] / 100.0

    def _airspeed(self) -> float:
        cruise = self._speed_override_m_s or self.params["AIRSPEED_CRUISE"]
        return max(self.params["AIRSPEED_MIN"], min(cruise, self.profile.max_speed_m_s))

    def _turn_accel(self) -> float:
        return G_M_S2 * math.tan(math.radians(self.params["ROLL_LIMIT_DEG"]))

    def _circle_radius(self, radius_m: float) -> float:
        """The radius flown for a requested one: no tighter than the bank limit allows."""
        tightest = self._airspeed() ** 2 / self._turn_accel()
        return math.copysign(max(abs(radius_m), tightest), radius_m or 1.0)

    def _loiter_radius(self) -> float:
        return self._circle_radius(self.params["WP_LOITER_RAD"])

    def _stop_distance(self) -> float:
        speed = math.hypot(self.air.vel_e, self.air.vel_n)
        return speed * speed / (2.0 * self.profile.accel_m_s2)

    # --- modes -----------------------------------------------------------------------------

    def set_mode(self, mode: int, *, reason: str = "GCS") -> bool:
        """Change flight mode as ArduPlane would; False when the mode refuses."""
        try:
            new = PlaneMode(mode)
        except ValueError:
            return False
        if new in _PLANE_GPS_MODES and self.air.gps_failed and self.armed:
            self.statustext(M.MAV_SEVERITY_WARNING, f"Mode change to {new.name} failed: no GPS")
            return False
        if new is PlaneMode.AUTO and not self._enter_auto():
            return False
        if new is PlaneMode.RTL and int(self.params["Q_RTL_MODE"]) == 3:
            new = PlaneMode.QRTL
        self.mode = new
        if new is not PlaneMode.AUTO:
            self._speed_override_m_s = None
        self._enter(new)
        self.log.debug("mode %s (%s)", self.mode.name, reason)
        self.send(self._heartbeat())
        return True

    def _enter(self, mode: PlaneMode) -> None:
        a = self.air
        here_e, here_n, up = a.east_m, a.north_m, a.up_m
        flying = self.armed and not self.on_ground
        self._guided_vtol = False
        if not flying and mode is not PlaneMode.AUTO:
            self._target = _Target()
        elif mode in _PILOT_WING:
            yaw = math.radians(a.yaw_deg)
            ahead_e = here_e + _STRAIGHT_AHEAD_M * math.sin(yaw)
            ahead_n = here_n + _STRAIGHT_AHEAD_M * math.cos(yaw)
            self._target = _Target(_Demand.WING, ahead_e, ahead_n, up)
        elif mode in (PlaneMode.LOITER, PlaneMode.CIRCLE):
            self._target = _Target(_Demand.WING, here_e, here_n, up, self._loiter_radius())
        elif mode is PlaneMode.GUIDED:
            self._guided_radius_m = None
            if self.hovering and self.params["Q_GUIDED_MODE"]:
                self._target = _Target(_Demand.HOVER, *self._stop_point(), up)
            else:
                self._target = _Target(_Demand.WING, here_e, here_n, up, self._loiter_radius())
        elif mode is PlaneMode.RTL:
            self._enter_rtl()
        elif mode is PlaneMode.QRTL:
            dest = self._rally_or_home()
            hover_up = max(up, a.ground_up_m + self.params["Q_RTL_ALT"])
            self._start_approach(dest, wing_up=max(up, hover_up), hover_up=hover_up, land=True)
        elif mode is PlaneMode.QLAND:
            self._target = _Target(_Demand.LAND, *self._stop_point(), a.ground_up_m)
        elif mode is PlaneMode.QLOITER:
            self._target = _Target(_Demand.HOVER, *self._stop_point(), up)
        elif mode in _Q_HOVER:
            self._target = _Target(_Demand.DRIFT, here_e, here_n, up)

    def _stop_point(self) -> tuple[float, float]:
        a = self.air
        speed = math.hypot(a.vel_e, a.vel_n)
        if speed < 0.5:
            return a.east_m, a.north_m
        d = self._stop_distance()
        return a.east_m + a.vel_e / speed * d, a.north_m + a.vel_n / speed * d

    def _enter_rtl(self) -> None:
        a = self.air
        self._rtl_dest = self._rally_or_home()
        rtl_cm = self.params["ALT_HOLD_RTL"]
        up = a.up_m if rtl_cm < 0 else rtl_cm / 100.0
        if self.params["FENCE_ENABLE"] and int(self.params["FENCE_TYPE"]) & 1:
            up = min(up, self.params["FENCE_ALT_MAX"] - 2.0)
        radius = self.params["RTL_RADIUS"] or self.params["WP_LOITER_RAD"]
        self._rtl_up = max(up, a.ground_up_m + self.params["Q_RTL_ALT"])
        self._target = _Target(
            _Demand.WING, *self._rtl_dest, self._rtl_up, self._circle_radius(radius)
        )
        if self.params["Q_RTL_MODE"] and self._near_rtl_dest():
            self.set_mode(PlaneMode.QRTL, reason="RTL at home")

    def _near_rtl_dest(self) -> bool:
        a = self.air
        dist = math.hypot(self._rtl_dest[0] - a.east_m, self._rtl_dest[1] - a.north_m)
        return dist <= abs(self._target.radius_m or 0.0) * 1.5

    def _mode_armable(self) -> bool:
        return self.mode not in _NOT_ARMABLE

    def arm(self, *, force: bool = False) -> int:
        """Arm as ArduPlane does; the vehicle then waits on the ground for a takeoff."""
        result = super().arm(force=force)
        if result == M.MAV_RESULT_ACCEPTED and self.mode is not PlaneMode.AUTO:
            self._vtol = _MC
            self._enter(PlaneMode(self.mode))
        return result

    def _finish_mission(self) -> None:
        super()._finish_mission()
        if self.armed and not self.on_ground and self.mode is PlaneMode.AUTO:
            self.set_mode(PlaneMode.RTL, reason="mission complete")

    # --- takeoff and landing ---------------------------------------------------------------

    def takeoff(self, alt_rel_m: float) -> int:
        """A VTOL takeoff in GUIDED (ArduPlane's do_user_takeoff)."""
        if not math.isfinite(alt_rel_m) or not 0.0 < alt_rel_m <= 10_000.0:
            return int(M.MAV_RESULT_DENIED)
        refusal = None
        if self.mode is not PlaneMode.GUIDED:
            refusal = "User Takeoff only in GUIDED mode"
        elif not self.armed:
            refusal = "Must be armed for takeoff"
        elif not self.on_ground:
            refusal = "Already flying - no takeoff"
        if refusal is not None:
            self.statustext(M.MAV_SEVERITY_INFO, refusal)
            return int(M.MAV_RESULT_FAILED)
        a = self.air
        self._guided_vtol = True
        self._target = _Target(_Demand.HOVER, a.east_m, a.north_m, a.ground_up_m + alt_rel_m)
        self.landed_state = LandedState.TAKEOFF
        return int(M.MAV_RESULT_ACCEPTED)

    def _start_approach(
        self, dest: tuple[float, float], *, wing_up: float, hover_up: float, land: bool
    ) -> None:
        """Fly to ``dest`` on the wing when far, hover the last stretch, then land (or hold)."""
        a = self.air
        dist = math.hypot(dest[0] - a.east_m, dest[1] - a.north_m)
        close = dist <= 1.5 * abs(self._loiter_radius())
        self._approach = _Approach.HOVER if close and self.hovering else _Approach.WING
        self._approach_land = land
        self._approach_up = (wing_up, hover_up)
        self._target = _Target(_Demand.HOVER, dest[0], dest[1], hover_up)
        self._approach_step(dest)

    def _approach_step(self, dest: tuple[float, float]) -> None:
        a = self.air
        dist = math.hypot(dest[0] - a.east_m, dest[1] - a.north_m)
        wing_up, hover_up = self._approach_up
        if self._approach is _Approach.WING:
            if dist <= self._stop_distance() + 30.0:
                self._approach = _Approach.HOVER
            else:
                self._target = _Target(_Demand.WING, dest[0], dest[1], wing_up)
                return
        if self._approach is _Approach.HOVER:
            self._target = _Target(_Demand.HOVER, dest[0], dest[1], hover_up)
            if self.hovering and dist < 2.0 and self._approach_land:
                self._approach = _Approach.LAND
        if self._approach is _Approach.LAND:
            self._target = _Target(_Demand.LAND, dest[0], dest[1], a.ground_up_m)

    # --- the autopilot, each tick ----------------------------------------------------------

    def _autopilot(self, dt: float) -> None:
        mode = self.mode
        if mode is PlaneMode.AUTO:
            self._auto_step(dt)
        elif mode is PlaneMode.RTL:
            if self.params["Q_RTL_MODE"] and self._near_rtl_dest():
                self.set_mode(PlaneMode.QRTL, reason="RTL at home")
        elif mode is PlaneMode.QRTL or (mode is PlaneMode.GUIDED and self._guided_approach()):
            self._approach_step((self._target.east_m, self._target.north_m))
        self._fly(dt)
        if self.landed_state is LandedState.TAKEOFF:
            t = self._target
            if t.kind is not _Demand.HOVER or self.air.up_m >= t.up_m - 0.5:
                self.landed_state = LandedState.IN_AIR

    def _guided_approach(self) -> bool:
        return bool(self.params["Q_GUIDED_MODE"]) and self._guided_radius_m is not None

    def _fly(self, dt: float) -> None:
        """Turn the demand into guidance, through a transition when the flight phase changes."""
        t = self._target
        if t.kind is _Demand.NONE or (t.kind is _Demand.WING and self.on_ground):
            return
        if t.kind is _Demand.WING:
            self._transition_to_wing(dt)
            self._guidance = self._wing_guidance(t)
            return
        if self._vtol in (_FW, _TO_FW):
            self._vtol = _TO_MC
            self._stop_en = self._stop_point()
            self.statustext(M.MAV_SEVERITY_INFO, "Transition to VTOL started")
        if self._vtol == _TO_MC:
            if self.air.airspeed_m_s < 0.5 * self.params["AIRSPEED_MIN"]:
                self._vtol = _MC
                self.statustext(M.MAV_SEVERITY_INFO, "Transition to VTOL done")
            else:
                stop_e, stop_n = self._stop_en or self._stop_point()
                self._goto(stop_e, stop_n, self.air.up_m)
                return
        if t.kind is _Demand.LAND:
            if self._guidance.kind is GuidanceKind.DESCEND:
                self._guidance.descent_m_s = self._land_rate()
            else:
                self._start_land(t.east_m, t.north_m)
        elif t.kind is _Demand.DRIFT:
            self._guidance = Guidance(kind=GuidanceKind.DRIFT, up_m=t.up_m)
        else:
            self._goto(t.east_m, t.north_m, t.up_m)

    def _transition_to_wing(self, dt: float) -> None:
        if self._vtol in (_MC, _TO_MC):
            self._vtol = _TO_FW
            self._transition_s = 0.0
            self.statustext(M.MAV_SEVERITY_INFO, f"Transition airspeed {self.air.airspeed_m_s:.1f}")
        if self._vtol == _TO_FW and self.air.airspeed_m_s >= self.params["AIRSPEED_MIN"]:
            self._transition_s += dt
            if self._transition_s * 1000.0 >= self.params["Q_TRANSITION_MS"]:
                self._vtol = _FW
                self.statustext(M.MAV_SEVERITY_INFO, "Transition done")

    def _wing_guidance(self, t: _Target) -> Guidance:
        """Velocity on the wing: to the point, or round it; the ground track is held in wind."""
        a = self.air
        de, dn = t.east_m - a.east_m, t.north_m - a.north_m
        dist = math.hypot(de, dn)
        if dist < 1e-6:
            yaw = math.radians(a.yaw_deg)
            dir_e, dir_n = math.sin(yaw), math.cos(yaw)
        elif t.radius_m is None or dist > abs(t.radius_m) * 2.0:
            dir_e, dir_n = de / dist, dn / dist
        else:
            radius = abs(t.radius_m)
            out_e, out_n = -de / dist, -dn / dist  # centre → vehicle
            sign = -1.0 if t.radius_m < 0 else 1.0  # clockwise for a positive radius
            tan_e, tan_n = sign * out_n, -sign * out_e
            pull = max(-1.0, min(1.0, (dist - radius) / (0.5 * radius)))
            dir_e, dir_n = tan_e - pull * out_e, tan_n - pull * out_n
            norm = math.hypot(dir_e, dir_n)
            dir_e, dir_n = dir_e / norm, dir_n / norm
        airspeed = self._airspeed()
        wind_e, wind_n = a.wind_velocity()
        along = dir_e * wind_e + dir_n * wind_n
        across2 = wind_e * wind_e + wind_n * wind_n - along * along
        ground = along + math.sqrt(max(0.0, airspeed * airspeed - across2))
        climb = max(
            -self.profile.descent_rate_m_s,
            min(self.profile.climb_rate_m_s, 0.5 * (t.up_m - a.up_m)),
        )
        return Guidance(
            kind=GuidanceKind.VELOCITY,
            vel_east_m_s=dir_e * ground,
            vel_north_m_s=dir_n * ground,
            vel_up_m_s=climb,
            turn_accel_m_s2=self._turn_accel(),
        )

    # --- AUTO ------------------------------------------------------------------------------

    def _start_nav(self, item: MissionItem) -> None:
        a = self.air
        cmd = item.command
        self._nav_reached_s = None
        self._loiter_last = None
        self._loiter_done_rad = 0.0
        if cmd in self.TAKEOFF_COMMANDS:
            if self.on_ground:
                self.landed_state = LandedState.TAKEOFF
            up = self._alt_to_up(item.z, item.frame, *self.position[:2])
            up = max(up, a.ground_up_m + 1.0)
            self._target = _Target(_Demand.HOVER, a.east_m, a.north_m, up)
        elif cmd == M.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            self.set_mode(PlaneMode.RTL, reason="mission")
        elif cmd in (M.MAV_CMD_NAV_LAND, M.MAV_CMD_NAV_VTOL_LAND):
            dest = self._target_en(item.lat_deg, item.lon_deg)
            self._start_approach(dest, wing_up=a.up_m, hover_up=a.up_m, land=True)
        else:
            e, n = self._target_en(item.lat_deg, item.lon_deg)
            up = self._alt_to_up(item.z, item.frame, item.lat_deg, item.lon_deg)
            if item.z == 0.0 and item.frame in (
                M.MAV_FRAME_GLOBAL_RELATIVE_ALT,
                M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
            ):
                up = a.up_m
            if self._auto_vtol:
                self._target = _Target(_Demand.HOVER, e, n, up)
            elif cmd in (
                M.MAV_CMD_NAV_LOITER_UNLIM,
                M.MAV_CMD_NAV_LOITER_TURNS,
                M.MAV_CMD_NAV_LOITER_TIME,
            ):
                radius = item.param3 or self.params["WP_LOITER_RAD"]
                self._target = _Target(_Demand.WING, e, n, up, self._circle_radius(radius))
            else:
                self._target = _Target(_Demand.WING, e, n, up)

    def _nav_done(self, item: MissionItem, dt: float) -> bool:
        a = self.air
        t = self._target
        cmd = item.command
        if cmd in self.TAKEOFF_COMMANDS:
            return self.hovering and a.up_m >= t.up_m - 0.5
        if cmd in (M.MAV_CMD_NAV_LAND, M.MAV_CMD_NAV_VTOL_LAND):
            dest = self._target_en(item.lat_deg, item.lon_deg)
            self._approach_step(dest)
            if self._approach is _Approach.LAND:
                self._auto_land = True
            return False
        if cmd == M.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            return False
        dist = math.hypot(t.east_m - a.east_m, t.north_m - a.north_m)
        if t.kind is _Demand.HOVER:
            reached = self.hovering and dist <= 2.0 and abs(t.up_m - a.up_m) <= 1.0
        elif t.radius_m is None:
            reached = dist <= (item.param2 if item.param2 > 0 else self.params["WP_RADIUS"])
        else:
            reached = abs(dist - abs(t.radius_m)) <= 20.0
        if self._nav_reached_s is None:
            if not reached:
                return False
            self._nav_reached_s = self.t_s
        if cmd == M.MAV_CMD_NAV_LOITER_TIME:
            return self.t_s - self._nav_reached_s >= item.param1
        if cmd == M.MAV_CMD_NAV_LOITER_TURNS:
            self._count_turn(t)
            return self._loiter_done_rad >= 2.0 * math.pi * max(item.param1, 0.0)
        return bool(cmd != M.MAV_CMD_NAV_LOITER_UNLIM)

    def _count_turn(self, t: _Target) -> None:
        a = self.air
        angle = math.atan2(a.north_m - t.north_m, a.east_m - t.east_m)
        if self._loiter_last is not None:
            step = (angle - self._loiter_last + math.pi) % (2.0 * math.pi) - math.pi
            self._loiter_done_rad += abs(step)
        self._loiter_last = angle

    def _do_command(self, item: MissionItem) -> None:
        if item.command != M.MAV_CMD_DO_VTOL_TRANSITION:
            super()._do_command(item)
            return
        if int(item.param1) in (_MC, _FW):
            self._auto_vtol = int(item.param1) == _MC
        self.send(M.MAVLink_mission_item_reached_message(item.seq))

    # --- failsafes ---------------------------------------------------------------------------

    def _failsafe_action(self, action: int, what: str, *, gcs: bool = False) -> None:
        """ArduPlane's actions: GCS loss RTL (QLAND in a hover mode, AUTO carries on with
        FS_LONG_ACTN 0); battery 1 RTL, 2/4/6 QLAND, 3 and 5 terminate."""
        if action == 0:
            return
        if gcs:
            if self.mode is PlaneMode.AUTO and not self.params["FS_LONG_ACTN"]:
                return
            want = PlaneMode.QLAND if self.mode in _Q_HOVER else PlaneMode.RTL
        elif action in (3, 5):
            self.statustext(M.MAV_SEVERITY_EMERGENCY, f"{what} failsafe: terminate")
            self.disarm(force=True, reason="terminate")
            return
        else:
            want = PlaneMode.RTL if action == 1 else PlaneMode.QLAND
        self._failsafe_switch(want, what)

    def _fence_action(self, *, land: bool) -> None:
        self._failsafe_switch(PlaneMode.QLAND if land else PlaneMode.RTL, "Fence")

    def _failsafe_switch(self, want: PlaneMode, what: str) -> None:
        if self.mode in (PlaneMode.QLAND, want) or (
            want is PlaneMode.RTL and self.mode is PlaneMode.QRTL
        ):
            return
        if not self.set_mode(want, reason=f"{what} failsafe"):
            self.set_mode(PlaneMode.QLAND, reason=f"{what} failsafe")

    # --- commands ----------------------------------------------------------------------------

    def _command_result(self, cmd: _Cmd) -> int:
        handler = _PLANE_COMMANDS.get(cmd.command)
        return handler(self, cmd) if handler is not None else super()._command_result(cmd)

    def _cmd_plane_takeoff(self, c: _Cmd) -> int:
        if c.is_int:
            if c.frame != M.MAV_FRAME_LOCAL_OFFSET_NED:
                return int(M.MAV_RESULT_DENIED)
            return self.takeoff(-c.z)
        return self.takeoff(c.z)

    def _cmd_unsupported(self, c: _Cmd) -> int:
        return int(M.MAV_RESULT_UNSUPPORTED)

    def _cmd_plane_mission_start(self, c: _Cmd) -> int:
        if c.p1 != 0.0 or c.p2 != 0.0:
            return int(M.MAV_RESULT_DENIED)
        if self.mode is PlaneMode.AUTO:
            return int(M.MAV_RESULT_ACCEPTED)
        return int(M.MAV_RESULT_ACCEPTED if self.set_mode(PlaneMode.AUTO) else M.MAV_RESULT_FAILED)

    def _cmd_loiter_unlim(self, c: _Cmd) -> int:
        ok = self.set_mode(PlaneMode.LOITER)
        return int(M.MAV_RESULT_ACCEPTED if ok else M.MAV_RESULT_FAILED)

    def _cmd_vtol_transition(self, c: _Cmd) -> int:
        if self.mode is not PlaneMode.AUTO:
            self.statustext(M.MAV_SEVERITY_NOTICE, "VTOL transition only in AUTO")
            return int(M.MAV_RESULT_FAILED)
        state = int(c.p1) if c.p1 == int(c.p1) else -1
        if state not in (_MC, _FW):
            self.statustext(M.MAV_SEVERITY_NOTICE, "Invalid VTOL mode")
            return int(M.MAV_RESULT_FAILED)
        self._auto_vtol = state == _MC
        self._nav_started = False
        return int(M.MAV_RESULT_ACCEPTED)

    def _cmd_plane_change_speed(self, c: _Cmd) -> int:
        if self.mode not in (PlaneMode.GUIDED, PlaneMode.AUTO):
            return int(M.MAV_RESULT_FAILED)
        return self._cmd_change_speed(c)

    def _reposition(
        self, east: float, north: float, up: float, speed: float | None, c: _Cmd
    ) -> None:
        radius = c.p3 if math.isfinite(c.p3) and c.p3 > 0 else self.params["WP_LOITER_RAD"]
        if math.isfinite(c.p4) and c.p4 != 0:
            radius = -radius
        self._guided_vtol = False
        self._guided_radius_m = self._circle_radius(radius)
        if self.params["Q_GUIDED_MODE"]:
            self._start_approach((east, north), wing_up=up, hover_up=up, land=False)
        else:
            self._target = _Target(_Demand.WING, east, north, up, self._guided_radius_m)

    def handle(self, msg: Any) -> None:
        if msg.get_type() != "SET_POSITION_TARGET_GLOBAL_INT":
            super().handle(msg)
            return
        if msg.target_system not in (0, self.system_id) or self.mode is not PlaneMode.GUIDED:
            return
        if msg.type_mask & 0b100 or not math.isfinite(msg.alt):  # altitude ignored
            return
        lat, lon = msg.lat_int * 1e-7, msg.lon_int * 1e-7
        self._target.up_m = self._alt_to_up(msg.alt, msg.coordinate_frame, lat, lon)
        self.statustext(M.MAV_SEVERITY_INFO, f"Change alt to {self._target.up_m:.1f}")


_PLANE_COMMANDS = {
    M.MAV_CMD_NAV_TAKEOFF: QuadPlaneVehicle._cmd_plane_takeoff,
    M.MAV_CMD_NAV_LAND: QuadPlaneVehicle._cmd_unsupported,
    M.MAV_CMD_MISSION_START: QuadPlaneVehicle._cmd_plane_mission_start,
    M.MAV_CMD_NAV_LOITER_UNLIM: QuadPlaneVehicle._cmd_loiter_unlim,
    M.MAV_CMD_DO_VTOL_TRANSITION: QuadPlaneVehicle._cmd_vtol_transition,
    M.MAV_CMD_DO_CHANGE_SPEED: QuadPlaneVehicle._cmd_plane_change_speed,
}
