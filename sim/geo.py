"""Local east/north metres around a vehicle's home, and the few bearings the autopilot needs."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.world.geo import radii_m

__all__ = ["LocalFrame", "point_in_polygon"]


@dataclass(frozen=True, slots=True)
class LocalFrame:
    """East/north metres from ``(lat0_deg, lon0_deg)``, to first order on the WGS84 ellipsoid."""

    lat0_deg: float
    lon0_deg: float
    m_per_deg_lat: float
    m_per_deg_lon: float

    @classmethod
    def at(cls, lat_deg: float, lon_deg: float) -> LocalFrame:
        meridian, prime = radii_m(lat_deg)
        rad = math.pi / 180.0
        return cls(lat_deg, lon_deg, meridian * rad, prime * math.cos(math.radians(lat_deg)) * rad)

    def to_local(self, lat_deg: float, lon_deg: float) -> tuple[float, float]:
        """(east_m, north_m) of a WGS84 point."""
        return (
            (lon_deg - self.lon0_deg) * self.m_per_deg_lon,
            (lat_deg - self.lat0_deg) * self.m_per_deg_lat,
        )

    def to_geo(self, east_m: float, north_m: float) -> tuple[float, float]:
        """(lat_deg, lon_deg) of a local point."""
        return (
            self.lat0_deg + north_m / self.m_per_deg_lat,
            self.lon0_deg + east_m / self.m_per_deg_lon,
        )


def point_in_polygon(x: float, y: float, polygon: list[tuple[float, float]]) -> bool:
    """Even-odd rule; ``polygon`` is a list of (x, y) vertices, not closed."""
    inside = False
    n = len(polygon)
    j = n - 1
    for i in range(n):
        xi, yi = polygon[i]
        xj, yj = polygon[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside
