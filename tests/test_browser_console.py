"""The console in Debian's Chromium (Playwright), against real peers over real sockets.

Each test runs a real Mosquitto, the real mission controller (``missions.controller``) over
in-process loopback vehicles whose state a small pump publishes on the bus as the fleet
would, the real vision media hub (WHIP/WHEP) on the console's app, and the console itself.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from pydantic import SecretStr

from missions.console import (
    ConsoleServer,
    ConsoleSettings,
    ControlRefusedError,
    PlanProposal,
    Role,
    create_app,
)
from missions.console.loopback import distance_m
from missions.controller import (
    Controller,
    ControllerError,
    ControllerSettings,
    FenceSpec,
    FlightPlan,
    LoopbackFleet,
    LoopbackVehicle,
    MissionType,
    PlanItem,
    PlanItemKind,
)
from missions.dispatch import VehicleProfile
from missions.store import MissionStore
from skyeye import topics
from skyeye.bus import Bus, BusSettings
from skyeye.clock import ScaledClock
from skyeye.contracts import (
    Detection,
    DetectionBatch,
    GeoPoint,
    VehicleEvent,
    VehicleEventKind,
)
from vision.hub import HubSettings, MediaHub
from vision.metadata import FrameMetadata
from vision.webrtc import PublishedFrame, WhipPublisher

# A cold Chromium on a busy CI machine can take more than Playwright's default 5 s.
expect.set_options(timeout=15_000)

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]
BASE = (47.3769, 8.5417)
M_PER_DEG = 111_195.0
SPEEDUP = 20.0
QUAD = VehicleProfile(
    name="quad",
    cruise_speed_m_s=15.0,
    climb_rate_m_s=5.0,
    descent_rate_m_s=3.0,
    battery_use_pct_per_s=0.02,
    launch_overhead_s=2.0,
)


def offset(north_m: float, east_m: float = 0.0) -> tuple[float, float]:
    lat = BASE[0] + north_m / M_PER_DEG
    return lat, BASE[1] + east_m / (M_PER_DEG * math.cos(math.radians(BASE[0])))


def password(role: Role) -> str:
    return f"{role.value}-password-1"


class RoutePlanner:
    """A planner for the real controller: take off, fly the points, come home."""

    def names(self) -> Sequence[str]:
        return ("route",)

    async def propose(
        self,
        name: str,
        *,
        vehicle_id: str,
        geometry_type: str,
        points: Sequence[tuple[float, float]],
        alt_rel_m: float,
    ) -> PlanProposal:
        if geometry_type != "route":
            raise ControlRefusedError("this planner flies routes only")
        items = (
            PlanItem(kind=PlanItemKind.TAKEOFF, alt_rel_m=alt_rel_m),
            *(
                PlanItem(kind=PlanItemKind.WAYPOINT, lat_deg=lat, lon_deg=lon, alt_rel_m=alt_rel_m)
                for lat, lon in points
            ),
            PlanItem(kind=PlanItemKind.RTL),
        )
        path = (BASE, *points, BASE)
        length = sum(distance_m(a, b) for a, b in itertools.pairwise(path))
        return PlanProposal(
            mission_type=MissionType.PATROL,
            plan=FlightPlan(items=items, fence=FenceSpec(radius_m=5000.0, alt_max_m=120.0)),
            feasible=True,
            reasons=(),
            duration_s=length / QUAD.cruise_speed_m_s,
            distance_m=length,
            path=tuple(path),
            geojson={},
        )


@dataclass
class World:
    url: str
    bus: Bus
    controller: Controller
    vehicles: dict[str, LoopbackVehicle]
    browser: Browser
    page_errors: list[str]

    async def page_as(self, role: Role, name: str) -> Page:
        page = await self.browser.new_page(viewport={"width": 1400, "height": 850})
        page.on("pageerror", lambda error: self.page_errors.append(f"{name}: {error}"))
        await page.goto(f"{self.url}/login")
        await page.fill("#username", role.value)
        await page.fill("#password", password(role))
        await page.click("#submit")
        await page.wait_for_url(lambda url: "/login" not in url)
        return page


async def pump_states(bus: Bus, vehicles: dict[str, LoopbackVehicle]) -> None:
    """Publish each vehicle's state on the bus, as the fleet does."""
    while True:
        for vid, vehicle in vehicles.items():
            await bus.publish(topics.vehicle_state(vid), vehicle.state)
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def world(mqtt_url: str, tmp_path: Path) -> AsyncIterator[World]:
    clock = ScaledClock(SPEEDUP)
    async with contextlib.AsyncExitStack() as stack:
        vehicles = {}
        for index, (vid, north_m) in enumerate((("drone-1", 300.0), ("drone-2", -2500.0))):
            lat, lon = offset(north_m)
            vehicles[vid] = await stack.enter_async_context(
                LoopbackVehicle(
                    vid, clock=clock, lat_deg=lat, lon_deg=lon, profile=QUAD, system_id=index + 1
                )
            )
        bus = await stack.enter_async_context(Bus(BusSettings(url=mqtt_url), clock=clock))
        store = await stack.enter_async_context(
            MissionStore(f"sqlite+aiosqlite:///{tmp_path / 'missions.sqlite3'}")
        )
        controller = await stack.enter_async_context(
            Controller(
                store=store,
                fleet=LoopbackFleet(list(vehicles.values())),
                clock=clock,
                profiles=lambda _: QUAD,
                settings=ControllerSettings(step_timeout_s=60.0, upload_timeout_s=60.0),
                publisher=bus,
            )
        )
        hub = await stack.enter_async_context(
            MediaHub(
                HubSettings(
                    publish_tokens={vid: SecretStr(f"pub-{vid}") for vid in vehicles},
                    view_token=SecretStr("view-token"),
                ),
                clock=clock,
            )
        )
        group = await stack.enter_async_context(asyncio.TaskGroup())
        pump = group.create_task(pump_states(bus, vehicles), name="test.fleet-pump")
        stack.callback(pump.cancel)
        app = create_app(
            ConsoleSettings(
                database_url=f"sqlite+aiosqlite:///{tmp_path / 'console.sqlite3'}",
                token_secret=SecretStr("browser-test-secret-0123456789"),
                whep_token=SecretStr("view-token"),
            ),
            bus=bus,
            clock=clock,
            control=controller,
            planner=RoutePlanner(),
            control_errors=(ControllerError,),
            routers=[hub.router],
            initial_users=[(r.value, password(r), r) for r in Role],
        )
        server = await stack.enter_async_context(ConsoleServer(app))
        playwright = await stack.enter_async_context(async_playwright())
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        stack.push_async_callback(browser.close)
        errors: list[str] = []
        yield World(server.url, bus, controller, vehicles, browser, errors)
        assert errors == [], "the pages raised JavaScript errors"


