"""Metric frames on the WGS84 ellipsoid.

The world is laid out on a plane in metres (``x_m`` east, ``y_m`` north) from its origin, by a
local equirectangular mapping whose scale is that of the origin's latitude. Cameras do their
geometry in a local east-north-up frame centred on themselves, with the radii of curvature of
their own latitude, so the distortion of the world plane far from the origin bends only the
texture, never a projection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["GeoFrame", "radii_m"]

_WGS84_A_M = 6_378_137.0
_WGS84_E2 = 6.694_379_990_14e-3


def radii_m(lat_deg: float) -> tuple[float, float]:
    """Meridian and prime-vertical radii of curvature of WGS84 at a latitude, metres."""
    s = math.sin(math.radians(lat_deg))
    w = math.sqrt(1.0 - _WGS84_E2 * s * s)
    return _WGS84_A_M * (1.0 - _WGS84_E2) / w**3, _WGS84_A_M / w


@dataclass(frozen=True, slots=True)
class GeoFrame:
    """East/north metres around ``(lat0_deg, lon0_deg)``, to first order on the ellipsoid."""

    lat0_deg: float
    lon0_deg: float

    @property
    def metres_per_deg(self) -> tuple[float, float]:
        """(east metres per degree of longitude, north metres per degree of latitude)."""
        meridian, prime = radii_m(self.lat0_deg)
        rad = math.pi / 180.0
        return prime * math.cos(math.radians(self.lat0_deg)) * rad, meridian * rad

    def to_xy(self, lat_deg: float, lon_deg: float) -> tuple[float, float]:
        east, north = self.metres_per_deg
        return (lon_deg - self.lon0_deg) * east, (lat_deg - self.lat0_deg) * north

    def to_latlon(self, x_m: float, y_m: float) -> tuple[float, float]:
        east, north = self.metres_per_deg
        return self.lat0_deg + y_m / north, self.lon0_deg + x_m / east
