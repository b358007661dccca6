"""The console as a part of ``skyeye demo``: served on a free port, announced, with demo users."""

from __future__ import annotations

from pathlib import Path

import httpx

from missions.console.part import console_part
from skyeye.app import AppContext
from skyeye.bus import Bus, BusSettings
from skyeye.clock import WallClock
from skyeye.config import load_config


async def test_the_demo_part_serves_the_console_and_announces_it(
    mqtt_url: str, tmp_path: Path
) -> None:
    defaults = load_config(None)
    config = defaults.model_copy(
        update={
            "console": defaults.console.model_copy(update={"port": 0}),
            "database": defaults.database.model_copy(
                update={"url": f"sqlite+aiosqlite:///{tmp_path / 'skyeye.sqlite3'}"}
            ),
        }
    )
    clock = WallClock()
    async with Bus(BusSettings(url=mqtt_url), clock=clock) as bus:
        context = AppContext(mode="demo", config=config, clock=clock, bus=bus, bus_url=mqtt_url)
        async with console_part(context) as server:
            links = dict(context.links)
            assert links["Console"] == server.url
            assert server.port != 0
            password = links["Console log-in commander"].removeprefix("password ")
            async with httpx.AsyncClient(base_url=server.url) as http:
                assert (await http.get("/map")).status_code == 200
                login = await http.post(
                    "/api/auth/token", json={"username": "commander", "password": password}
                )
                assert login.json()["role"] == "commander"
                token = login.json()["access_token"]
                me = await http.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
                assert me.json()["username"] == "commander"
                no_control = await http.post(
                    "/api/incidents",
                    json={"lat_deg": 1, "lon_deg": 1, "category": "fire"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert no_control.status_code == 503
