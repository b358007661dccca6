"""Point and line planners: orbit with ROI, route patrol, expanding-square and sector searches,
and rapid containment of an incident."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.optimize import linear_sum_assignment
from shapely.geometry import LineString, Point
from shapely.ops import nearest_points

from missions.geo import OperatingArea, check_lat_lon
from missions.planning.coverage import verify
from missions.planning.errors import InvalidRequestError, PlanRefusedError
from missions.planning.feasibility import Rule, Violation
from missions.planning.plan import Plan, Point2
from missions.planning.sorties import SortieSpec, split_sorties, total_duration_s
from missions.planning.stations import Hold, Stop, station_sortie
from missions.planning.vehicles import VehicleProfile

__all__ = [
    "ContainmentPost",
    "plan_containment",
    "plan_expanding_square",
    "plan_orbit",
    "plan_route_patrol",
    "plan_sector_search",
]


def _local(area: OperatingArea, lat_deg: float, lon_deg: float, what: str) -> Point2:
    check_lat_lon(lat_deg, lon_deg, what)
    x, y = area.frame.to_local(lat_deg, lon_deg)
    return float(x), float(y)


def _agl(area: OperatingArea, profile: VehicleProfile, agl_m: float, near: Point2) -> float:
    ceiling = area.ceiling_agl_m(Point(near).buffer(1.0))
    if not profile.min_agl_m <= agl_m <= ceiling:
        raise PlanRefusedError(
            "plan",
            [
                Violation(
                    rule=Rule.CEILING if agl_m > ceiling else Rule.TERRAIN,
                    message=(
                        f"altitude {agl_m:g} m above ground is outside "
                        f"[{profile.min_agl_m:g}, {ceiling:g}] m here"
                    ),
                    alternative=f"fly at {min(max(agl_m, profile.min_agl_m), ceiling):g} m",
                )
            ],
        )
    return agl_m


def plan_orbit(
    area: OperatingArea,
    lat_deg: float,
    lon_deg: float,
    *,
    profile: VehicleProfile,
    radius_m: float = 80.0,
    agl_m: float = 60.0,
    time_s: float | None = None,
    speed_m_s: float = 8.0,
    vehicle_id: str = "",
) -> Plan:
    """Circle a point with the gimbal on it at ``speed_m_s`` (slow for a steady picture): whole
    turns lasting ``time_s`` (LOITER_TURNS), or until told otherwise (255 turns, with the
    longest time the battery allows as its budget)."""
    if not 5.0 <= radius_m <= 2000.0:
        raise InvalidRequestError(f"orbit radius must be within 5..2000 m, got {radius_m}")
    center = _local(area, lat_deg, lon_deg, "orbit centre")
    agl = _agl(area, profile, agl_m, center)
    if time_s is not None and (not math.isfinite(time_s) or time_s <= 0):
        raise InvalidRequestError(f"orbit time must be positive, got {time_s}")
    probe = Stop(point_m=center, hold=Hold.TIME, hold_s=0.0, radius_m=radius_m, roi_m=center)
    reach = station_sortie(area, profile, [probe], agl_m=agl)
    budget = profile.usable_s - reach.duration_s
    if time_s is None:
        hold, hold_s = Hold.UNLIMITED, max(budget, 0.0)
    else:
        hold, hold_s = Hold.TURNS, time_s
    stop = Stop(
        point_m=center,
        hold=hold,
        hold_s=hold_s,
        radius_m=radius_m,
        roi_m=center,
        speed_m_s=speed_m_s,
    )
    sortie = station_sortie(area, profile, [stop], agl_m=agl)
    verify(area, profile, [sortie], "orbit")
    return Plan(
        kind="orbit",
        vehicle_id=vehicle_id,
        profile_name=profile.name,
        area=area,
        sorties=(sortie,),
        alt_rel_m=sortie.alt_rel_m,
        duration_s=sortie.duration_s,
        notes=(
            f"on station {sortie.duration_s - reach.duration_s:.0f} s at {radius_m:g} m radius",
        ),
    )


def plan_route_patrol(
    area: OperatingArea,
    route: Sequence[tuple[float, float]],
    *,
    profile: VehicleProfile,
    offset_m: float = 60.0,
    camera_side: str = "right",
    agl_m: float = 80.0,
    both_ways: bool = True,
    vehicle_id: str = "",
) -> Plan:
    """Patrol a polyline of (lat, lon) (road, river, border) flying ``offset_m`` beside it with
    the gimbal on the line on ``camera_side``; ``both_ways`` comes back along the other side,
    so the line stays on the same side of travel."""
    if camera_side not in ("left", "right"):
        raise InvalidRequestError(f"camera_side must be 'left' or 'right', got {camera_side!r}")
    if len(route) < 2:
        raise InvalidRequestError("a route needs at least 2 points")
    if not 0.0 <= offset_m <= 1000.0:
        raise InvalidRequestError(f"offset_m must be within 0..1000 m, got {offset_m}")
    pts = np.array([_local(area, la, lo, "route point") for la, lo in route])
    line = LineString(pts)
    if line.length <= 0:
        raise InvalidRequestError("the route has no length")
    agl = _agl(area, profile, agl_m, (float(pts[0, 0]), float(pts[0, 1])))
    # camera on the right means the line is to the right: fly on its left (positive offset)
    sign = 1.0 if camera_side == "right" else -1.0
    out = line.offset_curve(sign * offset_m) if offset_m > 0 else line
    work: list[Point2] = [(float(x), float(y)) for x, y in out.coords]
    if both_ways:
        back = line.offset_curve(-sign * offset_m) if offset_m > 0 else line
        work += [(float(x), float(y)) for x, y in reversed(back.coords)]

    def roi_for(p: Point2) -> Point2:
        q = line.interpolate(line.project(Point(p)))
        return (q.x, q.y)

    spec = SortieSpec(
        area=area,
        profile=profile,
        agl_m=agl,
        work_speed_m_s=profile.survey_speed_m_s,
        roi_for=roi_for,
    )
    sorties = split_sorties(_routed(area, work), spec)
    verify(area, profile, sorties, "route patrol")
    return Plan(
        kind="route",
        vehicle_id=vehicle_id,
        profile_name=profile.name,
        area=area,
        sorties=tuple(sorties),
        alt_rel_m=agl,
        duration_s=total_duration_s(sorties, profile),
        work_path_m=tuple(work),
        notes=(f"{line.length / 1000:.2f} km of route, flown {offset_m:g} m to its side",),
    )


def _routed(area: OperatingArea, work: list[Point2]) -> list[Point2]:
    """The work path with legs that would cross a no-fly zone replaced by detours."""
    if len(work) < 2:
        return work
    arr = np.asarray(work)
    clear = area.router.clear_many(arr[:-1], arr[1:])
    out = [work[0]]
    for k in range(1, len(work)):
        if clear[k - 1]:
            out.append(work[k])
        else:
            out.extend(area.router.route(out[-1], work[k])[1:])
    return out


def _search_plan(
    area: OperatingArea,
    profile: VehicleProfile,
    kind: str,
    work: list[Point2],
    agl: float,
    vehicle_id: str,
    note: str,
) -> Plan:
    spec = SortieSpec(
        area=area, profile=profile, agl_m=agl, work_speed_m_s=profile.survey_speed_m_s
    )
    clipped = [p for p in work if math.hypot(*p) <= area.radius_m - 1.0]
    if len(clipped) < len(work):
        note += f"; {len(work) - len(clipped)} turn points beyond the radius dropped"
    sorties = split_sorties(_routed(area, _off_no_fly(area, clipped)), spec)
    verify(area, profile, sorties, kind)
    return Plan(
        kind=kind,
        vehicle_id=vehicle_id,
        profile_name=profile.name,
        area=area,
        sorties=tuple(sorties),
        alt_rel_m=agl,
        duration_s=total_duration_s(sorties, profile),
        work_path_m=tuple(clipped),
        swath_m=profile.camera.footprint_width_m(agl),
        notes=(note,),
    )


def _off_no_fly(area: OperatingArea, points: list[Point2]) -> list[Point2]:
    """Drop turn points inside kept-out areas (legs are then routed around them)."""
    if area.keep_out.is_empty or not points:
        return points
    arr = np.asarray(points)
    inside = shapely.contains_xy(area.keep_out, arr[:, 0], arr[:, 1])
    return [p for p, bad in zip(points, inside, strict=True) if not bad]


def plan_expanding_square(
    area: OperatingArea,
    lat_deg: float,
    lon_deg: float,
    *,
    profile: VehicleProfile,
    track_spacing_m: float,
    radius_m: float,
    agl_m: float = 60.0,
    first_heading_deg: float = 0.0,
    vehicle_id: str = "",
) -> Plan:
    """Expanding square from a last-known position: legs of 1, 1, 2, 2, 3, 3… track spacings,
    turning right, until the square reaches ``radius_m`` from the datum."""
    if not 5.0 <= track_spacing_m <= 2000.0:
        raise InvalidRequestError(f"track spacing must be within 5..2000 m, got {track_spacing_m}")
    if not track_spacing_m <= radius_m <= 20_000.0:
        raise InvalidRequestError(f"search radius must be within spacing..20000 m, got {radius_m}")
    datum = _local(area, lat_deg, lon_deg, "datum")
    agl = _agl(area, profile, agl_m, datum)
    heading = math.radians(90.0 - first_heading_deg)  # compass to maths angle
    pts = [datum]
    k = 1
    x, y = datum
    while True:
        length = ((k + 1) // 2) * track_spacing_m
        x += length * math.cos(heading)
        y += length * math.sin(heading)
        if max(abs(x - datum[0]), abs(y - datum[1])) > radius_m + 1e-6:
            break
        pts.append((x, y))
        heading -= math.pi / 2  # turn right
        k += 1
    return _search_plan(
        area,
        profile,
        "search",
        pts,
        agl,
        vehicle_id,
        f"expanding square, {len(pts) - 1} legs {track_spacing_m:g} m apart",
    )


def plan_sector_search(
    area: OperatingArea,
    lat_deg: float,
    lon_deg: float,
    *,
    profile: VehicleProfile,
    radius_m: float,
    agl_m: float = 60.0,
    first_heading_deg: float = 0.0,
    second_pass: bool = False,
    vehicle_id: str = "",
) -> Plan:
    """Sector search (VS): three triangles of side ``radius_m`` through the datum, 120° apart,
    so six radials 60° apart cross it; ``second_pass`` repeats them rotated by 30°."""
    if not 20.0 <= radius_m <= 10_000.0:
        raise InvalidRequestError(f"sector radius must be within 20..10000 m, got {radius_m}")
    datum = _local(area, lat_deg, lon_deg, "datum")
    agl = _agl(area, profile, agl_m, datum)
    pts = [datum]
    for rotation in (0.0, 30.0) if second_pass else (0.0,):
        for k in range(3):
            a = math.radians(90.0 - first_heading_deg - rotation - 120.0 * k)
            b = a - math.radians(60.0)
            pts.append((datum[0] + radius_m * math.cos(a), datum[1] + radius_m * math.sin(a)))
            pts.append((datum[0] + radius_m * math.cos(b), datum[1] + radius_m * math.sin(b)))
            pts.append(datum)
    return _search_plan(
        area,
        profile,
        "search",
        pts,
        agl,
        vehicle_id,
        f"sector search, radius {radius_m:g} m{' with second pass' if second_pass else ''}",
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainmentPost:
    """Where one drone holds: ``exit`` is the road crossing (or ring point) it watches."""

    vehicle_id: str
    lat_deg: float
    lon_deg: float
    eta_s: float
    plan: Plan


def containment_exits(
    area: OperatingArea,
    center: Point2,
    ring_m: float,
    roads: Sequence[Sequence[tuple[float, float]]],
    count: int,
) -> list[Point2]:
    """Road crossings of the ring (one per crossing point), or ``count`` evenly spaced points."""
    ring = Point(center).buffer(ring_m, quad_segs=64).exterior
    exits: list[Point2] = []
    for road in roads:
        pts = [_local(area, la, lo, "road point") for la, lo in road]
        if len(pts) < 2:
            raise InvalidRequestError("a road needs at least 2 points")
        hit = shapely.intersection(LineString(pts), ring)
        exits.extend(
            (float(g.x), float(g.y)) for g in shapely.get_parts(hit) if g.geom_type == "Point"
        )
    if not roads:
        angles = math.pi / 2 - 2 * math.pi * np.arange(count) / count
        exits = [
            (center[0] + ring_m * math.cos(a), center[1] + ring_m * math.sin(a)) for a in angles
        ]
    unique: list[Point2] = []
    for p in exits:
        if all(math.dist(p, q) > 10.0 for q in unique):
            unique.append(p)
    return unique


def plan_containment(
    area: OperatingArea,
    lat_deg: float,
    lon_deg: float,
    *,
    drones: Sequence[tuple[str, VehicleProfile, Point2]],
    ring_m: float = 500.0,
    roads: Sequence[Sequence[tuple[float, float]]] = (),
    agl_m: float = 60.0,
    hold_s: float = 900.0,
) -> tuple[list[ContainmentPost], list[str]]:
    """Send drones to the exits of a ring around an incident and hold there, gimbal on the exit.

    ``drones`` are (vehicle id, profile, position in this base's local metres); exits are the
    road crossings of the ring, or one evenly spaced point per drone without roads. Drones are
    matched to exits to minimise the latest arrival. Returns the posts and notes (exits left
    unwatched, exits moved out of no-fly zones).
    """
    if not 50.0 <= ring_m <= 10_000.0:
        raise InvalidRequestError(f"ring radius must be within 50..10000 m, got {ring_m}")
    if not drones:
        raise InvalidRequestError("no drones for containment")
    center = _local(area, lat_deg, lon_deg, "incident")
    exits = containment_exits(area, center, ring_m, roads, len(drones))
    if not exits:
        raise InvalidRequestError("no road crosses the ring: give other roads or none")
    notes: list[str] = []
    posts_xy: list[Point2] = []
    for p in exits:
        if area.keep_out.contains(Point(p)):
            moved = nearest_points(area.keep_out.boundary, Point(p))[0]
            notes.append(f"exit at {p[0]:.0f},{p[1]:.0f} m is in a no-fly zone: held at its edge")
            posts_xy.append((float(moved.x), float(moved.y)))
        else:
            posts_xy.append(p)
    eta = np.zeros((len(drones), len(exits)))
    for i, (_, profile, pos) in enumerate(drones):
        d = area.router.distances_m(pos, np.asarray(posts_xy))
        eta[i] = (
            profile.launch_overhead_s
            + agl_m / profile.climb_rate_m_s
            + d / profile.cruise_speed_m_s
        )
    rows, cols = linear_sum_assignment(eta**2)
    posts: list[ContainmentPost] = []
    for i, j in zip(rows, cols, strict=True):
        vid, profile, _ = drones[i]
        agl = _agl(area, profile, agl_m, posts_xy[j])
        stop = Stop(point_m=posts_xy[j], hold=Hold.UNLIMITED, hold_s=hold_s, roi_m=exits[j])
        sortie = station_sortie(area, profile, [stop], agl_m=agl)
        verify(area, profile, [sortie], f"containment post for {vid}")
        lat, lon = area.frame.to_geo(*exits[j])
        plan = Plan(
            kind="containment",
            vehicle_id=vid,
            profile_name=profile.name,
            area=area,
            sorties=(sortie,),
            alt_rel_m=sortie.alt_rel_m,
            duration_s=sortie.duration_s,
            notes=(f"hold {hold_s / 60:.0f} min budgeted at the exit",),
        )
        posts.append(
            ContainmentPost(
                vehicle_id=vid,
                lat_deg=float(lat),
                lon_deg=float(lon),
                eta_s=float(eta[i, j]),
                plan=plan,
            )
        )
    left = sorted(set(range(len(exits))) - set(cols.tolist()))
    if left:
        notes.append(f"{len(left)} exits unwatched: not enough drones")
    return posts, notes
