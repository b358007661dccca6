"""`skyeye vision train/eval/export`: clear errors on bad input, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from skyeye.cli import app
from vision.errors import TrainingError
from vision.training import TrainSettings, build_dataset, evaluate, train


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
