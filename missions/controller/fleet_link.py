"""The controller over ``fleet``: a :class:`VehicleLink` for every ``fleet.Vehicle``.

Plans become MISSION_ITEM_INTs the ArduPilot way: item 0 is the home placeholder the
autopilot overwrites, so the vehicle's mission sequence is one ahead of the plan's index
(``state.mission_seq`` is given back in plan indices). ``orbit`` is NAV_LOITER_TURNS with
the most turns the autopilot accepts, ``roi`` is DO_SET_ROI_LOCATION (gimbal on the point),
``speed`` is DO_CHANGE_SPEED (ground speed), ``gimbal`` is DO_GIMBAL_MANAGER_PITCHYAW (pitch,
yaw straight ahead); a ``roi`` at 0°, 0° ends the ROI, as ArduPilot reads it.
The fence is ArduPilot's cylinder: FENCE_RADIUS, FENCE_ALT_MAX, FENCE_TYPE (altitude and
circle) and FENCE_ENABLE, set as parameters and read back. Every fleet error becomes a
:class:`VehicleCommandError` carrying the fleet's own sentence.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from pymavlink.dialects.v20 import ardupilotmega as mavlink

import fleet
from missions.controller.errors import VehicleCommandError
from missions.controller.vehicle import (
    FailsafeSettings,
    FenceSpec,
    FlightPlan,
    PlanItem,
    PlanItemKind,
)
from skyeye.contracts import VehicleState

__all__ = ["FleetLinks", "VehicleOverFleet", "plan_from_items", "plan_to_items"]

T = TypeVar("T")
ORBIT_TURNS = 255.0
_FENCE_ALT_AND_CIRCLE = 3.0
_GROUND_SPEED = 1.0
_HOME = fleet.MissionItem(command=mavlink.MAV_CMD_NAV_WAYPOINT)


def plan_to_items(plan: FlightPlan) -> list[fleet.MissionItem]:
    """The plan as mission items, home placeholder first."""
    items = [_HOME]
    for item in plan.items:
        if item.kind is PlanItemKind.TAKEOFF:
            items.append(fleet.MissionItem.takeoff(item.alt_rel_m))
        elif item.kind is PlanItemKind.WAYPOINT:
            items.append(fleet.MissionItem.waypoint(item.lat_deg, item.lon_deg, item.alt_rel_m))
        elif item.kind is PlanItemKind.ROI:
            items.append(
                fleet.MissionItem.global_(
                    mavlink.MAV_CMD_DO_SET_ROI_LOCATION, item.lat_deg, item.lon_deg, 0.0
                )
            )
        elif item.kind is PlanItemKind.ORBIT:
            items.append(
                fleet.MissionItem.global_(
                    mavlink.MAV_CMD_NAV_LOITER_TURNS,
                    item.lat_deg,
                    item.lon_deg,
                    item.alt_rel_m,
                    ORBIT_TURNS,
                    0.0,
                    item.radius_m,
                )
            )
        elif item.kind is PlanItemKind.SPEED:
            items.append(
                fleet.MissionItem(
                    command=mavlink.MAV_CMD_DO_CHANGE_SPEED,
                    param1=_GROUND_SPEED,
                    param2=item.speed_m_s,
                    param3=-1.0,
                )
            )
        elif item.kind is PlanItemKind.GIMBAL:
            items.append(
                fleet.MissionItem(
                    command=mavlink.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW,
                    frame=mavlink.MAV_FRAME_MISSION,
                    param1=item.pitch_deg,
                )
            )
        else:
            items.append(fleet.MissionItem.rtl())
    return items


def plan_from_items(items: Sequence[fleet.MissionItem], fence: FenceSpec | None) -> FlightPlan:
    """Mission items read back from a vehicle (home placeholder first) as a plan."""
    plan: list[PlanItem] = []
    for item in items[1:]:
        if item.command == mavlink.MAV_CMD_NAV_TAKEOFF:
            plan.append(PlanItem(kind=PlanItemKind.TAKEOFF, alt_rel_m=item.z))
        elif item.command == mavlink.MAV_CMD_NAV_WAYPOINT:
            plan.append(
                PlanItem(
                    kind=PlanItemKind.WAYPOINT,
                    lat_deg=item.lat_deg,
                    lon_deg=item.lon_deg,
                    alt_rel_m=item.z,
                )
            )
        elif item.command == mavlink.MAV_CMD_DO_SET_ROI_LOCATION:
            plan.append(PlanItem(kind=PlanItemKind.ROI, lat_deg=item.lat_deg, lon_deg=item.lon_deg))
        elif item.command == mavlink.MAV_CMD_NAV_LOITER_TURNS:
            plan.append(
                PlanItem(
                    kind=PlanItemKind.ORBIT,
                    lat_deg=item.lat_deg,
                    lon_deg=item.lon_deg,
                    alt_rel_m=item.z,
                    radius_m=item.param3,
                )
            )
        elif item.command == mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            plan.append(PlanItem(kind=PlanItemKind.RTL))
        elif item.command == mavlink.MAV_CMD_DO_CHANGE_SPEED:
            plan.append(PlanItem(kind=PlanItemKind.SPEED, speed_m_s=item.param2))
        elif item.command == mavlink.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW:
            plan.append(PlanItem(kind=PlanItemKind.GIMBAL, pitch_deg=item.param1))
        else:
            name = mavlink.enums["MAV_CMD"][item.command].name
            raise ValueError(f"the vehicle holds a {name} item no Skyeye plan contains")
    return FlightPlan(items=tuple(plan), fence=fence)


class VehicleOverFleet:
    """A :class:`~missions.controller.vehicle.VehicleLink` over one ``fleet.Vehicle``."""

    def __init__(self, vehicle: fleet.Vehicle, *, command_expiry_s: float | None = 5.0) -> None:
        self._vehicle = vehicle
        self._expiry_s = command_expiry_s

    @property
    def vehicle_id(self) -> str:
        return self._vehicle.vehicle_id

    @property
    def state(self) -> VehicleState:
        state = self._vehicle.state
        if state.mission_seq is None:
            return state
        return state.model_copy(update={"mission_seq": max(0, state.mission_seq - 1)})

    async def _call(self, name: str, fn: Callable[[], Awaitable[T]]) -> T:
        try:
            return await fn()
        except fleet.FleetError as error:
            raise VehicleCommandError(self.vehicle_id, name, str(error)) from error

    async def failsafe_settings(self) -> FailsafeSettings:
        settings = await self._call("read failsafes", self._vehicle.failsafe_settings)
        return FailsafeSettings(
            gcs_failsafe_enabled=settings.gcs_failsafe_enabled,
            battery_failsafe_enabled=settings.battery_failsafe_enabled,
            fence_enabled=settings.fence_enabled,
        )

    async def upload_plan(self, plan: FlightPlan) -> None:
        if plan.fence is not None:
            fence = plan.fence
            for name, value in (
                ("FENCE_RADIUS", fence.radius_m),
                ("FENCE_ALT_MAX", fence.alt_max_m),
                ("FENCE_TYPE", _FENCE_ALT_AND_CIRCLE),
                ("FENCE_ENABLE", 1.0),
            ):
                await self._call(
                    f"set {name}", functools.partial(self._vehicle.set_param, name, value)
                )
        items = plan_to_items(plan)
        await self._call("upload mission", lambda: self._vehicle.upload_mission(items))

    async def download_plan(self) -> FlightPlan:
        items = await self._call("download mission", self._vehicle.download_mission)
        enabled = await self._call(
            "read FENCE_ENABLE", lambda: self._vehicle.get_param("FENCE_ENABLE")
        )
        fence = None
        if enabled:
            radius = await self._call(
                "read FENCE_RADIUS", lambda: self._vehicle.get_param("FENCE_RADIUS")
            )
            alt_max = await self._call(
                "read FENCE_ALT_MAX", lambda: self._vehicle.get_param("FENCE_ALT_MAX")
            )
            fence = FenceSpec(radius_m=radius, alt_max_m=alt_max)
        try:
            return plan_from_items(items, fence)
        except ValueError as error:
            raise VehicleCommandError(self.vehicle_id, "download mission", str(error)) from error

    async def set_mode(self, mode: str) -> None:
        await self._call(
            f"set_mode {mode}", lambda: self._vehicle.set_mode(mode, expires_in_s=self._expiry_s)
        )

    async def arm(self) -> None:
        await self._call("arm", lambda: self._vehicle.arm(expires_in_s=self._expiry_s))

    async def takeoff(self, alt_rel_m: float) -> None:
        await self._call(
            "takeoff", lambda: self._vehicle.takeoff(alt_rel_m, expires_in_s=self._expiry_s)
        )

    async def start_mission(self) -> None:
        await self._call(
            "start_mission", lambda: self._vehicle.start_mission(expires_in_s=self._expiry_s)
        )

    async def rtl(self) -> None:
        await self._call("rtl", lambda: self._vehicle.rtl(expires_in_s=self._expiry_s))

    async def land(self) -> None:
        await self._call("land", lambda: self._vehicle.land(expires_in_s=self._expiry_s))


class FleetLinks:
    """A :class:`~missions.controller.vehicle.FleetView` over a running ``fleet.Fleet``."""

    def __init__(self, fleet_: fleet.Fleet, *, command_expiry_s: float | None = 5.0) -> None:
        self._fleet = fleet_
        self._expiry_s = command_expiry_s
        self._links: dict[str, VehicleOverFleet] = {}

    def vehicle_ids(self) -> list[str]:
        return list(self._fleet.vehicle_ids())

    def vehicle(self, vehicle_id: str) -> VehicleOverFleet:
        link = self._links.get(vehicle_id)
        if link is None:
            try:
                vehicle = self._fleet.vehicle(vehicle_id)
            except fleet.UnknownVehicleError:
                raise KeyError(vehicle_id) from None
            link = self._links[vehicle_id] = VehicleOverFleet(
                vehicle, command_expiry_s=self._expiry_s
            )
        return link
