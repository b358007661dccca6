"""Basemap tiles show the world's ground where a web map expects it."""

from __future__ import annotations

import asyncio
import math
import socket
from collections.abc import AsyncIterator

import cv2
import httpx
import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI

from sim.world import TileRequestError, World, WorldConfig
from sim.world.errors import OutOfWorldError
from sim.world.tiles import render_xyz_tile, tiles_router

WORLD = WorldConfig(origin=(52.0, 5.0), radius_m=30_000.0)


def _tile_of(lat: float, lon: float, z: int) -> tuple[int, int, float, float]:
    """Slippy-map tile and pixel of a point (the OSM wiki's formulas)."""
    n = 2**z
    fx = (lon + 180.0) / 360.0 * n
    lat_r = math.radians(lat)
    fy = (1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n
    return int(fx), int(fy), (fx - int(fx)) * 256, (fy - int(fy)) * 256


def test_tile_pixels_show_the_ground_at_their_geographic_position() -> None:
    world = World(WORLD, seed=7)
    town = world.layout.town(0, 0)
    lat, lon = world.frame.to_latlon(town.x_m, town.y_m)
    x, y, _, _ = _tile_of(lat, lon, 18)
    png = render_xyz_tile(world, 18, x, y)
    assert png == render_xyz_tile(world, 18, x, y)
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    assert image.shape == (256, 256, 3)
    # read the same places straight off the world's finest orthophoto
    n = 2**18
    rng = np.random.default_rng(1)
    cols, rows = rng.integers(8, 248, 300), rng.integers(8, 248, 300)
    points = []
    for c, r in zip(cols, rows, strict=True):
        p_lon = (x + (c + 0.5) / 256) / n * 360.0 - 180.0
        p_lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + (r + 0.5) / 256) / n))))
        points.append(world.frame.to_xy(p_lat, p_lon))
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    ortho = world.ortho(min(xs), min(ys), max(xs), max(ys), 0)
    g = ortho.grid
    truth = np.array(
        [
            ortho.image_bgr[
                round((g.y0_m - py) / g.gsd_m - 0.5), round((px - g.x0_m) / g.gsd_m - 0.5)
            ]
            for px, py in points
        ],
        dtype=float,
    )
    here = np.abs(image[rows, cols].astype(float) - truth).mean()
    shifted = np.abs(image[rows, (cols + 6) % 256].astype(float) - truth).mean()
    assert here < 6.0
    assert shifted > 2 * here


def test_bad_and_distant_tiles_are_refused() -> None:
    world = World(WORLD, seed=7)
    with pytest.raises(TileRequestError, match="zoom 3"):
        render_xyz_tile(world, 3, 0, 0)
    with pytest.raises(TileRequestError, match="does not exist"):
        render_xyz_tile(world, 12, 5000, 0)
    x, y, _, _ = _tile_of(48.0, 2.0, 12)
    with pytest.raises(OutOfWorldError, match="beyond"):
        render_xyz_tile(world, 12, x, y)
    assert world.cached_tiles == 0


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = FastAPI()
    app.include_router(tiles_router(World(WORLD, seed=7)))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)  # connections wait in the backlog until uvicorn accepts them
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve(sockets=[sock]), name="test.tiles.server")
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    await task
    sock.close()


async def test_tiles_are_served_over_http(server: str) -> None:
    x, y, _, _ = _tile_of(52.0, 5.0, 14)
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        ok = await client.get(f"/tiles/14/{x}/{y}.png")
        assert ok.status_code == 200
        assert ok.headers["content-type"] == "image/png"
        assert ok.content.startswith(b"\x89PNG")
        assert (await client.get("/tiles/2/1/1.png")).status_code == 400
        far_x, far_y, _, _ = _tile_of(40.0, 5.0, 14)
        assert (await client.get(f"/tiles/14/{far_x}/{far_y}.png")).status_code == 404
