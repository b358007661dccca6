"""Planning speed and path quality (issue 6).

- the full 50 km radius with 10 no-fly zones divided among 20 drones (target <= 2 s),
- a 5 km² coverage plan (target <= 50 ms), for several shapes,
- coverage path length against the lower bound area / swath (target within 10 %).

The path measured is the plan's work path: every sweep line, turn and connecting leg from
the first line to the last (not the transit from and back to the base). The bound is the
plannable area divided by the camera's swath; all plans here use no side overlap, so the
swath is also the largest line spacing the planner may use and the bound is the length of
perfectly packed full-swath strips with no turns. Plans are flown from the base at the
origin, and the planner picks the layout with the shortest flight from there (transit
included), which is not always the layout with the shortest work path.

Run: .venv/bin/python bench/planning.py   (writes bench/results/planning.json)
"""

from __future__ import annotations

import json
import math
import random
import statistics
import time
from pathlib import Path

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import Point, Polygon, box

from missions.geo import Base, OperatingArea, Zone
from missions.planning import PROFILES, TARGETS, CoverageOptions, plan_coverage_local
from missions.planning.division import Drone, plan_division

BASE = Base.at("hq", 52.0, 5.0)


def _zones(n: int, seed: int) -> tuple[Zone, ...]:
    rng = random.Random(seed)
    bare = OperatingArea(BASE)
    zones = []
    for k in range(n):
        r, a = rng.uniform(5_000, 45_000), rng.uniform(0, 2 * math.pi)
        shape = Point(r * math.cos(a), r * math.sin(a)).buffer(rng.uniform(500, 2500), quad_segs=3)
        xy = np.asarray(shape.exterior.coords)[:-1]
        lat, lon = bare.frame.to_geo(xy[:, 0], xy[:, 1])
        zones.append(Zone.no_fly(f"z{k}", list(zip(lat.tolist(), lon.tolist(), strict=True))))
    return tuple(zones)


def _timed(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def _shapes_5km2() -> dict[str, Polygon]:
    side = math.sqrt(5e6)
    square = box(0, 0, side, side)
    rect = box(0, 0, 5000, 1000)
    ell = shapely.union(box(0, 0, 3000, 1000), box(0, 0, 1000, 3000))
    ell = affinity.scale(ell, math.sqrt(5e6 / ell.area), math.sqrt(5e6 / ell.area), origin=(0, 0))
    holed = Polygon(
        box(0, 0, side * 1.05, side * 1.05).exterior, [box(800, 800, 1200, 1100).exterior.coords]
    )
    out = {"square": square, "rect_5x1": rect, "l_shape": ell, "square_with_hole": holed}
    return {
        k: affinity.rotate(affinity.translate(v, 1500, 1500), 17, origin=(1500, 1500))
        for k, v in out.items()
    }


def main() -> None:
    figures: dict[str, float] = {}
    area50 = OperatingArea(BASE, zones=_zones(10, seed=6))
    vtol = PROFILES["vtol"]
    drones = [Drone(vehicle_id=f"d{i + 1}", profile=vtol, area=area50) for i in range(20)]
    options = CoverageOptions(target=TARGETS["car"], side_overlap=0.0)
    # the router's visibility graph is built once per area; a first call pays for it
    t_first, _ = _timed(lambda: plan_division(None, drones, options=options), 1)
    t50, division = _timed(lambda: plan_division(None, drones, options=options), 3)
    figures["full50_split20_s"] = round(t50, 3)
    figures["full50_split20_s_target"] = 2.0
    figures["full50_split20_first_call_s"] = round(t_first, 3)
    figures["full50_area_km2"] = round(division.area_km2, 1)  # type: ignore[attr-defined]
    figures["full50_sorties"] = division.summary()["sorties"]  # type: ignore[attr-defined]
    figures["full50_makespan_h"] = round(division.makespan_s / 3600, 2)  # type: ignore[attr-defined]
    figures["full50_balance_ratio"] = round(division.balance, 3)  # type: ignore[attr-defined]
    work = sum(p.work_length_m for p in division.plans)  # type: ignore[attr-defined]
    bound = sum(p.area_km2 * 1e6 / p.swath_m for p in division.plans)  # type: ignore[attr-defined]
    figures["full50_path_ratio"] = round(work / bound, 4)

    area = OperatingArea(BASE)
    quad = PROFILES["quad"]
    ratios, times = [], []
    for name, shape in _shapes_5km2().items():
        opts = CoverageOptions(target=TARGETS["car"], side_overlap=0.0)
        plan_coverage_local(area, shape, profile=quad, options=opts)  # warm-up
        t, plan = _timed(
            lambda s=shape, o=opts: plan_coverage_local(area, s, profile=quad, options=o), 7
        )
        ratio = plan.work_length_m / (plan.area_km2 * 1e6 / plan.swath_m)  # type: ignore[attr-defined]
        figures[f"cov5_{name}_ms"] = round(t * 1000, 2)
        figures[f"cov5_{name}_path_ratio"] = round(ratio, 4)
        ratios.append(ratio)
        times.append(t)
    figures["cov5_ms_max"] = round(max(times) * 1000, 2)
    figures["cov5_ms_target"] = 50.0
    figures["cov5_path_ratio_max"] = round(max(ratios), 4)
    figures["cov5_path_ratio_mean"] = round(sum(ratios) / len(ratios), 4)
    figures["path_ratio_target"] = 1.10

    out = Path(__file__).parent / "results" / "planning.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    width = max(len(k) for k in figures)
    print(f"{'figure':<{width}}  value")
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
