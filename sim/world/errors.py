"""Errors of the simulated world.

::

    WorldError                 anything the world cannot do
    ├── WorldConfigError       a world, target or weather setting is wrong
    ├── OutOfWorldError        a point or tile lies outside the generated world
    └── TileRequestError       an XYZ basemap tile address is not valid
"""

from __future__ import annotations

__all__ = ["OutOfWorldError", "TileRequestError", "WorldConfigError", "WorldError"]


class WorldError(Exception):
    """Base of every error raised by :mod:`sim.world`."""


class WorldConfigError(WorldError):
    """A world, target or weather setting is wrong; nothing was changed."""


class OutOfWorldError(WorldError):
    """A point or area lies outside the generated world."""

    def __init__(self, message: str, *, distance_m: float, radius_m: float) -> None:
        super().__init__(message)
        self.distance_m = distance_m
        self.radius_m = radius_m


class TileRequestError(WorldError):
    """An XYZ tile address (zoom, column, row) is not valid."""

    def __init__(self, message: str, *, z: int, x: int, y: int) -> None:
        super().__init__(message)
        self.z = z
        self.x = x
        self.y = y
