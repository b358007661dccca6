"""Bases, no-fly zones and ceilings have one source: the console's store, seeded at start-up
from the scenario (or the configuration) and read by the planners at each plan.

The real parts (``zones_part``, ``console_part``) over a real SQLite file and a real
Mosquitto; the real planners (``missions.controller.plans``) over a loopback vehicle standing
at the demo scenario's first base.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from shapely.geometry import LineString, Polygon

from missions.console.errors import ConflictError
from missions.console.models import BaseZone, NoFlyZone
from missions.console.part import console_part, zones_part
from missions.console.store import ConsoleStore
from missions.controller import ControllerError, LoopbackFleet, LoopbackVehicle
from missions.controller.demo import DEMO_PROFILE
from missions.controller.plans import FlightPlanner, StoredAreas, planner_for
from sim.part import DEMO_SCENARIO
from sim.scenario import load_scenario
from skyeye.app import AppContext
from skyeye.bus import Bus, BusSettings
from skyeye.clock import WallClock
from skyeye.config import SkyeyeConfig, load_config
from tests.test_console_planner_api import QUAD, offset, square

SCENARIO = load_scenario(DEMO_SCENARIO)
UTRECHT = (SCENARIO.bases[0].lat_deg, SCENARIO.bases[0].lon_deg)
AREA = square(300, -150, 300)  # the pilot's drawn area: 300 m × 300 m, 300 m north of the base


def demo_services() -> dict[str, Any]:
    """What the simulator part hands over for the demo scenario (``sim/part.py``)."""
    return {
        "bases": [
            {"name": b.id, "lat_deg": b.lat_deg, "lon_deg": b.lon_deg, "radius_m": b.radius_m}
            for b in SCENARIO.bases
        ],
        "no_fly_zones": [{"name": z.id, "polygon": list(z.polygon)} for z in SCENARIO.no_fly_zones],
    }


def app_config(tmp_path: Path, **area: float) -> SkyeyeConfig:
    defaults = load_config(None)
    return defaults.model_copy(
        update={
            "console": defaults.console.model_copy(update={"port": 0}),
            "database": defaults.database.model_copy(
                update={"url": f"sqlite+aiosqlite:///{tmp_path / 'skyeye.sqlite3'}"}
            ),
            "area": defaults.area.model_copy(update=area),
        }
    )


def context_of(
    bus: Bus, config: SkyeyeConfig, mode: Literal["demo", "serve"] = "demo"
) -> AppContext:
    context = AppContext(mode=mode, config=config, clock=WallClock(), bus=bus, bus_url="")
    if mode == "demo":
        context.services.update(demo_services())
    return context


def shape(zones: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(z["zone_id"], z["zone"]["kind"], z["zone"]["name"]) for z in zones]


def summary(store: ConsoleStore) -> list[tuple[str, str, str]]:
    return [(z.zone_id, z.zone.kind, z.zone.name) for z in store.zones()]


# ----------------------------------------------------------------- the planners read the store


@dataclass
class Demo:
    http: httpx.AsyncClient
    admin: dict[str, str]
    pilot: dict[str, str]

    async def preview(self, points: list[tuple[float, float]] = AREA) -> dict[str, Any]:
        body = {
            "planner": "coverage-car",
            "vehicle_id": "drone-1",
            "geometry_type": "area",
            "points": points,
            "alt_rel_m": 60.0,
        }
        response = await self.http.post("/api/plans/preview", json=body, headers=self.pilot)
        assert response.status_code == 200, response.text
        preview: dict[str, Any] = response.json()
        return preview

    async def add_zone(self, zone: dict[str, Any]) -> httpx.Response:
        return await self.http.post("/api/zones", json=zone, headers=self.admin)

    async def zones(self) -> list[dict[str, Any]]:
        zones: list[dict[str, Any]] = (await self.http.get("/api/zones", headers=self.pilot)).json()
        return zones


@pytest.fixture
async def demo(mqtt_url: str, tmp_path: Path) -> AsyncIterator[Demo]:
    clock = WallClock()
    async with contextlib.AsyncExitStack() as stack:
        vehicle = await stack.enter_async_context(
            LoopbackVehicle(
                "drone-1", clock=clock, lat_deg=UTRECHT[0], lon_deg=UTRECHT[1], profile=QUAD
            )
        )
        bus = await stack.enter_async_context(Bus(BusSettings(url=mqtt_url), clock=clock))
        context = context_of(bus, app_config(tmp_path))
        store = await stack.enter_async_context(zones_part(context))
        context.services["planner"] = FlightPlanner(
            areas=StoredAreas(store),
            fleet=LoopbackFleet([vehicle]),
            profile_for=lambda _: DEMO_PROFILE,
        )
        server = await stack.enter_async_context(console_part(context))
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=server.url))
        links = dict(context.links)

        async def log_in(role: str) -> dict[str, str]:
            password = links[f"Console log-in {role}"].removeprefix("password ")
            body = {"username": role, "password": password}
            token = (await http.post("/api/auth/token", json=body)).json()["access_token"]
            return {"Authorization": f"Bearer {token}"}

        yield Demo(http, await log_in("admin"), await log_in("pilot"))


async def test_a_no_fly_zone_an_admin_adds_refuses_the_next_preview_by_name_until_removed(
    demo: Demo,
) -> None:
    first = await demo.preview()
    assert first["feasible"] is True, first["reasons"]

    stadium = square(200, -250, 500)  # covers the drawn area with 100 m to spare
    added = await demo.add_zone(
        {"kind": "no_fly", "name": "Stadion Galgenwaard", "polygon": stadium}
    )
    assert added.status_code == 201, added.text
    refused = await demo.preview()
    assert refused["feasible"] is False
    assert refused["reasons"] == [
        "no-fly: the area has nothing that may be flown: it lies inside no-fly zone "
        "'Stadion Galgenwaard' (kept 30 m clear)"
    ]

    zone_id = added.json()["zone_id"]
    removed = await demo.http.delete(f"/api/zones/{zone_id}", headers=demo.admin)
    assert removed.status_code == 204
    again = await demo.preview()
    assert again["feasible"] is True, again["reasons"]
    assert again["distance_m"] == pytest.approx(first["distance_m"], rel=1e-6)


async def test_a_zone_across_the_way_and_half_the_area_is_flown_round(demo: Demo) -> None:
    straight = await demo.preview()
    rail_yard = [offset(250, -400), offset(250, 400), offset(450, 400), offset(450, -400)]
    added = await demo.add_zone({"kind": "no_fly", "name": "Rail yard", "polygon": rail_yard})
    assert added.status_code == 201, added.text
    around = await demo.preview()
    assert around["feasible"] is True, around["reasons"]
    zone = Polygon([(lon, lat) for lat, lon in rail_yard])
    assert LineString([(lon, lat) for lat, lon in straight["path"]]).intersects(zone)
    path = LineString([(lon, lat) for lat, lon in around["path"]])
    assert not path.intersects(zone)  # neither on the way out nor over the area's south
    assert max(lat for lat, _ in around["path"]) > offset(480)[0]  # the north is still swept


async def test_a_ceiling_an_admin_adds_lowers_the_next_plan_and_goes_with_it(demo: Demo) -> None:
    high = (await demo.preview())["geojson"]["properties"]["alt_rel_m"]
    assert high > 25.0
    hospital = square(200, -250, 500)
    added = await demo.add_zone(
        {"kind": "ceiling", "name": "Hospital helipad", "polygon": hospital, "ceiling_agl_m": 25}
    )
    assert added.status_code == 201, added.text
    low = await demo.preview()
    assert low["feasible"] is True, low["reasons"]
    assert low["geojson"]["properties"]["alt_rel_m"] <= 25.0
    await demo.http.delete(f"/api/zones/{added.json()['zone_id']}", headers=demo.admin)
    assert (await demo.preview())["geojson"]["properties"]["alt_rel_m"] == high


async def test_the_map_and_the_planners_see_the_scenarios_zones(demo: Demo) -> None:
    zones = await demo.zones()
    assert [(k, n) for _, k, n in shape(zones)] == [
        ("base", "utrecht"),
        ("base", "amersfoort"),
        ("no_fly", "soesterberg"),
    ]
    assert zones[2]["zone"]["polygon"] == [list(p) for p in SCENARIO.no_fly_zones[0].polygon]
    # An area drawn over the scenario's no-fly zone, as the pilot sees it on the map
    refused = await demo.preview(
        [(52.118, 5.272), (52.122, 5.272), (52.122, 5.280), (52.118, 5.280)]
    )
    assert refused["feasible"] is False
    assert "no-fly zone 'soesterberg'" in refused["reasons"][0]


@pytest.mark.parametrize(
    ("zone", "says"),
    [
        (
            {"kind": "no_fly", "name": "Over the base", "polygon": square(-100, -100, 200)},
            "base 'utrecht' would lie inside no-fly zone 'Over the base'",
        ),
        (
            {"kind": "base", "name": "In the zone", "lat_deg": 52.118, "lon_deg": 5.28},
            "base 'In the zone' would lie inside no-fly zone 'soesterberg'",
        ),
    ],
)
async def test_a_base_inside_a_no_fly_zone_is_refused_and_nothing_changes(
    demo: Demo, zone: dict[str, Any], says: str
) -> None:
    before = await demo.zones()
    refused = await demo.add_zone(zone)
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith(says)
    assert await demo.zones() == before
    audit = (await demo.http.get("/api/audit", headers=demo.admin)).json()
    assert (audit[-1]["action"], audit[-1]["result"]) == ("add_zone", "refused")
    assert (await demo.preview())["feasible"] is True


# ----------------------------------------------------------------- seeding


async def test_seeding_at_each_start_keeps_ids_and_admin_zones_and_follows_the_scenario(
    mqtt_url: str, tmp_path: Path
) -> None:
    config = app_config(tmp_path)
    async with Bus(BusSettings(url=mqtt_url), clock=WallClock()) as bus:
        async with zones_part(context_of(bus, config)) as store:
            seeded = summary(store)
            assert [(k, n) for _, k, n in seeded] == [
                ("base", "utrecht"),
                ("base", "amersfoort"),
                ("no_fly", "soesterberg"),
            ]
            admin = NoFlyZone(name="Admin's", polygon=tuple(square(5000, 5000, 300)))
            added = await store.add_zone(admin, at=WallClock().now())
        async with zones_part(context_of(bus, config)) as store:  # a restart
            assert summary(store) == [*seeded, (added.zone_id, "no_fly", "Admin's")]

        context = context_of(bus, config)  # the scenario loses its no-fly zone
        context.services["no_fly_zones"] = []
        async with zones_part(context) as store:
            assert summary(store) == [*seeded[:2], (added.zone_id, "no_fly", "Admin's")]

        async with zones_part(context_of(bus, config, "serve")) as store:  # no area configured
            assert summary(store) == [(added.zone_id, "no_fly", "Admin's")]


async def test_serve_seeds_the_configured_area_as_a_base(mqtt_url: str, tmp_path: Path) -> None:
    config = app_config(tmp_path, centre_lat_deg=52.37, centre_lon_deg=4.9, radius_m=30_000)
    async with (
        Bus(BusSettings(url=mqtt_url), clock=WallClock()) as bus,
        zones_part(context_of(bus, config, "serve")) as store,
    ):
        [base] = [z.zone for z in store.zones()]
        assert base == BaseZone(name="area", lat_deg=52.37, lon_deg=4.9, radius_m=30_000)


async def test_a_scenario_with_a_base_in_its_no_fly_zone_does_not_start(
    mqtt_url: str, tmp_path: Path
) -> None:
    config = app_config(tmp_path)
    async with Bus(BusSettings(url=mqtt_url), clock=WallClock()) as bus:
        async with zones_part(context_of(bus, config)) as store:
            seeded = summary(store)
        context = context_of(bus, config)
        context.services["no_fly_zones"] = [{"name": "over", "polygon": square(-50, -50, 100)}]
        with pytest.raises(
            ConflictError, match="base 'utrecht' would lie inside no-fly zone 'over'"
        ):
            async with zones_part(context):
                pass
        async with ConsoleStore(config.database.url) as store:
            assert summary(store) == seeded


async def test_the_planners_of_a_running_skyeye_need_the_zones_part(
    mqtt_url: str, tmp_path: Path
) -> None:
    async with Bus(BusSettings(url=mqtt_url), clock=WallClock()) as bus:
        with pytest.raises(ControllerError, match="zones_part"):
            planner_for(context_of(bus, app_config(tmp_path)))
