"""Recorded MP4 clips hold the rendered frames and their ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from sim.camera import CameraConfig, CameraEffects, CameraError, CameraPose, Renderer
from sim.camera.record import Mp4Writer
from sim.world import TargetField, TargetsConfig, World, WorldConfig


def test_clip_has_every_frame_and_its_truth(tmp_path: Path) -> None:
    world = World(WorldConfig(origin=(52.0, 5.0)), seed=9)
    town = world.layout.town(0, 0)
    lat, lon = world.frame.to_latlon(town.x_m, town.y_m)
    clean = CameraEffects(noise_sigma=0.0, vignetting=0.0, motion_blur=False)
    renderer = Renderer(
        world,
        TargetField(world, TargetsConfig()),
        CameraConfig(hfov_deg=70.0, width_px=320, height_px=180, effects=clean),
    )
    pose = CameraPose(lat_deg=lat, lon_deg=lon, alt_amsl_m=200.0, gimbal_pitch_deg=-60.0)
    frames = [renderer.render(pose, t / 10) for t in range(12)]
    with Mp4Writer(tmp_path / "clip.mp4", fps=10.0) as mp4:
        for frame in frames:
            mp4.write(frame)
    with av.open(str(tmp_path / "clip.mp4")) as container:
        decoded = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(decoded) == 12
    assert decoded[5].shape == (180, 320, 3)
    assert np.abs(decoded[5].astype(float) - frames[5].image_bgr).mean() < 8.0
    lines = (tmp_path / "clip.truth.jsonl").read_text().splitlines()
    assert len(lines) == 12
    record = json.loads(lines[5])
    assert record["pose"]["lat_deg"] == lat
    assert [t["id"] for t in record["targets"]] == [t.target_id for t in frames[5].truth]


def test_recording_needs_an_mp4_path(tmp_path: Path) -> None:
    with pytest.raises(CameraError, match=r"must end in \.mp4"):
        Mp4Writer(tmp_path / "clip.avi", fps=10.0)
