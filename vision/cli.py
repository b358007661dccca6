"""``skyeye vision …``: train, evaluate and export our detector; run the media hub."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from vision.errors import VisionError

__all__ = ["app"]

app = typer.Typer(
    help="Video and detection: train/evaluate/export the detector, run the media hub.",
    no_args_is_help=True,
)
_console = Console(stderr=True)
DEFAULT_WEIGHTS = Path(__file__).parent / "models" / "skyeye-yolo.pt"


def _fail(exc: Exception) -> typer.Exit:
    _console.print(f"[red]✗[/red] {exc}", soft_wrap=True)
    return typer.Exit(code=1)


def _print_report(title: str, per_class: dict[str, float], map50: float) -> None:
    table = Table(title=title)
    table.add_column("class")
    table.add_column("mAP50", justify="right")
    for name, value in sorted(per_class.items()):
        table.add_row(name, f"{value:.3f}")
    table.add_row("[bold]all[/bold]", f"[bold]{map50:.3f}[/bold]")
    Console().print(table)


@app.command()
def train(
    data: Annotated[
        Path, typer.Option(help="Data-set directory; built with the simulator if empty.")
    ] = Path("build/vision-dataset"),
    scenario: Annotated[
        Path | None, typer.Option(help="Scenario for `skyeye sim dataset` when building.")
    ] = None,
    frames: Annotated[int, typer.Option(help="Frames to render when building.")] = 1500,
    run_dir: Annotated[Path, typer.Option(help="Training run directory (resumable).")] = Path(
        "build/vision-train"
    ),
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 40,
    imgsz: Annotated[int, typer.Option(help="Input size in pixels (multiple of 32).")] = 320,
    width: Annotated[
        float | None,
        typer.Option(help="Channel width multiple of YOLOv8 (YOLOv8n is 0.25; 0.125 for a CPU)."),
    ] = 0.125,
    batch: Annotated[int, typer.Option(help="Batch size.")] = 16,
    threads: Annotated[int, typer.Option(help="CPU threads for torch.")] = 2,
    device: Annotated[str, typer.Option(help="cpu or cuda:0.")] = "cpu",
    install: Annotated[Path, typer.Option(help="Where to copy the best weights.")] = (
        DEFAULT_WEIGHTS
    ),
) -> None:
    """Build a data set in the simulator (if needed), train a small YOLO, evaluate it."""
    from vision.training import (
        TrainSettings,
        build_dataset,
        evaluate,
        install_weights,
        write_report,
    )
    from vision.training import train as run_training

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    data_yaml = data / "data.yaml"
    try:
        if not data_yaml.is_file():
            if scenario is None:
                raise VisionError(f"{data_yaml} does not exist; pass --scenario to build it")
            data_yaml = build_dataset(
                scenario=scenario,
                frames=frames,
                out_dir=data,
                extra_args=(
                    *("--detector", "--radius-km", "12"),
                    *("--width", str(imgsz), "--height", str(imgsz)),
                ),
            )
        best = run_training(
            TrainSettings(
                data_yaml=data_yaml,
                run_dir=run_dir,
                epochs=epochs,
                imgsz=imgsz,
                width=width,
                batch=batch,
                threads=threads,
                device=device,
            )
        )
        installed = install_weights(best, install)
        report = evaluate(weights=installed, data_yaml=data_yaml, split="test", imgsz=imgsz)
        write_report(report, install.with_suffix(".eval.json"))
    except (VisionError, ValueError) as exc:
        raise _fail(exc) from None
    _print_report(
        f"held-out test split ({report.images} images)", report.map50_per_class, report.map50
    )
    typer.echo(f"weights: {installed}")


@app.command("eval")
def eval_command(
    data: Annotated[Path, typer.Option(help="Data-set directory with data.yaml.")] = Path(
        "build/vision-dataset"
    ),
    weights: Annotated[Path, typer.Option(help="Weights to evaluate.")] = DEFAULT_WEIGHTS,
    split: Annotated[str, typer.Option(help="Split to evaluate on.")] = "test",
    imgsz: Annotated[int, typer.Option(help="Input size in pixels.")] = 320,
    gsd_band: Annotated[
        tuple[float, float] | None,
        typer.Option(help="Only frames whose centre pixel covers LOW..HIGH metres."),
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report here.")] = None,
) -> None:
    """Report mAP50 per class on a held-out split (or its frames in a GSD band)."""
    from vision.training import evaluate, write_report

    try:
        report = evaluate(
            weights=weights,
            data_yaml=data / "data.yaml",
            split=split,
            imgsz=imgsz,
            gsd_band_m=gsd_band,
        )
    except VisionError as exc:
        raise _fail(exc) from None
    if json_out is not None:
        write_report(report, json_out)
    band = f", centre GSD {gsd_band[0]:g}-{gsd_band[1]:g} m" if gsd_band else ""
    title = f"{split} split ({report.images} images{band})"
    _print_report(title, report.map50_per_class, report.map50)


@app.command("ground-error")
def ground_error_command(
    data: Annotated[Path, typer.Option(help="Simulator data set (with truth.jsonl).")] = Path(
        "build/vision-dataset"
    ),
    scenario: Annotated[
        Path, typer.Option(help="Scenario the data set was rendered from (its pose errors).")
    ] = Path("sim/scenarios/demo.yaml"),
    weights: Annotated[Path, typer.Option(help="Weights to detect with.")] = DEFAULT_WEIGHTS,
    split: Annotated[str, typer.Option(help="Split to measure on.")] = "test",
    agl: Annotated[
        tuple[float, float] | None,
        typer.Option(help="Only frames taken LOW..HIGH metres above the ground."),
    ] = (90.0, 110.0),
    imgsz: Annotated[int, typer.Option(help="Input size in pixels.")] = 320,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report here.")] = None,
) -> None:
    """How far detections, put on the ground, land from the true targets: with the exact pose
    and with the pose the simulated drone reports (its navigation errors)."""
    from vision.training import ground_error

    try:
        report = ground_error(
            weights=weights,
            data_dir=data,
            scenario=scenario,
            splits=(split,),
            agl_band_m=agl,
            imgsz=imgsz,
        )
    except VisionError as exc:
        raise _fail(exc) from None
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n")
    table = Table(title=f"ground error, {report.matched} detections in {report.frames} frames")
    for column in ("pose", "median m", "p90 m"):
        table.add_column(column, justify="right" if column != "pose" else "left")
    table.add_row("exact", f"{report.median_error_exact_m:.2f}", f"{report.p90_error_exact_m:.2f}")
    table.add_row(
        "as reported", f"{report.median_error_noisy_m:.2f}", f"{report.p90_error_noisy_m:.2f}"
    )
    Console().print(table)


@app.command()
def export(
    weights: Annotated[Path, typer.Option(help="Ultralytics .pt weights.")] = DEFAULT_WEIGHTS,
    out: Annotated[Path | None, typer.Option(help="Output .onnx path.")] = None,
    imgsz: Annotated[int, typer.Option(help="Input size in pixels.")] = 320,
) -> None:
    """Export weights to ONNX for the `onnx` detector type; prints the class names."""
    from vision.training import export_onnx

    target = out or weights.with_suffix(".onnx")
    try:
        path, names = export_onnx(weights=weights, out=target, imgsz=imgsz)
    except VisionError as exc:
        raise _fail(exc) from None
    typer.echo(f"{path}: classes {json.dumps(list(names))}")
