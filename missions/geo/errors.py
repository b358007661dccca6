"""Errors of :mod:`missions.geo`.

::

    GeoError                      anything wrong with places, frames or zones
    ├── InvalidGeometryError      a coordinate, polygon, radius or profile value that cannot be used
    └── NoRouteError              no way between two points that stays out of the no-fly zones
"""

from __future__ import annotations

__all__ = ["GeoError", "InvalidGeometryError", "NoRouteError"]


class GeoError(Exception):
    """Base of every error raised by :mod:`missions.geo`."""


class InvalidGeometryError(GeoError, ValueError):
    """A coordinate, polygon or radius that cannot be used; the message says which and why."""


class NoRouteError(GeoError):
    """No path between two points stays out of the no-fly zones (one of them is boxed in)."""

    def __init__(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        super().__init__(
            f"no route from ({start[0]:.0f} m, {start[1]:.0f} m) to ({end[0]:.0f} m, "
            f"{end[1]:.0f} m) avoids the no-fly zones"
        )
        self.start = start
        self.end = end
