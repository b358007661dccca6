"""Pre-flight checks and the battery a plan needs.

Nothing here commands a vehicle (the failsafe read-back is handed in) or writes anything;
the controller audits and persists.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from missions.controller.errors import PreflightError, VehicleCommandError
from missions.controller.settings import ControllerSettings
from missions.controller.vehicle import FailsafeSettings, FlightPlan, PlanItemKind, VehicleLink
from missions.dispatch import VehicleProfile, great_circle_m
from skyeye.contracts import VehicleState

__all__ = ["battery_needed_pct", "preflight_checks"]


def battery_needed_pct(
    state: VehicleState, plan: FlightPlan, profile: VehicleProfile, *, on_station_s: float
) -> float:
    """Battery to fly the plan, stay on station, come home and land, plus the reserve."""
    lat, lon = state.lat_deg or 0.0, state.lon_deg or 0.0
    alt = state.alt_rel_m or 0.0
    distance_m = climb_m = hold_s = 0.0
    for item in plan.items:
        if item.kind in (PlanItemKind.WAYPOINT, PlanItemKind.ORBIT):
            distance_m += float(great_circle_m(lat, lon, item.lat_deg, item.lon_deg))
            lat, lon = item.lat_deg, item.lon_deg
        if item.kind in (PlanItemKind.TAKEOFF, PlanItemKind.WAYPOINT, PlanItemKind.ORBIT):
            climb_m += abs(item.alt_rel_m - alt)
            alt = item.alt_rel_m
        if item.kind is PlanItemKind.ORBIT:
            hold_s += on_station_s
    if state.home is not None:
        distance_m += float(great_circle_m(lat, lon, state.home.lat_deg, state.home.lon_deg))
    seconds = (
        distance_m / profile.cruise_speed_m_s
        + climb_m / profile.climb_rate_m_s
        + hold_s
        + alt / profile.descent_rate_m_s
    )
    return seconds * profile.battery_use_pct_per_s + profile.reserve_pct


async def preflight_checks(
    vehicle: VehicleLink,
    plan: FlightPlan,
    *,
    settings: ControllerSettings,
    profile: VehicleProfile,
    airborne: bool,
    read_failsafes: Callable[[], Awaitable[FailsafeSettings]],
) -> str:
    """Link, GPS, battery against the plan's need, mode, fence, failsafes; a summary or raise."""
    vid = vehicle.vehicle_id
    state = vehicle.state
    if not state.link.connected:
        raise PreflightError(vid, "link", f"no link for {state.link.last_heard_age_s:.1f} s")
    if state.gps_fix_type < 3 or state.gps_satellites < settings.min_gps_satellites:
        raise PreflightError(
            vid,
            "gps",
            f"fix type {state.gps_fix_type} with {state.gps_satellites} satellites "
            f"(need 3D fix and {settings.min_gps_satellites})",
        )
    if state.lat_deg is None or state.lon_deg is None:
        raise PreflightError(vid, "gps", "no position")
    needed = battery_needed_pct(state, plan, profile, on_station_s=settings.on_station_s)
    if state.battery_pct is None or state.battery_pct < needed:
        raise PreflightError(vid, "battery", f"{state.battery_pct}% < {needed:.0f}% the plan needs")
    if airborne and not state.armed:
        raise PreflightError(vid, "mode", "a re-tasking plan needs a flying vehicle")
    if not airborne and (state.armed or state.mode in ("RTL", "LAND", "AUTO")):
        raise PreflightError(vid, "mode", f"vehicle is {'armed' if state.armed else state.mode}")
    if plan.fence is None:
        raise PreflightError(vid, "fence", "the plan carries no fence")
    try:
        failsafes = await read_failsafes()
    except VehicleCommandError as error:
        raise PreflightError(
            vid, "failsafes", f"could not read them back: {error.reason}"
        ) from error
    missing = failsafes.missing()
    if missing:
        raise PreflightError(vid, "failsafes", f"{', '.join(missing)} off; refusing to launch")
    return (
        f"link, GPS {state.gps_satellites} sats, battery {state.battery_pct:.0f}% "
        f">= {needed:.0f}%, failsafes on, fence"
    )
