"""Bases, their operating radius, no-fly zones and altitude ceilings, in each base's frame."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from missions.geo.errors import InvalidGeometryError
from missions.geo.frame import FloatArray, GeoPoint, LocalFrame, check_lat_lon
from missions.geo.routing import Router
from missions.geo.terrain import FlatTerrain, Terrain

__all__ = [
    "DEFAULT_MAX_AGL_M",
    "DEFAULT_RADIUS_M",
    "Base",
    "OperatingArea",
    "Zone",
    "ZoneKind",
    "polygon_from_lat_lon",
]

DEFAULT_RADIUS_M = 50_000.0
DEFAULT_MAX_AGL_M = 120.0


class ZoneKind(enum.Enum):
    NO_FLY = "no_fly"  # never enter
    CEILING = "ceiling"  # fly below ceiling_agl_m above ground


def polygon_from_lat_lon(
    points: Sequence[tuple[float, float]],
    holes: Sequence[Sequence[tuple[float, float]]] = (),
    what: str = "polygon",
) -> Polygon:
    """A valid lon/lat polygon from (lat, lon) vertices, or :class:`InvalidGeometryError`."""
    rings = [points, *holes]
    for ring in rings:
        if len(ring) < 3:
            raise InvalidGeometryError(f"{what} needs at least 3 vertices, got {len(ring)}")
        for lat, lon in ring:
            check_lat_lon(lat, lon, f"{what} vertex")
    polygon = Polygon(
        [(lon, lat) for lat, lon in points], [[(lon, lat) for lat, lon in h] for h in holes]
    )
    if not polygon.is_valid or polygon.area <= 0.0:
        reason = shapely.is_valid_reason(polygon)
        raise InvalidGeometryError(f"{what} is not a valid polygon ({reason})")
    return polygon


@dataclass(frozen=True, slots=True, kw_only=True)
class Zone:
    """A no-fly area, or an area with a lower altitude ceiling (metres above ground).

    ``polygon`` is in lon/lat (GeoJSON order); build one from (lat, lon) pairs with
    :meth:`no_fly` or :meth:`ceiling`.
    """

    name: str
    kind: ZoneKind
    polygon: Polygon
    ceiling_agl_m: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.polygon, Polygon) or not self.polygon.is_valid:
            raise InvalidGeometryError(f"zone {self.name!r}: polygon is not valid")
        if self.kind is ZoneKind.CEILING:
            c = self.ceiling_agl_m
            if c is None or not math.isfinite(c) or c < 0:
                raise InvalidGeometryError(
                    f"zone {self.name!r}: a ceiling zone needs ceiling_agl_m >= 0, got {c}"
                )
        elif self.ceiling_agl_m is not None:
            raise InvalidGeometryError(f"zone {self.name!r}: a no-fly zone has no ceiling")

    @classmethod
    def no_fly(
        cls,
        name: str,
        points: Sequence[tuple[float, float]],
        holes: Sequence[Sequence[tuple[float, float]]] = (),
    ) -> Zone:
        poly = polygon_from_lat_lon(points, holes, f"zone {name!r}")
        return cls(name=name, kind=ZoneKind.NO_FLY, polygon=poly)

    @classmethod
    def ceiling(
        cls, name: str, points: Sequence[tuple[float, float]], ceiling_agl_m: float
    ) -> Zone:
        poly = polygon_from_lat_lon(points, (), f"zone {name!r}")
        return cls(name=name, kind=ZoneKind.CEILING, polygon=poly, ceiling_agl_m=ceiling_agl_m)


@dataclass(frozen=True, slots=True, kw_only=True)
class Base:
    """Where drones take off and land; ``elevation_m`` is the ground above sea level there."""

    name: str
    position: GeoPoint
    radius_m: float = DEFAULT_RADIUS_M
    elevation_m: float | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.radius_m) or not 0 < self.radius_m <= 200_000:
            raise InvalidGeometryError(
                f"base {self.name!r}: radius_m must be in (0, 200000], got {self.radius_m}"
            )

    @classmethod
    def at(cls, name: str, lat_deg: float, lon_deg: float, **kwargs: float) -> Base:
        return cls(name=name, position=GeoPoint(lat_deg, lon_deg), **kwargs)


@dataclass(frozen=True, slots=True)
class OperatingArea:
    """One base's world in its own AEQD frame: the disk it may fly in, minus no-fly zones.

    ``no_fly_margin_m`` keeps planned legs that far from no-fly zones (at least 1 m);
    ``max_agl_m`` is the legal ceiling above ground (120 m by default), lowered inside ceiling
    zones; over uneven ``terrain`` planners stay ``terrain_margin_m`` under it.
    """

    base: Base
    zones: tuple[Zone, ...] = ()
    max_agl_m: float = DEFAULT_MAX_AGL_M
    no_fly_margin_m: float = 30.0
    terrain: Terrain = field(default_factory=FlatTerrain)
    terrain_margin_m: float = 5.0
    frame: LocalFrame = field(init=False, repr=False, compare=False)
    disk: Polygon = field(init=False, repr=False, compare=False)
    no_fly: BaseGeometry = field(init=False, repr=False, compare=False)
    keep_out: BaseGeometry = field(init=False, repr=False, compare=False)
    home_elevation_m: float = field(init=False, repr=False, compare=False)
    router: Router = field(init=False, repr=False, compare=False)
    _ceilings: tuple[tuple[Zone, Polygon], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not math.isfinite(self.max_agl_m) or self.max_agl_m <= 0:
            raise InvalidGeometryError(f"max_agl_m must be positive, got {self.max_agl_m}")
        if not math.isfinite(self.no_fly_margin_m) or self.no_fly_margin_m < 0:
            raise InvalidGeometryError(f"no_fly_margin_m must be >= 0, got {self.no_fly_margin_m}")
        frame = LocalFrame(self.base.position)
        set_ = object.__setattr__
        set_(self, "frame", frame)
        set_(self, "disk", Point(0.0, 0.0).buffer(self.base.radius_m, quad_segs=64))
        no_fly = [
            frame.geometry_to_local(z.polygon) for z in self.zones if z.kind is ZoneKind.NO_FLY
        ]
        union = shapely.union_all(no_fly) if no_fly else Polygon()
        set_(self, "no_fly", union)
        keep_out = (
            union.buffer(max(self.no_fly_margin_m, 1.0), quad_segs=4) if no_fly else Polygon()
        )
        set_(self, "keep_out", keep_out)
        shapely.prepare(union)
        set_(self, "router", Router(union, margin_m=self.no_fly_margin_m, bounds=self.disk))
        shapely.prepare(keep_out)
        ceilings = tuple(
            (z, frame.geometry_to_local(z.polygon))
            for z in self.zones
            if z.kind is ZoneKind.CEILING
        )
        set_(self, "_ceilings", ceilings)
        home = self.base.elevation_m
        if home is None:
            pos = self.base.position
            home = float(
                self.terrain.elevation_m(np.array([pos.lat_deg]), np.array([pos.lon_deg]))[0]
            )
        set_(self, "home_elevation_m", home)
        if union.contains(Point(0.0, 0.0)):
            raise InvalidGeometryError(f"base {self.base.name!r} lies inside a no-fly zone")

    @property
    def radius_m(self) -> float:
        return self.base.radius_m

    def local_polygon(
        self,
        points: Sequence[tuple[float, float]],
        holes: Sequence[Sequence[tuple[float, float]]] = (),
        what: str = "area",
    ) -> Polygon:
        """(lat, lon) vertices as a polygon in this base's metres."""
        poly = self.frame.geometry_to_local(polygon_from_lat_lon(points, holes, what))
        assert isinstance(poly, Polygon)
        return poly

    def plannable(self, area_local: BaseGeometry) -> BaseGeometry:
        """The part of an area that may be flown over: inside the radius, off the no-fly zones."""
        region = shapely.intersection(area_local, self.disk)
        if not self.keep_out.is_empty:
            region = shapely.difference(region, self.keep_out)
        return _polygonal(region)

    def ceiling_agl_m(self, geometry_local: BaseGeometry) -> float:
        """The lowest ceiling above ground that applies anywhere on the geometry; over
        uneven terrain ``terrain_margin_m`` lower, for the ground between waypoints."""
        limit = self.max_agl_m
        if not isinstance(self.terrain, FlatTerrain):
            limit -= self.terrain_margin_m
        for zone, poly in self._ceilings:
            if poly.intersects(geometry_local) and zone.ceiling_agl_m is not None:
                limit = min(limit, zone.ceiling_agl_m)
        return limit

    def ceiling_zones(self) -> Iterable[tuple[Zone, Polygon]]:
        return iter(self._ceilings)

    def ground_above_home_m(self, east_m: FloatArray, north_m: FloatArray) -> FloatArray:
        """Ground elevation at local points relative to the base's ground (terrain-aware)."""
        if isinstance(self.terrain, FlatTerrain):
            return np.full(np.shape(east_m), self.terrain.ground_m - self.home_elevation_m)
        lat, lon = self.frame.to_geo(east_m, north_m)
        return self.terrain.elevation_m(lat, lon) - self.home_elevation_m


def _polygonal(geometry: BaseGeometry) -> BaseGeometry:
    """Keep only the areal parts of an overlay result (drops stray lines and points)."""
    if isinstance(geometry, (Polygon, MultiPolygon)):
        return geometry
    parts = [g for g in shapely.get_parts(geometry) if isinstance(g, Polygon) and g.area > 0]
    return MultiPolygon(parts) if parts else Polygon()
