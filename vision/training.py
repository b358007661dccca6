"""Our own detector: build a data set in the simulator, train a small YOLO, evaluate, export.

The data set comes from the simulator's writer (``skyeye sim dataset``), run as a separate
process, so ``vision`` never imports ``sim``: it only reads the YOLO-format files it writes
(``images/``, ``labels/``, ``data.yaml`` with train/val/test split by area).

Training starts from the architecture's YAML (no downloaded weights), on the CPU by
default, and is resumable: a run directory that holds ``weights/last.pt`` continues where
it stopped.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from vision.errors import TrainingError

if TYPE_CHECKING:
    import numpy as np

    from vision.camera import CameraIntrinsics, CameraPose

__all__ = [
    "SIM_GPS_NOISE_DEFAULT_M",
    "EvalReport",
    "GroundErrorReport",
    "PoseNoise",
    "TrainSettings",
    "build_dataset",
    "evaluate",
    "export_onnx",
    "frame_gsd_m",
    "ground_error",
    "train",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainSettings:
    data_yaml: Path
    run_dir: Path
    architecture: str = "yolov8n.yaml"
    width: float | None = None
    imgsz: int = 320
    epochs: int = 40
    batch: int = 16
    patience: int = 15
    seed: int = 0
    device: str = "cpu"
    threads: int = 2
    lr0: float = 0.01
    cache_images: bool = True

    def __post_init__(self) -> None:
        if self.imgsz % 32:
            raise ValueError(f"imgsz must be a multiple of 32, got {self.imgsz}")
        if self.epochs < 1 or self.batch < 1:
            raise ValueError("epochs and batch must be positive")
        if self.width is not None and not 0.0625 <= self.width <= 1.5:
            raise ValueError(f"width must be in [0.0625, 1.5], got {self.width}")


@dataclass(frozen=True, slots=True, kw_only=True)
class EvalReport:
    split: str
    images: int
    map50: float
    map50_95: float
    map50_per_class: dict[str, float]
    instances_per_class: dict[str, int]
    gsd_band_m: tuple[float, float] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "gsd_band_m": list(self.gsd_band_m) if self.gsd_band_m else None,
            "images": self.images,
            "map50": self.map50,
            "map50_95": self.map50_95,
            "map50_per_class": self.map50_per_class,
            "instances_per_class": self.instances_per_class,
        }


def build_dataset(
    *, scenario: Path, frames: int, out_dir: Path, extra_args: tuple[str, ...] = ()
) -> Path:
    """Run the simulator's data-set writer; return the path of its ``data.yaml``."""
    command = [
        sys.executable,
        "-m",
        "skyeye",
        "sim",
        "dataset",
        "--scenario",
        str(scenario),
        "--frames",
        str(frames),
        "--out",
        str(out_dir),
        *extra_args,
    ]
    logger.info("building the data set: %s", " ".join(command))
    completed = subprocess.run(command, check=False)
    if completed.returncode != 0:
        raise TrainingError(
            f"the simulator's data-set writer failed (exit {completed.returncode}): "
            f"{' '.join(command)}"
        )
    data_yaml = out_dir / "data.yaml"
    if not data_yaml.is_file():
        raise TrainingError(f"the data-set writer did not produce {data_yaml}")
    return data_yaml


def _check_data_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise TrainingError(f"no data set description at {path}")
    loaded = yaml.safe_load(path.read_text())
    if not isinstance(loaded, dict) or "names" not in loaded or "train" not in loaded:
        raise TrainingError(f"{path} is not a YOLO data set description (needs train, names)")
    return loaded


def _quiet_ultralytics() -> None:
    os.environ.setdefault("YOLO_OFFLINE", "1")


