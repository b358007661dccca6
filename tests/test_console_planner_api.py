"""The console's planning endpoints with the real planners (``missions.controller.plans``) and
the real controller over loopback vehicles, a real Mosquitto, uvicorn and SQLite."""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from missions.console import ConsoleServer, ConsoleSettings, Role, create_app
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
from missions.dispatch import VehicleProfile
from missions.store import MissionStore
from skyeye import topics
from skyeye.bus import Bus, BusSettings
from skyeye.clock import ScaledClock

BASE = (52.0907, 5.1214)
NO_FLY = [(52.120, 5.250), (52.135, 5.290), (52.110, 5.310), (52.098, 5.270)]
M_PER_DEG = 111_195.0
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


def square(north_m: float, east_m: float, side_m: float) -> list[tuple[float, float]]:
    return [
        offset(north_m, east_m),
        offset(north_m, east_m + side_m),
        offset(north_m + side_m, east_m + side_m),
        offset(north_m + side_m, east_m),
    ]


@dataclass
class Console:
    http: httpx.AsyncClient
    controller: Controller
    pilot: dict[str, str]

    async def preview(self, **body: Any) -> httpx.Response:
        request = {"vehicle_id": "d1", "alt_rel_m": 60.0, **body}
        return await self.http.post("/api/plans/preview", json=request, headers=self.pilot)


@pytest.fixture
async def console(mqtt_url: str, tmp_path: Path) -> AsyncIterator[Console]:
    clock = ScaledClock(20.0)
    async with contextlib.AsyncExitStack() as stack:
        vehicles = [
            await stack.enter_async_context(
                LoopbackVehicle(
                    vid, clock=clock, lat_deg=lat, lon_deg=lon, profile=QUAD, system_id=i + 1
                )
            )
            for i, (vid, (lat, lon)) in enumerate((("d1", BASE), ("away", offset(3000.0))))
        ]
        fleet = LoopbackFleet(vehicles)
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
                [{"name": "utrecht", "lat_deg": BASE[0], "lon_deg": BASE[1], "radius_m": 50_000}],
                [{"name": "soesterberg", "polygon": NO_FLY}],
            ),
            fleet=fleet,
            profile_for=lambda _: DEMO_PROFILE,
        )
        app = create_app(
            ConsoleSettings(
                database_url=f"sqlite+aiosqlite:///{tmp_path / 'console.sqlite3'}",
                token_secret=SecretStr("planner-test-secret-0123456789"),
            ),
            bus=bus,
            clock=clock,
            control=controller,
            planner=planner,
            control_errors=(ControllerError,),
            initial_users=[("pilot", "pilot-password-1", Role.PILOT)],
        )
        server = await stack.enter_async_context(ConsoleServer(app))
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=server.url))
        for vehicle in vehicles:
            await bus.publish(topics.vehicle_state(vehicle.vehicle_id), vehicle.state)
        token = await http.post(
            "/api/auth/token", json={"username": "pilot", "password": "pilot-password-1"}
        )
        pilot = {"Authorization": f"Bearer {token.json()['access_token']}"}
        yield Console(http, controller, pilot)


