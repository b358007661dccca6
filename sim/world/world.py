"""The procedural world: terrain height, land cover and its orthophoto, tile by tile.

Orthophoto tiles form a pyramid: level ``L`` has a ground sample distance of
``BASE_GSD_M * 2**L`` and tiles of ``TILE_PX`` square pixels. Each tile is rendered from the
seed alone when first asked for and kept in a least-recently-used cache bounded in bytes, so
a drone may fly anywhere while the memory held stays put.
"""

from __future__ import annotations

import collections
import logging
import math
import threading
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from sim.world.config import WeatherConfig, WorldConfig
from sim.world.errors import WorldConfigError
from sim.world.geo import GeoFrame
from sim.world.layout import ROAD_WIDTH_M, STREET_WIDTH_M, Layout, Town
from sim.world.noise import F32, F64, Grid, hash01, value_noise_grid, value_noise_points

__all__ = ["BASE_GSD_M", "MAX_LEVEL", "TILE_PX", "Ortho", "World"]

_log = logging.getLogger(__name__)

BASE_GSD_M = 0.25
TILE_PX = 512
MAX_LEVEL = 12

U8 = npt.NDArray[np.uint8]

_FIELD_COLOURS = np.array(
    [
        (0.33, 0.55, 0.62),  # ripe wheat (BGR)
        (0.28, 0.52, 0.36),  # young crop
        (0.30, 0.47, 0.30),  # pasture
        (0.30, 0.40, 0.48),  # bare soil
        (0.24, 0.42, 0.30),  # meadow
        (0.40, 0.60, 0.64),  # stubble
        (0.22, 0.36, 0.42),  # ploughed
    ],
    dtype=np.float32,
)
_ROOF_COLOURS = [
    (0.25, 0.30, 0.55),
    (0.22, 0.26, 0.45),
    (0.35, 0.35, 0.37),
    (0.28, 0.30, 0.34),
    (0.30, 0.38, 0.50),
    (0.42, 0.42, 0.44),
    (0.62, 0.62, 0.60),
    (0.50, 0.52, 0.52),
]


@dataclass(frozen=True, slots=True)
class Ortho:
    """An orthophoto of part of the world plane, north up."""

    image_bgr: U8
    grid: Grid


