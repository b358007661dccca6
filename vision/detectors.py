"""Object detectors behind an explicit plugin registry, selected by a tagged config.

::

    detector = create_detector(DetectorConfig.validate_python(
        {"type": "yolo", "weights": "vision/models/skyeye-yolo.pt", "class_preset": "identity"}
    ))
    detections = detector.detect(image_bgr)   # tuple[Detection, ...], off the event loop

Backends: ``yolo`` (ultralytics, ``.pt``) and ``onnx`` (ONNX Runtime, a YOLOv8/11-style
``.onnx`` export with one ``(1, 4 + classes, anchors)`` output). Both map the model's
class names onto ours through a preset (``identity``, ``coco``, ``visdrone``) plus explicit
overrides, so COCO- or VisDrone-trained weights can be used as they are; classes mapped to
``null`` are dropped. Optional tiling runs the model on overlapping tiles (and the whole
frame) and merges the boxes, for small objects in large frames.
"""

from __future__ import annotations

import abc
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from vision.errors import DetectorConfigError, ModelLoadError

__all__ = [
    "CLASS_PRESETS",
    "SKYEYE_CLASSES",
    "Detection",
    "Detector",
    "DetectorConfig",
    "OnnxDetectorConfig",
    "TilingConfig",
    "YoloDetectorConfig",
    "create_detector",
    "detector_types",
    "register_detector",
]

logger = logging.getLogger(__name__)

SKYEYE_CLASSES = ("car", "van", "truck", "bus", "motorcycle", "person", "boat")

