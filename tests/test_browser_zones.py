"""The command map in Debian's Chromium (Playwright) draws the zones of the console's store as
the demo seeds them: both bases of the demo scenario with their radius rings and the
scenario's no-fly zone, plus a ceiling an administrator added.

The real zones and console parts (demo mode, its announced log-ins) over a real SQLite file
and a real Mosquitto; screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import FloatRect, Page, async_playwright, expect

from missions.console.part import console_part, zones_part
from skyeye.bus import Bus, BusSettings
from tests.test_browser_console import ARTIFACTS, CHROMIUM_ARGS
from tests.test_console_zones import SCENARIO, app_config, context_of

pytestmark = pytest.mark.browser

RING = 'path[stroke="#2fa8ff"][stroke-dasharray="6 6"]'
NO_FLY = 'path[stroke="#ff4d4f"]'
CEILING = 'path[stroke="#ffb020"][stroke-dasharray="4 4"]'
HOSPITAL = [(52.085, 5.17), (52.085, 5.19), (52.095, 5.19), (52.095, 5.17)]


@dataclass
class Demo:
    page: Page
    errors: list[str]


@pytest.fixture
async def demo_map(mqtt_url: str, tmp_path: Path) -> AsyncIterator[Demo]:
    ARTIFACTS.mkdir(exist_ok=True)
    async with contextlib.AsyncExitStack() as stack:
        bus = await stack.enter_async_context(Bus(BusSettings(url=mqtt_url)))
        context = context_of(bus, app_config(tmp_path))
        await stack.enter_async_context(zones_part(context))
        server = await stack.enter_async_context(console_part(context))
        links = dict(context.links)
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=server.url))
        admin = links["Console log-in admin"].removeprefix("password ")
        login = await http.post("/api/auth/token", json={"username": "admin", "password": admin})
        added = await http.post(
            "/api/zones",
            json={"kind": "ceiling", "name": "Hospital", "polygon": HOSPITAL, "ceiling_agl_m": 40},
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        )
        assert added.status_code == 201, added.text
        playwright = await stack.enter_async_context(async_playwright())
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        stack.push_async_callback(browser.close)
        page = await browser.new_page(viewport={"width": 1400, "height": 850})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(f"{server.url}/login")
        await page.fill("#username", "viewer")
        await page.fill("#password", links["Console log-in viewer"].removeprefix("password "))
        await page.click("#submit")
        await page.wait_for_url(f"{server.url}/map")
        yield Demo(page, errors)
        assert errors == [], "the map raised JavaScript errors"


async def on_screen(page: Page, points: list[tuple[float, float]]) -> list[list[float]]:
    """Page pixels of (lat, lon) points on the command map."""
    pixels: list[list[float]] = await page.evaluate(
        "(points) => { const m = window.__skyeye.map;"
        " const r = m.getContainer().getBoundingClientRect();"
        " return points.map(([lat, lon]) => {"
        " const p = m.latLngToContainerPoint([lat, lon]);"
        " return [r.left + p.x, r.top + p.y]; }); }",
        points,
    )
    return pixels


def box_of(pixels: list[list[float]]) -> dict[str, float]:
    xs, ys = [p[0] for p in pixels], [p[1] for p in pixels]
    return {"x": min(xs), "y": min(ys), "width": max(xs) - min(xs), "height": max(ys) - min(ys)}


def close(drawn: FloatRect | None, expected: dict[str, float], px: float) -> bool:
    assert drawn is not None
    shown = {"x": drawn["x"], "y": drawn["y"], "width": drawn["width"], "height": drawn["height"]}
    return all(abs(shown[k] - expected[k]) <= px for k in shown)


async def test_the_command_map_shows_the_demo_bases_rings_and_no_fly_zone(demo_map: Demo) -> None:
    page = demo_map.page
    rings = page.locator(f"#map {RING}")
    await expect(rings).to_have_count(2)
    await expect(page.locator(f"#map {NO_FLY}")).to_have_count(1)
    await expect(page.locator(f"#map {CEILING}")).to_have_count(1)

    # each ring: centred on its base, 50 km in radius at the map's scale
    for i, base in enumerate(SCENARIO.bases):
        north = base.lat_deg + base.radius_m / 111_195.0
        (cx, cy), (nx, ny) = await on_screen(
            page, [(base.lat_deg, base.lon_deg), (north, base.lon_deg)]
        )
        radius_px = math.hypot(nx - cx, ny - cy)
        assert radius_px > 100  # a ring, not a dot
        ring = await rings.nth(i).bounding_box()
        expected = {"x": cx - radius_px, "y": cy - radius_px, "width": 2 * radius_px}
        expected["height"] = expected["width"]
        assert close(ring, expected, px=0.02 * radius_px), (base.id, ring, expected)

    zone = SCENARIO.no_fly_zones[0]
    drawn = await page.locator(f"#map {NO_FLY}").bounding_box()
    assert close(drawn, box_of(await on_screen(page, list(zone.polygon))), px=3.0), drawn
    drawn = await page.locator(f"#map {CEILING}").bounding_box()
    assert close(drawn, box_of(await on_screen(page, HOSPITAL)), px=3.0), drawn

    # what a commander reads when pointing at them
    lat = sum(p[0] for p in zone.polygon) / len(zone.polygon)
    lon = sum(p[1] for p in zone.polygon) / len(zone.polygon)
    [(x, y)] = await on_screen(page, [(lat, lon)])
    await page.mouse.move(x, y)
    await expect(page.get_by_role("tooltip", name="No-fly: soesterberg")).to_be_visible()
    base = SCENARIO.bases[1]
    [(x, y)] = await on_screen(page, [(base.lat_deg, base.lon_deg)])
    await page.mouse.move(x, y)
    await expect(page.get_by_role("tooltip", name="Base amersfoort · 50 km")).to_be_visible()
    await page.screenshot(path=ARTIFACTS / "console-map-demo-zones.png")

    # the map opens on the bases; zoomed out, as a commander would, the whole rings show
    zoom = await page.evaluate("window.__skyeye.map.getZoom()")
    for level in range(zoom - 1, zoom - 4, -1):
        await page.locator(".leaflet-control-zoom-out").click()
        await page.wait_for_function(  # once the zoom animation is over: clicks during it are lost
            "(level) => { const m = window.__skyeye.map;"
            " return m.getZoom() === level && !m._animatingZoom; }",
            arg=level,
        )
    view = await page.locator("#map").bounding_box()
    assert view is not None
    for i in range(2):
        ring = await rings.nth(i).bounding_box()
        assert ring is not None
        assert view["x"] <= ring["x"]
        assert ring["x"] + ring["width"] <= view["x"] + view["width"]
        assert view["y"] <= ring["y"]
        assert ring["y"] + ring["height"] <= view["y"] + view["height"]
    await expect(page.locator(f"#map {NO_FLY}")).to_be_visible()
    await page.screenshot(path=ARTIFACTS / "console-map-demo-zones-overview.png")
