"""The coverage layer: when each cell of the operating area was last imaged.

A square grid of ``cell_m`` cells over a disc of ``radius_m`` around the frame's centre
(50 km and 250 m by default: 160,000 cells in one float array). Each camera footprint
marks the cells whose centres it contains with the frame's capture time.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import shapely

from skyeye.contracts import CoverageCell, CoverageLayer, GeoPoint
from vision.fusion.frame import LocalFrame

__all__ = ["CoverageGrid"]

FloatArray = npt.NDArray[np.float64]


class CoverageGrid:
    def __init__(
        self, frame: LocalFrame, *, radius_m: float = 50_000.0, cell_m: float = 250.0
    ) -> None:
        if cell_m <= 0 or radius_m <= 0:
            raise ValueError("coverage radius and cell size must be positive")
        self.frame = frame
        self.radius_m = radius_m
        self.cell_m = cell_m
        self._n = int(np.ceil(2 * radius_m / cell_m))
        self._last = np.full((self._n, self._n), np.nan)
        centres = (np.arange(self._n) + 0.5) * cell_m - radius_m
        east, north = np.meshgrid(centres, centres)
        self._inside_area = east**2 + north**2 <= radius_m**2
        self._centres = centres

    def _index(self, metres: FloatArray) -> npt.NDArray[np.int64]:
        return np.clip(np.floor((metres + self.radius_m) / self.cell_m), 0, self._n - 1).astype(
            np.int64
        )

    def add_footprint(self, footprint: tuple[GeoPoint, ...], time: datetime) -> int:
        """Mark the cells under ``footprint``; returns how many cells it covered."""
        if len(footprint) < 3:
            return 0
        lat = np.array([p.lat_deg for p in footprint], dtype=np.float64)
        lon = np.array([p.lon_deg for p in footprint], dtype=np.float64)
        east, north = self.frame.to_local(lat, lon)
        polygon = shapely.Polygon(np.stack([east, north], axis=1))
        if not polygon.is_valid or polygon.area == 0:
            return 0
        i0, i1 = self._index(np.array([east.min(), east.max()]))
        j0, j1 = self._index(np.array([north.min(), north.max()]))
        xs = self._centres[i0 : i1 + 1]
        ys = self._centres[j0 : j1 + 1]
        gx, gy = np.meshgrid(xs, ys)
        inside = shapely.contains_xy(polygon, gx, gy) & self._inside_area[j0 : j1 + 1, i0 : i1 + 1]
        block = self._last[j0 : j1 + 1, i0 : i1 + 1]
        block[inside] = time.timestamp()
        return int(inside.sum())

    def fraction_imaged(self, since: datetime | None = None) -> float:
        """Share of the area's cells imaged (at or after ``since`` if given)."""
        seen = ~np.isnan(self._last)
        if since is not None:
            seen &= self._last >= since.timestamp()
        return float((seen & self._inside_area).sum() / self._inside_area.sum())

    def layer(self, now: datetime) -> CoverageLayer:
        """The imaged cells (cells never imaged are left out: the map shows them as gaps)."""
        rows, cols = np.nonzero(~np.isnan(self._last))
        east = self._centres[cols]
        north = self._centres[rows]
        lat, lon = self.frame.to_geo(east, north)
        cells = tuple(
            CoverageCell(
                cell_id=f"{r}:{c}",
                lat_deg=float(la),
                lon_deg=float(lo),
                last_imaged=datetime.fromtimestamp(float(self._last[r, c]), UTC),
            )
            for r, c, la, lo in zip(
                rows.tolist(), cols.tolist(), lat.tolist(), lon.tolist(), strict=True
            )
        )
        return CoverageLayer(time=now, cell_size_m=self.cell_m, cells=cells)
