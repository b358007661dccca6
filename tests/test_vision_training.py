"""`skyeye vision train/eval/export`: clear errors on bad input, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from skyeye.cli import app
from vision.errors import TrainingError
from vision.training import TrainSettings, build_dataset, evaluate, frame_gsd_m, train


def test_training_refuses_a_missing_or_malformed_data_set(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="no data set description"):
        train(TrainSettings(data_yaml=tmp_path / "absent.yaml", run_dir=tmp_path / "run"))
    bad = tmp_path / "data.yaml"
    bad.write_text("just: words\n")
    with pytest.raises(TrainingError, match="needs train, names"):
        train(TrainSettings(data_yaml=bad, run_dir=tmp_path / "run"))
    assert not (tmp_path / "run").exists()
    with pytest.raises(ValueError, match="multiple of 32"):
        TrainSettings(data_yaml=bad, run_dir=tmp_path, imgsz=300)


def test_evaluation_needs_the_split_and_the_weights(tmp_path: Path) -> None:
    data = tmp_path / "data.yaml"
    data.write_text("path: .\ntrain: images/train\nval: images/val\nnames: {0: car}\n")
    with pytest.raises(TrainingError, match="no 'test' split"):
        evaluate(weights=tmp_path / "w.pt", data_yaml=data)
    data.write_text(data.read_text() + "test: images/test\n")
    with pytest.raises(TrainingError, match="no weights"):
        evaluate(weights=tmp_path / "w.pt", data_yaml=data)


def test_a_failing_dataset_writer_is_reported(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="data-set writer failed"):
        build_dataset(scenario=tmp_path / "missing.yaml", frames=3, out_dir=tmp_path / "ds")


def test_cli_train_without_data_or_scenario_explains(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["vision", "train", "--data", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "--scenario" in result.output


def test_a_narrow_yolo_trains_resumes_and_evaluates(tmp_path: Path) -> None:
    """One epoch on a tiny simulated data set: the width option builds a narrower YOLOv8
    (written into the run directory), a second call resumes from ``last.pt``, and the test
    split is evaluated. Quality is the model card's business, not this test's."""
    data_yaml = build_dataset(
        scenario=Path("sim/scenarios/demo.yaml"),
        frames=40,
        out_dir=tmp_path / "ds",
        extra_args=("--detector", "--radius-km", "12", "--width", "96", "--height", "96"),
    )
    settings = TrainSettings(
        data_yaml=data_yaml,
        run_dir=tmp_path / "run",
        width=0.0625,
        imgsz=96,
        epochs=1,
        batch=4,
        cache_images=False,
    )
    best = train(settings)
    spec = yaml.safe_load((tmp_path / "run" / "architecture-yolov8-width0.0625.yaml").read_text())
    assert spec["scales"] == {"w": [0.33, 0.0625, 1024]}
    import torch

    checkpoint = torch.load(best, weights_only=False)
    parameters = sum(p.numel() for p in checkpoint["model"].parameters())
    assert parameters < 1_000_000  # YOLOv8n has 3.0 M; at width 0.0625 well under a third
    assert train(settings) == best  # resumes: the finished run is found, nothing retrained
    report = evaluate(weights=best, data_yaml=data_yaml, split="test", imgsz=96)
    assert report.split == "test"
    assert 0.0 <= report.map50 <= 1.0
    test_frames = len(list((tmp_path / "ds" / "images" / "test").glob("*.jpg")))
    banded = evaluate(
        weights=best, data_yaml=data_yaml, split="test", imgsz=96, gsd_band_m=(0.03, 0.075)
    )
    assert banded.images == test_frames  # the held-out split is drawn at 3 to 7.5 cm
    with pytest.raises(TrainingError, match="no test frame has a centre GSD"):
        evaluate(weights=best, data_yaml=data_yaml, split="test", gsd_band_m=(0.5, 0.6))


def test_frame_gsd_from_the_writers_truth() -> None:
    record = {
        "frame": "000001",
        "agl_m": 100.0,
        "pose": {"gimbal_pitch_deg": -90.0},
        "camera": {"width_px": 640, "hfov_deg": 90.0, "zoom": 2.0},
    }
    assert frame_gsd_m(record) == pytest.approx(100.0 / 640.0)  # fx = 640 at 90 deg, zoom 2
    record["pose"] = {"gimbal_pitch_deg": -30.0}
    assert frame_gsd_m(record) == pytest.approx(200.0 / 640.0)  # slant range doubles
    with pytest.raises(TrainingError, match="lacks the camera or height"):
        frame_gsd_m({"frame": "000002", "pose": {"gimbal_pitch_deg": -90.0}})


def test_width_out_of_range_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="width must be in"):
        TrainSettings(data_yaml=tmp_path / "d.yaml", run_dir=tmp_path, width=3.0)


def test_cli_ground_error_without_a_data_set_explains(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["vision", "ground-error", "--data", str(tmp_path / "none")], catch_exceptions=False
    )
    assert result.exit_code == 1
    assert "truth.jsonl" in result.output
