"""Write YOLO-format data sets from the simulated world, with exact labels.

Layout (what ultralytics reads)::

    DIR/data.yaml
    DIR/images/{train,val,test}/000000.jpg
    DIR/labels/{train,val,test}/000000.txt    class cx cy w h, normalised
    DIR/truth.jsonl                            per frame: pose, time, every target's id and geo

Frames look at places drawn from the seed (mostly towns and roads, some open country), from
40 to 150 m above the ground, nadir to oblique. The split is by area: every frame whose
look point falls in the same 2 km square goes to the same split, so no place is seen in
training and tested on.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.camera.errors import DatasetError
from sim.camera.model import CameraConfig, CameraPose
from sim.camera.render import Renderer
from sim.world.config import TargetClass, TargetsConfig, WeatherConfig, WorldConfig
from sim.world.layout import CELL_M
from sim.world.noise import hash01
from sim.world.targets import CLASSES, TargetField
from sim.world.world import World

__all__ = [
    "DETECTOR_SAMPLING",
    "PLANNER_ALTITUDE_SAMPLING",
    "DatasetReport",
    "Sampling",
    "WorldScenario",
    "load_world_scenario",
    "write_dataset",
]

SPLIT_CELL_M = 2_000.0
_SPLITS = ("train", "val", "test")


class WorldScenario(BaseModel):
    """The scenario sections the world and cameras read (other sections are the vehicles')."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(default=0, title="Seed")
    world: WorldConfig = Field(title="World")
    targets: TargetsConfig = Field(default_factory=TargetsConfig, title="Targets")
    weather: WeatherConfig = Field(default_factory=WeatherConfig, title="Weather")
    cameras: dict[str, CameraConfig] = Field(default_factory=dict, title="Cameras by name")


def load_world_scenario(path: Path) -> WorldScenario:
    """Read the world's sections of a scenario YAML; errors name the key path."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DatasetError(f"cannot read scenario {path}: {exc}") from None
    if not isinstance(data, dict):
        raise DatasetError(f"scenario {path} is not a YAML mapping")
    mine = {k: data[k] for k in ("seed", "world", "targets", "weather", "cameras") if k in data}
    bases = data.get("bases")
    if "world" not in mine and isinstance(bases, list) and bases and isinstance(bases[0], dict):
        first = bases[0]  # no world section: centre the world on the first base
        if "lat_deg" in first and "lon_deg" in first:
            mine["world"] = {
                "origin": [first["lat_deg"], first["lon_deg"]],
                "base_altitude_amsl_m": first.get("alt_amsl_m", 0.0),
            }
    try:
        return WorldScenario.model_validate(mine)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise DatasetError(f"scenario {path}: {where}: {error['msg']}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetReport:
    out_dir: Path
    frames: dict[str, int]
    labels: dict[str, int]


def _split(x_m: float, y_m: float, seed: int) -> str:
    h = float(hash01(math.floor(x_m / SPLIT_CELL_M), math.floor(y_m / SPLIT_CELL_M), seed + 99))
    return "train" if h < 0.8 else "val" if h < 0.9 else "test"


@dataclass(frozen=True, slots=True, kw_only=True)
class Sampling:
    """How the frames of a split are drawn.

    ``gsd_m`` is the ground sampling distance at the image centre (drawn log-uniform): the
    camera's field of view is narrowed or widened per frame to give it at the drawn height, as
    a zoom lens or a tile of a high-resolution sensor would. ``None`` keeps the camera's own
    field of view. ``lights`` are drawn from per frame (none: the scenario's weather).
    """

    agl_m: tuple[float, float] = (40.0, 150.0)
    pitch_deg: tuple[float, float] = (-90.0, -35.0)
    gsd_m: tuple[float, float] | None = None
    lights: tuple[WeatherConfig, ...] = ()

    def __post_init__(self) -> None:
        ranges = {"agl_m": self.agl_m, "pitch_deg": self.pitch_deg}
        if self.gsd_m is not None:
            ranges["gsd_m"] = self.gsd_m
        for name, (low, high) in ranges.items():
            if not (math.isfinite(low) and math.isfinite(high) and low <= high):
                raise DatasetError(f"sampling {name}: need low <= high, got ({low}, {high})")
        if self.agl_m[0] <= 0 or (self.gsd_m is not None and self.gsd_m[0] <= 0):
            raise DatasetError("sampling agl_m and gsd_m must be positive")
        if not -90.0 <= self.pitch_deg[0] <= self.pitch_deg[1] <= -10.0:
            raise DatasetError(f"sampling pitch_deg must lie in [-90, -10], got {self.pitch_deg}")


TRAINING_LIGHTS = (
    WeatherConfig(sun_elevation_deg=30.0, sun_azimuth_deg=120.0, brightness=0.9),
    WeatherConfig(sun_elevation_deg=45.0, sun_azimuth_deg=160.0, brightness=1.0),
    WeatherConfig(sun_elevation_deg=60.0, sun_azimuth_deg=200.0, brightness=1.1),
    WeatherConfig(sun_elevation_deg=75.0, sun_azimuth_deg=240.0, brightness=1.0),
    WeatherConfig(sun_elevation_deg=40.0, sun_azimuth_deg=60.0, brightness=1.15),
)
HELD_OUT_LIGHT = WeatherConfig(
    sun_elevation_deg=20.0, sun_azimuth_deg=300.0, brightness=0.8, visibility_m=5_000.0
)
DETECTOR_SAMPLING = Sampling(
    agl_m=(25.0, 150.0), pitch_deg=(-90.0, -40.0), gsd_m=(0.025, 0.16), lights=TRAINING_LIGHTS
)
"""What the detector trains on: 2.5 to 16 cm per pixel, nadir to oblique, five lights."""
PLANNER_ALTITUDE_SAMPLING = Sampling(
    agl_m=(60.0, 120.0), pitch_deg=(-90.0, -60.0), gsd_m=(0.03, 0.075), lights=(HELD_OUT_LIGHT,)
)
"""The held-out split: the pixel sizes the planner flies for (3.1 cm for people, 5.4 to 7.5 cm
for cars with the profiles' cameras at the 120 m ceiling) under a low, dim sun no training
frame has."""


def _look_point(world: World, rng: np.random.Generator, radius_m: float) -> tuple[float, float]:
    r = radius_m * math.sqrt(rng.random())
    a = rng.uniform(0, 2 * math.pi)
    x, y = r * math.cos(a), r * math.sin(a)
    if rng.random() < 0.3:
        return x, y
    # aim at the nearest settlement's streets, or its crossroads
    town = world.layout.town(math.floor(x / CELL_M), math.floor(y / CELL_M))
    spread = max(60.0, town.radius_m * 0.8)
    return town.x_m + rng.normal(0, spread / 2), town.y_m + rng.normal(0, spread / 2)


def _aim(
    targets: TargetField,
    rng: np.random.Generator,
    around: tuple[float, float],
    t_s: float,
    seen: dict[TargetClass, int],
) -> tuple[float, float] | None:
    """A target near ``around``, rarer classes (fewest labels so far) more likely."""
    near = targets.near(around[0], around[1], 1_000.0, t_s)
    if not near:
        return None
    weights = np.array([1.0 / (1.0 + seen[s.target_class]) for s in near])
    chosen = near[int(rng.choice(len(near), p=weights / weights.sum()))]
    return chosen.x_m, chosen.y_m


def _uniform_log(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def write_dataset(
    scenario: WorldScenario,
    *,
    frames: int,
    out_dir: Path,
    camera: CameraConfig | None = None,
    radius_m: float = 50_000.0,
    image_format: str = "jpg",
    sampling: Sampling | None = None,
    test_sampling: Sampling | None = None,
    aim_at_targets: float = 0.0,
) -> DatasetReport:
    """Render ``frames`` frames and write them as a YOLO data set into a new ``out_dir``.

    Train and validation frames follow ``sampling``, test frames ``test_sampling`` (by
    default the same), so the held-out split can differ in light and altitude as well as area.
    ``aim_at_targets`` is the share of frames that put a target somewhere in view, choosing
    the classes with the fewest labels so far; the others look at random places.
    """
    if frames < 1:
        raise DatasetError(f"asked for {frames} frames; need at least 1")
    if image_format not in ("jpg", "png"):
        raise DatasetError(f"image format {image_format!r} is not jpg or png")
    if not 0.0 <= aim_at_targets <= 1.0:
        raise DatasetError(f"aim_at_targets must be in [0, 1], got {aim_at_targets}")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise DatasetError(f"{out_dir} is not empty; refusing to mix data sets")
    if camera is None:
        camera = next(iter(scenario.cameras.values()), None) or CameraConfig(hfov_deg=70.0)
    sampling = sampling or Sampling()
    by_split = {"train": sampling, "val": sampling, "test": test_sampling or sampling}
    # one world per light (the sun shades the ground and casts the shadows); the targets
    # do not depend on the light, so every world shares the first one's
    worlds: dict[WeatherConfig, World] = {}

    def lit(light: WeatherConfig) -> World:
        if light not in worlds:
            worlds[light] = World(scenario.world, seed=scenario.seed, weather=light)
        return worlds[light]

    home = lit(scenario.weather)
    targets = TargetField(home, scenario.targets, cells_kept=1_024)
    rng = np.random.default_rng([scenario.seed & 0xFFFFFFFF, 31337])
    for split in _SPLITS:
        (out_dir / "images" / split).mkdir(parents=True, exist_ok=True)
        (out_dir / "labels" / split).mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(_SPLITS, 0)
    label_counts = dict.fromkeys(_SPLITS, 0)
    seen = dict.fromkeys(CLASSES, 0)
    w, h = camera.width_px, camera.height_px
    with (out_dir / "truth.jsonl").open("w", encoding="utf-8") as truth_file:
        for n in range(frames):
            t_s = float(rng.uniform(0.0, 3_600.0))
            lx, ly = _look_point(home, rng, radius_m)
            aimed = None
            if rng.random() < aim_at_targets:
                aimed = _aim(targets, rng, (lx, ly), t_s, seen)
                lx, ly = aimed or (lx, ly)
            split = _split(lx, ly, scenario.seed)
            plan = by_split[split]
            light = plan.lights[int(rng.integers(len(plan.lights)))] if plan.lights else None
            world = lit(light or scenario.weather)
            agl = float(rng.uniform(*plan.agl_m))
            pitch = float(rng.uniform(*plan.pitch_deg))
            yaw = float(rng.uniform(0.0, 360.0))
            slant = agl / math.sin(math.radians(-pitch))
            frame_camera = camera
            if plan.gsd_m is not None:
                gsd = _uniform_log(rng, *plan.gsd_m)
                hfov = 2.0 * math.degrees(math.atan(w / 2.0 * gsd / slant))
                frame_camera = CameraConfig.model_validate(
                    {
                        **camera.model_dump(exclude={"sensor_width_mm", "focal_length_mm"}),
                        "hfov_deg": hfov,
                        "zoom": 1.0,
                    }
                )
            if aimed is not None:  # the target anywhere in the frame, not always at its centre
                half = 0.4 * slant * w / 2 / frame_camera.intrinsics().fx_px
                lx, ly = lx + rng.uniform(-half, half), ly + rng.uniform(-half, half)
            back = agl / math.tan(math.radians(-pitch))
            cx = lx - back * math.sin(math.radians(yaw))
            cy = ly - back * math.cos(math.radians(yaw))
            ground = float(world.height_m(np.array(lx), np.array(ly)))
            lat, lon = world.frame.to_latlon(cx, cy)
            pose = CameraPose(
                lat_deg=lat,
                lon_deg=lon,
                alt_amsl_m=ground + agl,
                yaw_deg=yaw,
                gimbal_pitch_deg=pitch,
            )
            renderer = Renderer(world, targets, frame_camera, seed=scenario.seed + n)
            frame = renderer.render(pose, t_s)
            stem = f"{n:06d}"
            cv2.imwrite(str(out_dir / "images" / split / f"{stem}.{image_format}"), frame.image_bgr)
            lines = []
            for t in frame.truth:
                x0, y0, x1, y1 = t.box_px
                if x1 - x0 < 2.0 or y1 - y0 < 2.0:
                    continue
                seen[t.target_class] += 1
                lines.append(
                    f"{CLASSES.index(t.target_class)} {(x0 + x1) / 2 / w:.6f} "
                    f"{(y0 + y1) / 2 / h:.6f} {(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}"
                )
            (out_dir / "labels" / split / f"{stem}.txt").write_text(
                "".join(line + "\n" for line in lines), encoding="utf-8"
            )
            counts[split] += 1
            label_counts[split] += len(lines)
            record: dict[str, Any] = {
                "frame": stem,
                "split": split,
                "t_s": t_s,
                "agl_m": agl,
                "camera": frame_camera.model_dump(mode="json"),
                "weather": world.weather.model_dump(mode="json"),
                "pose": {
                    "lat_deg": lat,
                    "lon_deg": lon,
                    "alt_amsl_m": pose.alt_amsl_m,
                    "yaw_deg": yaw,
                    "gimbal_pitch_deg": pitch,
                },
                "targets": [
                    {
                        "id": t.target_id,
                        "class": t.target_class,
                        "box_px": list(t.box_px),
                        "lat_deg": t.lat_deg,
                        "lon_deg": t.lon_deg,
                        "alt_amsl_m": t.alt_amsl_m,
                    }
                    for t in frame.truth
                ],
            }
            truth_file.write(json.dumps(record) + "\n")
    data = {
        "path": str(out_dir.resolve()),
        "train": "images/train",
        "val": "images/val",
        "test": "images/test",
        "names": dict(enumerate(CLASSES)),
    }
    (out_dir / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return DatasetReport(out_dir=out_dir, frames=counts, labels=label_counts)