class World:
    """A seeded world around ``config.origin``; thread-safe, rendering may run in executors."""

    def __init__(
        self, config: WorldConfig, *, seed: int, weather: WeatherConfig | None = None
    ) -> None:
        self.config = config
        self.seed = seed
        self.weather = weather or WeatherConfig()
        self.frame = GeoFrame(*config.origin)
        self.layout = Layout(seed, config.town_density)
        self._tiles: collections.OrderedDict[tuple[int, int, int], U8] = collections.OrderedDict()
        self._tile_bytes = 0
        self._lock = threading.Lock()
        self.tiles_rendered = 0

    # --- scalar fields ---------------------------------------------------------------------

    def _s(self, salt: int) -> int:
        return (self.seed * 1_000_003 + salt) & 0xFFFFFFFF

    def height_m(self, x_m: F64, y_m: F64) -> F64:
        """Ground height above mean sea level at world points, metres."""
        x, y = np.asarray(x_m, dtype=np.float64), np.asarray(y_m, dtype=np.float64)
        n = (
            0.55 * value_noise_points(x, y, 2400.0, self._s(1))
            + 0.30 * value_noise_points(x, y, 900.0, self._s(2))
            + 0.15 * value_noise_points(x, y, 350.0, self._s(3))
        )
        result: F64 = self.config.base_altitude_amsl_m + self.config.relief_m * (n - 0.5) * 2.0
        return result

    def _height_grid(self, grid: Grid) -> F32:
        n = (
            0.55 * value_noise_grid(grid, 2400.0, self._s(1))
            + 0.30 * value_noise_grid(grid, 900.0, self._s(2))
            + 0.15 * value_noise_grid(grid, 350.0, self._s(3))
        )
        out: F32 = (
            self.config.base_altitude_amsl_m + self.config.relief_m * (n - 0.5) * 2.0
        ).astype(np.float32)
        return out

    def _sea_margin(self, x: F64, y: F64, n1: F64, n2: F64) -> F64:
        """Positive at sea, negative on land, metres from the shoreline (roughly)."""
        bearing = self.config.coast_bearing_deg
        if bearing is None:
            result: F64 = np.full(np.shape(x), -1e9)
            return result
        b = math.radians(bearing)
        along = x * math.sin(b) + y * math.cos(b)
        result = along - (self.config.coast_distance_m + (n1 - 0.5) * 6000.0 + (n2 - 0.5) * 900.0)
        return result

    def is_water(self, x_m: F64, y_m: F64) -> npt.NDArray[np.bool_]:
        """Whether world points lie on a lake, a river or the sea."""
        x, y = np.asarray(x_m, dtype=np.float64), np.asarray(y_m, dtype=np.float64)
        lake = 0.7 * value_noise_points(x, y, 1700.0, self._s(11)) + 0.3 * value_noise_points(
            x, y, 600.0, self._s(12)
        )
        river = 0.75 * value_noise_points(x, y, 3000.0, self._s(13)) + 0.25 * value_noise_points(
            x, y, 900.0, self._s(14)
        )
        sea = self._sea_margin(
            x,
            y,
            value_noise_points(x, y, 5000.0, self._s(15)),
            value_noise_points(x, y, 1200.0, self._s(16)),
        )
        result: npt.NDArray[np.bool_] = (lake > 0.74) | (np.abs(river - 0.5) < 0.010) | (sea > 0)
        return result

    # --- tiles ------------------------------------------------------------------------------

    @staticmethod
    def tile_size_m(level: int) -> float:
        return TILE_PX * BASE_GSD_M * 2.0**level

    @staticmethod
    def level_for_gsd(gsd_m: float) -> int:
        """The finest pyramid level no finer than needed for ``gsd_m``."""
        if gsd_m <= BASE_GSD_M:
            return 0
        return min(MAX_LEVEL, math.floor(math.log2(gsd_m / BASE_GSD_M) + 1e-9))

    @property
    def cache_bytes(self) -> int:
        return self._tile_bytes

    @property
    def cached_tiles(self) -> int:
        return len(self._tiles)

    def tile(self, level: int, tx: int, ty: int) -> U8:
        """The orthophoto tile ``(tx, ty)`` of ``level``; its north-west corner is at
        ``(tx * size, (ty + 1) * size)``."""
        if not 0 <= level <= MAX_LEVEL:
            raise WorldConfigError(f"ortho level {level} is outside 0..{MAX_LEVEL}")
        key = (level, tx, ty)
        with self._lock:
            found = self._tiles.get(key)
            if found is not None:
                self._tiles.move_to_end(key)
                return found
        image = self._render_tile(level, tx, ty)
        budget = int(self.config.tile_cache_mb * 1024 * 1024)
        with self._lock:
            if key not in self._tiles:
                self._tiles[key] = image
                self._tile_bytes += image.nbytes
                self.tiles_rendered += 1
            while self._tile_bytes > budget and len(self._tiles) > 1:
                _, old = self._tiles.popitem(last=False)
                self._tile_bytes -= old.nbytes
        return image

    def ortho(self, x0_m: float, y0_m: float, x1_m: float, y1_m: float, level: int) -> Ortho:
        """A north-up orthophoto covering the box at ``level``'s resolution (tile aligned)."""
        size = self.tile_size_m(level)
        tx0, tx1 = math.floor(x0_m / size), math.floor(x1_m / size)
        ty0, ty1 = math.floor(y0_m / size), math.floor(y1_m / size)
        nx, ny = tx1 - tx0 + 1, ty1 - ty0 + 1
        out = np.empty((ny * TILE_PX, nx * TILE_PX, 3), dtype=np.uint8)
        for col, tx in enumerate(range(tx0, tx1 + 1)):
            for row, ty in enumerate(range(ty1, ty0 - 1, -1)):
                out[row * TILE_PX : (row + 1) * TILE_PX, col * TILE_PX : (col + 1) * TILE_PX] = (
                    self.tile(level, tx, ty)
                )
        grid = Grid(
            tx0 * size, (ty1 + 1) * size, BASE_GSD_M * 2.0**level, nx * TILE_PX, ny * TILE_PX
        )
        return Ortho(out, grid)

    # --- rendering --------------------------------------------------------------------------

    def _sun(self) -> tuple[F64, float, float]:
        az = math.radians(self.weather.sun_azimuth_deg)
        el = math.radians(self.weather.sun_elevation_deg)
        to_sun = np.array([math.sin(az) * math.cos(el), math.cos(az) * math.cos(el), math.sin(el)])
        shadow = 1.0 / math.tan(el)
        return to_sun, -math.sin(az) * shadow, -math.cos(az) * shadow

    def _render_tile(self, level: int, tx: int, ty: int) -> U8:
        gsd = BASE_GSD_M * 2.0**level
        size = self.tile_size_m(level)
        grid = Grid(tx * size, (ty + 1) * size, gsd, TILE_PX, TILE_PX)
        padded = Grid(grid.x0_m - gsd, grid.y0_m + gsd, gsd, TILE_PX + 2, TILE_PX + 2)
        img = self._ground(grid, padded)
        x1, y1 = grid.x0_m + size, grid.y0_m
        y0 = grid.y0_m - size
        for town in self.layout.towns_near(grid.x0_m, y0, x1, y1):
            self._draw_town(img, grid, town)
        self._draw_country_roads(img, grid, x1, y0)
        grain = value_noise_grid(grid, 0.9, self._s(50), exact=False)
        grain2 = value_noise_grid(grid, 7.0, self._s(51), exact=False)
        img *= (0.88 + 0.16 * grain + 0.08 * (grain2 - 0.5))[..., None]
        img *= self.weather.brightness
        out: U8 = np.clip(img * 255.0, 0, 255).astype(np.uint8)
        return out

    def _ground(self, grid: Grid, padded: Grid) -> F32:
        gsd = grid.gsd_m
        height = self._height_grid(padded)
        gy, gx = np.gradient(height, gsd)
        # rows run south, so the northward slope is minus the row gradient
        normal = np.stack([-gx, gy, np.ones_like(gx)], axis=-1)
        normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
        to_sun, _, _ = self._sun()
        lambert = np.clip(
            normal[..., 0] * to_sun[0] + normal[..., 1] * to_sun[1] + normal[..., 2] * to_sun[2],
            0.0,
            1.0,
        )[1:-1, 1:-1]
        shade = (0.55 + 0.45 * lambert / max(to_sun[2], 0.2)).astype(np.float32)

        xs, ys = grid.xs(), grid.ys()
        warp_x = (value_noise_grid(grid, 500.0, self._s(30), exact=False) - 0.5) * 90.0
        warp_y = (value_noise_grid(grid, 500.0, self._s(31), exact=False) - 0.5) * 90.0
        fx = (xs[None, :] + warp_x) / 230.0
        fy = (ys[:, None] + warp_y) / 170.0
        pi, pj = np.floor(fx).astype(np.int64), np.floor(fy).astype(np.int64)
        parcel = hash01(pi, pj, self._s(32))
        kind = (parcel * len(_FIELD_COLOURS)).astype(np.int64)
        img = _FIELD_COLOURS[kind].copy()
        img *= (0.85 + 0.3 * hash01(pi, pj, self._s(33)))[..., None].astype(np.float32)
        spacing = 2.0 + 3.0 * hash01(pi, pj, self._s(34))
        along = np.where(parcel * 1000 % 2 < 1, xs[None, :] + warp_x, ys[:, None] + warp_y)
        stripes_visible = np.clip(1.5 - 2.0 * gsd / spacing, 0.0, 1.0)
        stripes = 1.0 + 0.10 * stripes_visible * np.sin(2 * np.pi * along / spacing)
        img *= stripes[..., None].astype(np.float32)
        edge_m = np.minimum(
            np.minimum(fx - pi, 1 - (fx - pi)) * 230.0, np.minimum(fy - pj, 1 - (fy - pj)) * 170.0
        )
        hedge = np.clip(1.0 - (edge_m - 1.0) / max(gsd, 1.0), 0.0, 1.0)[..., None]
        img = (img * (1 - hedge * 0.6) + np.array([0.12, 0.25, 0.16]) * hedge * 0.6).astype(
            np.float32
        )

        forest_n = 0.7 * value_noise_grid(grid, 900.0, self._s(20)) + 0.3 * value_noise_grid(
            grid, 250.0, self._s(21)
        )
        crowns = value_noise_grid(grid, 3.5, self._s(22), exact=False)
        crowns2 = value_noise_grid(grid, 9.0, self._s(23), exact=False)
        forest = np.clip((forest_n - 0.60) * 30.0, 0.0, 1.0)[..., None]
        tree = (
            np.array([0.14, 0.30, 0.17], np.float32)
            * (0.45 + 0.9 * np.clip(crowns * 0.7 + crowns2 * 0.5 - 0.2, 0, 1))[..., None]
        )
        img = (img * (1 - forest) + tree * forest).astype(np.float32)

        water = self._water_grid(grid)
        ripple = value_noise_grid(grid, 6.0, self._s(40), exact=False)
        deep = value_noise_grid(grid, 300.0, self._s(41), exact=False)
        water_col = np.array([0.38, 0.33, 0.20], np.float32) * (0.75 + 0.35 * deep)[..., None]
        water_col = water_col * (0.93 + 0.14 * ripple)[..., None]
        img = img * shade[..., None]
        img = img * (1 - water) + water_col * water

        return np.ascontiguousarray(img, dtype=np.float32)

    def _water_grid(self, grid: Grid) -> F32:
        lake = 0.7 * value_noise_grid(grid, 1700.0, self._s(11)) + 0.3 * value_noise_grid(
            grid, 600.0, self._s(12)
        )
        river = 0.75 * value_noise_grid(grid, 3000.0, self._s(13)) + 0.25 * value_noise_grid(
            grid, 900.0, self._s(14)
        )
        xs, ys = np.meshgrid(grid.xs(), grid.ys())
        if self.config.coast_bearing_deg is not None:
            sea = self._sea_margin(
                xs,
                ys,
                value_noise_grid(grid, 5000.0, self._s(15)).astype(np.float64),
                value_noise_grid(grid, 1200.0, self._s(16)).astype(np.float64),
            )
        else:
            sea = np.full(xs.shape, -1e9)
        soft = 2.0 / max(grid.gsd_m, 0.5)
        mask = np.maximum.reduce(
            [
                np.clip((lake - 0.74) * 400.0 * soft / 8.0 + 0.5, 0, 1),
                np.clip((0.010 - np.abs(river - 0.5)) * 1500.0 * soft / 8.0 + 0.5, 0, 1),
                np.clip(sea / max(grid.gsd_m, 1.0) + 0.5, 0, 1),
            ]
        )
        out: F32 = mask.astype(np.float32)[..., None]
        return out

    def _poly_px(self, grid: Grid, pts: list[tuple[float, float]]) -> npt.NDArray[np.int32]:
        return np.array([[round(c * 16) for c in grid.to_px(x, y)] for x, y in pts], dtype=np.int32)

    def _line(
        self,
        img: F32,
        grid: Grid,
        a: tuple[float, float],
        b: tuple[float, float],
        width_m: float,
        colour: tuple[float, float, float],
    ) -> None:
        pa, pb = self._poly_px(grid, [a, b])
        thickness = max(1, round(width_m / grid.gsd_m))
        cv2.line(
            img,
            (int(pa[0]), int(pa[1])),
            (int(pb[0]), int(pb[1])),
            colour,
            thickness,
            cv2.LINE_AA,
            4,
        )

    def _draw_country_roads(self, img: F32, grid: Grid, x1_m: float, y0_m: float) -> None:
        for a, b in self.layout.country_roads_near(grid.x0_m, y0_m, x1_m, grid.y0_m):
            self._line(
                img, grid, (a.x_m, a.y_m), (b.x_m, b.y_m), ROAD_WIDTH_M + 2.5, (0.30, 0.36, 0.38)
            )
            self._line(img, grid, (a.x_m, a.y_m), (b.x_m, b.y_m), ROAD_WIDTH_M, (0.27, 0.27, 0.28))
            if grid.gsd_m <= 0.5:
                self._dashes(img, grid, (a.x_m, a.y_m), (b.x_m, b.y_m))

    def _dashes(self, img: F32, grid: Grid, a: tuple[float, float], b: tuple[float, float]) -> None:
        length = math.hypot(b[0] - a[0], b[1] - a[1])
        ux, uy = (b[0] - a[0]) / length, (b[1] - a[1]) / length
        size = grid.gsd_m * TILE_PX
        # only the dashes near this tile
        cx, cy = grid.x0_m + size / 2, grid.y0_m - size / 2
        t_mid = (cx - a[0]) * ux + (cy - a[1]) * uy
        t0 = max(0.0, math.floor((t_mid - size) / 12.0) * 12.0)
        t1 = min(length, t_mid + size)
        t = t0
        while t < t1:
            p = (a[0] + ux * t, a[1] + uy * t)
            q = (a[0] + ux * (t + 4.0), a[1] + uy * (t + 4.0))
            self._line(img, grid, p, q, 0.15, (0.85, 0.85, 0.85))
            t += 12.0

    def _draw_town(self, img: F32, grid: Grid, town: Town) -> None:
        mask = np.zeros(img.shape[:2], np.uint8)
        cx, cy = grid.to_px(town.x_m, town.y_m)
        r_px = town.radius_m / grid.gsd_m
        cv2.circle(
            mask, (round(cx * 16), round(cy * 16)), round(r_px * 16), 255, -1, cv2.LINE_AA, 4
        )
        coarse = grid.gsd_m > 4.0  # streets and houses are below a pixel: a built-up tint
        if mask.any():
            garden = value_noise_grid(grid, 12.0, self._s(60), exact=False)[..., None]
            ground = np.array([0.30, 0.42, 0.36], np.float32) * (0.75 + 0.5 * garden)
            if coarse:
                ground = ground * 0.5 + np.array([0.36, 0.36, 0.38], np.float32) * 0.5
            alpha = (mask.astype(np.float32) / 255.0)[..., None] * 0.85
            img[:] = img * (1 - alpha) + ground * alpha
        if coarse:
            return
        reach = grid.gsd_m * grid.width_px + town.street_spacing_m
        mid_x, mid_y = grid.x0_m + reach / 2, grid.y0_m - reach / 2
        for node in self.layout.street_nodes(town):
            _, _, a, b = node
            p = town.street_point(a, b)
            if abs(p[0] - mid_x) > reach or abs(p[1] - mid_y) > reach:
                continue
            for da, db in ((1, 0), (0, 1)):
                if town.has_street_node(a + da, b + db):
                    self._line(
                        img,
                        grid,
                        p,
                        town.street_point(a + da, b + db),
                        STREET_WIDTH_M,
                        (0.33, 0.33, 0.34),
                    )
        if town.square_radius_m > 0:
            cv2.circle(
                img,
                (round(cx * 16), round(cy * 16)),
                round(town.square_radius_m / grid.gsd_m * 16),
                (0.52, 0.56, 0.60),
                -1,
                cv2.LINE_AA,
                4,
            )
        _, sx, sy = self._sun()
        size = grid.gsd_m * grid.width_px
        west, north = grid.x0_m - 60.0, grid.y0_m + 60.0
        east, south = grid.x0_m + size + 60.0, grid.y0_m - size - 60.0
        here = [
            b
            for b in self.layout.buildings(town.i, town.j)
            if west < b.x_m < east and south < b.y_m < north
        ]
        shade = np.zeros(img.shape[:2], np.uint8)
        for bld in here:
            corners = _rect(bld.x_m, bld.y_m, bld.length_m, bld.width_m, bld.angle_rad)
            shadow = [(x + sx * bld.height_m, y + sy * bld.height_m) for x, y in corners]
            hull = cv2.convexHull(self._poly_px(grid, corners + shadow))
            cv2.fillConvexPoly(shade, hull, 255, cv2.LINE_AA, 4)
        if here:
            img *= (1.0 - 0.6 * shade.astype(np.float32) / 255.0)[..., None]
        for bld in here:
            corners = _rect(bld.x_m, bld.y_m, bld.length_m, bld.width_m, bld.angle_rad)
            colour = _ROOF_COLOURS[bld.roof]
            cv2.fillConvexPoly(img, self._poly_px(grid, corners), colour, cv2.LINE_AA, 4)
            if bld.roof < 6:  # pitched: the half facing away from the sun is darker
                half = _rect_half(bld.x_m, bld.y_m, bld.length_m, bld.width_m, bld.angle_rad)
                dark = tuple(c * 0.72 for c in colour)
                cv2.fillConvexPoly(img, self._poly_px(grid, half), dark, cv2.LINE_AA, 4)


def _rect(
    x: float, y: float, length: float, width: float, angle: float
) -> list[tuple[float, float]]:
    ca, sa = math.cos(angle), math.sin(angle)
    out = []
    for u, v in ((1, 1), (-1, 1), (-1, -1), (1, -1)):
        du, dv = u * length / 2, v * width / 2
        out.append((x + du * ca - dv * sa, y + du * sa + dv * ca))
    return out


def _rect_half(
    x: float, y: float, length: float, width: float, angle: float
) -> list[tuple[float, float]]:
    ca, sa = math.cos(angle), math.sin(angle)
    out = []
    for u, v in ((1, 0), (-1, 0), (-1, -1), (1, -1)):
        du, dv = u * length / 2, v * width / 2
        out.append((x + du * ca - dv * sa, y + du * sa + dv * ca))
    return out