async def test_a_pilot_previews_a_real_coverage_plan_creates_and_launches_it(
    console: Console,
) -> None:
    listed = await console.http.get("/api/planners", headers=console.pilot)
    assert listed.json() == [
        "coverage-car",
        "coverage-person",
        "coverage-boat",
        "route-patrol",
        "orbit",
        "search-square",
        "search-sector",
    ]
    response = await console.preview(
        planner="coverage-car", geometry_type="area", points=square(300, -150, 300)
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["feasible"] is True
    assert preview["reasons"] == []
    # 300 m × 300 m in strips of at most 43 m (the demo camera for cars), plus the way there
    assert 7 * 300 < preview["distance_m"] < 4_000
    assert preview["duration_s"] > preview["distance_m"] / DEMO_PROFILE.cruise_speed_m_s
    start, end = preview["path"][0], preview["path"][-1]
    assert start == pytest.approx(list(BASE), abs=1e-6)
    assert end == pytest.approx(list(BASE), abs=1e-6)
    roles = [f["properties"]["role"] for f in preview["geojson"]["features"]]
    assert roles[:2] == ["base", "sortie"]
    assert "area" in roles

    created = await console.http.post(
        "/api/missions", json={"preview_id": preview["preview_id"]}, headers=console.pilot
    )
    assert created.status_code == 201, created.text
    mission_id = created.json()["mission_id"]
    plan = console.controller.plan(mission_id)
    assert [i.pitch_deg for i in plan.items if i.kind is PlanItemKind.GIMBAL] == [-90.0]
    assert plan.fence is not None
    assert plan.fence.radius_m >= 50_000
    for action, confirm in (("approve", False), ("launch", True)):
        response = await console.http.post(
            f"/api/missions/{mission_id}/{action}", json={"confirm": confirm}, headers=console.pilot
        )
        assert response.status_code == 200, response.text
    assert response.json()["state"] == "en_route"
    path = await console.http.get(f"/api/missions/{mission_id}/path", headers=console.pilot)
    assert [tuple(p) for p in path.json()] == [tuple(p) for p in preview["path"]]


def ask(planner: str, geometry: str, points: Any, **extra: Any) -> dict[str, Any]:
    return {"planner": planner, "geometry_type": geometry, "points": points, **extra}


BOWTIE = [offset(0, 0), offset(500, 500), offset(0, 500), offset(500, 0)]
ORBIT = [offset(500), offset(580)]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (ask("coverage-car", "area", [[52.1, 5.1]] * 2), 422, "at least 3"),
        (ask("coverage-car", "area", BOWTIE), 422, "simple polygon"),
        (ask("coverage-car", "area", square(0, 0, 99), alt_rel_m=500), 422, "less than or equal"),
        (ask("sweep", "area", square(0, 0, 100)), 404, "no planner 'sweep'"),
        (ask("coverage-car", "route", square(0, 0, 99)), 409, "over an area, not a route"),
        (ask("route-patrol", "area", square(0, 0, 99)), 409, "over a route, not a area"),
        (ask("orbit", "route", square(0, 0, 99)[:3]), 409, "the centre, then a point on"),
        (ask("orbit", "route", [offset(0), offset(3000)]), 409, "radius must be within 5..2000"),
        (ask("route-patrol", "route", [offset(500)] * 2), 409, "the route has no length"),
        (ask("orbit", "route", ORBIT, vehicle_id="away"), 409, "from the nearest base 'utrecht'"),
        (ask("orbit", "route", ORBIT, vehicle_id="ghost"), 409, "the fleet has no vehicle 'ghost'"),
    ],
)
async def test_malformed_requests_are_refused_with_the_reason_and_nothing_is_kept(
    console: Console, body: dict[str, Any], status: int, says: str
) -> None:
    response = await console.preview(**body)
    assert response.status_code == status, response.text
    assert says in response.text
    assert (await console.http.get("/api/missions", headers=console.pilot)).json() == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            ask("coverage-car", "area", square(60_000, 0, 500)),
            "radius: the area has nothing that may be flown: it lies outside 50 km of utrecht",
        ),
        (
            ask("coverage-person", "area", square(0, 0, 300)),
            "resolution: person: 16 px on 0.5 m needs 17.3 m above ground, below the 20 m minimum",
        ),
        (
            ask("coverage-car", "area", square(0, 0, 1_200)),
            "battery: the plan needs 3 sorties",
        ),
        (
            ask("route-patrol", "route", [offset(0, 25_000), offset(0, 26_000)]),
            "nearest alternative: keep work within",
        ),
        (
            ask("orbit", "route", ORBIT, alt_rel_m=10),
            "terrain: altitude 10 m above ground is outside [20, 120] m here; "
            "nearest alternative: fly at 20 m",
        ),
    ],
)
async def test_infeasible_plans_are_shown_with_the_rule_and_refused_at_creation(
    console: Console, body: dict[str, Any], says: str
) -> None:
    response = await console.preview(**body)
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["feasible"] is False
    assert any(says in reason for reason in preview["reasons"]), preview["reasons"]
    created = await console.http.post(
        "/api/missions", json={"preview_id": preview["preview_id"]}, headers=console.pilot
    )
    assert created.status_code == 409
    assert created.json()["detail"].startswith("the plan is not feasible: ")
    assert says in created.json()["detail"]
    assert (await console.http.get("/api/missions", headers=console.pilot)).json() == []
