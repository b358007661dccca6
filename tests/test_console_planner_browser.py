"""The mission console in Debian's Chromium (Playwright) with the real planners: a pilot draws
an area, previews a real coverage plan, approves and launches it, and sees the drone fly it.

Real Mosquitto, the real controller over loopback vehicles (their state pumped onto the bus as
the fleet would), the real console; screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright, expect
from pydantic import SecretStr

from missions.console import ConsoleServer, ConsoleSettings, Role, create_app
from missions.console.loopback import distance_m
from missions.controller import (
    Controller,
    ControllerError,
    ControllerSettings,
    LoopbackFleet,
    LoopbackVehicle,
    PlanItemKind,
)
from missions.controller.demo import DEMO_PROFILE
from missions.controller.plans import FlightPlanner, operating_areas
from missions.store import MissionStore
from skyeye.bus import Bus, BusSettings
from skyeye.clock import ScaledClock
from tests.test_browser_console import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    QUAD,
    SPEEDUP,
    click_at,
    password,
    pump_states,
)

pytestmark = pytest.mark.browser

BASE = (52.0907, 5.1214)
M_PER_DEG = 111_195.0


def offset(north_m: float, east_m: float = 0.0) -> tuple[float, float]:
    lat = BASE[0] + north_m / M_PER_DEG
    return lat, BASE[1] + east_m / (M_PER_DEG * math.cos(math.radians(BASE[0])))


@dataclass
class World:
    url: str
    controller: Controller
    vehicle: LoopbackVehicle
    browser: Browser
    page_errors: list[str]


@pytest.fixture
async def world(mqtt_url: str, tmp_path: Path) -> AsyncIterator[World]:
    ARTIFACTS.mkdir(exist_ok=True)
    clock = ScaledClock(SPEEDUP)
    async with contextlib.AsyncExitStack() as stack:
        vehicle = await stack.enter_async_context(
            LoopbackVehicle(
                "drone-1", clock=clock, lat_deg=BASE[0], lon_deg=BASE[1], profile=QUAD, system_id=1
            )
        )
        fleet = LoopbackFleet([vehicle])
        bus = await stack.enter_async_context(Bus(BusSettings(url=mqtt_url), clock=clock))
        store = await stack.enter_async_context(
            MissionStore(f"sqlite+aiosqlite:///{tmp_path / 'missions.sqlite3'}")
        )
        controller = await stack.enter_async_context(
            Controller(
                store=store,
                fleet=fleet,
                clock=clock,
                profiles=lambda _: QUAD,
                settings=ControllerSettings(step_timeout_s=60.0, upload_timeout_s=60.0),
                publisher=bus,
            )
        )
        planner = FlightPlanner(
            areas=operating_areas(
                [{"name": "utrecht", "lat_deg": BASE[0], "lon_deg": BASE[1], "radius_m": 50_000}]
            ),
            fleet=fleet,
            profile_for=lambda _: DEMO_PROFILE,
        )
        app = create_app(
            ConsoleSettings(
                database_url=f"sqlite+aiosqlite:///{tmp_path / 'console.sqlite3'}",
                token_secret=SecretStr("browser-planner-secret-0123456789"),
            ),
            bus=bus,
            clock=clock,
            control=controller,
            planner=planner,
            control_errors=(ControllerError,),
            initial_users=[(Role.PILOT.value, password(Role.PILOT), Role.PILOT)],
        )
        server = await stack.enter_async_context(ConsoleServer(app))
        group = await stack.enter_async_context(asyncio.TaskGroup())
        pump = group.create_task(pump_states(bus, {"drone-1": vehicle}), name="test.fleet-pump")
        stack.callback(pump.cancel)
        playwright = await stack.enter_async_context(async_playwright())
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        stack.push_async_callback(browser.close)
        errors: list[str] = []
        yield World(server.url, controller, vehicle, browser, errors)
        assert errors == [], "the pages raised JavaScript errors"


async def test_pilot_draws_an_area_previews_a_coverage_plan_and_sees_the_drone_fly_it(
    world: World,
) -> None:
    page = await world.browser.new_page(viewport={"width": 1400, "height": 850})
    page.on("pageerror", lambda error: world.page_errors.append(str(error)))
    await page.goto(f"{world.url}/login")
    await page.fill("#username", Role.PILOT.value)
    await page.fill("#password", password(Role.PILOT))
    await page.click("#submit")
    await expect(page).to_have_url(f"{world.url}/missions")
    await expect(page.locator("#vehicle option")).to_have_count(1)
    await page.select_option("#planner", "coverage-car")
    await page.click("#draw-area")
    corners = [offset(250, -150), offset(250, 150), offset(550, 150), offset(550, -150)]
    for corner in corners:
        await click_at(page, *corner)
    await page.click("#preview")
    await expect(page.locator("#feasibility")).to_have_text("feasible")
    shown = await page.locator("#preview-result").inner_text()
    figures = re.search(r"([\d.]+) km · ([\d.]+) min", shown)
    assert figures is not None, shown
    km, minutes = float(figures[1]), float(figures[2])
    assert 2.0 < km < 4.0  # 300 m × 300 m in strips at most 43 m apart, there and back
    assert minutes > km * 1000 / DEMO_PROFILE.cruise_speed_m_s / 60
    drawn = page.locator('#map path[stroke="#37d67a"]')
    await expect(drawn).to_have_count(1)
    points = await drawn.get_attribute("d")
    assert points is not None
    assert points.count("L") > 2 * 6  # every strip's two ends, at least
    await page.screenshot(path=ARTIFACTS / "console-coverage-preview.png")

    await page.click("#create")
    row = page.locator("#missions tbody tr").first
    await expect(row.locator("[data-state]")).to_have_text("planned")
    mission_id = await row.get_attribute("data-mission")
    assert mission_id is not None
    plan = world.controller.plan(mission_id)
    assert [i.pitch_deg for i in plan.items if i.kind is PlanItemKind.GIMBAL] == [-90.0]
    await row.locator('[data-action="approve"]').click()
    await expect(row.locator("[data-state]")).to_have_text("approved")
    await row.locator('[data-action="launch"]').click()
    await page.click("#confirm-ok")
    await expect(row.locator("[data-state]")).to_have_text("en_route", timeout=30_000)
    icon = page.locator('.drone-icon[data-vehicle="drone-1"]')
    before = await icon.bounding_box()
    # the drone reaches the area on the map (its northern half, above the first strip)
    await page.wait_for_function(
        "([lat, lon]) => { const v = window.__skyeye.vehicles['drone-1'];"
        " return v && v.lat_deg > lat; }",
        arg=list(offset(400)),
        timeout=60_000,
    )
    where = await page.evaluate("window.__skyeye.vehicles['drone-1']")
    assert distance_m((where["lat_deg"], where["lon_deg"]), BASE) > 300.0
    after = await icon.bounding_box()
    assert before is not None
    assert after is not None
    assert math.hypot(after["x"] - before["x"], after["y"] - before["y"]) > 20
    await page.screenshot(path=ARTIFACTS / "console-coverage-flying.png")
