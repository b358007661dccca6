"""Camera model and pixel → ground projection with a ground-position uncertainty.

Frames and conventions:

- image: ``u`` to the right, ``v`` down, pixel centres at integer + 0.5 when the principal
  point sits at ``width/2``; camera axes ``x`` right, ``y`` down, ``z`` along the optical axis;
- camera attitude as yaw (heading from north), pitch (-90 looks straight down) and roll,
  applied Z-Y-X to the camera's forward-right-down axes, then into local north-east-down;
  looking straight down with yaw 0, the top of the image points north;
- the ground is the tangent plane of the WGS84 ellipsoid at the camera, at a given
  altitude (flat terrain) or a terrain function of latitude and longitude; north/east offsets
  become latitude/longitude through the ellipsoid's radii of curvature.

The uncertainty of a ground point is found by sampling: the pose (position and attitude)
and the pixel are perturbed by their standard deviations and the spread of the projected
points, per axis, is ``ground_sigma_m``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from vision.errors import ProjectionError
from vision.metadata import FrameMetadata

__all__ = [
    "CameraIntrinsics",
    "CameraPose",
    "FlatTerrain",
    "GroundPoint",
    "PoseUncertainty",
    "Projector",
    "Terrain",
]

FloatArray = npt.NDArray[np.float64]

_WGS84_A_M = 6_378_137.0
_WGS84_E2 = 6.694379990141317e-3
_MAX_RANGE_M = 20_000.0


class Terrain(Protocol):
    """Ground altitude above mean sea level at a position."""

    def altitude_amsl_m(self, lat_deg: float, lon_deg: float) -> float: ...


@dataclass(frozen=True, slots=True)
class FlatTerrain:
    """Level ground at one altitude."""

    alt_amsl_m: float

    def altitude_amsl_m(self, lat_deg: float, lon_deg: float) -> float:
        return self.alt_amsl_m


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraIntrinsics:
    """Pinhole intrinsics with optional OpenCV distortion ``(k1, k2, p1, p2[, k3 …])``."""

    width_px: int
    height_px: int
    fx_px: float
    fy_px: float
    cx_px: float
    cy_px: float
    distortion: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.width_px <= 0 or self.height_px <= 0:
            raise ValueError(f"image size must be positive, got {self.width_px}×{self.height_px}")
        if self.fx_px <= 0 or self.fy_px <= 0:
            raise ValueError(f"focal lengths must be positive, got {self.fx_px}, {self.fy_px}")
        if self.distortion and len(self.distortion) not in (4, 5, 8, 12, 14):
            raise ValueError(
                f"distortion must have 4, 5, 8, 12 or 14 coefficients, got {len(self.distortion)}"
            )

    @classmethod
    def from_fov(
        cls, *, width_px: int, height_px: int, hfov_deg: float, vfov_deg: float | None = None
    ) -> CameraIntrinsics:
        """Square pixels unless ``vfov_deg`` is given; principal point at the image centre."""
        if not 0.0 < hfov_deg < 180.0:
            raise ValueError(f"horizontal field of view must be in (0, 180) deg, got {hfov_deg}")
        fx = (width_px / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        fy = fx
        if vfov_deg is not None:
            if not 0.0 < vfov_deg < 180.0:
                raise ValueError(f"vertical field of view must be in (0, 180) deg, got {vfov_deg}")
            fy = (height_px / 2.0) / math.tan(math.radians(vfov_deg) / 2.0)
        return cls(
            width_px=width_px,
            height_px=height_px,
            fx_px=fx,
            fy_px=fy,
            cx_px=width_px / 2.0,
            cy_px=height_px / 2.0,
        )

    @classmethod
    def from_calibration(
        cls,
        *,
        width_px: int,
        height_px: int,
        camera_matrix: Sequence[Sequence[float]],
        distortion: Sequence[float] = (),
    ) -> CameraIntrinsics:
        """From OpenCV's calibration output (3×3 camera matrix and distortion vector)."""
        matrix = np.asarray(camera_matrix, dtype=np.float64)
        if matrix.shape != (3, 3):
            raise ValueError(f"camera matrix must be 3×3, got shape {matrix.shape}")
        return cls(
            width_px=width_px,
            height_px=height_px,
            fx_px=float(matrix[0, 0]),
            fy_px=float(matrix[1, 1]),
            cx_px=float(matrix[0, 2]),
            cy_px=float(matrix[1, 2]),
            distortion=tuple(float(k) for k in distortion),
        )

    def scaled_to(self, width_px: int, height_px: int) -> CameraIntrinsics:
        """The same optics at another resolution (a resized stream)."""
        sx, sy = width_px / self.width_px, height_px / self.height_px
        return CameraIntrinsics(
            width_px=width_px,
            height_px=height_px,
            fx_px=self.fx_px * sx,
            fy_px=self.fy_px * sy,
            cx_px=self.cx_px * sx,
            cy_px=self.cy_px * sy,
            distortion=self.distortion,
        )

    @property
    def matrix(self) -> FloatArray:
        return np.array(
            [[self.fx_px, 0.0, self.cx_px], [0.0, self.fy_px, self.cy_px], [0.0, 0.0, 1.0]]
        )

    def rays(self, pixels_uv: FloatArray) -> FloatArray:
        """Unit viewing rays in the camera frame for an (N, 2) array of pixels."""
        pixels = np.asarray(pixels_uv, dtype=np.float64).reshape(-1, 2)
        if self.distortion:
            normalized = cv2.undistortPoints(
                pixels.reshape(-1, 1, 2), self.matrix, np.asarray(self.distortion)
            ).reshape(-1, 2)
        else:
            normalized = np.column_stack(
                ((pixels[:, 0] - self.cx_px) / self.fx_px, (pixels[:, 1] - self.cy_px) / self.fy_px)
            )
        rays = np.column_stack((normalized, np.ones(len(normalized))))
        unit: FloatArray = rays / np.linalg.norm(rays, axis=1, keepdims=True)
        return unit


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraPose:
    """Where the camera is and where it looks, at one instant."""

    lat_deg: float
    lon_deg: float
    alt_amsl_m: float
    yaw_deg: float
    pitch_deg: float
    roll_deg: float = 0.0

    @classmethod
    def from_metadata(cls, metadata: FrameMetadata) -> CameraPose:
        """A stabilised gimbal: camera pitch from the gimbal, heading from vehicle + gimbal."""
        return cls(
            lat_deg=metadata.lat_deg,
            lon_deg=metadata.lon_deg,
            alt_amsl_m=metadata.alt_amsl_m,
            yaw_deg=metadata.camera_yaw_deg,
            pitch_deg=metadata.gimbal_pitch_deg,
        )

    def rotation_ned_from_camera(self) -> FloatArray:
        rotations = _rotations(
            np.array([self.yaw_deg]), np.array([self.pitch_deg]), np.array([self.roll_deg])
        )
        single: FloatArray = rotations[0]
        return single


