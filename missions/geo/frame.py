"""An azimuthal-equidistant frame centred on a base: metres east and north of it.

Distances and bearings from the base are exact in this frame, so a 50 km operating radius is a
circle of 50 000 m; far from the base the frame distorts slightly, which is why every base has
its own frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from missions.geo.errors import InvalidGeometryError

__all__ = ["GeoPoint", "LocalFrame", "check_lat_lon"]

FloatArray = npt.NDArray[np.float64]


def check_lat_lon(lat_deg: float, lon_deg: float, what: str = "point") -> None:
    """Raise :class:`InvalidGeometryError` unless the coordinate is a finite WGS84 position."""
    if not (math.isfinite(lat_deg) and math.isfinite(lon_deg)):
        raise InvalidGeometryError(f"{what} ({lat_deg}, {lon_deg}) is not a number")
    if not (-90.0 <= lat_deg <= 90.0 and -180.0 <= lon_deg <= 180.0):
        raise InvalidGeometryError(f"{what} ({lat_deg}, {lon_deg}) is outside WGS84 ranges")


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A WGS84 position in degrees."""

    lat_deg: float
    lon_deg: float

    def __post_init__(self) -> None:
        check_lat_lon(self.lat_deg, self.lon_deg)


@dataclass(frozen=True, slots=True)
class LocalFrame:
    """AEQD frame centred on ``origin``: ``x`` metres east, ``y`` metres north.

    Arrays go through :meth:`to_local` / :meth:`to_geo` in one vectorised call; shapely
    geometries (x = longitude, y = latitude) through :meth:`geometry_to_local` /
    :meth:`geometry_to_geo`.
    """

    origin: GeoPoint
    _forward: Any = field(init=False, repr=False, compare=False)
    _inverse: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        crs = CRS.from_proj4(
            f"+proj=aeqd +lat_0={self.origin.lat_deg!r} +lon_0={self.origin.lon_deg!r} "
            "+datum=WGS84 +units=m +no_defs"
        )
        wgs84 = CRS.from_epsg(4326)
        object.__setattr__(self, "_forward", Transformer.from_crs(wgs84, crs, always_xy=True))
        object.__setattr__(self, "_inverse", Transformer.from_crs(crs, wgs84, always_xy=True))

    @classmethod
    def at(cls, lat_deg: float, lon_deg: float) -> LocalFrame:
        return cls(GeoPoint(lat_deg, lon_deg))

    def to_local(self, lat_deg: Any, lon_deg: Any) -> tuple[FloatArray, FloatArray]:
        """(east_m, north_m) of WGS84 degrees; scalars or arrays."""
        lat = np.asarray(lat_deg, dtype=np.float64)
        lon = np.asarray(lon_deg, dtype=np.float64)
        if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))):
            raise InvalidGeometryError("a coordinate is not a number")
        if np.any(np.abs(lat) > 90.0) or np.any(np.abs(lon) > 180.0):
            raise InvalidGeometryError("a coordinate is outside WGS84 ranges")
        x, y = self._forward.transform(lon, lat)
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def to_geo(self, east_m: Any, north_m: Any) -> tuple[FloatArray, FloatArray]:
        """(lat_deg, lon_deg) of local metres; scalars or arrays."""
        lon, lat = self._inverse.transform(
            np.asarray(east_m, dtype=np.float64), np.asarray(north_m, dtype=np.float64)
        )
        return np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)

    def point_to_local(self, point: GeoPoint) -> tuple[float, float]:
        x, y = self.to_local(point.lat_deg, point.lon_deg)
        return float(x), float(y)

    def point_to_geo(self, east_m: float, north_m: float) -> GeoPoint:
        lat, lon = self.to_geo(east_m, north_m)
        return GeoPoint(float(lat), float(lon))

    def geometry_to_local(self, geometry: BaseGeometry) -> BaseGeometry:
        """A lon/lat shapely geometry in this frame's metres."""

        def forward(coords: FloatArray) -> FloatArray:
            x, y = self.to_local(coords[:, 1], coords[:, 0])
            return np.column_stack([x, y])

        return shapely.transform(geometry, forward)

    def geometry_to_geo(self, geometry: BaseGeometry) -> BaseGeometry:
        """A geometry in this frame's metres as lon/lat."""

        def inverse(coords: FloatArray) -> FloatArray:
            lat, lon = self.to_geo(coords[:, 0], coords[:, 1])
            return np.column_stack([lon, lat])

        return shapely.transform(geometry, inverse)
