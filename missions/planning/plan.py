"""What every planner returns: sorties of mission items, their figures, and a GeoJSON preview."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from missions.geo import OperatingArea
from missions.planning.items import MissionItem

__all__ = ["Plan", "Sortie"]

Point2 = tuple[float, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class Sortie:
    """One flight from the base and back on one battery.

    ``path_m`` is the flown polyline in the base's local frame (east, north metres), from the
    base to the base; ``work_from`` / ``work_to`` index the part of it that does the work.
    """

    index: int
    items: tuple[MissionItem, ...]
    path_m: tuple[Point2, ...]
    alt_rel_m: float
    distance_m: float
    duration_s: float
    battery_used_pct: float
    reserve_left_pct: float
    farthest_m: float
    work_from: int
    work_to: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """A planner's answer for one vehicle.

    ``duration_s`` counts every sortie plus the turnarounds between them; ``work_path_m`` is the
    useful part (sweeps, route, search legs) without transits, for checks and previews;
    ``sweeps_m`` are a coverage plan's imaging lines (each is a leg of ``work_path_m``).
    """

    kind: str
    vehicle_id: str
    profile_name: str
    area: OperatingArea = field(repr=False)
    sorties: tuple[Sortie, ...]
    alt_rel_m: float
    duration_s: float
    work_path_m: tuple[Point2, ...] = ()
    sweeps_m: tuple[tuple[Point2, Point2], ...] = ()
    swath_m: float | None = None
    area_km2: float | None = None
    coverage_rate_km2_h: float | None = None
    notes: tuple[str, ...] = ()
    extra_features: tuple[dict[str, Any], ...] = ()

    @property
    def distance_m(self) -> float:
        return sum(s.distance_m for s in self.sorties)

    @property
    def work_length_m(self) -> float:
        if len(self.work_path_m) < 2:
            return 0.0
        return float(np.sum(np.hypot(*np.diff(np.asarray(self.work_path_m), axis=0).T)))

    @property
    def items(self) -> tuple[MissionItem, ...]:
        """The first sortie's items: the whole plan when it fits one battery."""
        return self.sorties[0].items

    def summary(self) -> dict[str, float | int | str]:
        out: dict[str, float | int | str] = {
            "kind": self.kind,
            "vehicle": self.vehicle_id,
            "profile": self.profile_name,
            "sorties": len(self.sorties),
            "distance_km": round(self.distance_m / 1000.0, 3),
            "duration_min": round(self.duration_s / 60.0, 1),
            "alt_rel_m": round(self.alt_rel_m, 1),
            "items": sum(len(s.items) for s in self.sorties),
        }
        if self.swath_m is not None:
            out["swath_m"] = round(self.swath_m, 1)
        if self.area_km2 is not None:
            out["area_km2"] = round(self.area_km2, 3)
        if self.coverage_rate_km2_h is not None:
            out["coverage_rate_km2_h"] = round(self.coverage_rate_km2_h, 2)
        return out

    def geojson(self) -> dict[str, Any]:
        """A FeatureCollection: base, each sortie's track, the work path and planner extras."""
        frame = self.area.frame
        base = self.area.base.position
        features: list[dict[str, Any]] = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [base.lon_deg, base.lat_deg]},
                "properties": {"role": "base", "name": self.area.base.name},
            }
        ]
        for sortie in self.sorties:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "LineString",
                        "coordinates": _lon_lat(frame, sortie.path_m),
                    },
                    "properties": {
                        "role": "sortie",
                        "vehicle": self.vehicle_id,
                        "sortie": sortie.index,
                        "distance_m": round(sortie.distance_m, 1),
                        "duration_s": round(sortie.duration_s, 1),
                        "battery_used_pct": round(sortie.battery_used_pct, 1),
                    },
                }
            )
        if len(self.work_path_m) >= 2:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "LineString",
                        "coordinates": _lon_lat(frame, self.work_path_m),
                    },
                    "properties": {"role": "work", "kind": self.kind, "vehicle": self.vehicle_id},
                }
            )
        features.extend(self.extra_features)
        return {
            "type": "FeatureCollection",
            "features": features,
            "properties": dict(self.summary().items()),
        }


def _lon_lat(frame: Any, points: tuple[Point2, ...]) -> list[list[float]]:
    arr = np.asarray(points, dtype=np.float64)
    lat, lon = frame.to_geo(arr[:, 0], arr[:, 1])
    return [[round(float(a), 7), round(float(b), 7)] for a, b in zip(lon, lat, strict=True)]


def path_length_m(points: Any) -> float:
    arr = np.asarray(points, dtype=np.float64)
    if len(arr) < 2:
        return 0.0
    return float(np.sum(np.hypot(*np.diff(arr, axis=0).T)))


def heading_change_rad(a: Point2, b: Point2, c: Point2) -> float:
    """Heading change at b on the way a→b→c (0 straight on, π a U-turn)."""
    h1 = math.atan2(b[1] - a[1], b[0] - a[0])
    h2 = math.atan2(c[1] - b[1], c[0] - b[0])
    d = abs(h2 - h1) % (2 * math.pi)
    return min(d, 2 * math.pi - d)