def _rotations(yaw_deg: FloatArray, pitch_deg: FloatArray, roll_deg: FloatArray) -> FloatArray:
    """(N, 3, 3) rotations taking camera (right, down, forward) axes into north-east-down."""
    psi, theta, phi = np.radians(yaw_deg), np.radians(pitch_deg), np.radians(roll_deg)
    cy, sy, cp, sp, cr, sr = (
        np.cos(psi),
        np.sin(psi),
        np.cos(theta),
        np.sin(theta),
        np.cos(phi),
        np.sin(phi),
    )
    n = len(psi)
    body = np.empty((n, 3, 3))
    body[:, 0, 0] = cy * cp
    body[:, 0, 1] = cy * sp * sr - sy * cr
    body[:, 0, 2] = cy * sp * cr + sy * sr
    body[:, 1, 0] = sy * cp
    body[:, 1, 1] = sy * sp * sr + cy * cr
    body[:, 1, 2] = sy * sp * cr - cy * sr
    body[:, 2, 0] = -sp
    body[:, 2, 1] = cp * sr
    body[:, 2, 2] = cp * cr
    camera_to_body = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    result: FloatArray = body @ camera_to_body
    return result


def _radii_m(lat_deg: float) -> tuple[float, float]:
    """Meridian and prime-vertical radii of curvature of WGS84 at a latitude."""
    s = math.sin(math.radians(lat_deg))
    w = math.sqrt(1.0 - _WGS84_E2 * s * s)
    return _WGS84_A_M * (1.0 - _WGS84_E2) / w**3, _WGS84_A_M / w


