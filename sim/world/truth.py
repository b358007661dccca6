"""Ground truth per time step: where every target around the drones is, as JSON lines.

Each line: ``{"t_s": .., "time": .., "targets": [{"id", "class", "lat_deg", "lon_deg",
"alt_amsl_m", "heading_deg", "speed_m_s"}, ...]}`` with every target within ``radius_m`` of
any of the given points (the drones, a base) at that instant, each once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import IO, Any

import numpy as np

from sim.world.targets import TargetField

__all__ = ["truth_step"]


def truth_step(
    targets: TargetField,
    t_s: float,
    around_latlon: Iterable[tuple[float, float]],
    radius_m: float,
    *,
    time: datetime | None = None,
    out: IO[str] | None = None,
) -> dict[str, Any]:
    """Every target near the points at ``t_s``; written as one JSON line to ``out`` if given."""
    world = targets.world
    seen: dict[str, dict[str, Any]] = {}
    for lat, lon in around_latlon:
        x, y = world.frame.to_xy(lat, lon)
        states = targets.near(x, y, radius_m, t_s)
        if not states:
            continue
        heights = world.height_m(
            np.array([s.x_m for s in states]), np.array([s.y_m for s in states])
        )
        for s, z in zip(states, heights, strict=True):
            if s.target_id in seen:
                continue
            t_lat, t_lon = world.frame.to_latlon(s.x_m, s.y_m)
            seen[s.target_id] = {
                "id": s.target_id,
                "class": s.target_class,
                "lat_deg": t_lat,
                "lon_deg": t_lon,
                "alt_amsl_m": float(z),
                "heading_deg": s.heading_deg,
                "speed_m_s": s.speed_m_s,
            }
    record: dict[str, Any] = {"t_s": t_s, "targets": sorted(seen.values(), key=lambda r: r["id"])}
    if time is not None:
        record["time"] = time.isoformat().replace("+00:00", "Z")
    if out is not None:
        out.write(json.dumps(record) + "\n")
    return record