def _architecture(settings: TrainSettings) -> str:
    """The architecture YAML to build; with ``width``, the same layers with narrower channels,
    written into the run directory (``yolov8n.yaml`` at width 0.125: 0.9 M parameters,
    2.8 GFLOPs at 640 px, a third of YOLOv8n's — what a 2-core CPU can train and run)."""
    if settings.width is None:
        return settings.architecture
    from ultralytics.nn.tasks import yaml_model_load

    spec: dict[str, Any] = yaml_model_load(settings.architecture)  # type: ignore[no-untyped-call]
    depth, _, channels = spec["scales"][spec["scale"]]
    spec["scales"] = {"w": [depth, settings.width, channels]}
    for key in ("scale", "yaml_file"):
        spec.pop(key, None)
    # ultralytics reads a scale letter from the file name (yolov8n → n): keep it out
    stem = Path(settings.architecture).stem.replace("yolov8n", "yolov8")
    path = settings.run_dir / f"architecture-{stem}-width{settings.width:g}.yaml"
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return str(path)


def train(settings: TrainSettings) -> Path:
    """Train (or resume) and return the path of the best weights."""
    _check_data_yaml(settings.data_yaml)
    _quiet_ultralytics()
    import torch
    from ultralytics.models import YOLO

    torch.set_num_threads(settings.threads)
    last = settings.run_dir / "train" / "weights" / "last.pt"
    model: Any
    if last.is_file():
        # ultralytics marks a finished run by stripping its checkpoints (epoch -1)
        if torch.load(last, map_location="cpu", weights_only=False).get("epoch", -1) == -1:
            logger.info("the run in %s has finished; nothing to resume", settings.run_dir)
        else:
            logger.info("resuming training from %s", last)
            model = YOLO(str(last))
            model.train(resume=True)
    else:
        model = YOLO(_architecture(settings))
        model.train(
            data=str(settings.data_yaml),
            imgsz=settings.imgsz,
            epochs=settings.epochs,
            batch=settings.batch,
            patience=settings.patience,
            seed=settings.seed,
            deterministic=True,
            device=settings.device,
            workers=0,
            project=str(settings.run_dir.resolve()),
            name="train",
            exist_ok=True,
            plots=False,
            amp=False,
            lr0=settings.lr0,
            cache=settings.cache_images,
            close_mosaic=max(1, settings.epochs // 4),
            verbose=True,
        )
    best = settings.run_dir / "train" / "weights" / "best.pt"
    if not best.is_file():
        raise TrainingError(f"training finished without {best}")
    return best


def frame_gsd_m(record: dict[str, Any]) -> float:
    """Ground sampling distance at the image centre of one ``truth.jsonl`` record (m/px)."""
    try:
        camera = record["camera"]
        pitch = float(record["pose"]["gimbal_pitch_deg"])
        agl = float(record["agl_m"])
        if camera.get("hfov_deg") is not None:
            half = math.tan(math.radians(float(camera["hfov_deg"])) / 2)
        else:
            half = float(camera["sensor_width_mm"]) / 2 / float(camera["focal_length_mm"])
        fx = float(camera["width_px"]) / 2 / (half / float(camera.get("zoom", 1.0)))
    except (KeyError, TypeError, ValueError) as exc:
        raise TrainingError(
            f"frame {record.get('frame')!r}: its truth lacks the camera or height ({exc}); "
            "rebuild the data set with `skyeye sim dataset`"
        ) from None
    return agl / math.sin(math.radians(-pitch)) / fx


def _band_data_yaml(
    data: dict[str, Any], data_yaml: Path, split: str, band: tuple[float, float], into: Path
) -> tuple[Path, int]:
    """A data description whose ``val`` lists the split's frames with a centre GSD in band."""
    root = Path(str(data.get("path", data_yaml.parent)))
    truth = root / "truth.jsonl"
    if not truth.is_file():
        raise TrainingError(f"{truth} is missing: a GSD band needs the writer's per-frame truth")
    images = root / str(data[split])
    chosen: list[str] = []
    with truth.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record["split"] == split and band[0] <= frame_gsd_m(record) <= band[1]:
                chosen.extend(str(p.resolve()) for p in images.glob(f"{record['frame']}.*"))
    if not chosen:
        raise TrainingError(f"no {split} frame has a centre GSD in {band[0]}-{band[1]} m")
    listing = into / f"{split}-band.txt"
    listing.write_text("".join(f"{path}\n" for path in chosen), encoding="utf-8")
    banded = {"path": str(root.resolve()), "train": data["train"], "val": str(listing)}
    banded["names"] = data["names"]
    out = into / "data.yaml"
    out.write_text(yaml.safe_dump(banded, sort_keys=False), encoding="utf-8")
    return out, len(chosen)


def evaluate(
    *,
    weights: Path,
    data_yaml: Path,
    split: str = "test",
    imgsz: int = 320,
    gsd_band_m: tuple[float, float] | None = None,
) -> EvalReport:
    """mAP on one split of the data set (``test``: areas and light the training never saw),
    or on its frames whose centre pixel covers ``gsd_band_m`` metres (the pixel size the
    planner flies a target class at)."""
    data = _check_data_yaml(data_yaml)
    if split not in data:
        raise TrainingError(f"{data_yaml} has no {split!r} split")
    if not weights.is_file():
        raise TrainingError(f"no weights at {weights}")
    if gsd_band_m is not None and not 0 < gsd_band_m[0] <= gsd_band_m[1]:
        raise TrainingError(f"GSD band must be 0 < low <= high, got {gsd_band_m}")
    _quiet_ultralytics()
    from ultralytics.models import YOLO

    model: Any = YOLO(str(weights))
    with tempfile.TemporaryDirectory(prefix="skyeye-eval-") as scratch:
        if gsd_band_m is None:
            described, chosen, images = data_yaml, split, _count_images(data, data_yaml, split)
        else:
            described, images = _band_data_yaml(data, data_yaml, split, gsd_band_m, Path(scratch))
            chosen = "val"
        metrics: Any = model.val(
            data=str(described),
            split=chosen,
            imgsz=imgsz,
            batch=16,
            device="cpu",
            workers=0,
            plots=False,
            verbose=False,
        )
    names: dict[int, str] = metrics.names
    box = metrics.box
    per_class = {names[int(c)]: float(box.ap50[i]) for i, c in enumerate(box.ap_class_index)}
    counts = [int(n) for n in getattr(metrics, "nt_per_class", [])]
    instances = {names[i]: counts[i] for i in range(len(counts)) if counts[i] > 0}
    return EvalReport(
        split=split,
        images=images,
        map50=float(box.map50),
        map50_95=float(box.map),
        map50_per_class=per_class,
        instances_per_class=instances,
        gsd_band_m=gsd_band_m,
    )


def _count_images(data: dict[str, Any], data_yaml: Path, split: str) -> int:
    split_dir = Path(str(data.get("path", data_yaml.parent))) / str(data[split])
    suffixes = {".jpg", ".jpeg", ".png", ".bmp"}
    return sum(1 for p in split_dir.glob("*") if p.suffix.lower() in suffixes)


def export_onnx(*, weights: Path, out: Path, imgsz: int = 320) -> tuple[Path, tuple[str, ...]]:
    """Export to ONNX (opset 17, one ``(1, 4 + classes, anchors)`` output); return the names."""
    _quiet_ultralytics()
    import torch
    from ultralytics.models import YOLO

    model: Any = YOLO(str(weights))
    network = model.model.float().eval()
    for module in network.modules():
        if hasattr(module, "export"):
            module.export = True
        if hasattr(module, "format"):
            module.format = "onnx"
    dummy = torch.zeros(1, 3, imgsz, imgsz)
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # The TorchScript exporter needs no onnxscript; torch calls it legacy, and tracing
        # warns about the shape-dependent branches it freezes for this fixed input size.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            network,
            (dummy,),
            str(out),
            dynamo=False,
            opset_version=17,
            input_names=["images"],
            output_names=["output0"],
        )
    names = model.names
    ordered = tuple(names[i] for i in sorted(names))
    return out, ordered


