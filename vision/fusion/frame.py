"""A local metric frame for fusion: azimuthal equidistant, centred on an operating area."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from pyproj import Transformer

__all__ = ["LocalFrame"]

FloatArray = npt.NDArray[np.float64]
AnyFloats = npt.NDArray[np.floating[Any]]


class LocalFrame:
    """East/north metres around ``(lat0_deg, lon0_deg)``; distances from the centre are exact."""

    def __init__(self, lat0_deg: float, lon0_deg: float) -> None:
        self.lat0_deg = lat0_deg
        self.lon0_deg = lon0_deg
        proj = f"+proj=aeqd +lat_0={lat0_deg} +lon_0={lon0_deg} +datum=WGS84 +units=m +no_defs"
        self._forward = Transformer.from_crs("EPSG:4326", proj, always_xy=True)
        self._inverse = Transformer.from_crs(proj, "EPSG:4326", always_xy=True)

    def to_local(self, lat_deg: AnyFloats, lon_deg: AnyFloats) -> tuple[FloatArray, FloatArray]:
        east, north = self._forward.transform(lon_deg, lat_deg)
        return np.asarray(east, dtype=np.float64), np.asarray(north, dtype=np.float64)

    def to_geo(self, east_m: AnyFloats, north_m: AnyFloats) -> tuple[FloatArray, FloatArray]:
        lon, lat = self._inverse.transform(east_m, north_m)
        return np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
