"""Ground elevation models: flat, or a regular lat/lon grid interpolated bilinearly."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from scipy.interpolate import RegularGridInterpolator

from missions.geo.errors import InvalidGeometryError

__all__ = ["FlatTerrain", "GridTerrain", "Terrain"]

FloatArray = npt.NDArray[np.float64]


class Terrain(Protocol):
    """Ground elevation above mean sea level, in metres, at WGS84 positions (vectorised)."""

    def elevation_m(self, lat_deg: FloatArray, lon_deg: FloatArray) -> FloatArray: ...


@dataclass(frozen=True, slots=True)
class FlatTerrain:
    """The same ground elevation everywhere."""

    ground_m: float = 0.0

    def elevation_m(self, lat_deg: FloatArray, lon_deg: FloatArray) -> FloatArray:
        return np.full(np.shape(lat_deg), self.ground_m, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class GridTerrain:
    """Elevations on a regular grid: ``heights_m[i][j]`` at ``lats_deg[i]``, ``lons_deg[j]``.

    Positions outside the grid raise :class:`InvalidGeometryError`: a plan is never checked
    against terrain that was not given.
    """

    lats_deg: Sequence[float]
    lons_deg: Sequence[float]
    heights_m: Sequence[Sequence[float]]
    _interp: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lats = np.asarray(self.lats_deg, dtype=np.float64)
        lons = np.asarray(self.lons_deg, dtype=np.float64)
        heights = np.asarray(self.heights_m, dtype=np.float64)
        if lats.ndim != 1 or lons.ndim != 1 or lats.size < 2 or lons.size < 2:
            raise InvalidGeometryError("terrain grid needs at least 2 latitudes and 2 longitudes")
        if heights.shape != (lats.size, lons.size):
            raise InvalidGeometryError(
                f"terrain heights are {heights.shape}, expected {(lats.size, lons.size)}"
            )
        if np.any(np.diff(lats) <= 0) or np.any(np.diff(lons) <= 0):
            raise InvalidGeometryError("terrain grid coordinates must be strictly increasing")
        if not np.all(np.isfinite(heights)):
            raise InvalidGeometryError("terrain heights must be finite")
        interp = RegularGridInterpolator((lats, lons), heights, bounds_error=False)
        object.__setattr__(self, "_interp", interp)

    def elevation_m(self, lat_deg: FloatArray, lon_deg: FloatArray) -> FloatArray:
        points = np.column_stack([np.ravel(lat_deg), np.ravel(lon_deg)])
        heights = np.asarray(self._interp(points), dtype=np.float64)
        if np.any(np.isnan(heights)):
            raise InvalidGeometryError("a position lies outside the terrain grid")
        return heights.reshape(np.shape(lat_deg))
