"""``skyeye sim dataset`` and ``skyeye sim tiles``: the world's commands.

``sim/cli.py`` adds them to the ``sim`` command group with :func:`register`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.camera.dataset import (
    DETECTOR_SAMPLING,
    PLANNER_ALTITUDE_SAMPLING,
    load_world_scenario,
    write_dataset,
)
from sim.camera.errors import CameraError
from sim.camera.model import CameraConfig

__all__ = ["register"]


def dataset(
    scenario: Annotated[Path, typer.Option(help="Scenario YAML (its world/targets/weather).")],
    frames: Annotated[int, typer.Option(min=1, help="How many frames to render.")],
    out: Annotated[Path, typer.Option(help="New (or empty) directory to write into.")],
    camera: Annotated[
        str | None, typer.Option(help="Camera name from the scenario's cameras section.")
    ] = None,
    radius_km: Annotated[float, typer.Option(min=0.1, help="Sample within this radius.")] = 50.0,
    width: Annotated[
        int | None, typer.Option(min=16, max=7680, help="Image width (default: the camera's).")
    ] = None,
    height: Annotated[
        int | None, typer.Option(min=16, max=4320, help="Image height (default: the camera's).")
    ] = None,
    detector: Annotated[
        bool,
        typer.Option(
            "--detector",
            help="Frames for training a detector: pixel sizes 2.5-16 cm, five lights, most "
            "frames with a target in view (rare classes first); the test split at the "
            "planner's pixel sizes under a light the training never sees.",
        ),
    ] = False,
) -> None:
    """Write a YOLO data set (images, labels, data.yaml, truth.jsonl) split by area."""
    try:
        world = load_world_scenario(scenario)
        chosen = None
        if camera is not None:
            if camera not in world.cameras:
                known = ", ".join(sorted(world.cameras)) or "none"
                raise typer.BadParameter(f"no camera {camera!r} in the scenario (have: {known})")
            chosen = world.cameras[camera]
        chosen = chosen or next(iter(world.cameras.values()), None) or CameraConfig(hfov_deg=70.0)
        size = {"width_px": width, "height_px": height}
        chosen = chosen.model_copy(update={k: v for k, v in size.items() if v is not None})
        report = write_dataset(
            world,
            frames=frames,
            out_dir=out,
            camera=chosen,
            radius_m=radius_km * 1000,
            sampling=DETECTOR_SAMPLING if detector else None,
            test_sampling=PLANNER_ALTITUDE_SAMPLING if detector else None,
            aim_at_targets=0.85 if detector else 0.0,
        )
    except CameraError as exc:
        typer.echo(f"✗ {exc}", err=True)
        raise typer.Exit(code=1) from None
    for split, count in report.frames.items():
        typer.echo(f"{split:>5}: {count} frames, {report.labels[split]} labels")
    typer.echo(f"✓ {out / 'data.yaml'}")


def tiles(
    scenario: Annotated[Path, typer.Option(help="Scenario YAML (its world section).")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8081,
) -> None:
    """Serve the world's orthophoto as XYZ tiles at /tiles/{z}/{x}/{y}.png."""
    import uvicorn
    from fastapi import FastAPI

    from sim.world.tiles import tiles_router
    from sim.world.world import World

    try:
        config = load_world_scenario(scenario)
    except CameraError as exc:
        typer.echo(f"✗ {exc}", err=True)
        raise typer.Exit(code=1) from None
    app = FastAPI(title="Skyeye simulated basemap")
    app.include_router(tiles_router(World(config.world, seed=config.seed, weather=config.weather)))
    uvicorn.run(app, host=host, port=port, log_level="info")


def register(app: typer.Typer) -> None:
    """Add ``dataset`` and ``tiles`` to a command group."""
    app.command("dataset")(dataset)
    app.command("tiles")(tiles)
