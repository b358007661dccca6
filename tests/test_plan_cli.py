"""``skyeye plan …`` end to end: files written, summaries printed, refusals explained."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from missions.planfiles import read_mission
from skyeye.cli import app

BASE = ["--base-lat", "52.0", "--base-lon", "5.0"]
runner = CliRunner()


def test_coverage_writes_a_qgc_plan_and_a_picture(tmp_path: Path) -> None:
    out, png = tmp_path / "c.plan", tmp_path / "c.png"
    result = runner.invoke(
        app,
        [
            "plan",
            "coverage",
            *BASE,
            "--polygon",
            "52.01,5.0;52.01,5.02;52.02,5.02;52.02,5.0",
            "--target",
            "person",
            "--out",
            str(out),
            "--png",
            str(png),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "km²/h" in result.output
    assert "sortie" in result.output
    assert read_mission(out).items[0].command == 22
    with Image.open(png) as picture:
        assert picture.size == (900, 900)


def test_coverage_divided_among_drones_writes_one_file_each(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "plan",
            "coverage",
            *BASE,
            "--polygon",
            "52.01,5.0;52.01,5.03;52.03,5.03;52.03,5.0",
            "--drones",
            "3",
            "--alt",
            "100",
            "--out",
            str(tmp_path / "d.geojson"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "d-d1.geojson",
        "d-d2.geojson",
        "d-d3.geojson",
    ]
    assert "makespan" in result.output
    doc = json.loads((tmp_path / "d-d2.geojson").read_text())
    assert doc["properties"]["vehicle"] == "d2"


def test_orbit_search_route_containment_and_overwatch(tmp_path: Path) -> None:
    point = ["--lat", "52.01", "--lon", "5.01"]
    cases = {
        "orbit": ["--minutes", "5"],
        "search": ["--pattern", "sector", "--radius", "300"],
        "route": ["--route", "52.005,5.0;52.005,5.02;52.01,5.03"],
        "containment": ["--drones", "2", "--road", "52.0,5.01;52.02,5.01"],
        "overwatch": ["--hours", "1", "--drones", "3"],
    }
    for command, extra in cases.items():
        args = ["plan", command, *BASE, "--out", str(tmp_path / f"{command}.waypoints"), *extra]
        if command != "route":
            args += point
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (command, result.output)
        assert any(p.name.startswith(command) for p in tmp_path.iterdir())
    assert "gap 0 s" in result.output


def test_refusals_name_the_rule_and_exit_non_zero(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "plan",
            "orbit",
            *BASE,
            "--lat",
            "52.6",
            "--lon",
            "5.0",
            "--minutes",
            "5",
            "--out",
            str(tmp_path / "far.plan"),
        ],
    )
    assert result.exit_code == 1
    assert "radius" in result.output
    assert not (tmp_path / "far.plan").exists()
    result = runner.invoke(
        app,
        [
            "plan",
            "coverage",
            *BASE,
            "--out",
            str(tmp_path / "x.plan"),
            "--profile",
            "blimp",
            "--polygon",
            "52.01,5.0;52.01,5.02;52.02,5.02",
        ],
    )
    assert result.exit_code == 1
    assert "unknown profile 'blimp'" in result.output