CLASS_PRESETS: dict[str, dict[str, str | None]] = {
    "identity": {name: name for name in SKYEYE_CLASSES},
    "coco": {
        "car": "car",
        "truck": "truck",
        "bus": "bus",
        "motorcycle": "motorcycle",
        "person": "person",
        "boat": "boat",
    },
    "visdrone": {
        "pedestrian": "person",
        "people": "person",
        "car": "car",
        "van": "van",
        "truck": "truck",
        "bus": "bus",
        "motor": "motorcycle",
    },
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Detection:
    """One object in one image: class, confidence and pixel box, with a feed-local track id."""

    class_name: str
    confidence: float
    x_min_px: float
    y_min_px: float
    x_max_px: float
    y_max_px: float
    track_id: int | None = None

    @property
    def center_px(self) -> tuple[float, float]:
        return (self.x_min_px + self.x_max_px) / 2.0, (self.y_min_px + self.y_max_px) / 2.0

    @property
    def width_px(self) -> float:
        return self.x_max_px - self.x_min_px

    @property
    def height_px(self) -> float:
        return self.y_max_px - self.y_min_px


class TilingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tile_px: int = Field(
        default=640, ge=64, le=4096, title="Tile size", description="Square tile side in pixels."
    )
    overlap_px: int = Field(
        default=64, ge=0, le=1024, title="Overlap", description="Pixels shared by adjacent tiles."
    )
    include_full_frame: bool = Field(
        default=True,
        title="Full frame too",
        description="Also run on the whole (downscaled) frame, for objects larger than a tile.",
    )

    @model_validator(mode="after")
    def _overlap_smaller_than_tile(self) -> TilingConfig:
        if self.overlap_px >= self.tile_px:
            raise ValueError(f"overlap ({self.overlap_px}) must be smaller than the tile")
        return self


class _DetectorBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: Path = Field(title="Weights", description="Model file.")
    imgsz: int = Field(
        default=416, ge=32, le=4096, multiple_of=32, title="Input size", description="Pixels."
    )
    confidence: float = Field(
        default=0.25, ge=0.0, le=1.0, title="Confidence", description="Minimum score kept."
    )
    iou: float = Field(default=0.5, gt=0.0, le=1.0, title="NMS IoU", description="NMS threshold.")
    class_preset: Literal["identity", "coco", "visdrone"] = Field(
        default="identity",
        title="Class preset",
        description="How the model's class names map onto Skyeye's classes.",
    )
    class_map: dict[str, str | None] = Field(
        default_factory=dict,
        title="Class map",
        description="Overrides: model class name → Skyeye class name, or null to drop it.",
    )
    tiling: TilingConfig | None = Field(
        default=None, title="Tiling", description="Run on overlapping tiles for small objects."
    )
    threads: int = Field(
        default=1, ge=1, le=64, title="Threads", description="CPU threads per inference."
    )

    def mapping(self) -> dict[str, str | None]:
        return CLASS_PRESETS[self.class_preset] | self.class_map


class YoloDetectorConfig(_DetectorBase):
    """Ultralytics YOLO weights (``.pt``)."""

    type: Literal["yolo"] = "yolo"
    device: str = Field(default="cpu", title="Device", description="cpu, cuda:0, …")


class OnnxDetectorConfig(_DetectorBase):
    """A YOLO model exported to ONNX, run by ONNX Runtime."""

    type: Literal["onnx"] = "onnx"
    class_names: tuple[str, ...] = Field(
        title="Class names", description="The model's classes, in output order."
    )
    providers: tuple[str, ...] = Field(
        default=("CPUExecutionProvider",),
        title="Execution providers",
        description="ONNX Runtime providers in order of preference.",
    )


AnyDetectorConfig = Annotated[YoloDetectorConfig | OnnxDetectorConfig, Field(discriminator="type")]
# mypy judges this call differently with and without its cache: silence both outcomes.
DetectorConfig: TypeAdapter[YoloDetectorConfig | OnnxDetectorConfig] = TypeAdapter(
    AnyDetectorConfig  # type: ignore[arg-type, unused-ignore]
)


class Detector(Protocol):
    """A loaded model. ``detect`` is CPU/GPU work: call it off the event loop."""

    @property
    def model_class_names(self) -> tuple[str, ...]: ...

    def detect(self, image_bgr: npt.NDArray[np.uint8]) -> tuple[Detection, ...]: ...


DetectorFactory = Callable[[Any], Detector]
_REGISTRY: dict[str, DetectorFactory] = {}


def register_detector(type_name: str) -> Callable[[DetectorFactory], DetectorFactory]:
    """Register the factory that builds detectors of config ``type: type_name``."""

    def decorate(factory: DetectorFactory) -> DetectorFactory:
        if type_name in _REGISTRY:
            raise DetectorConfigError(f"detector type {type_name!r} is already registered")
        _REGISTRY[type_name] = factory
        return factory

    return decorate


def detector_types() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def create_detector(config: YoloDetectorConfig | OnnxDetectorConfig) -> Detector:
    factory = _REGISTRY.get(config.type)
    if factory is None:
        raise DetectorConfigError(
            f"unknown detector type {config.type!r}; known: {', '.join(detector_types())}"
        )
    if not config.weights.is_file():
        raise ModelLoadError(str(config.weights), "no such file")
    return factory(config)


# --------------------------------------------------------------------------- shared logic

_Raw = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]


def _tiles(width: int, height: int, tiling: TilingConfig) -> list[tuple[int, int, int, int]]:
    stride = tiling.tile_px - tiling.overlap_px
    xs = list(range(0, max(1, width - tiling.overlap_px), stride))
    ys = list(range(0, max(1, height - tiling.overlap_px), stride))
    return [
        (x, y, min(width, x + tiling.tile_px), min(height, y + tiling.tile_px))
        for y in ys
        for x in xs
    ]


def _not_cut(
    boxes: npt.NDArray[np.float64],
    width: int,
    height: int,
    *,
    interior: tuple[bool, bool, bool, bool],
    margin_px: float = 2.0,
) -> npt.NDArray[np.bool_]:
    """Boxes not touching a tile edge that lies inside the image (those objects are cut;
    the overlapping neighbour tile sees them whole)."""
    left, top, right, bottom = interior
    keep = np.ones(len(boxes), dtype=bool)
    if left:
        keep &= boxes[:, 0] > margin_px
    if top:
        keep &= boxes[:, 1] > margin_px
    if right:
        keep &= boxes[:, 2] < width - margin_px
    if bottom:
        keep &= boxes[:, 3] < height - margin_px
    return keep


