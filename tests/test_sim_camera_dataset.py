"""The data-set writer's labels sit on the rendered targets' pixels."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import typer
import yaml
from typer.testing import CliRunner

from sim.camera import CameraPose, DatasetError, Renderer
from sim.camera.cli import register
from sim.camera.dataset import Sampling, WorldScenario, load_world_scenario, write_dataset
from sim.camera.model import CameraConfig
from sim.world import TargetField, TargetsConfig, WeatherConfig, World

SCENARIO = """
seed: 5
bases: [{name: north, lat_deg: 52.0, lon_deg: 5.0}]   # the vehicles' section, not read here
world: {origin: [52.0, 5.0], relief_m: 30.0}
weather: {sun_elevation_deg: 90.0}
targets:
  density: {vehicles_per_road_km: 4.0, people_per_town_hectare: 1.0}
cameras:
  gimbal:
    hfov_deg: 65.0
    width_px: 480
    height_px: 270
    effects: {noise_sigma: 0.0, vignetting: 0.0, motion_blur: false}
"""


@pytest.fixture
def scenario(tmp_path: Path) -> WorldScenario:
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return load_world_scenario(path)


def test_labels_match_rendered_pixels(scenario: WorldScenario, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    report = write_dataset(scenario, frames=6, out_dir=out, radius_m=2_500.0, image_format="png")
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["names"] == {
        0: "car",
        1: "van",
        2: "truck",
        3: "bus",
        4: "motorcycle",
        5: "person",
        6: "boat",
    }
    assert sum(report.frames.values()) == 6
    assert sum(report.labels.values()) > 0
    camera = scenario.cameras["gimbal"]
    world = World(scenario.world, seed=scenario.seed, weather=scenario.weather)
    bare = Renderer(
        world,
        TargetField(
            world,
            TargetsConfig.model_validate(
                {
                    "density": {
                        "vehicles_per_road_km": 0,
                        "people_per_town_hectare": 0,
                        "boats_per_water_km2": 0,
                    }
                }
            ),
        ),
        camera,
    )
    checked = 0
    for line in (out / "truth.jsonl").read_text().splitlines():
        record = json.loads(line)
        image = cv2.imread(str(out / "images" / record["split"] / f"{record['frame']}.png"))
        assert image is not None
        empty = bare.render(CameraPose(**record["pose"]), record["t_s"]).image_bgr
        diff = np.abs(image.astype(int) - empty.astype(int)).max(axis=2) > 8
        labels = (out / "labels" / record["split"] / f"{record['frame']}.txt").read_text()
        covered = np.zeros_like(diff)
        for row in labels.splitlines():
            cls, cx, cy, w, h = row.split()
            assert 0 <= int(cls) < 7
            x0 = (float(cx) - float(w) / 2) * camera.width_px
            x1 = (float(cx) + float(w) / 2) * camera.width_px
            y0 = (float(cy) - float(h) / 2) * camera.height_px
            y1 = (float(cy) + float(h) / 2) * camera.height_px
            box = diff[int(y0) : int(np.ceil(y1)), int(x0) : int(np.ceil(x1))]
            assert box.any(), f"label {row} in frame {record['frame']} covers no target pixels"
            checked += 1
        # every pixel a target changed lies inside some target's box (labels skip those
        # under 2 px, which the truth still lists)
        for target in record["targets"]:
            x0, y0, x1, y1 = target["box_px"]
            covered[
                max(0, int(y0) - 2) : int(np.ceil(y1)) + 2,
                max(0, int(x0) - 2) : int(np.ceil(x1)) + 2,
            ] = True
        assert not (diff & ~covered).any(), f"target pixels outside boxes in {record['frame']}"
    assert checked == sum(report.labels.values())


def test_split_is_by_area_and_output_is_never_mixed(
    scenario: WorldScenario, tmp_path: Path
) -> None:
    out = tmp_path / "ds"
    write_dataset(scenario, frames=3, out_dir=out, radius_m=3_000.0)
    with pytest.raises(DatasetError, match="not empty"):
        write_dataset(scenario, frames=1, out_dir=out)
    assert len(list((out / "labels").rglob("*.txt"))) == 3


def test_bad_scenario_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("world: {origin: [52.0, 5.0], relief_m: -3}\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"world\.relief_m"):
        load_world_scenario(path)


def test_dataset_command_writes_a_data_set(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a group, so the sub-command name is required
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "cli-ds"
    args = ["dataset", "--scenario", str(path), "--frames", "2", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--radius-km", "2"])
    assert result.exit_code == 0, result.output
    assert "data.yaml" in result.output
    assert len(list(out.rglob("*.jpg"))) == 2
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 1
    assert "not empty" in again.output


def test_world_is_centred_on_the_first_base_without_a_world_section(tmp_path: Path) -> None:
    path = tmp_path / "bases.yaml"
    path.write_text(
        "seed: 2\nbases: [{id: a, lat_deg: 51.9, lon_deg: 4.4, alt_amsl_m: 3.0}]\n",
        encoding="utf-8",
    )
    scenario = load_world_scenario(path)
    assert scenario.world.origin == (51.9, 4.4)
    assert scenario.world.base_altitude_amsl_m == 3.0
    assert load_world_scenario(Path("sim/scenarios/demo.yaml")).world is not None


def test_detector_sampling_sets_pixel_size_light_and_aims_at_targets(
    scenario: WorldScenario, tmp_path: Path
) -> None:
    out = tmp_path / "det"
    train = Sampling(
        agl_m=(30.0, 90.0),
        pitch_deg=(-90.0, -60.0),
        gsd_m=(0.03, 0.06),
        lights=(WeatherConfig(sun_elevation_deg=40.0, brightness=1.1),),
    )
    held_out = Sampling(
        agl_m=(60.0, 60.0),
        pitch_deg=(-90.0, -90.0),
        gsd_m=(0.05, 0.05),
        lights=(WeatherConfig(sun_elevation_deg=20.0, brightness=0.8),),
    )
    write_dataset(
        scenario,
        frames=12,
        out_dir=out,
        radius_m=2_500.0,
        image_format="png",
        sampling=train,
        test_sampling=held_out,
        aim_at_targets=1.0,
    )
    records = [json.loads(line) for line in (out / "truth.jsonl").read_text().splitlines()]
    labelled = 0
    for record in records:
        plan = held_out if record["split"] == "test" else train
        frame_camera = CameraConfig.model_validate(record["camera"])
        assert (frame_camera.width_px, frame_camera.height_px) == (480, 270)
        slant = record["agl_m"] / math.sin(math.radians(-record["pose"]["gimbal_pitch_deg"]))
        gsd = slant / frame_camera.intrinsics().fx_px
        assert plan.gsd_m is not None
        assert plan.gsd_m[0] - 1e-9 <= gsd <= plan.gsd_m[1] + 1e-9
        assert record["weather"] == plan.lights[0].model_dump(mode="json")
        labels = (out / "labels" / record["split"] / f"{record['frame']}.txt").read_text()
        labelled += bool(labels.strip())
        # the labels sit on target pixels under the frame's own camera and light
        world = World(scenario.world, seed=scenario.seed, weather=plan.lights[0])
        image = cv2.imread(str(out / "images" / record["split"] / f"{record['frame']}.png"))
        assert image is not None
        bare = Renderer(world, None, frame_camera).render(
            CameraPose(**record["pose"]), record["t_s"]
        )
        diff = np.abs(image.astype(int) - bare.image_bgr.astype(int)).max(axis=2) > 8
        for row in labels.splitlines():
            _, cx, cy, w, h = map(float, row.split())
            x0, x1 = (cx - w / 2) * 480, (cx + w / 2) * 480
            y0, y1 = (cy - h / 2) * 270, (cy + h / 2) * 270
            assert diff[int(y0) : int(np.ceil(y1)), int(x0) : int(np.ceil(x1))].any()
    assert labelled >= 9, f"only {labelled} of 12 aimed frames have a target in view"


def test_bad_sampling_is_refused(scenario: WorldScenario, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="gsd_m"):
        Sampling(gsd_m=(0.1, 0.05))
    with pytest.raises(DatasetError, match="pitch_deg"):
        Sampling(pitch_deg=(-90.0, 10.0))
    with pytest.raises(DatasetError, match="aim_at_targets"):
        write_dataset(scenario, frames=1, out_dir=tmp_path / "x", aim_at_targets=1.5)
    assert not (tmp_path / "x").exists()
