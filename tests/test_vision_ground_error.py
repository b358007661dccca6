"""Ground position error of detections, with the pose errors the simulator's telemetry has.

vision reads the simulator's noise parameters from the scenario file without importing sim;
these tests import sim to hold that mapping to what the simulator really does.
"""

from __future__ import annotations

import random
import statistics
from pathlib import Path

import pytest
import yaml

from sim.camera.dataset import Sampling, load_world_scenario, write_dataset
from sim.physics import Airframe, Guidance
from sim.scenario import BUILTIN_PROFILES, GpsConfig, WindConfig
from vision.errors import TrainingError
from vision.training import SIM_GPS_NOISE_DEFAULT_M, PoseNoise, ground_error

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "sim" / "scenarios" / "demo.yaml"
WEIGHTS = ROOT / "vision" / "models" / "skyeye-yolo.pt"


def scenario_with(tmp_path: Path, **changes: object) -> Path:
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8")) | changes
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Nadir frames from 100 m at 6 cm per pixel, each aimed at a target."""
    out = tmp_path_factory.mktemp("ground") / "ds"
    plan = Sampling(agl_m=(100.0, 100.0), pitch_deg=(-90.0, -90.0), gsd_m=(0.06, 0.06))
    write_dataset(
        load_world_scenario(DEMO), frames=8, out_dir=out, sampling=plan, aim_at_targets=1.0
    )
    return out


def test_the_default_gps_noise_is_the_simulators() -> None:
    assert GpsConfig().noise_m == SIM_GPS_NOISE_DEFAULT_M


def test_pose_noise_is_read_from_the_scenario(tmp_path: Path) -> None:
    assert PoseNoise.of_scenario(DEMO) == PoseNoise(horizontal_m=0.3)
    noisy = scenario_with(tmp_path, gps={"noise_m": 2.5})
    assert PoseNoise.of_scenario(noisy) == PoseNoise(horizontal_m=2.5)
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    del data["gps"]
    noisy.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert PoseNoise.of_scenario(noisy).horizontal_m == SIM_GPS_NOISE_DEFAULT_M


def test_the_simulators_gps_error_has_the_scenarios_sigma_per_axis() -> None:
    """The Gauss–Markov walk sampled every 90 s (three time constants) has σ = noise_m."""
    noise = PoseNoise(horizontal_m=2.0)
    airframe = Airframe(
        BUILTIN_PROFILES["police_multirotor"],
        wind=WindConfig(),
        gps=GpsConfig(noise_m=noise.horizontal_m),
        rng=random.Random(3),
    )
    samples: list[float] = []
    for step in range(1, 45_001):
        airframe.step(1.0, Guidance(), armed=False)
        if step % 90 == 0:
            samples.extend(airframe.gps_error_m())
    assert statistics.pstdev(samples) == pytest.approx(noise.horizontal_m, rel=0.12)
    assert airframe.attitude_rad()[:2] == (0.0, 0.0)


def test_ground_error_with_the_scenarios_noise(dataset: Path) -> None:
    report = ground_error(
        weights=WEIGHTS, data_dir=dataset, scenario=DEMO, splits=("train", "val", "test")
    )
    assert report.frames == 8
    assert report.matched >= 1
    assert report.agl_median_m == pytest.approx(100.0)
    assert (report.noise_horizontal_m, report.noise_vertical_m, report.noise_attitude_deg) == (
        0.3,
        0.0,
        0.0,
    )
    assert report.median_error_exact_m <= 2.0
    assert report.median_error_noisy_m <= 6.0
    assert 0.0 < report.mean_sigma_noisy_m < 2.0


def test_more_gps_noise_in_the_scenario_moves_the_noisy_positions_only(
    dataset: Path, tmp_path: Path
) -> None:
    splits = ("train", "val", "test")
    calm = ground_error(weights=WEIGHTS, data_dir=dataset, scenario=DEMO, splits=splits)
    rough = ground_error(
        weights=WEIGHTS,
        data_dir=dataset,
        scenario=scenario_with(tmp_path, gps={"noise_m": 25.0}),
        splits=splits,
    )
    assert rough.median_error_exact_m == calm.median_error_exact_m
    assert rough.median_error_noisy_m > 5.0
    assert rough.mean_sigma_noisy_m > 10.0 * calm.mean_sigma_noisy_m


def test_bad_inputs_are_named(dataset: Path, tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match=r"no readable truth\.jsonl"):
        ground_error(weights=WEIGHTS, data_dir=tmp_path, scenario=DEMO)
    with pytest.raises(TrainingError, match="no frame in split"):
        ground_error(weights=WEIGHTS, data_dir=dataset, scenario=DEMO, splits=("test",))
    with pytest.raises(TrainingError, match="at 300–400 m above ground"):
        ground_error(
            weights=WEIGHTS,
            data_dir=dataset,
            scenario=DEMO,
            splits=("train",),
            agl_band_m=(300.0, 400.0),
        )
    with pytest.raises(TrainingError, match=r"gps\.noise_m must be a number ≥ 0, got -1"):
        PoseNoise.of_scenario(scenario_with(tmp_path, gps={"noise_m": -1}))
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(TrainingError, match="is not a YAML mapping"):
        PoseNoise.of_scenario(listed)
    with pytest.raises(TrainingError, match="cannot read scenario"):
        PoseNoise.of_scenario(tmp_path / "absent.yaml")
