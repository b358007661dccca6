"""A non-editable wheel carries what ``skyeye serve`` reads from disk besides code.

The wheel is built (``pip wheel --no-deps``, offline, with this venv's setuptools) from a
copy of the tracked files and the npm-installed Leaflet; every data file of the packages
(console pages, scripts and styles, the shipped detector, scenarios) must be in it, and
Leaflet where the console looks for it in an installed Skyeye.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("skyeye", "fleet", "vision", "missions", "sim")
LEAFLET = REPO / "node_modules" / "leaflet" / "dist"


def _tracked(*paths: str) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", *paths],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [name for name in listed.split("\0") if name]


def _build_wheel(tmp_path: Path) -> zipfile.ZipFile:
    source = tmp_path / "source"
    for name in _tracked(*PACKAGES, "pyproject.toml", "setup.py", "README.md"):
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    shutil.copytree(LEAFLET, source / "node_modules" / "leaflet" / "dist")
    out = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("skyeye-*.whl")
    return zipfile.ZipFile(wheel)


def test_the_wheel_carries_the_console_assets_the_model_and_leaflet(tmp_path: Path) -> None:
    with _build_wheel(tmp_path) as wheel:
        names = set(wheel.namelist())
    data_files = [n for n in _tracked(*PACKAGES) if not n.endswith(".py")]
    static = [n for n in data_files if n.startswith("missions/console/static/")]
    assert {n.rsplit(".", 1)[-1] for n in static} >= {"html", "js", "css"}
    assert "vision/models/skyeye-yolo.pt" in data_files
    assert sorted(set(data_files) - names) == []
    packaged = "missions/console/static/vendor/leaflet"
    leaflet = {f"{packaged}/{p.relative_to(LEAFLET)}" for p in LEAFLET.rglob("*") if p.is_file()}
    assert f"{packaged}/leaflet.js" in leaflet
    assert sorted(leaflet - names) == []
