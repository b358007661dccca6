"""Geodesy and zones: a local AEQD frame per base, operating radius, no-fly zones and
altitude ceilings, terrain, and routes that keep out of no-fly zones."""

from missions.geo.errors import GeoError, InvalidGeometryError, NoRouteError
from missions.geo.frame import GeoPoint, LocalFrame, check_lat_lon
from missions.geo.routing import Router
from missions.geo.terrain import FlatTerrain, GridTerrain, Terrain
from missions.geo.zones import (
    DEFAULT_MAX_AGL_M,
    DEFAULT_RADIUS_M,
    Base,
    OperatingArea,
    Zone,
    ZoneKind,
    polygon_from_lat_lon,
)

__all__ = [
    "DEFAULT_MAX_AGL_M",
    "DEFAULT_RADIUS_M",
    "Base",
    "FlatTerrain",
    "GeoError",
    "GeoPoint",
    "GridTerrain",
    "InvalidGeometryError",
    "LocalFrame",
    "NoRouteError",
    "OperatingArea",
    "Router",
    "Terrain",
    "Zone",
    "ZoneKind",
    "check_lat_lon",
    "polygon_from_lat_lon",
]