@pytest.fixture
async def live(mqtt_url: str, tmp_path: Path) -> AsyncIterator[World]:
    ARTIFACTS.mkdir(exist_ok=True)
    async with world(mqtt_url, tmp_path) as w:
        yield w


async def click_at(page: Page, lat: float, lon: float) -> None:
    point = await page.evaluate(
        "([lat, lon]) => { const m = window.__skyeye.map;"
        " const p = m.latLngToContainerPoint([lat, lon]);"
        " const r = m.getContainer().getBoundingClientRect();"
        " return [r.left + p.x, r.top + p.y]; }",
        [lat, lon],
    )
    await page.mouse.click(point[0], point[1])


async def test_each_role_logs_in_and_is_refused_what_it_may_not_do(live: World) -> None:
    viewer = await live.page_as(Role.VIEWER, "viewer")
    await expect(viewer).to_have_url(f"{live.url}/map")
    await expect(viewer.locator("#who-name")).to_have_text("viewer")
    await expect(viewer.locator('[data-vehicle="drone-1"]').first).to_be_visible()
    await click_at(viewer, *offset(1000.0))
    await viewer.click("#raise button[type=submit]")
    await expect(viewer.locator("#toast")).to_contain_text(
        "viewer (viewer) may not raise incidents and dispatch"
    )
    await viewer.screenshot(path=ARTIFACTS / "console-viewer-refused-incident.png")
    await viewer.goto(f"{live.url}/admin")
    await expect(viewer.locator("#error")).to_contain_text("may not administer users and zones")

    commander = await live.page_as(Role.COMMANDER, "commander")
    await commander.goto(f"{live.url}/missions")
    await expect(commander.locator("#vehicle option")).to_have_count(2)
    await commander.click("#preview")
    await expect(commander.locator("#error")).to_contain_text("may not plan and command flights")
    await commander.screenshot(path=ARTIFACTS / "console-commander-refused-flight.png")

    pilot = await live.page_as(Role.PILOT, "pilot")
    await expect(pilot).to_have_url(f"{live.url}/missions")
    await pilot.goto(f"{live.url}/map")
    await expect(pilot.locator('[data-vehicle="drone-1"]').first).to_be_visible()
    await click_at(pilot, *offset(1000.0))
    await pilot.click("#raise button[type=submit]")
    await expect(pilot.locator("#toast")).to_contain_text("pilot (pilot) may not raise incidents")

    admin = await live.page_as(Role.ADMIN, "admin")
    await expect(admin).to_have_url(f"{live.url}/admin")
    await expect(admin.locator("#users tbody tr")).to_have_count(4)
    await expect(admin.locator("#audit tbody")).to_contain_text("refused")
    await admin.fill("#add-user [name=username]", "ops.bea")
    await admin.fill("#add-user [name=password]", "long-enough-1")
    await admin.click("#add-user button")
    await expect(admin.locator('[data-user="ops.bea"]')).to_be_visible()
    await admin.screenshot(path=ARTIFACTS / "console-admin.png", full_page=True)
    await admin.goto(f"{live.url}/missions")
    await expect(admin.locator("#vehicle option")).to_have_count(2)
    await admin.click("#preview")
    await expect(admin.locator("#error")).to_contain_text("admin (admin) may not plan")


