"""Render the documentation's gallery: frames at 50/100/150 m, nadir and oblique, town and
country, with the ground-truth boxes drawn.

    .venv/bin/python -m sim.camera.gallery docs/img
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import cv2
import numpy as np

from sim.camera.model import CameraConfig, CameraPose
from sim.camera.render import RenderedFrame, Renderer
from sim.world.config import TargetsConfig, WorldConfig
from sim.world.layout import Town
from sim.world.targets import TargetField
from sim.world.world import World

__all__ = ["draw_truth", "render_gallery"]

_CLASS_COLOURS = {
    "car": (0, 255, 255),
    "van": (0, 200, 255),
    "truck": (0, 128, 255),
    "bus": (255, 0, 255),
    "motorcycle": (255, 255, 0),
    "person": (0, 255, 0),
    "boat": (255, 128, 0),
}


def draw_truth(frame: RenderedFrame) -> np.ndarray:
    """The frame with each visible target's box and class drawn."""
    image = frame.image_bgr.copy()
    for t in frame.truth:
        x0, y0, x1, y1 = t.box_px
        colour = _CLASS_COLOURS[t.target_class]
        cv2.rectangle(image, (int(x0), int(y0)), (math.ceil(x1) - 1, math.ceil(y1) - 1), colour, 1)
        if x1 - x0 > 12:
            cv2.putText(
                image,
                t.target_class,
                (int(x0), max(8, int(y0) - 2)),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.3,
                colour,
                1,
                cv2.LINE_AA,
            )
    return image


def _places(world: World) -> dict[str, tuple[float, float]]:
    layout = world.layout
    towns: list[Town] = [layout.town(i, j) for i in range(-3, 4) for j in range(-3, 4)]
    town = max(towns, key=lambda t: t.radius_m)
    for a, b in layout.country_roads_near(-12_000, -12_000, 12_000, 12_000):
        x, y = (a.x_m + b.x_m) / 2, (a.y_m + b.y_m) / 2
        if layout.town_core(x, y) == 0 and not world.is_water(np.array(x), np.array(y)):
            return {"town": (town.x_m + 40.0, town.y_m + 30.0), "country": (x, y)}
    return {"town": (town.x_m, town.y_m), "country": (6_000.0, 6_000.0)}


def render_gallery(out_dir: Path, *, seed: int = 1) -> list[Path]:
    world = World(WorldConfig(origin=(52.0, 5.0)), seed=seed)
    targets = TargetField(world, TargetsConfig())
    renderer = Renderer(world, targets, CameraConfig(hfov_deg=70.0, width_px=640, height_px=360))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for place, (lx, ly) in _places(world).items():
        for agl in (50.0, 100.0, 150.0):
            for view, pitch in (("nadir", -90.0), ("oblique", -40.0)):
                yaw = 30.0
                back = agl / math.tan(math.radians(-pitch))
                x = lx - back * math.sin(math.radians(yaw))
                y = ly - back * math.cos(math.radians(yaw))
                ground = float(world.height_m(np.array(lx), np.array(ly)))
                lat, lon = world.frame.to_latlon(x, y)
                pose = CameraPose(
                    lat_deg=lat,
                    lon_deg=lon,
                    alt_amsl_m=ground + agl,
                    yaw_deg=yaw,
                    gimbal_pitch_deg=pitch,
                )
                frame = renderer.render(pose, 300.0)
                path = out_dir / f"sim-{place}-{int(agl)}m-{view}.jpg"
                cv2.imwrite(str(path), draw_truth(frame), [cv2.IMWRITE_JPEG_QUALITY, 88])
                written.append(path)
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir", type=Path)
    render_gallery(parser.parse_args().out_dir)
