"""Render what a gimbal camera sees: perspective ground, targets to scale, sensor effects.

The ground is the world's orthophoto mapped into the image by the homography of the ground
plane under the camera (the plane at the terrain height where the optical axis meets the
ground); targets are boxes of their real size standing on the terrain, projected corner by
corner with the same pinhole model, with their shadows. Then haze by distance, vignetting,
motion blur, sensor noise and, if asked, a JPEG pass. A :class:`Renderer` is meant for one
camera and one thread at a time (the executor the stream renders in).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from sim.camera.errors import PoseError
from sim.camera.model import CameraConfig, CameraPose, Intrinsics, rotation_enu_to_camera
from sim.world.config import TargetClass
from sim.world.geo import GeoFrame
from sim.world.targets import TargetField, TargetState
from sim.world.world import BASE_GSD_M, MAX_LEVEL, Ortho, World

__all__ = ["RenderedFrame", "Renderer", "TargetTruth"]

U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]

_MAX_MOSAIC_PX = 1600


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetTruth:
    """A target seen in a frame: pixel box (continuous coordinates) and where it really is."""

    target_id: str
    target_class: TargetClass
    box_px: tuple[float, float, float, float]  # x_min, y_min, x_max, y_max, clipped
    centre_px: tuple[float, float]  # projection of the target's ground point
    lat_deg: float
    lon_deg: float
    alt_amsl_m: float
    heading_deg: float
    speed_m_s: float
    distance_m: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderedFrame:
    image_bgr: U8
    pose: CameraPose
    intrinsics: Intrinsics
    t_s: float
    ground_alt_amsl_m: float
    truth: tuple[TargetTruth, ...]


@dataclass(frozen=True, slots=True)
class _View:
    """Everything needed to map the world plane into one image."""

    rotation: F64
    xc_m: float
    yc_m: float
    kx: float
    ky: float
    alt_m: float

    def to_camera(self, x_m: F64, y_m: F64, z_m: F64) -> F64:
        local = np.stack(
            [self.kx * (x_m - self.xc_m), self.ky * (y_m - self.yc_m), z_m - self.alt_m], axis=-1
        )
        result: F64 = local @ self.rotation.T
        return result


class Renderer:
    """Renders frames of one camera over one world and its targets."""

    def __init__(
        self, world: World, targets: TargetField | None, config: CameraConfig, *, seed: int = 0
    ) -> None:
        self.world = world
        self.targets = targets
        self.config = config
        self.intrinsics = config.intrinsics()
        self._rng = np.random.default_rng([world.seed & 0xFFFFFFFF, seed & 0xFFFFFFFF, 5])
        self._mosaic: tuple[int, Ortho] | None = None
        self._last: tuple[float, CameraPose] | None = None
        w, h = config.width_px, config.height_px
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (w / 2)) ** 2
        self._vignette = (1.0 - config.effects.vignetting * np.clip(r2, 0, 2) / 2)[..., None]
        sigma = config.effects.noise_sigma
        self._noise = [
            self._rng.normal(0.0, sigma, (h + 16, w + 16, 3)).astype(np.float32) for _ in range(2)
        ]

    # --- geometry ---------------------------------------------------------------------------

    def view(self, pose: CameraPose) -> tuple[_View, float]:
        """The view of a pose and the ground height it looks at."""
        frame = self.world.frame
        xc, yc = frame.to_xy(pose.lat_deg, pose.lon_deg)
        here = GeoFrame(pose.lat_deg, pose.lon_deg).metres_per_deg
        there = frame.metres_per_deg
        rotation = rotation_enu_to_camera(pose.camera_yaw_deg, pose.gimbal_pitch_deg)
        ground = float(self.world.height_m(np.array(xc), np.array(yc)))
        forward = rotation[2]
        if forward[2] < -0.05:  # look point: two fixed-point steps onto the terrain
            for _ in range(2):
                t = (pose.alt_amsl_m - ground) / -forward[2]
                t = min(t, self.config.max_range_m)
                gx, gy = xc + forward[0] * t / (here[0] / there[0]), yc + forward[1] * t
                ground = float(self.world.height_m(np.array(gx), np.array(gy)))
        if pose.alt_amsl_m - ground < 1.0:
            raise PoseError(
                f"camera at {pose.alt_amsl_m:.1f} m AMSL is not above the ground ({ground:.1f} m)"
            )
        view = _View(rotation, xc, yc, here[0] / there[0], here[1] / there[1], pose.alt_amsl_m)
        return view, ground

    def project(self, view: _View, x_m: F64, y_m: F64, z_m: F64) -> tuple[F64, F64]:
        """Continuous pixel coordinates and depth of world points."""
        cam = view.to_camera(x_m, y_m, z_m)
        k = self.intrinsics
        depth = cam[..., 2]
        safe = np.where(depth > 1e-6, depth, 1e-6)
        uv: F64 = np.stack(
            [k.fx_px * cam[..., 0] / safe + k.cx_px, k.fy_px * cam[..., 1] / safe + k.cy_px],
            axis=-1,
        )
        return uv, depth

    def _row_distances(self, view: _View, ground: float) -> F64:
        """Ground distance along each image row's centre ray (inf above the horizon)."""
        k = self.intrinsics
        v = np.arange(k.height_px) + 0.5
        rays = np.stack([np.zeros_like(v), (v - k.cy_px) / k.fy_px, np.ones_like(v)], axis=-1)
        world = rays @ view.rotation
        dz = world[:, 2] / np.linalg.norm(world, axis=1)
        drop = view.alt_m - ground
        with np.errstate(divide="ignore"):
            slant = np.where(dz < -1e-6, drop / -np.minimum(dz, -1e-6), np.inf)
        result: F64 = slant
        return result

    def _footprint(self, view: _View, ground: float) -> tuple[float, float, float, float, float]:
        """World-plane box of the ground seen (clipped at max range), and the nearest GSD."""
        k = self.intrinsics
        us = np.linspace(0, k.width_px, 9)
        vs = np.linspace(0, k.height_px, 9)
        border = np.concatenate(
            [
                np.stack([us, np.zeros(9)], 1),
                np.stack([us, np.full(9, k.height_px)], 1),
                np.stack([np.zeros(9), vs], 1),
                np.stack([np.full(9, k.width_px), vs], 1),
            ]
        )
        rays = np.stack(
            [
                (border[:, 0] - k.cx_px) / k.fx_px,
                (border[:, 1] - k.cy_px) / k.fy_px,
                np.ones(len(border)),
            ],
            1,
        )
        world = rays @ view.rotation
        world /= np.linalg.norm(world, axis=1, keepdims=True)
        drop = view.alt_m - ground
        horizontal = np.maximum(np.hypot(world[:, 0], world[:, 1]), 1e-9)
        reach = self.config.max_range_m
        t = np.where(world[:, 2] < -1e-6, drop / -np.minimum(world[:, 2], -1e-6), np.inf)
        t = np.minimum(t, reach / horizontal)
        e, n = world[:, 0] * t, world[:, 1] * t
        xs, ys = view.xc_m + e / view.kx, view.yc_m + n / view.ky
        nearest = float(np.min(t)) if np.isfinite(np.min(t)) else drop
        nearest = min(nearest, drop / max(-view.rotation[2][2], 0.05))
        gsd = max(0.5 * drop, min(nearest, drop * 1.5)) / k.fx_px
        return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()), gsd

    # --- rendering --------------------------------------------------------------------------

    def render(self, pose: CameraPose, t_s: float) -> RenderedFrame:
        """One frame at scenario time ``t_s``, with its ground truth."""
        k = self.intrinsics
        view, ground = self.view(pose)
        x0, y0, x1, y1, gsd = self._footprint(view, ground)
        extent = max(x1 - x0, y1 - y0)
        level = max(
            self.world.level_for_gsd(gsd),
            math.ceil(math.log2(max(1.0, extent / _MAX_MOSAIC_PX / BASE_GSD_M))),
        )
        level = min(level, MAX_LEVEL)
        ortho = self._ortho(x0, y0, x1, y1, level)
        img = self._ground(ortho, view, ground)
        truth = self._draw_targets(img, view, pose, t_s)
        out = self._effects(img, view, ground, pose, t_s)
        self._last = (t_s, pose)
        return RenderedFrame(
            image_bgr=out,
            pose=pose,
            intrinsics=k,
            t_s=t_s,
            ground_alt_amsl_m=ground,
            truth=tuple(truth),
        )

    def blank(self, pose: CameraPose, t_s: float) -> RenderedFrame:
        """A dark frame for a pose that cannot be rendered (a lens against the ground)."""
        k = self.intrinsics
        image = np.full((k.height_px, k.width_px, 3), 16, dtype=np.uint8)
        return RenderedFrame(
            image_bgr=image,
            pose=pose,
            intrinsics=k,
            t_s=t_s,
            ground_alt_amsl_m=pose.alt_amsl_m,
            truth=(),
        )

    def _ortho(self, x0: float, y0: float, x1: float, y1: float, level: int) -> Ortho:
        if self._mosaic is not None:
            cached_level, o = self._mosaic
            g = o.grid
            if (
                cached_level == level
                and x0 >= g.x0_m
                and y1 <= g.y0_m
                and x1 <= g.x0_m + g.width_px * g.gsd_m
                and y0 >= g.y0_m - g.height_px * g.gsd_m
            ):
                return o
        margin = 0.1 * max(x1 - x0, y1 - y0)
        o = self.world.ortho(x0 - margin, y0 - margin, x1 + margin, y1 + margin, level)
        self._mosaic = (level, o)
        return o

    def _homography(self, ortho: Ortho, view: _View, ground: float) -> F64:
        g = ortho.grid
        a = np.array(
            [
                [view.kx * g.gsd_m, 0.0, view.kx * (g.x0_m + 0.5 * g.gsd_m - view.xc_m)],
                [0.0, -view.ky * g.gsd_m, view.ky * (g.y0_m - 0.5 * g.gsd_m - view.yc_m)],
                [0.0, 0.0, 1.0],
            ]
        )
        r = view.rotation
        plane = np.column_stack([r[:, 0], r[:, 1], r[:, 2] * (ground - view.alt_m)])
        k = self.intrinsics.matrix()
        k[0, 2] -= 0.5  # OpenCV puts pixel centres on integers
        k[1, 2] -= 0.5
        result: F64 = k @ plane @ a
        return result

    def _ground(self, ortho: Ortho, view: _View, ground: float) -> U8:
        k = self.intrinsics
        h = self._homography(ortho, view, ground)
        img = cv2.warpPerspective(
            ortho.image_bgr,
            h,
            (k.width_px, k.height_px),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        return np.asarray(img, dtype=np.uint8)

    def _draw_targets(
        self, img: U8, view: _View, pose: CameraPose, t_s: float
    ) -> list[TargetTruth]:
        if self.targets is None:
            return []
        k = self.intrinsics
        reach = min(self.config.max_range_m, 1_200.0)
        near = self.targets.near(view.xc_m, view.yc_m, reach, t_s)
        if not near:
            return []
        xs = np.array([s.x_m for s in near])
        ys = np.array([s.y_m for s in near])
        zs = self.world.height_m(xs, ys)
        centres, depth = self.project(view, xs, ys, zs)
        order = np.argsort(-depth)
        sun = self.world.weather
        az, el = math.radians(sun.sun_azimuth_deg), math.radians(sun.sun_elevation_deg)
        shadow = (-math.sin(az) / math.tan(el), -math.cos(az) / math.tan(el))
        truth: list[TargetTruth] = []
        for idx in order:
            s, z = near[idx], float(zs[idx])
            if depth[idx] < 1.0:
                continue
            u, v = centres[idx]
            margin = 40 * max(1.0, k.fx_px * s.length_m / depth[idx])
            if not (-margin < u < k.width_px + margin and -margin < v < k.height_px + margin):
                continue
            box = _draw_target(img, self, view, s, z, shadow)
            if box is None:
                continue
            lat, lon = self.world.frame.to_latlon(s.x_m, s.y_m)
            truth.append(
                TargetTruth(
                    target_id=s.target_id,
                    target_class=s.target_class,
                    box_px=box,
                    centre_px=(float(u), float(v)),
                    lat_deg=lat,
                    lon_deg=lon,
                    alt_amsl_m=z,
                    heading_deg=s.heading_deg,
                    speed_m_s=s.speed_m_s,
                    distance_m=float(depth[idx]),
                )
            )
        return truth

    def _effects(self, img: U8, view: _View, ground: float, pose: CameraPose, t_s: float) -> U8:
        fx = self.config.effects
        k = self.intrinsics
        out = img.astype(np.float32)
        dist = self._row_distances(view, ground)
        vis = self.world.weather.visibility_m
        alpha = np.where(dist > self.config.max_range_m, 1.0, 1.0 - np.exp(-3.0 * dist / vis))
        if alpha.max() > 0.02:
            haze = np.array([205.0, 195.0, 185.0], np.float32) * self.world.weather.brightness
            a = alpha.astype(np.float32)[:, None, None]
            out = out * (1 - a) + haze * a
        if fx.motion_blur and self._last is not None:
            out = self._blur(out, view, ground, pose, t_s)
        if fx.vignetting > 0:
            out *= self._vignette
        if fx.noise_sigma > 0:
            bank = self._noise[int(self._rng.integers(0, len(self._noise)))]
            oy, ox = self._rng.integers(0, 16, 2)
            out += bank[oy : oy + k.height_px, ox : ox + k.width_px]
        result = np.clip(out, 0, 255).astype(np.uint8)
        if fx.jpeg_quality is not None:
            ok, data = cv2.imencode(".jpg", result, [cv2.IMWRITE_JPEG_QUALITY, fx.jpeg_quality])
            if ok:
                result = np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR), dtype=np.uint8)
        return result

    def _blur(
        self, out: npt.NDArray[np.float32], view: _View, ground: float, pose: CameraPose, t_s: float
    ) -> npt.NDArray[np.float32]:
        assert self._last is not None
        last_t, last_pose = self._last
        dt = t_s - last_t
        if dt <= 0 or dt > 1.0:
            return out
        k = self.intrinsics
        try:
            prev, _ = self.view(last_pose)
        except PoseError:
            return out
        # where the ground at the image centre was in the previous frame
        centre = np.array([k.cx_px, k.cy_px])
        ray = np.array([0.0, 0.0, 1.0]) @ view.rotation
        if ray[2] >= -1e-3:
            return out
        t = (view.alt_m - ground) / -ray[2]
        gx, gy = view.xc_m + ray[0] * t / view.kx, view.yc_m + ray[1] * t / view.ky
        then, depth = self.project(prev, np.array([gx]), np.array([gy]), np.array([ground]))
        if depth[0] <= 0:
            return out
        shift = (centre - then[0]) * (self.config.effects.exposure_s / dt)
        length = float(np.hypot(*shift))
        if length < 1.0:
            return out
        n = min(31, math.ceil(length) | 1)
        kernel = np.zeros((n, n), np.float32)
        c = n // 2
        dx, dy = shift / length * c
        cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1)
        kernel /= kernel.sum()
        return np.asarray(cv2.filter2D(out, -1, kernel), dtype=np.float32)


