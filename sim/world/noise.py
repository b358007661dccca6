"""Deterministic lattice noise, evaluated at points or on axis-aligned pixel grids.

Every value is a pure function of the seed and the world coordinates, so a tile rendered
today, a neighbouring tile rendered tomorrow and a target asking "is this water?" all agree.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["Grid", "hash01", "value_noise_grid", "value_noise_points"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xC2B2AE3D27D4EB4F)
_M3 = np.uint64(0x165667B19E3779F9)
_M4 = np.uint64(0xFF51AFD7ED558CCD)
_S33 = np.uint64(33)
_S11 = np.uint64(11)


def hash01(ix: npt.ArrayLike, iy: npt.ArrayLike, seed: int) -> F64:
    """A uniform value in [0, 1) for each integer lattice point and seed."""
    a = np.asarray(ix, dtype=np.int64).astype(np.uint64)
    b = np.asarray(iy, dtype=np.int64).astype(np.uint64)
    s = np.full(np.broadcast(a, b).shape, seed & 0xFFFFFFFF, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = a * _M1 ^ b * _M2 ^ s * _M3
        h ^= h >> _S33
        h *= _M4
        h ^= h >> _S33
        h *= _M2
        h ^= h >> _S33
    result: F64 = (h >> _S11).astype(np.float64) / float(1 << 53)
    return result


def _smooth(t: F64) -> F64:
    result: F64 = t * t * (3.0 - 2.0 * t)
    return result


def value_noise_points(x_m: F64, y_m: F64, cell_m: float, seed: int) -> F64:
    """Smooth value noise in [0, 1) at arbitrary points (exact; agrees with the grid path)."""
    gx = np.asarray(x_m, dtype=np.float64) / cell_m
    gy = np.asarray(y_m, dtype=np.float64) / cell_m
    ix = np.floor(gx)
    iy = np.floor(gy)
    tx = _smooth(gx - ix)
    ty = _smooth(gy - iy)
    ix_i = ix.astype(np.int64)
    iy_i = iy.astype(np.int64)
    v00 = hash01(ix_i, iy_i, seed)
    v10 = hash01(ix_i + 1, iy_i, seed)
    v01 = hash01(ix_i, iy_i + 1, seed)
    v11 = hash01(ix_i + 1, iy_i + 1, seed)
    result: F64 = (v00 * (1 - tx) + v10 * tx) * (1 - ty) + (v01 * (1 - tx) + v11 * tx) * ty
    return result


class Grid:
    """An axis-aligned pixel grid on the world plane: pixel centres at ``+0.5``."""

    __slots__ = ("gsd_m", "height_px", "width_px", "x0_m", "y0_m")

    def __init__(self, x0_m: float, y0_m: float, gsd_m: float, width_px: int, height_px: int):
        self.x0_m = x0_m  # west edge
        self.y0_m = y0_m  # north edge
        self.gsd_m = gsd_m
        self.width_px = width_px
        self.height_px = height_px

    def xs(self) -> F64:
        result = np.asarray(self.x0_m + (np.arange(self.width_px) + 0.5) * self.gsd_m, np.float64)
        return result

    def ys(self) -> F64:
        result = np.asarray(self.y0_m - (np.arange(self.height_px) + 0.5) * self.gsd_m, np.float64)
        return result

    def to_px(self, x_m: float, y_m: float) -> tuple[float, float]:
        """OpenCV pixel coordinates (centre of pixel 0 at 0.0) of a world point."""
        return (x_m - self.x0_m) / self.gsd_m - 0.5, (self.y0_m - y_m) / self.gsd_m - 0.5


def _axis(coords: F64, cell_m: float) -> tuple[int, int, npt.NDArray[np.int64], F64]:
    """First lattice index, lattice count, per-pixel cell index and smooth weight on one axis."""
    g = coords / cell_m
    cells = np.floor(g)
    i0 = int(cells.min())
    n = int(cells.max()) - i0 + 2
    return i0, n, (cells - i0).astype(np.int64), _smooth(g - cells)


def value_noise_grid(grid: Grid, cell_m: float, seed: int, *, exact: bool = True) -> F32:
    """Value noise on ``grid`` (rows north to south).

    ``exact`` uses the same smooth interpolation as :func:`value_noise_points`, as semantic
    layers (height, water, forest) must; texture layers may pass ``exact=False`` for a fast
    bilinear warp of the lattice.
    """
    if not exact and cell_m < 1.5 * grid.gsd_m:
        # finer than a pixel: what a camera sees of it is its mean
        return np.full((grid.height_px, grid.width_px), 0.5, dtype=np.float32)
    xs, ys = grid.xs(), grid.ys()
    if exact or cell_m / grid.gsd_m > 24.0:
        # separable gather, no BLAS: two lattice neighbours per pixel on each axis
        i0, ni, ix, tx = _axis(xs, cell_m)
        j0, nj, iy, ty = _axis(ys, cell_m)
        lattice = hash01(np.arange(i0, i0 + ni)[None, :], np.arange(j0, j0 + nj)[:, None], seed)
        rows = lattice[:, ix] * (1.0 - tx) + lattice[:, ix + 1] * tx
        values: F64 = rows[iy] * (1.0 - ty)[:, None] + rows[iy + 1] * ty[:, None]
        return values.astype(np.float32)
    i0 = int(np.floor(xs[0] / cell_m)) - 1
    j1 = int(np.floor(ys[0] / cell_m)) + 2
    ni = int(np.ceil((xs[-1] - xs[0]) / cell_m)) + 4
    nj = int(np.ceil((ys[0] - ys[-1]) / cell_m)) + 4
    lattice32 = hash01(
        np.arange(i0, i0 + ni)[None, :], np.arange(j1, j1 - nj, -1)[:, None], seed
    ).astype(np.float32)
    scale = grid.gsd_m / cell_m
    matrix = np.array(
        [
            [scale, 0.0, xs[0] / cell_m - i0],
            [0.0, scale, j1 - ys[0] / cell_m],
        ],
        dtype=np.float64,
    )
    out = cv2.warpAffine(
        lattice32,
        matrix,
        (grid.width_px, grid.height_px),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )
    return np.asarray(out, dtype=np.float32)