def _nms(raw: _Raw, iou: float) -> _Raw:
    boxes, scores, classes = raw
    if len(boxes) == 0:
        return raw
    xywh = np.column_stack((boxes[:, :2], boxes[:, 2:] - boxes[:, :2]))
    keep = cv2.dnn.NMSBoxesBatched(
        xywh.tolist(), scores.tolist(), classes.tolist(), score_threshold=0.0, nms_threshold=iou
    )
    index = np.asarray(keep, dtype=np.int64).reshape(-1)
    return boxes[index], scores[index], classes[index]


class _MappedDetector(abc.ABC):
    """Class mapping and tiling around a backend's ``_infer`` (one image → raw boxes)."""

    def __init__(self, config: _DetectorBase, model_class_names: Sequence[str]) -> None:
        self._config = config
        self._names = tuple(model_class_names)
        mapping = config.mapping()
        unknown_targets = {v for v in mapping.values() if v is not None} - set(SKYEYE_CLASSES)
        if unknown_targets:
            raise DetectorConfigError(
                f"class map targets {sorted(unknown_targets)} are not Skyeye classes "
                f"({', '.join(SKYEYE_CLASSES)})"
            )
        self._output_names = [mapping.get(name) for name in self._names]
        if not any(self._output_names):
            raise DetectorConfigError(
                f"none of the model's classes ({', '.join(self._names)}) maps to a Skyeye "
                f"class with preset {config.class_preset!r}; set class_preset or class_map"
            )

    @property
    def model_class_names(self) -> tuple[str, ...]:
        return self._names

    @abc.abstractmethod
    def _infer(self, image_bgr: npt.NDArray[np.uint8]) -> _Raw:
        """Boxes (x0, y0, x1, y1 in the image's pixels), scores and model class indices."""

    def detect(self, image_bgr: npt.NDArray[np.uint8]) -> tuple[Detection, ...]:
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
            raise ValueError(f"expected an H×W×3 BGR image, got shape {image_bgr.shape}")
        tiling = self._config.tiling
        height, width = image_bgr.shape[:2]
        if tiling is None or max(width, height) <= tiling.tile_px:
            boxes, scores, classes = self._infer(image_bgr)
        else:
            parts = [self._infer(image_bgr)] if tiling.include_full_frame else []
            for x0, y0, x1, y1 in _tiles(width, height, tiling):
                b, s, c = self._infer(np.ascontiguousarray(image_bgr[y0:y1, x0:x1]))
                keep = _not_cut(
                    b, x1 - x0, y1 - y0, interior=(x0 > 0, y0 > 0, x1 < width, y1 < height)
                )
                offset = np.array([x0, y0, x0, y0], dtype=np.float64)
                parts.append((b[keep] + offset, s[keep], c[keep]))
            boxes, scores, classes = _nms(
                (
                    np.concatenate([p[0] for p in parts]).reshape(-1, 4),
                    np.concatenate([p[1] for p in parts]),
                    np.concatenate([p[2] for p in parts]),
                ),
                self._config.iou,
            )
        found = []
        for box, score, cls in zip(boxes, scores, classes, strict=True):
            name = self._output_names[int(cls)] if 0 <= int(cls) < len(self._names) else None
            if name is None or score < self._config.confidence:
                continue
            left, top, right, bottom = (float(v) for v in box)
            found.append(
                Detection(
                    class_name=name,
                    confidence=float(score),
                    x_min_px=max(0.0, left),
                    y_min_px=max(0.0, top),
                    x_max_px=min(float(width), right),
                    y_max_px=min(float(height), bottom),
                )
            )
        return tuple(sorted(found, key=lambda d: -d.confidence))


# --------------------------------------------------------------------------- yolo