def write_report(report: EvalReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n")


def install_weights(best: Path, target: Path) -> Path:
    """Copy trained weights into the repository (``vision/models/``), stripped for size."""
    _quiet_ultralytics()
    from ultralytics.utils.torch_utils import strip_optimizer

    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(best, target)
    strip_optimizer(str(target))
    return target


#: ``sim.scenario.GpsConfig.noise_m``'s default, for scenarios without a ``gps`` section
#: (a test holds the two together: vision does not import sim).
SIM_GPS_NOISE_DEFAULT_M = 0.3
#: ``sim.scenario.NavigationConfig``'s default σ, for scenarios without a ``navigation``
#: section (held to the simulator by the same test).
SIM_NAVIGATION_DEFAULTS: dict[str, float] = {
    "gnss_horizontal_m": 1.2,
    "altitude_m": 1.5,
    "roll_pitch_deg": 0.5,
    "yaw_deg": 2.0,
    "gimbal_deg": 0.5,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PoseNoise:
    """The 1-σ errors of the pose a frame is located with, as the simulated drone reports it.

    The simulator's camera renders the true view and its frame metadata (like GLOBAL_POSITION_INT,
    ATTITUDE and the gimbal's status) carries the drone's navigation estimate: the truth plus
    the scenario's errors (``sim/navigation.py``, ``SimVehicle.reported_pose``). In the camera
    pose vision locates with (heading = vehicle yaw + gimbal yaw, pitch = gimbal pitch against
    the horizon, no roll), per axis:

    - ``horizontal_m`` (east, north each): ``hypot(gps.noise_m, navigation.gnss_horizontal_m)``,
      the receiver's short-term noise and the GNSS wander, independent;
    - ``vertical_m``: ``navigation.altitude_m``, the barometric drift;
    - ``heading_deg``: ``hypot(navigation.yaw_deg, navigation.gimbal_deg)``, the AHRS heading
      and the gimbal's yaw;
    - ``pitch_deg``: ``hypot(navigation.roll_pitch_deg, navigation.gimbal_deg)``: the gimbal
      is stabilised on the AHRS horizon, so the AHRS tilt along the view (pitch ahead, roll to
      the side: σ ``roll_pitch_deg`` either way) adds to the gimbal's own pitch error.

    Each error wanders with a time constant of minutes: frames taken at unrelated times see
    independent draws of it.
    """

    horizontal_m: float
    vertical_m: float = 0.0
    heading_deg: float = 0.0
    pitch_deg: float = 0.0

    @classmethod
    def of_scenario(cls, path: Path) -> PoseNoise:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise TrainingError(f"cannot read scenario {path}: {exc}") from None
        if not isinstance(data, dict):
            raise TrainingError(f"scenario {path} is not a YAML mapping")
        noise = _sigma(path, data, "gps", "noise_m", SIM_GPS_NOISE_DEFAULT_M)
        nav = {
            key: _sigma(path, data, "navigation", key, default)
            for key, default in SIM_NAVIGATION_DEFAULTS.items()
        }
        return cls(
            horizontal_m=math.hypot(noise, nav["gnss_horizontal_m"]),
            vertical_m=nav["altitude_m"],
            heading_deg=math.hypot(nav["yaw_deg"], nav["gimbal_deg"]),
            pitch_deg=math.hypot(nav["roll_pitch_deg"], nav["gimbal_deg"]),
        )


def _sigma(path: Path, data: dict[str, Any], section: str, key: str, default: float) -> float:
    """``data[section][key]``, a σ ≥ 0, or ``default`` where the scenario leaves it out."""
    values = data.get(section) or {}
    if not isinstance(values, dict):
        raise TrainingError(f"scenario {path}: {section} must be a mapping, got {values!r}")
    value = values.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise TrainingError(f"scenario {path}: {section}.{key} must be a number ≥ 0, got {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class GroundErrorReport:
    """How far projected detections land from the truth, with exact and with noisy poses."""

    frames: int
    matched: int
    agl_median_m: float
    noise_horizontal_m: float
    noise_vertical_m: float
    noise_heading_deg: float
    noise_pitch_deg: float
    median_error_exact_m: float
    p90_error_exact_m: float
    median_error_noisy_m: float
    p90_error_noisy_m: float
    mean_sigma_noisy_m: float

    def to_json(self) -> dict[str, float]:
        return {
            "frames": self.frames,
            "matched": self.matched,
            "agl_median_m": self.agl_median_m,
            "noise_horizontal_m": self.noise_horizontal_m,
            "noise_vertical_m": self.noise_vertical_m,
            "noise_heading_deg": self.noise_heading_deg,
            "noise_pitch_deg": self.noise_pitch_deg,
            "median_error_exact_m": self.median_error_exact_m,
            "p90_error_exact_m": self.p90_error_exact_m,
            "median_error_noisy_m": self.median_error_noisy_m,
            "p90_error_noisy_m": self.p90_error_noisy_m,
            "mean_sigma_noisy_m": self.mean_sigma_noisy_m,
        }


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _truth_records(
    data_dir: Path, splits: tuple[str, ...], agl_band_m: tuple[float, float] | None
) -> list[dict[str, Any]]:
    path = data_dir / "truth.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise TrainingError(f"{data_dir} has no readable truth.jsonl: {exc}") from None
    records = [json.loads(line) for line in lines if line.strip()]
    low, high = agl_band_m or (-math.inf, math.inf)
    chosen = [r for r in records if r["split"] in splits and low <= r["agl_m"] <= high]
    if not chosen:
        raise TrainingError(
            f"{path} has no frame in split(s) {', '.join(splits)}"
            + (f" at {low:g}–{high:g} m above ground" if agl_band_m else "")
        )
    return chosen


def _truth_camera(record: dict[str, Any]) -> tuple[CameraPose, CameraIntrinsics]:
    """The exact pose and intrinsics of a ``truth.jsonl`` frame (``sim.camera`` model:
    heading ``yaw_deg`` from north, ``gimbal_pitch_deg`` against the horizon, square pixels,
    principal point at the centre)."""
    from vision.camera import CameraIntrinsics, CameraPose

    pose, camera = record["pose"], record["camera"]
    if camera["hfov_deg"] is not None:
        half_width = math.tan(math.radians(camera["hfov_deg"]) / 2.0) / camera["zoom"]
    else:
        half_width = camera["sensor_width_mm"] / 2.0 / (camera["focal_length_mm"] * camera["zoom"])
    fx = camera["width_px"] / 2.0 / half_width
    return CameraPose(
        lat_deg=pose["lat_deg"],
        lon_deg=pose["lon_deg"],
        alt_amsl_m=pose["alt_amsl_m"],
        yaw_deg=pose["yaw_deg"],
        pitch_deg=pose["gimbal_pitch_deg"],
    ), CameraIntrinsics(
        width_px=camera["width_px"],
        height_px=camera["height_px"],
        fx_px=fx,
        fy_px=fx,
        cx_px=camera["width_px"] / 2.0,
        cy_px=camera["height_px"] / 2.0,
    )


def _as_reported(pose: CameraPose, noise: PoseNoise, rng: np.random.Generator) -> CameraPose:
    """``pose`` as the drone would report it: one draw of :class:`PoseNoise`'s errors."""
    from pyproj import Geod

    from vision.camera import CameraPose

    east_m, north_m = rng.normal(0.0, noise.horizontal_m, 2)
    lon, lat, _ = Geod(ellps="WGS84").fwd(
        pose.lon_deg,
        pose.lat_deg,
        math.degrees(math.atan2(east_m, north_m)),
        math.hypot(east_m, north_m),
    )
    return CameraPose(
        lat_deg=lat,
        lon_deg=lon,
        alt_amsl_m=pose.alt_amsl_m + rng.normal(0.0, noise.vertical_m),
        yaw_deg=pose.yaw_deg + rng.normal(0.0, noise.heading_deg),
        pitch_deg=pose.pitch_deg + rng.normal(0.0, noise.pitch_deg),
        roll_deg=pose.roll_deg,
    )


def ground_error(
    *,
    weights: Path,
    data_dir: Path,
    scenario: Path,
    splits: tuple[str, ...] = ("test",),
    agl_band_m: tuple[float, float] | None = None,
    imgsz: int = 320,
    seed: int = 0,
) -> GroundErrorReport:
    """Detect on a simulator data set's frames, project each detection that overlaps a true
    target (IoU ≥ 0.3) with the exact pose and with the pose as the simulated drone would
    report it (:class:`PoseNoise` of ``scenario``, the one the data set was rendered from:
    its ``gps`` and ``navigation`` errors), and measure the distance to the target's true
    position.

    ``data_dir`` is what ``skyeye sim dataset`` writes: ``truth.jsonl`` (per frame: split,
    camera, pose, every target's box and true position) and ``images/<split>/<frame>.*``;
    ``agl_band_m`` keeps the frames taken from that height above ground.
    The ground is taken at the matched target's true altitude (a terrain model without error).
    """
    import cv2
    import numpy as np
    from pyproj import Geod

    from vision.camera import FlatTerrain, PoseUncertainty, Projector
    from vision.detectors import YoloDetectorConfig, create_detector
    from vision.errors import ProjectionError

    noise = PoseNoise.of_scenario(scenario)
    records = _truth_records(data_dir, splits, agl_band_m)
    detector = create_detector(YoloDetectorConfig(weights=weights, imgsz=imgsz, confidence=0.3))
    uncertainty = PoseUncertainty(
        horizontal_m=noise.horizontal_m,
        vertical_m=noise.vertical_m,
        yaw_deg=noise.heading_deg,
        pitch_deg=noise.pitch_deg,
        pixel_px=2.0,
    )
    geod = Geod(ellps="WGS84")
    rng = np.random.default_rng(seed)
    errors: dict[str, list[float]] = {"exact": [], "noisy": []}
    sigmas: list[float] = []
    agls: list[float] = []
    for record in records:
        found = sorted((data_dir / "images" / record["split"]).glob(f"{record['frame']}.*"))
        image = cv2.imread(str(found[0])) if found else None
        if image is None:
            raise TrainingError(f"{data_dir}: the image of frame {record['frame']} is missing")
        agls.append(float(record["agl_m"]))
        pose, intrinsics = _truth_camera(record)
        noisy_pose = _as_reported(pose, noise, rng)
        targets = record["targets"]
        for detection in detector.detect(np.asarray(image, dtype=np.uint8)):
            box = (detection.x_min_px, detection.y_min_px, detection.x_max_px, detection.y_max_px)
            best = max(targets, key=lambda t: _iou(box, tuple(t["box_px"])), default=None)
            if best is None or _iou(box, tuple(best["box_px"])) < 0.3:
                continue
            ground = FlatTerrain(best["alt_amsl_m"])
            try:
                at_exact = Projector(ground).project(intrinsics, pose, detection.center_px)
                at_noisy = Projector(ground, uncertainty=uncertainty).project(
                    intrinsics, noisy_pose, detection.center_px
                )
            except ProjectionError:
                continue
            for point, kind in ((at_exact, "exact"), (at_noisy, "noisy")):
                _, _, distance = geod.inv(
                    point.lon_deg, point.lat_deg, best["lon_deg"], best["lat_deg"]
                )
                errors[kind].append(float(distance))
            if at_noisy.sigma_m is not None:
                sigmas.append(at_noisy.sigma_m)
    if not errors["exact"]:
        raise TrainingError(f"no detection matched a target in {data_dir} ({', '.join(splits)})")
    return GroundErrorReport(
        frames=len(records),
        matched=len(errors["exact"]),
        agl_median_m=float(np.median(agls)),
        noise_horizontal_m=noise.horizontal_m,
        noise_vertical_m=noise.vertical_m,
        noise_heading_deg=noise.heading_deg,
        noise_pitch_deg=noise.pitch_deg,
        median_error_exact_m=float(np.median(errors["exact"])),
        p90_error_exact_m=float(np.percentile(errors["exact"], 90)),
        median_error_noisy_m=float(np.median(errors["noisy"])),
        p90_error_noisy_m=float(np.percentile(errors["noisy"], 90)),
        mean_sigma_noisy_m=float(np.mean(sigmas)) if sigmas else float("nan"),
    )