async def test_drones_move_and_a_raised_incident_gets_the_nearest_drone(live: World) -> None:
    page = await live.page_as(Role.COMMANDER, "commander")
    await expect(page.locator('[data-vehicle="drone-1"]').first).to_be_visible()
    await expect(page.locator('[data-vehicle="drone-2"]').first).to_be_visible()
    failsafe = VehicleEvent(
        vehicle_id="drone-2",
        time=datetime.now(UTC),
        kind=VehicleEventKind.FAILSAFE,
        detail="GCS failsafe: RTL",
    )
    await live.bus.publish(topics.vehicle_event("drone-2"), failsafe)
    banner = page.locator(".alert", has_text="drone-2: FAILSAFE GCS failsafe: RTL")
    await expect(banner).to_be_visible()
    await page.screenshot(path=ARTIFACTS / "console-map-failsafe-alert.png")
    await banner.get_by_role("button", name="Acknowledge").click()
    await expect(banner).to_have_count(0)
    target = offset(1500.0, 400.0)
    await click_at(page, *target)
    await page.select_option("#raise [name=category]", "burglary")
    await page.select_option("#raise [name=priority]", "3")
    await page.fill("#raise [name=summary]", "alarm at the jeweller's")
    await page.click("#raise button[type=submit]")
    await expect(page.locator("#toast")).to_contain_text("drone-1 dispatched")
    await expect(page.locator("[data-incident]")).to_have_count(1)

    async def distance_on_map() -> float:
        where = await page.evaluate("window.__skyeye.vehicles['drone-1']")
        return distance_m((where["lat_deg"], where["lon_deg"]), target)

    start = await distance_on_map()
    icon = page.locator('.drone-icon[data-vehicle="drone-1"]')
    box_before = await icon.bounding_box()
    await page.screenshot(path=ARTIFACTS / "console-map-dispatch.png")
    await page.wait_for_function(
        "([lat, lon]) => { const v = window.__skyeye.vehicles['drone-1'];"
        " return Math.hypot(v.lat_deg - lat, (v.lon_deg - lon) * 0.68) * 111195 < 200; }",
        arg=list(target),
        timeout=60_000,
    )
    assert start > 1000.0
    assert await distance_on_map() < 250.0
    box_after = await icon.bounding_box()
    assert box_before is not None
    assert box_after is not None
    moved_px = math.hypot(box_after["x"] - box_before["x"], box_after["y"] - box_before["y"])
    assert moved_px > 30, "the drone's icon did not move on the map"
    await expect(page.locator("#missions tbody")).to_contain_text("first_response")
    await expect(page.locator("#incidents tbody")).to_contain_text("dispatched")
    (mission,) = live.controller.list_missions()
    path = await page.evaluate(
        "async (id) => { const t = JSON.parse(sessionStorage.getItem('skyeye.token'));"
        " const r = await fetch(`/api/missions/${id}/path`,"
        " { headers: { Authorization: `Bearer ${t.access_token}` } }); return r.json(); }",
        mission.mission_id,
    )
    # the incident lies where the click landed: within a pixel (≈ 10 m at this zoom) of target
    assert any(distance_m((lat, lon), target) < 25.0 for lat, lon in path)
    await page.screenshot(path=ARTIFACTS / "console-map-on-scene.png")