@dataclass(frozen=True, slots=True)
class GroundPoint:
    """A projected pixel: position, its 1-σ per-axis uncertainty, and its offset from the camera."""

    lat_deg: float
    lon_deg: float
    alt_amsl_m: float
    sigma_m: float | None
    north_m: float
    east_m: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PoseUncertainty:
    """1-σ errors of the pose and of the pixel, used to estimate ground uncertainty."""

    horizontal_m: float = 0.0
    vertical_m: float = 0.0
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    pixel_px: float = 1.0
    samples: int = 64

    def __post_init__(self) -> None:
        values = (self.horizontal_m, self.vertical_m, self.yaw_deg, self.pitch_deg, self.roll_deg)
        if min(*values, self.pixel_px) < 0:
            raise ValueError("uncertainties must not be negative")
        if self.samples < 8:
            raise ValueError(f"at least 8 samples are needed, got {self.samples}")


class Projector:
    """Projects pixels of one camera onto the terrain."""

    def __init__(
        self,
        terrain: Terrain,
        *,
        uncertainty: PoseUncertainty | None = None,
        max_range_m: float = _MAX_RANGE_M,
        seed: int = 0,
    ) -> None:
        self._terrain = terrain
        self._uncertainty = uncertainty or PoseUncertainty()
        self._max_range_m = max_range_m
        self._rng = np.random.default_rng(seed)

    def project(
        self, intrinsics: CameraIntrinsics, pose: CameraPose, pixel_uv: tuple[float, float]
    ) -> GroundPoint:
        """The ground point seen at ``pixel_uv``, with its sampled uncertainty."""
        north, east, alt = self._intersect(
            intrinsics.rays(np.array([pixel_uv])),
            pose.rotation_ned_from_camera()[None],
            pose,
            np.zeros(1),
            np.zeros(1),
            np.zeros(1),
        )
        if not np.isfinite(north[0]):
            raise ProjectionError(
                f"pixel ({pixel_uv[0]:.0f}, {pixel_uv[1]:.0f}) looks above the horizon or "
                f"beyond {self._max_range_m:.0f} m"
            )
        lat, lon = self._to_geodetic(pose, float(north[0]), float(east[0]))
        return GroundPoint(
            lat_deg=lat,
            lon_deg=lon,
            alt_amsl_m=float(alt[0]),
            sigma_m=self._sigma(intrinsics, pose, pixel_uv),
            north_m=float(north[0]),
            east_m=float(east[0]),
        )

    def footprint(
        self, intrinsics: CameraIntrinsics, pose: CameraPose
    ) -> tuple[tuple[float, float], ...]:
        """(lat, lon) of the image corners that reach the ground, clockwise from top-left."""
        w, h = intrinsics.width_px, intrinsics.height_px
        corners = np.array([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]])
        rays = intrinsics.rays(corners)
        rotation = np.repeat(pose.rotation_ned_from_camera()[None], 4, axis=0)
        zeros = np.zeros(4)
        north, east, _ = self._intersect(rays, rotation, pose, zeros, zeros, zeros)
        return tuple(
            self._to_geodetic(pose, float(n), float(e))
            for n, e in zip(north, east, strict=True)
            if np.isfinite(n)
        )

    def _sigma(
        self, intrinsics: CameraIntrinsics, pose: CameraPose, pixel_uv: tuple[float, float]
    ) -> float | None:
        u = self._uncertainty
        n = u.samples
        pixels = np.asarray(pixel_uv) + self._rng.normal(0.0, u.pixel_px, (n, 2))
        rotations = _rotations(
            pose.yaw_deg + self._rng.normal(0.0, u.yaw_deg, n),
            pose.pitch_deg + self._rng.normal(0.0, u.pitch_deg, n),
            pose.roll_deg + self._rng.normal(0.0, u.roll_deg, n),
        )
        d_north = self._rng.normal(0.0, u.horizontal_m, n)
        d_east = self._rng.normal(0.0, u.horizontal_m, n)
        d_alt = self._rng.normal(0.0, u.vertical_m, n)
        north, east, _ = self._intersect(
            intrinsics.rays(pixels), rotations, pose, d_north, d_east, d_alt
        )
        ok = np.isfinite(north)
        if ok.sum() < n // 2:
            return None
        variance = (np.var(north[ok]) + np.var(east[ok])) / 2.0
        return float(math.sqrt(variance))

    def _intersect(
        self,
        rays_camera: FloatArray,
        rotations: FloatArray,
        pose: CameraPose,
        d_north: FloatArray,
        d_east: FloatArray,
        d_alt: FloatArray,
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """North/east offsets (from the nominal camera) and altitude where rays meet terrain.

        Rays that never reach the ground within range give NaN.
        """
        rays = np.einsum("nij,nj->ni", rotations, rays_camera)
        origin_alt = pose.alt_amsl_m + d_alt
        if isinstance(self._terrain, FlatTerrain):
            ground = np.full(len(rays), self._terrain.alt_amsl_m)
            height = origin_alt - ground
            with np.errstate(divide="ignore", invalid="ignore"):
                t = np.where(rays[:, 2] > 1e-9, height / rays[:, 2], np.nan)
            t = np.where((t >= 0) & (t <= self._max_range_m), t, np.nan)
        else:
            t, ground = self._march(rays, pose, d_north, d_east, origin_alt)
        north = d_north + t * rays[:, 0]
        east = d_east + t * rays[:, 1]
        return north, east, ground

    def _march(
        self,
        rays: FloatArray,
        pose: CameraPose,
        d_north: FloatArray,
        d_east: FloatArray,
        origin_alt: FloatArray,
    ) -> tuple[FloatArray, FloatArray]:
        """Walk each ray in steps until it passes below the terrain, then bisect."""
        t_hit = np.full(len(rays), np.nan)
        ground = np.full(len(rays), np.nan)
        for i, ray in enumerate(rays):

            def above(t: float, i: int = i, ray: FloatArray = ray) -> float:
                north = d_north[i] + t * ray[0]
                east = d_east[i] + t * ray[1]
                lat, lon = self._to_geodetic(pose, north, east)
                return float(origin_alt[i] - t * ray[2]) - self._terrain.altitude_amsl_m(lat, lon)

            step = max(1.0, min(25.0, (above(0.0) / max(ray[2], 0.05)) / 20.0))
            t0, h0 = 0.0, above(0.0)
            if h0 < 0:
                continue
            t1 = step
            while t1 <= self._max_range_m:
                h1 = above(t1)
                if h1 <= 0:
                    for _ in range(40):
                        mid = (t0 + t1) / 2.0
                        if above(mid) > 0:
                            t0 = mid
                        else:
                            t1 = mid
                    t_hit[i] = (t0 + t1) / 2.0
                    ground[i] = float(origin_alt[i] - t_hit[i] * ray[2])
                    break
                t0, h0 = t1, h1
                t1 += step
        return t_hit, ground

    @staticmethod
    def _to_geodetic(pose: CameraPose, north_m: float, east_m: float) -> tuple[float, float]:
        meridian, prime = _radii_m(pose.lat_deg)
        lat = pose.lat_deg + math.degrees(north_m / meridian)
        lon = pose.lon_deg + math.degrees(east_m / (prime * math.cos(math.radians(pose.lat_deg))))
        return lat, lon
