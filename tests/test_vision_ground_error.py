"""Ground position error of detections, with the pose errors the simulated drone reports.

vision reads the simulator's noise parameters from the scenario file without importing sim;
these tests import sim to hold that mapping to what the simulator really does.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import pytest
import yaml
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.camera.dataset import Sampling, load_world_scenario, write_dataset
from sim.camera.glue import PoseFeed
from sim.scenario import BUILTIN_PROFILES, GpsConfig, NavigationConfig, load_scenario
from sim.vehicle import SimVehicle
from vision.errors import TrainingError
from vision.training import (
    SIM_GPS_NOISE_DEFAULT_M,
    SIM_NAVIGATION_DEFAULTS,
    PoseNoise,
    ground_error,
)

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


def test_the_default_noise_is_the_simulators() -> None:
    assert GpsConfig().noise_m == SIM_GPS_NOISE_DEFAULT_M
    defaults = NavigationConfig()
    assert {k: getattr(defaults, k) for k in SIM_NAVIGATION_DEFAULTS} == SIM_NAVIGATION_DEFAULTS


def test_pose_noise_is_read_from_the_scenario(tmp_path: Path) -> None:
    d = SIM_NAVIGATION_DEFAULTS
    expected = PoseNoise(
        horizontal_m=math.hypot(0.3, d["gnss_horizontal_m"]),
        vertical_m=d["altitude_m"],
        heading_deg=math.hypot(d["yaw_deg"], d["gimbal_deg"]),
        pitch_deg=math.hypot(d["roll_pitch_deg"], d["gimbal_deg"]),
    )
    assert PoseNoise.of_scenario(DEMO) == expected
    navigation = {"gnss_horizontal_m": 2.0, "altitude_m": 3.0, "roll_pitch_deg": 4.0}
    noisy = scenario_with(tmp_path, gps={"noise_m": 1.5}, navigation=navigation)
    assert PoseNoise.of_scenario(noisy) == PoseNoise(
        horizontal_m=2.5,
        vertical_m=3.0,
        heading_deg=expected.heading_deg,
        pitch_deg=math.hypot(4.0, d["gimbal_deg"]),
    )
    exact = dict.fromkeys(SIM_NAVIGATION_DEFAULTS, 0)
    noisy = scenario_with(tmp_path, gps={"noise_m": 0.0}, navigation=exact)
    assert PoseNoise.of_scenario(noisy) == PoseNoise(horizontal_m=0.0)
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    del data["gps"]
    noisy.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert PoseNoise.of_scenario(noisy) == expected


def test_pose_noise_is_what_the_simulated_drone_reports(tmp_path: Path) -> None:
    """Reported minus true camera pose of a real simulated vehicle, sampled every three time
    constants (nearly independent draws), has the σ PoseNoise gives per axis."""
    navigation = {
        "gnss_horizontal_m": 1.5,
        "altitude_m": 2.0,
        "roll_pitch_deg": 1.0,
        "yaw_deg": 3.0,
        "gimbal_deg": 0.8,
        **{f"{name}_tau_s": 20.0 for name in ("gnss", "altitude", "roll_pitch", "yaw", "gimbal")},
    }
    path = scenario_with(tmp_path, navigation=navigation, gps={"noise_m": 0.4})
    scenario = load_scenario(path)
    noise = PoseNoise.of_scenario(path)
    vehicle = SimVehicle(
        vehicle_id="d1",
        system_id=1,
        profile=BUILTIN_PROFILES["police_multirotor"],
        home_lat_deg=52.0,
        home_lon_deg=5.0,
        home_alt_amsl_m=0.0,
        gps=scenario.gps,
        navigation=scenario.navigation,
        seed=7,
    )
    # the camera 30° right of the nose, 45° down: the roll error reaches its pitch too
    vehicle.handle(
        mavlink.MAVLink_command_long_message(
            1, 1, mavlink.MAV_CMD_DO_MOUNT_CONTROL, 0, -45.0, 0, 30.0, 0, 0, 0, 0
        )
    )
    feed = PoseFeed(vehicle)
    axes: dict[str, list[float]] = {"east": [], "north": [], "up": [], "heading": [], "pitch": []}
    for step in range(1, 6001):
        vehicle.step(10.0)
        if step % 6 == 0:
            true = feed()
            reported = feed.reported(true)
            east, north = vehicle.frame.to_local(reported.lat_deg, reported.lon_deg)
            true_east, true_north = vehicle.frame.to_local(true.lat_deg, true.lon_deg)
            axes["east"].append(east - true_east)
            axes["north"].append(north - true_north)
            axes["up"].append(reported.alt_amsl_m - true.alt_amsl_m)
            turn = reported.camera_yaw_deg - true.camera_yaw_deg
            axes["heading"].append((turn + 180.0) % 360.0 - 180.0)
            axes["pitch"].append(reported.gimbal_pitch_deg - true.gimbal_pitch_deg)
    assert vehicle.gimbal_pitch_deg == pytest.approx(-45.0)
    expected = {
        "east": noise.horizontal_m,
        "north": noise.horizontal_m,
        "up": noise.vertical_m,
        "heading": noise.heading_deg,
        "pitch": noise.pitch_deg,
    }
    for axis, sigma in expected.items():
        assert statistics.pstdev(axes[axis]) == pytest.approx(sigma, rel=0.1), axis


def test_ground_error_with_the_scenarios_noise(dataset: Path) -> None:
    report = ground_error(
        weights=WEIGHTS, data_dir=dataset, scenario=DEMO, splits=("train", "val", "test")
    )
    assert report.frames == 8
    assert report.matched >= 1
    assert report.agl_median_m == pytest.approx(100.0)
    noise = PoseNoise.of_scenario(DEMO)
    assert (report.noise_horizontal_m, report.noise_vertical_m) == (
        noise.horizontal_m,
        noise.vertical_m,
    )
    assert (report.noise_heading_deg, report.noise_pitch_deg) == (
        noise.heading_deg,
        noise.pitch_deg,
    )
    assert report.median_error_exact_m <= 2.0
    assert report.median_error_noisy_m <= 6.0
    assert 0.0 < report.mean_sigma_noisy_m < 6.0


def test_more_attitude_error_in_the_scenario_moves_the_noisy_positions_further(
    dataset: Path, tmp_path: Path
) -> None:
    splits = ("train", "val", "test")
    calm = ground_error(weights=WEIGHTS, data_dir=dataset, scenario=DEMO, splits=splits)
    shaky = ground_error(
        weights=WEIGHTS,
        data_dir=dataset,
        scenario=scenario_with(tmp_path, navigation={"roll_pitch_deg": 5.0, "yaw_deg": 10.0}),
        splits=splits,
    )
    assert shaky.noise_pitch_deg > 4.0 * calm.noise_pitch_deg
    assert shaky.noise_horizontal_m == calm.noise_horizontal_m
    assert shaky.median_error_exact_m == calm.median_error_exact_m
    assert shaky.median_error_noisy_m > calm.median_error_noisy_m + 3.0
    assert shaky.mean_sigma_noisy_m > 2.0 * calm.mean_sigma_noisy_m


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
    assert rough.mean_sigma_noisy_m > 5.0 * calm.mean_sigma_noisy_m


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
    with pytest.raises(TrainingError, match=r"navigation\.yaw_deg must be a number ≥ 0, got 'x'"):
        PoseNoise.of_scenario(scenario_with(tmp_path, navigation={"yaw_deg": "x"}))
    with pytest.raises(TrainingError, match=r"navigation must be a mapping"):
        PoseNoise.of_scenario(scenario_with(tmp_path, navigation=[1]))
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(TrainingError, match="is not a YAML mapping"):
        PoseNoise.of_scenario(listed)
    with pytest.raises(TrainingError, match="cannot read scenario"):
        PoseNoise.of_scenario(tmp_path / "absent.yaml")
