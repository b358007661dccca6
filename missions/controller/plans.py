"""The planners of :mod:`missions.planning` for the console and the controller.

:class:`FlightPlanner` is the console's :class:`~missions.console.ports.Planner`: a pilot's area
or route becomes a planned, feasibility-checked plan from the vehicle's base (the known base
nearest to it), shown as the flown path with its distance and time, and carried as the
:class:`FlightPlan` the controller flies. Planners by name:

- ``coverage-<target>`` (area): boustrophedon sweeps at the altitude and swath the vehicle's
  camera needs to recognise the target (``car``, ``person``, ``boat``), camera straight down;
- ``route-patrol`` (route): along the polyline, camera on it, out on one side and back on the other;
- ``orbit`` (route of two points: the centre, then a point on the circle): circle with the
  gimbal on the centre until told otherwise;
- ``search-square`` / ``search-sector`` (route of two points: the last-known position, then how
  far to search): expanding square with tracks one swath apart, or sector search.

Refusals come back as an infeasible proposal whose reasons name the rule, the leg or point and
the nearest alternative, as the planners give them; a plan that needs more than one battery is
refused too (a mission is one sortie). A request that makes no sense (a route of two equal
points, an orbit radius of 3 km) raises :class:`ControlRefusedError` with the planner's sentence.

:func:`flight_plan` turns a sortie's MISSION_ITEM_INTs into a :class:`FlightPlan` one item for
one: takeoff, speed, waypoint, ROI (ROI_NONE is a ROI at 0°, 0°, as ArduPilot reads it), gimbal
pitch, the 255-turn LOITER_TURNS as the orbit held until told, RTL.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from missions.console.models import BaseZone, CeilingZone, NoFlyZone
from missions.console.models import Zone as StoredZone
from missions.console.ports import ControlRefusedError, PlanProposal
from missions.controller.errors import ControllerError, InvalidPlanError
from missions.controller.fleet_link import ORBIT_TURNS, FleetLinks
from missions.controller.settings import MissionType
from missions.controller.vehicle import FenceSpec, FleetView, FlightPlan, PlanItem, PlanItemKind
from missions.geo import Base, GeoError, OperatingArea, Zone
from missions.planning import (
    PROFILES,
    TARGETS,
    CoverageOptions,
    MissionItem,
    Plan,
    PlanningError,
    PlanRefusedError,
    VehicleProfile,
    Violation,
    plan_coverage,
)
from missions.planning.items import FRAME_REL
from missions.planning.patterns import (
    plan_expanding_square,
    plan_orbit,
    plan_route_patrol,
    plan_sector_search,
)
from skyeye.app import AppContext

__all__ = [
    "FlightPlanner",
    "StoredAreas",
    "ZoneSource",
    "flight_plan",
    "operating_areas",
    "planner_for",
]

M = mavlink
FENCE_MAX_RADIUS_M = 60_000.0
FENCE_ALT_MARGIN_M = 10.0
SEARCH_OVERLAP = 0.1
Point = tuple[float, float]
_PlanFn = Callable[[OperatingArea, VehicleProfile, Sequence[Point], float, str], Plan]


def flight_plan(items: Sequence[MissionItem], *, fence: FenceSpec | None) -> FlightPlan:
    """The controller's plan of one sortie's items (home not included), item for item.

    Raises :class:`InvalidPlanError` naming the first item the controller cannot fly as given
    (timed or counted loiters, landing, jumps, a waypoint hold, a turned gimbal, altitudes not
    relative to home).
    """
    out: list[PlanItem] = []
    for item in items:
        out.append(_plan_item(item))
    return FlightPlan(items=tuple(out), fence=fence)


def _plan_item(item: MissionItem) -> PlanItem:
    cmd = item.command
    if item.has_position and item.frame != FRAME_REL:
        raise _cannot(item, "its altitude is not relative to home")
    if cmd == M.MAV_CMD_NAV_TAKEOFF:
        return PlanItem(kind=PlanItemKind.TAKEOFF, alt_rel_m=item.z)
    if cmd == M.MAV_CMD_NAV_WAYPOINT and item.param1 == 0.0:
        return PlanItem(
            kind=PlanItemKind.WAYPOINT, lat_deg=item.lat_deg, lon_deg=item.lon_deg, alt_rel_m=item.z
        )
    if cmd == M.MAV_CMD_DO_CHANGE_SPEED:
        return PlanItem(kind=PlanItemKind.SPEED, speed_m_s=item.param2)
    if cmd == M.MAV_CMD_DO_SET_ROI_LOCATION:
        return PlanItem(kind=PlanItemKind.ROI, lat_deg=item.lat_deg, lon_deg=item.lon_deg)
    if cmd == M.MAV_CMD_DO_SET_ROI_NONE:
        return PlanItem(kind=PlanItemKind.ROI)
    if cmd == M.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW and item.param2 == 0.0:
        return PlanItem(kind=PlanItemKind.GIMBAL, pitch_deg=item.param1)
    if cmd == M.MAV_CMD_NAV_LOITER_TURNS and item.param1 >= ORBIT_TURNS and item.param3 > 0:
        return PlanItem(
            kind=PlanItemKind.ORBIT,
            lat_deg=item.lat_deg,
            lon_deg=item.lon_deg,
            alt_rel_m=item.z,
            radius_m=item.param3,
        )
    if cmd == M.MAV_CMD_NAV_RETURN_TO_LAUNCH:
        return PlanItem(kind=PlanItemKind.RTL)
    raise _cannot(item, "the controller flies no such item")


def _cannot(item: MissionItem, why: str) -> InvalidPlanError:
    params = ", ".join(f"{p:g}" for p in (item.param1, item.param2, item.param3, item.param4))
    return InvalidPlanError(f"item {item.seq} {item.command_name} ({params}): {why}")


def operating_areas(
    bases: Sequence[Mapping[str, Any]], no_fly_zones: Sequence[Mapping[str, Any]] = ()
) -> tuple[OperatingArea, ...]:
    """One area per base (``name``, ``lat_deg``, ``lon_deg``, ``radius_m``), each with every
    no-fly zone (``name``, ``polygon`` of (lat, lon))."""
    zones = tuple(
        Zone.no_fly(str(z["name"]), [(float(a), float(b)) for a, b in z["polygon"]])
        for z in no_fly_zones
    )
    return tuple(
        OperatingArea(
            Base.at(
                str(b["name"]),
                float(b["lat_deg"]),
                float(b["lon_deg"]),
                radius_m=float(b["radius_m"]),
            ),
            zones=zones,
        )
        for b in bases
    )


class ZoneSource(Protocol):
    """Where bases, no-fly zones and ceilings are kept: the console's store
    (:class:`missions.console.store.ConsoleStore`), read at each plan."""

    def zones(self) -> Sequence[StoredZone]: ...


class StoredAreas:
    """The operating areas of a :class:`ZoneSource`'s zones as they are now: one per base,
    each with every no-fly zone and ceiling. Built again only when the zones changed (tens of
    milliseconds: :meth:`FlightPlanner.plan` does it in its worker thread)."""

    def __init__(self, source: ZoneSource) -> None:
        self._source = source
        # (zones, their areas), replaced as one: a caller in another thread sees a pair
        self._built: tuple[tuple[StoredZone, ...], tuple[OperatingArea, ...]] | None = None

    def __call__(self) -> tuple[OperatingArea, ...]:
        zones = tuple(self._source.zones())
        built = self._built
        if built is None or built[0] != zones:
            built = self._built = (zones, _areas_of(z.zone for z in zones))
        return built[1]


def _areas_of(zones: Iterable[BaseZone | NoFlyZone | CeilingZone]) -> tuple[OperatingArea, ...]:
    bases: list[Base] = []
    limits: list[Zone] = []
    for zone in zones:
        if isinstance(zone, BaseZone):
            bases.append(Base.at(zone.name, zone.lat_deg, zone.lon_deg, radius_m=zone.radius_m))
        elif isinstance(zone, NoFlyZone):
            limits.append(Zone.no_fly(zone.name, zone.polygon))
        else:
            limits.append(Zone.ceiling(zone.name, zone.polygon, zone.ceiling_agl_m))
    return tuple(OperatingArea(base, zones=tuple(limits)) for base in bases)


def _coverage(target: str) -> _PlanFn:
    def plan(
        area: OperatingArea, profile: VehicleProfile, points: Sequence[Point], _: float, vid: str
    ) -> Plan:
        options = CoverageOptions(target=TARGETS[target], side_overlap=SEARCH_OVERLAP)
        return plan_coverage(area, points, profile=profile, options=options, vehicle_id=vid)

    return plan


def _route(
    area: OperatingArea, profile: VehicleProfile, points: Sequence[Point], alt: float, vid: str
) -> Plan:
    return plan_route_patrol(area, points, profile=profile, agl_m=alt, vehicle_id=vid)


def _two_points(area: OperatingArea, points: Sequence[Point]) -> tuple[Point, float]:
    (lat0, lon0), (lat1, lon1) = points
    x0, y0 = area.frame.to_local(lat0, lon0)
    x1, y1 = area.frame.to_local(lat1, lon1)
    return (lat0, lon0), float(math.hypot(x1 - x0, y1 - y0))


def _orbit(
    area: OperatingArea, profile: VehicleProfile, points: Sequence[Point], alt: float, vid: str
) -> Plan:
    (lat, lon), radius = _two_points(area, points)
    return plan_orbit(area, lat, lon, profile=profile, radius_m=radius, agl_m=alt, vehicle_id=vid)


def _search_square(
    area: OperatingArea, profile: VehicleProfile, points: Sequence[Point], alt: float, vid: str
) -> Plan:
    (lat, lon), radius = _two_points(area, points)
    return plan_expanding_square(
        area,
        lat,
        lon,
        profile=profile,
        track_spacing_m=profile.camera.footprint_width_m(alt) * (1.0 - SEARCH_OVERLAP),
        radius_m=radius,
        agl_m=alt,
        vehicle_id=vid,
    )


def _search_sector(
    area: OperatingArea, profile: VehicleProfile, points: Sequence[Point], alt: float, vid: str
) -> Plan:
    (lat, lon), radius = _two_points(area, points)
    return plan_sector_search(
        area, lat, lon, profile=profile, radius_m=radius, agl_m=alt, vehicle_id=vid
    )


@dataclass(frozen=True, slots=True)
class _Planner:
    geometry: str  # "area", "route", or "two points" (a route of exactly two)
    plan: _PlanFn


_PLANNERS: dict[str, _Planner] = {
    **{f"coverage-{t}": _Planner("area", _coverage(t)) for t in TARGETS},
    "route-patrol": _Planner("route", _route),
    "orbit": _Planner("two points", _orbit),
    "search-square": _Planner("two points", _search_square),
    "search-sector": _Planner("two points", _search_sector),
}
_TWO_POINTS = {
    "orbit": "the centre, then a point on the circle",
    "search-square": "the last-known position, then the edge of the search",
    "search-sector": "the last-known position, then the edge of the search",
}


class FlightPlanner:
    """The console's planner over :mod:`missions.planning`, for the controller.

    ``areas`` are the bases with their radius, no-fly zones and ceilings: fixed, or read
    again at each plan (:class:`StoredAreas` over the console's store, as in the app); a
    vehicle plans from the nearest base within ``base_reach_m`` of it. ``profile_for`` gives
    each vehicle's performance and camera. Planning runs in a worker thread, one plan at a
    time.
    """

    def __init__(
        self,
        *,
        areas: Sequence[OperatingArea] | Callable[[], Sequence[OperatingArea]],
        fleet: FleetView,
        profile_for: Callable[[str], VehicleProfile],
        base_reach_m: float = 500.0,
    ) -> None:
        if callable(areas):
            self._areas = areas
        else:
            fixed = tuple(areas)
            self._areas = lambda: fixed
        self._fleet = fleet
        self._profile_for = profile_for
        self._base_reach_m = base_reach_m
        self._lock = asyncio.Lock()

    def names(self) -> Sequence[str]:
        return tuple(_PLANNERS)

    def area_of(self, vehicle_id: str) -> OperatingArea:
        """The area of the base ``vehicle_id`` stands at (refused when it is at none)."""
        try:
            state = self._fleet.vehicle(vehicle_id).state
        except KeyError:
            raise ControlRefusedError(f"the fleet has no vehicle {vehicle_id!r}") from None
        if state.lat_deg is None or state.lon_deg is None:
            raise ControlRefusedError(f"vehicle {vehicle_id!r} has not reported a position")
        areas = self._areas()
        if not areas:
            raise ControlRefusedError(
                "no base is configured to plan from: an administrator adds one"
            )
        distance, area = min(
            ((_distance_m(a, state.lat_deg, state.lon_deg), a) for a in areas),
            key=lambda found: found[0],
        )
        if distance > self._base_reach_m:
            raise ControlRefusedError(
                f"vehicle {vehicle_id!r} is {distance:.0f} m from the nearest base "
                f"{area.base.name!r}: plans start and end at a base "
                f"(within {self._base_reach_m:g} m)"
            )
        return area

    async def plan(
        self,
        name: str,
        *,
        vehicle_id: str,
        points: Sequence[Point],
        alt_rel_m: float,
    ) -> Plan:
        """Run planner ``name`` for ``vehicle_id`` from its base (refusals raise as planned)."""
        planner = _PLANNERS.get(name)
        if planner is None:
            raise ControlRefusedError(f"no planner {name!r}: pick one of {list(_PLANNERS)}")
        profile = self._profile_for(vehicle_id)
        async with self._lock:  # the areas too: after a zone changed they are built again
            area = await asyncio.to_thread(self.area_of, vehicle_id)
            return await asyncio.to_thread(
                planner.plan, area, profile, points, alt_rel_m, vehicle_id
            )

    def fence_for(self, plan: Plan) -> FenceSpec:
        """The base's disk around home (which is within ``base_reach_m`` of the base), and a
        ceiling just over the highest point of the plan."""
        top = max((item.z for item in plan.items if item.has_position), default=plan.alt_rel_m)
        return FenceSpec(
            radius_m=min(FENCE_MAX_RADIUS_M, plan.area.radius_m + self._base_reach_m),
            alt_max_m=max(plan.area.max_agl_m, max(top, plan.alt_rel_m) + FENCE_ALT_MARGIN_M),
        )

    async def propose(
        self,
        name: str,
        *,
        vehicle_id: str,
        geometry_type: str,
        points: Sequence[tuple[float, float]],
        alt_rel_m: float,
    ) -> PlanProposal:
        planner = _PLANNERS.get(name)
        if planner is None:
            raise ControlRefusedError(f"no planner {name!r}: pick one of {list(_PLANNERS)}")
        _check_geometry(name, planner, geometry_type, points)
        try:
            plan = await self.plan(name, vehicle_id=vehicle_id, points=points, alt_rel_m=alt_rel_m)
        except PlanRefusedError as refused:
            return _refused(points, tuple(_reason(v) for v in refused.violations))
        except (PlanningError, GeoError, InvalidPlanError) as exc:
            raise ControlRefusedError(f"{name}: {exc}") from exc
        if len(plan.sorties) > 1:
            return _refused(points, (_one_battery(plan),))
        try:
            chosen = flight_plan(plan.items, fence=self.fence_for(plan))
        except InvalidPlanError as exc:
            raise ControlRefusedError(f"{name}: {exc}") from exc
        return PlanProposal(
            mission_type=MissionType.PATROL,
            plan=chosen,
            feasible=True,
            reasons=(),
            duration_s=plan.duration_s,
            distance_m=plan.distance_m,
            path=flown_path(plan),
            geojson=plan.geojson(),
        )


def _check_geometry(
    name: str, planner: _Planner, geometry_type: str, points: Sequence[Point]
) -> None:
    if planner.geometry == "two points":
        if geometry_type != "route" or len(points) != 2:
            raise ControlRefusedError(
                f"{name} takes a route of two points: {_TWO_POINTS[name]} "
                f"(got a {geometry_type} of {len(points)})"
            )
    elif geometry_type != planner.geometry:
        raise ControlRefusedError(
            f"{name} plans over a{'n' if planner.geometry == 'area' else ''} "
            f"{planner.geometry}, not a {geometry_type}"
        )


def flown_path(plan: Plan) -> tuple[Point, ...]:
    """The first sortie's track from the base and back, as (lat_deg, lon_deg)."""
    xy = plan.sorties[0].path_m
    lat, lon = plan.area.frame.to_geo([p[0] for p in xy], [p[1] for p in xy])
    return tuple((round(float(a), 7), round(float(b), 7)) for a, b in zip(lat, lon, strict=True))


def _reason(violation: Violation) -> str:
    rule = violation.rule.value.replace("_", "-")
    text = violation.message
    if not text.startswith(rule):
        text = f"{rule}: {text}"
    if violation.alternative is None:
        return text
    return f"{text}; nearest alternative: {violation.alternative}"


def _one_battery(plan: Plan) -> str:
    sortie = plan.sorties[0]
    share = "" if plan.area_km2 is None else f" (about {plan.area_km2 / len(plan.sorties):.2f} km²)"
    return (
        f"battery: the plan needs {len(plan.sorties)} sorties, {plan.duration_s / 60:.0f} min "
        f"with battery changes; a mission flies one; nearest alternative: a part one battery "
        f"covers{share}, {sortie.distance_m / 1000:.1f} km in {sortie.duration_s / 60:.0f} min"
    )


def _refused(points: Sequence[Point], reasons: tuple[str, ...]) -> PlanProposal:
    return PlanProposal(
        mission_type=MissionType.PATROL,
        plan=None,
        feasible=False,
        reasons=reasons,
        duration_s=0.0,
        distance_m=0.0,
        path=tuple(points),
        geojson={},
    )


def _distance_m(area: OperatingArea, lat_deg: float, lon_deg: float) -> float:
    x, y = area.frame.to_local(lat_deg, lon_deg)
    return float(math.hypot(x, y))


def planner_for(
    context: AppContext, *, profile_for: Callable[[str], VehicleProfile] | None = None
) -> FlightPlanner:
    """The planner of a running Skyeye: bases, no-fly zones and ceilings read at each plan
    from the console's store (``services["zones"]``, left by ``missions.console.part``'s
    zones part, which seeds it from the scenario or the configuration); vehicles from the
    fleet part; ``PROFILES["quad"]`` unless told otherwise."""
    services = context.services
    zones: ZoneSource | None = services.get("zones")
    if zones is None:
        raise ControllerError(
            "the planners need the console's zone store: the zones part "
            "(missions.console.part:zones_part) must start before any part that plans"
        )
    quad = PROFILES["quad"]
    return FlightPlanner(
        areas=StoredAreas(zones),
        fleet=FleetLinks(services["fleet"]),
        profile_for=profile_for or (lambda _: quad),
    )
