"""Battery-aware sorties: cut a work path so every point of it keeps the way home in reserve.

At every point of a sortie, the time flown so far plus the time to get home (around no-fly
zones) plus the descent fits in the battery less its reserve. The condition is checked at each
vertex and at the cut, which is found on the leg where it first fails.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from missions.geo import FlatTerrain, OperatingArea, Router
from missions.geo.frame import FloatArray
from missions.planning.errors import PlanRefusedError
from missions.planning.feasibility import Rule, Violation
from missions.planning.items import MissionBuilder
from missions.planning.plan import Point2, Sortie, heading_change_rad, path_length_m
from missions.planning.vehicles import VehicleProfile

__all__ = ["SortieSpec", "fixed_time_s", "split_sorties", "total_duration_s"]

_HOME: Point2 = (0.0, 0.0)
_TERRAIN_STEP_M = 100.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SortieSpec:
    """How a work path is flown: altitude above ground, speed on the work and, when
    ``roi_for`` is given, the point the gimbal holds from each work waypoint on."""

    area: OperatingArea
    profile: VehicleProfile
    agl_m: float
    work_speed_m_s: float
    roi_for: Callable[[Point2], Point2] | None = None  # gimbal target for each work waypoint


def fixed_time_s(profile: VehicleProfile, alt_m: float) -> float:
    """Launch, climb and descent: spent by every sortie whatever it does."""
    return (
        profile.launch_overhead_s
        + alt_m / profile.climb_rate_m_s
        + alt_m / profile.descent_rate_m_s
    )


def _densify(path: FloatArray, step_m: float) -> FloatArray:
    """The path with extra vertices so that no leg is longer than ``step_m``."""
    out = [path[:1]]
    for a, b in itertools.pairwise(path):
        n = max(1, math.ceil(float(np.hypot(*(b - a))) / step_m))
        t = np.arange(1, n + 1)[:, None] / n
        out.append(a + t * (b - a))
    return np.concatenate(out)


def _vertex_times(work: FloatArray, spec: SortieSpec) -> tuple[FloatArray, FloatArray]:
    """Arrival time at each vertex from the start of the work, and the corner time spent there."""
    seg = np.hypot(*np.diff(work, axis=0).T) / spec.work_speed_m_s
    corner = np.zeros(len(work))
    for i in range(1, len(work) - 1):
        turn = heading_change_rad(tuple(work[i - 1]), tuple(work[i]), tuple(work[i + 1]))
        corner[i] = spec.profile.corner_s(turn, spec.work_speed_m_s)
    arrive = np.zeros(len(work))
    arrive[1:] = np.cumsum(seg + corner[:-1])
    return arrive, corner


def split_sorties(work_path: Sequence[Point2], spec: SortieSpec) -> list[Sortie]:
    """Cut ``work_path`` (local metres, flown in order) into battery-feasible sorties.

    Raises :class:`PlanRefusedError` (rule ``battery``) when a point of the path cannot be
    reached and left with the reserve intact, naming the point and the reachable distance.
    """
    work = np.asarray(work_path, dtype=np.float64).reshape(-1, 2)
    if len(work) == 0:
        return []
    if not isinstance(spec.area.terrain, FlatTerrain):
        work = _densify(work, _TERRAIN_STEP_M)  # waypoints close enough to follow the ground
    if len(work) == 1:
        work = np.vstack([work, work])
    area, profile = spec.area, spec.profile
    router = area.router
    cruise = profile.cruise_speed_m_s
    fixed = fixed_time_s(profile, spec.agl_m)
    usable = profile.usable_s
    arrive, corner = _vertex_times(work, spec)
    ret = router.distances_m(_HOME, work) / cruise
    g = arrive + ret

    sorties: list[Sortie] = []
    start_pt = work[0]
    start_t = 0.0  # work time at start_pt
    nxt = 1  # next vertex after start_pt
    while True:
        out_t = float(router.distances_m(_HOME, start_pt[None, :])[0]) / cruise
        budget = usable - fixed - out_t + start_t
        if fixed + 2 * out_t > usable + 1e-9:  # the way back is as long as the way out
            raise _unreachable(spec, start_pt, fixed)
        over = np.nonzero(g[nxt:] > budget)[0]
        if len(over) == 0:
            end_idx = len(work)
            cut_pt = work[-1]
            cut_t = float(arrive[-1])
        else:
            i = nxt + int(over[0])
            prev_pt = start_pt if i == nxt else work[i - 1]
            prev_t = start_t if i == nxt else float(arrive[i - 1] + corner[i - 1])
            frac = _cut_on_leg(router, prev_pt, prev_t, work[i], cruise, spec, budget)
            if frac == 0.0 and i == nxt:
                raise _unreachable(spec, start_pt, fixed)
            resume = i
            if frac == 0.0:  # stop at the vertex, before turning there
                end_idx, cut_pt, cut_t = i - 1, work[i - 1], float(arrive[i - 1])
            else:
                end_idx = i
                cut_pt = prev_pt + frac * (work[i] - prev_pt)
                leg_t = float(np.hypot(*(work[i] - prev_pt))) / spec.work_speed_m_s
                cut_t = prev_t + frac * leg_t
        inner = [tuple(p) for p in work[nxt:end_idx]]
        if len(over) == 0:
            inner = inner[:-1]
        sortie_work = [
            (float(start_pt[0]), float(start_pt[1])),
            *inner,
            (float(cut_pt[0]), float(cut_pt[1])),
        ]
        sorties.append(_sortie(len(sorties), sortie_work, spec, cut_t - start_t))
        if len(over) == 0:
            return sorties
        start_pt, start_t, nxt = cut_pt, cut_t, resume


def _cut_on_leg(
    router: Router,
    a: FloatArray,
    a_t: float,
    b: FloatArray,
    cruise: float,
    spec: SortieSpec,
    budget: float,
) -> float:
    """The largest fraction of a→b (left at time ``a_t``) still meeting time + way home."""
    leg_t = float(np.hypot(*(b - a))) / spec.work_speed_m_s
    lo, hi = 0.0, 1.0
    for _ in range(4):
        t = np.linspace(lo, hi, 9)
        pts = a[None, :] + t[:, None] * (b - a)[None, :]
        ok = a_t + t * leg_t + router.distances_m(_HOME, pts) / cruise <= budget
        bad = np.nonzero(~ok)[0]
        first_bad = int(bad[0]) if len(bad) else len(t)
        if first_bad == 0:
            return lo
        lo, hi = float(t[first_bad - 1]), float(t[min(first_bad, len(t) - 1)])
    return lo


def _unreachable(spec: SortieSpec, point: FloatArray, fixed: float) -> PlanRefusedError:
    reach_m = max(0.0, (spec.profile.usable_s - fixed) * spec.profile.cruise_speed_m_s / 2.0)
    lat, lon = spec.area.frame.to_geo(point[0], point[1])
    dist = float(np.hypot(*point))
    violation = Violation(
        rule=Rule.BATTERY,
        leg=None,
        lat_deg=float(lat),
        lon_deg=float(lon),
        message=(
            f"battery: ({float(lat):.5f}, {float(lon):.5f}) {dist / 1000:.1f} km from "
            f"{spec.area.base.name} cannot be reached and left with {spec.profile.reserve_pct:g} % "
            f"reserve by {spec.profile.name}"
        ),
        alternative=f"keep work within {reach_m / 1000:.1f} km of the base (there and back)",
    )
    return PlanRefusedError("plan", [violation])


def _sortie(index: int, work: list[Point2], spec: SortieSpec, work_s: float) -> Sortie:
    area, profile = spec.area, spec.profile
    router = area.router
    out_route = router.route(_HOME, work[0])
    back_route = router.route(work[-1], _HOME)
    if not isinstance(area.terrain, FlatTerrain):
        out_route = [tuple(p) for p in _densify(np.asarray(out_route), _TERRAIN_STEP_M)]
        back_route = [tuple(p) for p in _densify(np.asarray(back_route), _TERRAIN_STEP_M)]
    path = [*out_route[:-1], *work, *back_route[1:]]
    transit_m = path_length_m(out_route) + path_length_m(back_route)
    arr = np.asarray(path)
    rel = spec.agl_m + area.ground_above_home_m(arr[:, 0], arr[:, 1])
    lat, lon = area.frame.to_geo(arr[:, 0], arr[:, 1])
    b = MissionBuilder()
    b.takeoff(float(rel[0]))
    b.speed(profile.cruise_speed_m_s)
    n_out = len(out_route) - 1
    n_work = len(work)
    for k in range(1, len(path) - 1):
        b.waypoint(float(lat[k]), float(lon[k]), float(rel[k]))
        if n_out <= k < n_out + n_work - 1 and spec.roi_for is not None:
            roi = spec.roi_for(path[k])
            r_lat, r_lon = area.frame.to_geo(*roi)
            b.roi(float(r_lat), float(r_lon), 0.0)
        if k == n_out:
            b.speed(spec.work_speed_m_s)
            if spec.roi_for is None:
                b.gimbal(-90.0)  # camera straight down for the work
        if k == n_out + n_work - 1:
            if spec.roi_for is not None:
                b.roi_none()
            b.speed(profile.cruise_speed_m_s)
    b.rtl()
    fixed = fixed_time_s(profile, spec.agl_m)
    duration = fixed + transit_m / profile.cruise_speed_m_s + work_s
    used = profile.battery_pct(duration)
    return Sortie(
        index=index,
        items=b.build(),
        path_m=tuple((float(x), float(y)) for x, y in path),
        alt_rel_m=float(rel[0]),
        distance_m=path_length_m(path),
        duration_s=duration,
        battery_used_pct=used,
        reserve_left_pct=100.0 - used,
        farthest_m=float(np.max(np.hypot(arr[:, 0], arr[:, 1]))),
        work_from=n_out,
        work_to=n_out + n_work - 1,
    )


def total_duration_s(sorties: Sequence[Sortie], profile: VehicleProfile) -> float:
    if not sorties:
        return 0.0
    return sum(s.duration_s for s in sorties) + profile.turnaround_s * (len(sorties) - 1)
