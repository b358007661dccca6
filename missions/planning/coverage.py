"""Area coverage for one drone: altitude from the sensor, sweeps, sorties, feasibility."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from missions.geo import OperatingArea, ZoneKind
from missions.planning.errors import InvalidRequestError, PlanRefusedError
from missions.planning.feasibility import Rule, Violation, check_sorties
from missions.planning.layout import SweepSpec, plan_sweeps
from missions.planning.plan import Plan, Point2, Sortie
from missions.planning.sensor import LimitedBy, SensorGeometry, TargetClass, sensor_geometry
from missions.planning.sorties import SortieSpec, split_sorties, total_duration_s
from missions.planning.vehicles import VehicleProfile

__all__ = ["CoverageOptions", "plan_coverage", "plan_coverage_local"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CoverageOptions:
    """What the coverage is for: the target to recognise (or a fixed altitude), overlap
    between neighbouring strips, and a forced sweep direction (degrees from east)."""

    target: TargetClass | None = None
    agl_m: float | None = None
    side_overlap: float = 0.1
    sweep_angle_deg: float | None = None

    def __post_init__(self) -> None:
        if (self.target is None) == (self.agl_m is None):
            raise InvalidRequestError("give either a target class or an altitude, not both")
        if not 0.0 <= self.side_overlap < 0.9:
            raise InvalidRequestError(f"side_overlap must be in [0, 0.9), got {self.side_overlap}")


def geometry_for(
    area: OperatingArea, region: BaseGeometry, profile: VehicleProfile, options: CoverageOptions
) -> SensorGeometry:
    """Sensor geometry under the lowest ceiling over the region (refused if impossible)."""
    ceiling = area.ceiling_agl_m(region)
    camera = profile.camera
    if options.target is not None:
        try:
            return sensor_geometry(
                camera,
                options.target,
                ceiling_agl_m=ceiling,
                survey_speed_m_s=profile.survey_speed_m_s,
                min_agl_m=profile.min_agl_m,
                side_overlap=options.side_overlap,
            )
        except InvalidRequestError as exc:
            raise PlanRefusedError(
                "coverage", [Violation(rule=Rule.RESOLUTION, message=f"resolution: {exc}")]
            ) from exc
    agl = float(options.agl_m or 0.0)
    if agl > ceiling or agl < profile.min_agl_m:
        rule = Rule.CEILING if agl > ceiling else Rule.TERRAIN
        raise PlanRefusedError(
            "coverage",
            [
                Violation(
                    rule=rule,
                    message=(
                        f"{rule.value}: {agl:g} m above ground is outside "
                        f"[{profile.min_agl_m:g}, {ceiling:g}] m over this area"
                    ),
                    alternative=f"fly at {min(max(agl, profile.min_agl_m), ceiling):g} m",
                )
            ],
        )
    swath = camera.footprint_width_m(agl)
    spacing = swath * (1 - options.side_overlap)
    return SensorGeometry(
        required_gsd_m=camera.gsd_m(agl),
        gsd_m=camera.gsd_m(agl),
        agl_m=agl,
        swath_m=swath,
        footprint_length_m=camera.footprint_length_m(agl),
        line_spacing_m=spacing,
        coverage_rate_km2_h=spacing * profile.survey_speed_m_s * 3.6e-3,
        limited_by=LimitedBy.RESOLUTION,
    )


def plan_coverage(
    area: OperatingArea,
    points: Sequence[tuple[float, float]],
    *,
    profile: VehicleProfile,
    options: CoverageOptions,
    vehicle_id: str = "",
    holes: Sequence[Sequence[tuple[float, float]]] = (),
) -> Plan:
    """Cover the polygon of (lat, lon) ``points`` (with ``holes``) from ``area``'s base."""
    polygon = area.local_polygon(points, holes, "coverage area")
    return plan_coverage_local(
        area, polygon, profile=profile, options=options, vehicle_id=vehicle_id
    )


def _nothing_to_fly(area: OperatingArea, polygon: BaseGeometry) -> Violation:
    """Why no part of ``polygon`` may be flown, naming the no-fly zones that cover it."""
    outside = f"outside {area.radius_m / 1000:g} km of {area.base.name}"
    margin_m = max(area.no_fly_margin_m, 1.0)
    names = [
        repr(zone.name)
        for zone in area.zones
        if zone.kind is ZoneKind.NO_FLY
        and area.frame.geometry_to_local(zone.polygon).distance(polygon) <= margin_m
    ]
    if not names or not polygon.intersects(area.disk):
        return Violation(
            rule=Rule.RADIUS, message=f"the area has nothing that may be flown: it lies {outside}"
        )
    where = f"inside no-fly zone{'s' if len(names) > 1 else ''} {', '.join(names)}"
    where += f" (kept {margin_m:g} m clear)"
    if not area.disk.covers(polygon):
        where += f" or {outside}"
    return Violation(
        rule=Rule.NO_FLY, message=f"the area has nothing that may be flown: it lies {where}"
    )