_CABIN = {"car": (0.05, 0.45), "van": (0.55, 0.80), "truck": (0.78, 1.0), "bus": (0.0, 0.0)}


def _draw_target(
    img: U8, renderer: Renderer, view: _View, s: TargetState, z: float, shadow: tuple[float, float]
) -> tuple[float, float, float, float] | None:
    """Draw a target as its box with shadow; its clipped pixel box, or None if unseen."""
    k = renderer.intrinsics
    h = math.radians(s.heading_deg)
    fwd = np.array([math.sin(h), math.cos(h)])
    side = np.array([math.cos(h), -math.sin(h)])
    hl, hw = s.length_m / 2, s.width_m / 2
    if s.target_class == "boat":
        foot = [(1.0, 0.0), (0.45, 1.0), (-1.0, 0.9), (-1.0, -0.9), (0.45, -1.0)]
    else:
        foot = [(1.0, 1.0), (-1.0, 1.0), (-1.0, -1.0), (1.0, -1.0)]
    base = np.array([[s.x_m, s.y_m] + fwd * a * hl + side * b * hw for a, b in foot])
    n = len(base)
    bx = np.concatenate([base[:, 0], base[:, 0]])
    by = np.concatenate([base[:, 1], base[:, 1]])
    bz = np.concatenate([np.full(n, z), np.full(n, z + s.height_m)])
    uv, depth = renderer.project(view, bx, by, bz)
    if (depth <= 0.5).any():
        return None
    x_min, y_min = uv.min(axis=0)
    x_max, y_max = uv.max(axis=0)
    cx0, cy0 = max(0.0, x_min), max(0.0, y_min)
    cx1, cy1 = min(float(k.width_px), x_max), min(float(k.height_px), y_max)
    if cx1 - cx0 < 1.0 or cy1 - cy0 < 1.0:
        return None
    if (cx1 - cx0) * (cy1 - cy0) < 0.25 * (x_max - x_min) * (y_max - y_min):
        return None
    if s.height_m > 0 and math.hypot(*shadow) > 0.01:
        sx = base[:, 0] + shadow[0] * s.height_m
        sy = base[:, 1] + shadow[1] * s.height_m
        suv, _ = renderer.project(
            view,
            np.concatenate([base[:, 0], sx]),
            np.concatenate([base[:, 1], sy]),
            np.full(2 * n, z),
        )
        _fill(img, suv, None, darken=0.45)
    colour = np.array(s.colour_bgr) * 255.0
    _fill(img, uv, tuple(colour * 0.62))
    top = uv[n:]
    _fill(img, top, tuple(colour))
    cabin = _CABIN.get(s.target_class)
    if cabin is not None and cabin[1] > cabin[0]:
        a0, a1 = 2 * cabin[0] - 1, 2 * cabin[1] - 1
        quad = np.array(
            [
                [s.x_m, s.y_m] + fwd * a * hl + side * b * hw * 0.85
                for a, b in ((a1, 1), (a0, 1), (a0, -1), (a1, -1))
            ]
        )
        quv, _ = renderer.project(view, quad[:, 0], quad[:, 1], np.full(4, z + s.height_m))
        glass = (40.0, 38.0, 35.0) if s.target_class == "car" else tuple(colour * 0.8)
        _fill(img, quv, glass)
    if s.target_class == "person":
        head = np.array(
            [
                [s.x_m, s.y_m] + fwd * a * hl * 0.5 + side * b * hw * 0.4
                for a, b in ((1, 1), (-1, 1), (-1, -1), (1, -1))
            ]
        )
        huv, _ = renderer.project(view, head[:, 0], head[:, 1], np.full(4, z + s.height_m))
        _fill(img, huv, (30.0, 40.0, 55.0))
    return float(cx0), float(cy0), float(cx1), float(cy1)


def _fill(img: U8, uv: F64, colour: tuple[float, ...] | None, darken: float = 1.0) -> None:
    pts = np.round((uv - 0.5) * 16).astype(np.int32)
    hull = cv2.convexHull(pts)
    if colour is not None:
        cv2.fillConvexPoly(img, hull, colour, cv2.LINE_AA, 4)
        return
    x, y, w, h = cv2.boundingRect(hull)
    x0, y0 = max(0, x >> 4), max(0, y >> 4)
    x1, y1 = min(img.shape[1], ((x + w) >> 4) + 2), min(img.shape[0], ((y + h) >> 4) + 2)
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    shifted = hull - np.array([x0 << 4, y0 << 4], np.int32)
    cv2.fillConvexPoly(mask, shifted, 255, cv2.LINE_AA, 4)
    roi = img[y0:y1, x0:x1]
    factor = 1.0 - (1.0 - darken) * mask.astype(np.float32)[..., None] / 255.0
    roi[:] = np.clip(roi * factor, 0, 255).astype(np.uint8)