async def test_pilot_plans_launches_and_aborts_a_mission(live: World) -> None:
    page = await live.page_as(Role.PILOT, "pilot")
    await expect(page.locator("#vehicle option")).to_have_count(2)
    await page.select_option("#vehicle", "drone-2")
    await page.click("#draw-route")
    await click_at(page, *offset(-1500.0, 800.0))
    await click_at(page, *offset(-500.0, 1500.0))
    await page.click("#preview")
    await expect(page.locator("#feasibility")).to_have_text("feasible")
    await page.click("#create")
    row = page.locator("#missions tbody tr").first
    await expect(row.locator("[data-state]")).to_have_text("planned")
    await row.locator('[data-action="approve"]').click()
    await expect(row.locator("[data-state]")).to_have_text("approved")
    await row.locator('[data-action="launch"]').click()
    await expect(page.locator("#confirm")).to_be_visible()
    await page.screenshot(path=ARTIFACTS / "console-pilot-confirm-launch.png")
    await page.click("#confirm-ok")
    await expect(row.locator("[data-state]")).to_have_text("en_route", timeout=30_000)
    await row.locator('[data-action="abort"]').click()
    await page.click("#confirm-ok")
    await expect(row.locator("[data-state]")).to_have_text("aborted")
    await page.screenshot(path=ARTIFACTS / "console-pilot-aborted.png")
    mission_id = await row.get_attribute("data-mission")
    assert mission_id is not None
    assert live.controller.mission(mission_id).state.value == "aborted"
    assert "RTL" in live.vehicles["drone-2"].commands[-1].upper()


def _frame(index: int) -> np.ndarray[Any, np.dtype[np.uint8]]:
    image = np.zeros((240, 320, 3), dtype=np.uint8)
    image[:, :, 1] = 60
    x = (index * 6) % 280
    image[80:160, x : x + 40] = (40, 180, 255)
    return image


async def test_video_wall_plays_a_feed_with_boxes_and_latency(live: World) -> None:
    index = 0

    async def produce() -> PublishedFrame:
        nonlocal index
        await asyncio.sleep(1 / 15)
        index += 1
        lat, lon = offset(300.0)
        metadata = FrameMetadata(
            rtp_timestamp=0,
            capture_time=datetime.now(UTC),
            lat_deg=lat,
            lon_deg=lon,
            alt_amsl_m=500.0,
            gimbal_pitch_deg=-90.0,
            hfov_deg=70.0,
        )
        return PublishedFrame(image_bgr=_frame(index), metadata=metadata)

    async with WhipPublisher(
        f"{live.url}/whip/drone-1", token="pub-drone-1", produce=produce
    ) as publisher:
        await publisher.connected()
        page = await live.page_as(Role.VIEWER, "viewer")
        await page.goto(f"{live.url}/wall")
        video = page.locator('video[data-vehicle="drone-1"]')
        await expect(video).to_be_visible()
        await page.wait_for_function(
            "document.querySelector('video[data-vehicle=\"drone-1\"]').currentTime > 0.5",
            timeout=30_000,
        )
        first = await video.evaluate("v => v.currentTime")
        await page.wait_for_function(
            f"document.querySelector('video[data-vehicle=\"drone-1\"]').currentTime > {first + 0.5}"
        )
        spread = await video.evaluate(
            "v => { const c = document.createElement('canvas'); c.width = v.videoWidth;"
            " c.height = v.videoHeight; const x = c.getContext('2d'); x.drawImage(v, 0, 0);"
            " const d = x.getImageData(0, 0, c.width, c.height).data; let lo = 255, hi = 0;"
            " for (let i = 0; i < d.length; i += 4) {"
            " lo = Math.min(lo, d[i]); hi = Math.max(hi, d[i]); }"
            " return hi - lo; }"
        )
        assert spread > 100, "the video frame is blank"
        batch = DetectionBatch(
            vehicle_id="drone-1",
            frame_id=index,
            capture_time=datetime.now(UTC),
            image_width_px=320,
            image_height_px=240,
            footprint=tuple(GeoPoint(lat_deg=a, lon_deg=b) for a, b in (offset(250, -50),) * 3),
            detections=(
                Detection(
                    class_name="car",
                    confidence=0.91,
                    x_min_px=100,
                    y_min_px=80,
                    x_max_px=160,
                    y_max_px=160,
                ),
            ),
        )
        await live.bus.publish(topics.detections("drone-1"), batch)
        await expect(page.locator('[data-feed="drone-1"] .latency')).to_contain_text("latency")
        await page.wait_for_function(
            "(() => { const c = document.querySelector('[data-feed=\"drone-1\"] canvas');"
            " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
            " for (let i = 3; i < d.length; i += 4) if (d[i] > 0) return true; return false; })()"
        )
        await page.screenshot(path=ARTIFACTS / "console-video-wall.png")
        await page.goto(f"{live.url}/map")
        await page.locator('.drone-icon[data-vehicle="drone-1"]').click()
        await page.wait_for_function(
            "(() => { const v = document.getElementById('feed-video');"
            " return v !== null && v.currentTime > 0.5; })()",
            timeout=30_000,
        )
        await expect(page.locator("#feed .caption")).to_contain_text("ms")
        await page.screenshot(path=ARTIFACTS / "console-map-feed.png")
