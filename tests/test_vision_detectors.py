"""Detector plugins: tagged config, registry, class mapping, tiling, real YOLO and ONNX backends."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from pydantic import ValidationError

from vision.detectors import (
    DetectorConfig,
    OnnxDetectorConfig,
    TilingConfig,
    YoloDetectorConfig,
    _MappedDetector,
    _Raw,
    create_detector,
    detector_types,
    register_detector,
)
from vision.errors import DetectorConfigError, ModelLoadError
from vision.tracking import FeedTracker


class BrightBoxes(_MappedDetector):
    """A backend that reports each bright blob as the model class given by its colour.

    White blobs are model class 0 ('pedestrian'), red ones class 1 ('car'); it also records
    the size of every image it was asked about, to show what tiling sends it.
    """

    def __init__(self, config: YoloDetectorConfig) -> None:
        super().__init__(config, ("pedestrian", "car", "tricycle"))
        self.inputs: list[tuple[int, int]] = []

    def _infer(self, image_bgr: npt.NDArray[np.uint8]) -> _Raw:
        self.inputs.append((image_bgr.shape[1], image_bgr.shape[0]))
        boxes, scores, classes = [], [], []
        for cls, (low, high) in enumerate(
            (((200, 200, 200), (255, 255, 255)), ((0, 0, 200), (60, 60, 255)))
        ):
            mask = cv2.inRange(image_bgr, np.array(low), np.array(high))
            contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            for contour in contours:
                x, y, w, h = cv2.boundingRect(contour)
                boxes.append([x, y, x + w, y + h])
                scores.append(0.9)
                classes.append(cls)
        return (
            np.array(boxes, dtype=np.float64).reshape(-1, 4),
            np.array(scores, dtype=np.float64),
            np.array(classes, dtype=np.int64),
        )


def config(tmp_path: Path, **values: object) -> YoloDetectorConfig:
    weights = tmp_path / "model.pt"
    weights.write_bytes(b"not used by the fake backend")
    return YoloDetectorConfig.model_validate({"weights": weights, **values})


def scene(width: int = 1600, height: int = 1200) -> npt.NDArray[np.uint8]:
    image = np.full((height, width, 3), 40, dtype=np.uint8)
    cv2.rectangle(image, (100, 100), (111, 119), (255, 255, 255), -1)  # small person
    cv2.rectangle(image, (1400, 900), (1429, 914), (0, 0, 255), -1)  # small car
    cv2.rectangle(image, (600, 560), (680, 640), (0, 0, 255), -1)  # straddles a tile seam
    return image


def test_tagged_config_selects_the_backend(tmp_path: Path) -> None:
    yolo = DetectorConfig.validate_python({"type": "yolo", "weights": str(tmp_path / "a.pt")})
    onnx = DetectorConfig.validate_python(
        {"type": "onnx", "weights": str(tmp_path / "a.onnx"), "class_names": ["car"]}
    )
    assert isinstance(yolo, YoloDetectorConfig)
    assert isinstance(onnx, OnnxDetectorConfig)
    assert set(detector_types()) >= {"yolo", "onnx"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"type": "tflite", "weights": "a"}, "tflite"),
        ({"type": "yolo", "weights": "a", "imgsz": 333}, "multiple of 32"),
        ({"type": "yolo", "weights": "a", "colour": "red"}, "colour"),
        ({"type": "yolo", "weights": "a", "confidence": 2}, "confidence"),
        (
            {"type": "yolo", "weights": "a", "tiling": {"tile_px": 256, "overlap_px": 256}},
            "overlap",
        ),
    ],
)
def test_bad_config_is_refused_with_its_key(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DetectorConfig.validate_python(values)


def test_missing_weights_and_duplicate_registration_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no such file"):
        create_detector(YoloDetectorConfig(weights=tmp_path / "absent.pt"))
    with pytest.raises(DetectorConfigError, match="already registered"):
        register_detector("yolo")(lambda config: BrightBoxes(config))


def test_class_mapping_renames_and_drops(tmp_path: Path) -> None:
    detector = BrightBoxes(config(tmp_path, class_preset="visdrone", class_map={"car": "van"}))
    found = detector.detect(scene(800, 600))
    assert sorted(d.class_name for d in found) == ["person", "van"]


def test_class_map_must_target_skyeye_classes(tmp_path: Path) -> None:
    with pytest.raises(DetectorConfigError, match="spaceship"):
        BrightBoxes(config(tmp_path, class_map={"car": "spaceship"}))
    with pytest.raises(DetectorConfigError, match="none of the model's classes"):
        BrightBoxes(config(tmp_path, class_preset="coco", class_map={"car": None}))


def test_tiling_finds_everything_once(tmp_path: Path) -> None:
    tiled = BrightBoxes(
        config(
            tmp_path,
            class_preset="visdrone",
            tiling=TilingConfig(tile_px=640, overlap_px=128, include_full_frame=True),
        )
    )
    found = tiled.detect(scene())
    assert sorted(d.class_name for d in found) == ["car", "car", "person"]
    big = [d for d in found if d.width_px > 50]
    assert len(big) == 1
    assert big[0].x_min_px == 600
    assert big[0].x_max_px == 681
    assert (1600, 1200) in tiled.inputs
    assert all(w <= 640 and h <= 640 for w, h in tiled.inputs if (w, h) != (1600, 1200))
    assert len(tiled.inputs) > 4


def test_detections_are_frozen_and_validated(tmp_path: Path) -> None:
    detector = BrightBoxes(config(tmp_path, class_preset="visdrone"))
    found = detector.detect(scene(800, 600))
    with pytest.raises(AttributeError):
        found[0].confidence = 0.1  # type: ignore[misc]
    with pytest.raises(ValueError, match="H×W×3"):
        detector.detect(np.zeros((10, 10), dtype=np.uint8))


def test_tracker_keeps_ids_across_frames(tmp_path: Path) -> None:
    detector = BrightBoxes(config(tmp_path, class_preset="visdrone"))
    tracker = FeedTracker()
    ids = []
    for shift in range(6):
        image = np.full((600, 800, 3), 40, dtype=np.uint8)
        cv2.rectangle(image, (100 + 4 * shift, 100), (140 + 4 * shift, 120), (0, 0, 255), -1)
        cv2.rectangle(image, (500, 300 + 3 * shift), (515, 330 + 3 * shift), (255, 255, 255), -1)
        tracked = tracker.update(detector.detect(image))
        ids.append({d.class_name: d.track_id for d in tracked})
    assert ids[-1]["car"] is not None
    assert ids[-1]["person"] is not None
    assert ids[-1]["car"] != ids[-1]["person"]
    assert all(frame == ids[-1] for frame in ids[1:])
