"""Build hook: the console's Leaflet, as ``npm ci`` installed it, goes into the wheel.

Everything else about the package is in ``pyproject.toml``. A wheel carries Leaflet's
``dist`` at ``missions/console/static/vendor/leaflet`` (where the console looks first), so
an installed Skyeye serves its map without the repository's ``node_modules``. An editable
install reads ``node_modules`` directly and needs no copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup  # type: ignore[import-untyped]
from setuptools.command.build_py import build_py  # type: ignore[import-untyped]

LEAFLET = Path(__file__).resolve().parent / "node_modules" / "leaflet" / "dist"
PACKAGED = Path("missions") / "console" / "static" / "vendor" / "leaflet"


class BuildPyWithLeaflet(build_py):  # type: ignore[misc]  # setuptools has no types
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        if not (LEAFLET / "leaflet.js").is_file():
            raise SystemExit(f"Leaflet is not at {LEAFLET}: run `npm ci` before building a wheel")
        shutil.copytree(LEAFLET, Path(self.build_lib) / PACKAGED, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithLeaflet})
