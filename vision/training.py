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
from typing import Any

import yaml

from vision.errors import TrainingError

__all__ = [
    "EvalReport",
    "GroundErrorReport",
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


@dataclass(frozen=True, slots=True, kw_only=True)
class GroundErrorReport:
    """How far projected detections land from the truth, with exact and with noisy poses."""

    frames: int
    matched: int
    median_error_exact_m: float
    p90_error_exact_m: float
    median_error_noisy_m: float
    p90_error_noisy_m: float
    mean_sigma_noisy_m: float

    def to_json(self) -> dict[str, float]:
        return {
            "frames": self.frames,
            "matched": self.matched,
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


def ground_error(
    *,
    weights: Path,
    truth_dir: Path,
    images_dir: Path,
    imgsz: int = 320,
    gps_sigma_m: float = 1.5,
    altitude_sigma_m: float = 2.0,
    attitude_sigma_deg: float = 1.0,
    seed: int = 0,
) -> GroundErrorReport:
    """Detect on rendered frames with ground truth, project each matched detection with the
    exact pose and with a pose perturbed by GPS/attitude noise, and measure the distance to
    the target's true position.

    ``truth_dir`` holds one JSON per image (same stem): the camera pose, intrinsics, ground
    altitude and every target's class, pixel box and true position.
    """
    import cv2
    import numpy as np
    from pyproj import Geod

    from vision.camera import CameraIntrinsics, CameraPose, FlatTerrain, PoseUncertainty, Projector
    from vision.detectors import YoloDetectorConfig, create_detector
    from vision.errors import ProjectionError

    detector = create_detector(YoloDetectorConfig(weights=weights, imgsz=imgsz, confidence=0.3))
    geod = Geod(ellps="WGS84")
    rng = np.random.default_rng(seed)
    exact_errors: list[float] = []
    noisy_errors: list[float] = []
    sigmas: list[float] = []
    frames = 0
    for truth_file in sorted(truth_dir.glob("*.json")):
        image = cv2.imread(str(images_dir / f"{truth_file.stem}.jpg"))
        if image is None:
            continue
        truth = json.loads(truth_file.read_text())
        frames += 1
        pose = CameraPose(**truth["pose"])
        intrinsics = CameraIntrinsics(**truth["intrinsics"])
        uncertainty = PoseUncertainty(
            horizontal_m=gps_sigma_m,
            vertical_m=altitude_sigma_m,
            yaw_deg=attitude_sigma_deg,
            pitch_deg=attitude_sigma_deg,
            roll_deg=attitude_sigma_deg,
            pixel_px=2.0,
        )
        exact = Projector(FlatTerrain(truth["ground_alt_amsl_m"]))
        noisy = Projector(FlatTerrain(truth["ground_alt_amsl_m"]), uncertainty=uncertainty)
        metres_per_deg_lat = 111_320.0
        metres_per_deg_lon = 111_320.0 * np.cos(np.radians(pose.lat_deg))
        noisy_pose = CameraPose(
            lat_deg=pose.lat_deg + rng.normal(0, gps_sigma_m) / metres_per_deg_lat,
            lon_deg=pose.lon_deg + rng.normal(0, gps_sigma_m) / metres_per_deg_lon,
            alt_amsl_m=pose.alt_amsl_m + rng.normal(0, altitude_sigma_m),
            yaw_deg=pose.yaw_deg + rng.normal(0, attitude_sigma_deg),
            pitch_deg=pose.pitch_deg + rng.normal(0, attitude_sigma_deg),
            roll_deg=rng.normal(0, attitude_sigma_deg),
        )
        targets = truth["targets"]
        for detection in detector.detect(np.asarray(image, dtype=np.uint8)):
            box = (detection.x_min_px, detection.y_min_px, detection.x_max_px, detection.y_max_px)
            best = max(targets, key=lambda t: _iou(box, tuple(t["box_px"])), default=None)
            if best is None or _iou(box, tuple(best["box_px"])) < 0.3:
                continue
            try:
                at_exact = exact.project(intrinsics, pose, detection.center_px)
                at_noisy = noisy.project(intrinsics, noisy_pose, detection.center_px)
            except ProjectionError:
                continue
            for point, errors in ((at_exact, exact_errors), (at_noisy, noisy_errors)):
                _, _, distance = geod.inv(
                    point.lon_deg, point.lat_deg, best["lon_deg"], best["lat_deg"]
                )
                errors.append(float(distance))
            if at_noisy.sigma_m is not None:
                sigmas.append(at_noisy.sigma_m)
    if not exact_errors:
        raise TrainingError(f"no detection matched a target in {truth_dir}")
    return GroundErrorReport(
        frames=frames,
        matched=len(exact_errors),
        median_error_exact_m=float(np.median(exact_errors)),
        p90_error_exact_m=float(np.percentile(exact_errors, 90)),
        median_error_noisy_m=float(np.median(noisy_errors)),
        p90_error_noisy_m=float(np.percentile(noisy_errors, 90)),
        mean_sigma_noisy_m=float(np.mean(sigmas)) if sigmas else float("nan"),
    )