def plan_coverage_local(
    area: OperatingArea,
    polygon: BaseGeometry,
    *,
    profile: VehicleProfile,
    options: CoverageOptions,
    vehicle_id: str = "",
    start_m: Point2 = (0.0, 0.0),
) -> Plan:
    """:func:`plan_coverage` for a polygon already in the base's local metres."""
    region = area.plannable(polygon)
    if region.is_empty or region.area < 1.0:
        raise PlanRefusedError("coverage", [_nothing_to_fly(area, polygon)])
    geo = geometry_for(area, region, profile, options)
    layout = plan_sweeps(
        region,
        SweepSpec(
            spacing_m=geo.line_spacing_m,
            swath_m=geo.swath_m,
            keep_out=area.keep_out,
            guard=area.router.guard,
            radius_m=area.radius_m,
            router=area.router,
            turn_radius_m=profile.turn_radius_m,
        ),
        start_m=start_m,
        angle_rad=(
            math.radians(options.sweep_angle_deg) if options.sweep_angle_deg is not None else None
        ),
    )
    work = list(layout.work_m)
    spec = SortieSpec(
        area=area, profile=profile, agl_m=geo.agl_m, work_speed_m_s=profile.survey_speed_m_s
    )
    sorties = split_sorties(work, spec)
    verify(area, profile, sorties, "coverage", required_gsd_m=geo.required_gsd_m)
    notes = [
        f"{geo.agl_m:.0f} m above ground ({geo.limited_by.value}), {geo.gsd_m * 100:.1f} cm/px, "
        f"swath {geo.swath_m:.0f} m, lines at most {geo.line_spacing_m:.0f} m apart at "
        + " and ".join(f"{math.degrees(a):.1f}°" for a in layout.angles_rad)
    ]
    outside = shapely.area(polygon) - shapely.area(shapely.intersection(polygon, area.disk))
    if outside > 1.0:
        notes.append(
            f"{outside / 1e6:.3f} km² beyond the {area.radius_m / 1000:g} km radius left out"
        )
    if layout.uncovered_m2 > 0:
        notes.append(f"{layout.uncovered_m2:.0f} m² between no-fly zones could not be swept")
    return Plan(
        kind="coverage",
        vehicle_id=vehicle_id,
        profile_name=profile.name,
        area=area,
        sorties=tuple(sorties),
        alt_rel_m=geo.agl_m,
        duration_s=total_duration_s(sorties, profile),
        work_path_m=tuple(work),
        sweeps_m=layout.lines_m,
        swath_m=geo.swath_m,
        area_km2=region.area / 1e6,
        coverage_rate_km2_h=geo.coverage_rate_km2_h,
        notes=tuple(notes),
        extra_features=(_region_feature(area, region),),
    )


def verify(
    area: OperatingArea,
    profile: VehicleProfile,
    sorties: Sequence[Sortie],
    what: str,
    *,
    required_gsd_m: float | None = None,
) -> None:
    """The feasibility check on a planner's own sorties; refuses with every violation."""
    checks = []
    for s in sorties:
        path = np.asarray(s.path_m)
        alt = area.ground_above_home_m(path[:, 0], path[:, 1]) + _agl_of(area, s)
        checks.append((path, alt, s.duration_s, (s.work_from, s.work_to)))
    check_sorties(area, profile, checks, required_gsd_m=required_gsd_m).raise_if_refused(what)


def _agl_of(area: OperatingArea, sortie: Sortie) -> float:
    x, y = sortie.path_m[0]
    ground = float(area.ground_above_home_m(np.array([x]), np.array([y]))[0])
    return sortie.alt_rel_m - ground


def _region_feature(area: OperatingArea, region: BaseGeometry) -> dict[str, Any]:
    geo = area.frame.geometry_to_geo(region)
    return {
        "type": "Feature",
        "geometry": mapping(geo),
        "properties": {"role": "area", "area_km2": round(region.area / 1e6, 4)},
    }