class YoloDetector(_MappedDetector):
    def __init__(self, config: YoloDetectorConfig) -> None:
        import torch
        from ultralytics.models import YOLO

        torch.set_num_threads(config.threads)
        try:
            self._model: Any = YOLO(str(config.weights), task="detect")
        except Exception as exc:  # ultralytics raises many kinds for a bad file
            raise ModelLoadError(str(config.weights), str(exc)) from None
        names = self._model.names
        ordered = [names[i] for i in sorted(names)] if isinstance(names, dict) else list(names)
        super().__init__(config, ordered)
        self._yolo_config = config
        # the first prediction sets ultralytics' predictor up (over a second): pay it here,
        # where the model loads, not on the first live frame
        self._infer(np.zeros((config.imgsz, config.imgsz, 3), dtype=np.uint8))

    def _infer(self, image_bgr: npt.NDArray[np.uint8]) -> _Raw:
        config = self._yolo_config
        result: Any = self._model.predict(
            image_bgr,
            imgsz=config.imgsz,
            conf=config.confidence,
            iou=config.iou,
            device=config.device,
            verbose=False,
        )[0]
        boxes = result.boxes
        return (
            boxes.xyxy.cpu().numpy().astype(np.float64).reshape(-1, 4),
            boxes.conf.cpu().numpy().astype(np.float64),
            boxes.cls.cpu().numpy().astype(np.int64),
        )


@register_detector("yolo")
def _build_yolo(config: YoloDetectorConfig) -> Detector:
    return YoloDetector(config)


# --------------------------------------------------------------------------- onnx


def letterbox(
    image_bgr: npt.NDArray[np.uint8], size: int
) -> tuple[npt.NDArray[np.float32], float, tuple[float, float]]:
    """Resize keeping the aspect ratio, pad to ``size``², return (NCHW RGB 0–1, scale, pad)."""
    height, width = image_bgr.shape[:2]
    scale = min(size / width, size / height)
    new_w, new_h = round(width * scale), round(height * scale)
    resized = cv2.resize(image_bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    pad_x, pad_y = (size - new_w) / 2.0, (size - new_h) / 2.0
    top, left = math.floor(pad_y), math.floor(pad_x)
    canvas = np.full((size, size, 3), 114, dtype=np.uint8)
    canvas[top : top + new_h, left : left + new_w] = resized
    tensor = canvas[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    return np.ascontiguousarray(tensor), scale, (float(left), float(top))


class OnnxDetector(_MappedDetector):
    def __init__(self, config: OnnxDetectorConfig) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = config.threads
        options.inter_op_num_threads = 1
        try:
            self._session = onnxruntime.InferenceSession(
                str(config.weights), sess_options=options, providers=list(config.providers)
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelLoadError(str(config.weights), str(exc)) from None
        self._input = self._session.get_inputs()[0].name
        output_shape = self._session.get_outputs()[0].shape
        channels = output_shape[1] if len(output_shape) == 3 else None
        if isinstance(channels, int) and channels != 4 + len(config.class_names):
            raise ModelLoadError(
                str(config.weights),
                f"the model predicts {channels - 4} classes but {len(config.class_names)} "
                "class names are configured",
            )
        super().__init__(config, config.class_names)
        self._onnx_config = config

    def _infer(self, image_bgr: npt.NDArray[np.uint8]) -> _Raw:
        config = self._onnx_config
        tensor, scale, (pad_x, pad_y) = letterbox(image_bgr, config.imgsz)
        output = np.asarray(self._session.run(None, {self._input: tensor})[0])[0]
        predictions = output.T  # anchors × (4 + classes)
        class_scores = predictions[:, 4:]
        classes = class_scores.argmax(axis=1)
        scores = class_scores[np.arange(len(classes)), classes]
        keep = scores >= config.confidence
        cx, cy, w, h = predictions[keep, :4].T.astype(np.float64)
        boxes = np.column_stack((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
        boxes = (boxes - np.array([pad_x, pad_y, pad_x, pad_y])) / scale
        return _nms(
            (boxes, scores[keep].astype(np.float64), classes[keep].astype(np.int64)), config.iou
        )


@register_detector("onnx")
def _build_onnx(config: OnnxDetectorConfig) -> Detector:
    return OnnxDetector(config)
