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
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vision.errors import TrainingError

__all__ = [
    "EvalReport",
    "TrainSettings",
    "build_dataset",
    "evaluate",
    "export_onnx",
    "train",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainSettings:
    data_yaml: Path
    run_dir: Path
    architecture: str = "yolov8n.yaml"
    imgsz: int = 320
    epochs: int = 40
    batch: int = 16
    patience: int = 15
    seed: int = 0
    device: str = "cpu"
    threads: int = 2
    lr0: float = 0.01

    def __post_init__(self) -> None:
        if self.imgsz % 32:
            raise ValueError(f"imgsz must be a multiple of 32, got {self.imgsz}")
        if self.epochs < 1 or self.batch < 1:
            raise ValueError("epochs and batch must be positive")


@dataclass(frozen=True, slots=True, kw_only=True)
class EvalReport:
    split: str
    images: int
    map50: float
    map50_95: float
    map50_per_class: dict[str, float]
    instances_per_class: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "split": self.split,
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
        logger.info("resuming training from %s", last)
        model = YOLO(str(last))
        model.train(resume=True)
    else:
        model = YOLO(settings.architecture)
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
            project=str(settings.run_dir),
            name="train",
            exist_ok=True,
            plots=False,
            amp=False,
            lr0=settings.lr0,
            close_mosaic=max(1, settings.epochs // 4),
            verbose=True,
        )
    best = settings.run_dir / "train" / "weights" / "best.pt"
    if not best.is_file():
        raise TrainingError(f"training finished without {best}")
    return best


def evaluate(
    *, weights: Path, data_yaml: Path, split: str = "test", imgsz: int = 320
) -> EvalReport:
    """mAP on one split of the data set (``test``: areas and light the training never saw)."""
    data = _check_data_yaml(data_yaml)
    if split not in data:
        raise TrainingError(f"{data_yaml} has no {split!r} split")
    if not weights.is_file():
        raise TrainingError(f"no weights at {weights}")
    _quiet_ultralytics()
    from ultralytics.models import YOLO

    model: Any = YOLO(str(weights))
    metrics: Any = model.val(
        data=str(data_yaml),
        split=split,
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
    images = int(metrics.seen) if hasattr(metrics, "seen") else 0
    return EvalReport(
        split=split,
        images=images,
        map50=float(box.map50),
        map50_95=float(box.map),
        map50_per_class=per_class,
        instances_per_class=instances,
    )


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
