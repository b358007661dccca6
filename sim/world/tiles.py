"""The world's orthophoto as XYZ (web-mercator) basemap tiles: ``/tiles/{z}/{x}/{y}.png``.

The command map shows the same ground the cameras see. Tiles are rendered on demand from the
world's ortho pyramid (bounded cache) and resampled into web mercator; the route renders in
a worker thread, never on the event loop.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from fastapi import APIRouter, HTTPException, Response
from starlette.concurrency import run_in_threadpool

from sim.world.errors import OutOfWorldError, TileRequestError
from sim.world.world import World

__all__ = ["MAX_ZOOM", "MIN_ZOOM", "TILE_SIZE_PX", "render_xyz_tile", "tiles_router"]

TILE_SIZE_PX = 256
MIN_ZOOM = 8
MAX_ZOOM = 21


def _lat(y: float, n: float) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * y / n))))


def render_xyz_tile(world: World, z: int, x: int, y: int) -> bytes:
    """PNG bytes of web-mercator tile ``z/x/y`` of ``world``."""
    if not MIN_ZOOM <= z <= MAX_ZOOM:
        raise TileRequestError(
            f"zoom {z} is outside the basemap's {MIN_ZOOM}..{MAX_ZOOM}", z=z, x=x, y=y
        )
    n = 2**z
    if not (0 <= x < n and 0 <= y < n):
        raise TileRequestError(f"tile {x}/{y} does not exist at zoom {z}", z=z, x=x, y=y)
    west, east = x / n * 360.0 - 180.0, (x + 1) / n * 360.0 - 180.0
    north, south = _lat(y, n), _lat(y + 1, n)
    frame = world.frame
    x0, y1 = frame.to_xy(north, west)
    x1, y0 = frame.to_xy(south, east)
    nearest_x = min(max(0.0, x0), x1)
    nearest_y = min(max(0.0, y0), y1)
    distance = math.hypot(nearest_x, nearest_y)
    if distance > world.config.radius_m:
        raise OutOfWorldError(
            f"tile {z}/{x}/{y} lies {distance / 1000:.1f} km from the world's origin, beyond "
            f"its {world.config.radius_m / 1000:.1f} km",
            distance_m=distance,
            radius_m=world.config.radius_m,
        )
    gsd = (x1 - x0) / TILE_SIZE_PX
    ortho = world.ortho(x0, y0, x1, y1, world.level_for_gsd(gsd))
    g = ortho.grid
    cols = np.arange(TILE_SIZE_PX) + 0.5
    rows = np.arange(TILE_SIZE_PX) + 0.5
    lons = west + (east - west) * cols / TILE_SIZE_PX
    lats = np.degrees(np.arctan(np.sinh(np.pi * (1.0 - 2.0 * (y + rows / TILE_SIZE_PX) / n))))
    east_m, north_m = frame.metres_per_deg
    wx = (lons - frame.lon0_deg) * east_m
    wy = (lats - frame.lat0_deg) * north_m
    map_x = np.broadcast_to(((wx - g.x0_m) / g.gsd_m - 0.5)[None, :], (TILE_SIZE_PX,) * 2)
    map_y = np.broadcast_to(((g.y0_m - wy) / g.gsd_m - 0.5)[:, None], (TILE_SIZE_PX,) * 2)
    tile = cv2.remap(
        ortho.image_bgr,
        np.ascontiguousarray(map_x, dtype=np.float32),
        np.ascontiguousarray(map_y, dtype=np.float32),
        interpolation=cv2.INTER_AREA if gsd > g.gsd_m * 1.5 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    ok, png = cv2.imencode(".png", tile)
    if not ok:
        raise TileRequestError(f"tile {z}/{x}/{y} could not be encoded", z=z, x=x, y=y)
    return bytes(png.tobytes())


def tiles_router(world: World, *, prefix: str = "/tiles") -> APIRouter:
    """A FastAPI router serving ``{prefix}/{z}/{x}/{y}.png`` from ``world``."""
    router = APIRouter(prefix=prefix, tags=["basemap"])

    @router.get("/{z}/{x}/{y}.png", response_class=Response, summary="Basemap tile")
    async def tile(z: int, x: int, y: int) -> Response:
        try:
            png = await run_in_threadpool(render_xyz_tile, world, z, x, y)
        except TileRequestError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        except OutOfWorldError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from None
        return Response(
            content=png, media_type="image/png", headers={"Cache-Control": "max-age=86400"}
        )

    return router
