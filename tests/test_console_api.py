"""The console's HTTP API and WebSocket against a real Mosquitto, uvicorn and SQLite.

Mission commands go to the console's loopback controller (``missions.console.loopback``),
which implements the same Protocol as the real controller.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from pydantic import SecretStr
from websockets.asyncio.client import connect

from missions.console import (
    ConsoleServer,
    ConsoleSettings,
    ConsoleSetupError,
    Principal,
    Role,
    TokenSigner,
    create_app,
)
from missions.console.loopback import LoopbackControl, LoopbackPlanner
from skyeye import topics
from skyeye.bus import Bus, BusSettings
from skyeye.clock import ScaledClock, WallClock
from skyeye.contracts import (
    CoverageCell,
    CoverageLayer,
    Incident,
    LinkQuality,
    Track,
    TrackList,
    VehicleEvent,
    VehicleEventKind,
    VehicleState,
)

SECRET = "console-test-secret-0123456789"
BASE = (47.3769, 8.5417)


def password(role: Role) -> str:
    return f"{role.value}-password-1"


def state(vehicle_id: str, lat: float, lon: float, **values: Any) -> VehicleState:
    return VehicleState(
        vehicle_id=vehicle_id,
        system_id=1,
        time=datetime.now(UTC),
        lat_deg=lat,
        lon_deg=lon,
        alt_rel_m=values.pop("alt_rel_m", 50.0),
        heading_deg=values.pop("heading_deg", 90.0),
        battery_pct=values.pop("battery_pct", 80.0),
        mode=values.pop("mode", "AUTO"),
        armed=True,
        link=values.pop("link", LinkQuality(connected=True, last_heard_age_s=0.1)),
        **values,
    )


@dataclass
class Harness:
    url: str
    bus: Bus
    http: httpx.AsyncClient
    control: LoopbackControl
    tokens: dict[Role, str]

    def auth(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    async def until(self, check: Callable[[], Any], what: str) -> Any:
        """Poll ``check`` (an awaitable factory) until it returns a truthy value."""
        async with asyncio.timeout(10):
            while True:
                value = await check()
                if value:
                    return value
                await asyncio.sleep(0.02)
        raise AssertionError(what)

    async def vehicle_known(self, vehicle_id: str) -> None:
        async def check() -> bool:
            response = await self.http.get(
                f"/api/vehicles/{vehicle_id}", headers=self.auth(Role.VIEWER)
            )
            return response.status_code == 200

        await self.until(check, f"{vehicle_id} never reached the console")


def settings_for(tmp_path: Path, **values: Any) -> ConsoleSettings:
    return ConsoleSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'console.sqlite3'}",
        token_secret=SecretStr(SECRET),
        whep_token=SecretStr("view-token"),
        **values,
    )


@pytest.fixture
async def harness(mqtt_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    clock = WallClock()
    async with Bus(BusSettings(url=mqtt_url), clock=clock) as bus:
        positions: dict[str, tuple[float, float]] = {}

        def where() -> Mapping[str, tuple[float, float]]:
            live = app.state.console.live
            for vid, s in live.vehicles.items():
                if s.lat_deg is not None and s.lon_deg is not None:
                    positions[vid] = (s.lat_deg, s.lon_deg)
            return positions

        control = LoopbackControl(clock=clock, publisher=bus, positions=where)
        app = create_app(
            settings_for(tmp_path),
            bus=bus,
            clock=clock,
            control=control,
            planner=LoopbackPlanner(positions=where),
            initial_users=[(r.value, password(r), r) for r in Role],
        )
        async with ConsoleServer(app) as server, httpx.AsyncClient(base_url=server.url) as http:
            tokens = {}
            for role in Role:
                response = await http.post(
                    "/api/auth/token", json={"username": role.value, "password": password(role)}
                )
                assert response.status_code == 200, response.text
                tokens[role] = response.json()["access_token"]
            yield Harness(server.url, bus, http, control, tokens)


# ----------------------------------------------------------------- docs, pages, set-up


async def test_openapi_documents_the_api_with_the_contracts(harness: Harness) -> None:
    docs = await harness.http.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    schema = (await harness.http.get("/openapi.json")).json()
    assert {"/api/vehicles", "/api/incidents", "/api/missions/{mission_id}/{action}"} <= set(
        schema["paths"]
    )
    assert {"VehicleState", "Incident", "MissionStatus", "TrackList"} <= set(
        schema["components"]["schemas"]
    )


async def test_pages_and_leaflet_from_node_modules_are_served(harness: Harness) -> None:
    for page in ("/login", "/map", "/wall", "/missions", "/admin"):
        response = await harness.http.get(page)
        assert response.status_code == 200, page
        assert "<html" in response.text
    leaflet = await harness.http.get("/static/vendor/leaflet/leaflet.js")
    assert leaflet.status_code == 200
    assert "Leaflet" in leaflet.text[:2000]
    root = await harness.http.get("/", follow_redirects=False)
    assert root.status_code == 307
    assert root.headers["location"] == "/map"


async def test_create_app_without_leaflet_is_refused(tmp_path: Path, mqtt_url: str) -> None:
    async with Bus(BusSettings(url=mqtt_url)) as bus:
        with pytest.raises(ConsoleSetupError, match="npm ci"):
            create_app(settings_for(tmp_path, leaflet_dir=tmp_path), bus=bus, clock=WallClock())


# ----------------------------------------------------------------- log-in and roles


async def test_log_in_refuses_wrong_password_and_malformed_bodies(harness: Harness) -> None:
    wrong = await harness.http.post(
        "/api/auth/token", json={"username": "viewer", "password": "nope"}
    )
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "unknown user or wrong password"
    assert wrong.headers["www-authenticate"] == "Bearer"
    for body in ({"username": "viewer"}, {"username": "", "password": "x"}, [1, 2], "x"):
        response = await harness.http.post("/api/auth/token", json=body)
        assert response.status_code == 422, body
    extra = await harness.http.post(
        "/api/auth/token", json={"username": "viewer", "password": "x", "role": "admin"}
    )
    assert extra.status_code == 422
    me = await harness.http.get("/api/auth/me", headers=harness.auth(Role.PILOT))
    assert me.json()["role"] == "pilot"
    audit = (await harness.http.get("/api/audit", headers=harness.auth(Role.ADMIN))).json()
    assert any(e["action"] == "log_in" and e["result"] == "refused" for e in audit)


async def test_missing_forged_and_expired_tokens_are_refused(harness: Harness) -> None:
    none = await harness.http.get("/api/vehicles")
    assert none.status_code == 401
    assert "log in" in none.json()["detail"]
    token = harness.tokens[Role.ADMIN]
    body, _, signature = token.partition(".")
    forged = await harness.http.get(
        "/api/users", headers={"Authorization": f"Bearer {body}.{signature[::-1]}"}
    )
    assert forged.status_code == 401
    expired = TokenSigner(SECRET.encode()).issue(
        Principal(username="admin", role=Role.ADMIN),
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    response = await harness.http.get("/api/users", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


FORBIDDEN: list[tuple[Role, str, str, dict[str, Any] | None]] = [
    (Role.VIEWER, "POST", "/api/incidents", {"lat_deg": 1, "lon_deg": 1, "category": "x"}),
    (Role.VIEWER, "POST", "/api/missions/m-1/abort", {"confirm": True}),
    (Role.VIEWER, "GET", "/api/users", None),
    (Role.COMMANDER, "POST", "/api/missions/m-1/abort", {"confirm": True}),
    (Role.COMMANDER, "GET", "/api/audit", None),
    (Role.PILOT, "POST", "/api/incidents", {"lat_deg": 1, "lon_deg": 1, "category": "x"}),
    (Role.PILOT, "POST", "/api/zones", {"kind": "base", "name": "b", "lat_deg": 1, "lon_deg": 1}),
    (Role.ADMIN, "POST", "/api/missions/m-1/launch", {"confirm": True}),
    (Role.ADMIN, "POST", "/api/incidents/inc-1/dispatch", None),
]


@pytest.mark.parametrize(("role", "method", "path", "body"), FORBIDDEN)
async def test_each_role_is_refused_what_it_may_not_do(
    harness: Harness, role: Role, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = await harness.http.request(method, path, json=body, headers=harness.auth(role))
    assert response.status_code == 403
    assert response.json()["detail"].startswith(f"{role.value} ({role.value}) may not")
    audit = (await harness.http.get("/api/audit", headers=harness.auth(Role.ADMIN))).json()
    assert {"actor": f"{role.value}:{role.value}", "result": "refused"}.items() <= audit[-1].items()
    assert audit[-1]["target"] == f"{method} {path}"


@pytest.mark.parametrize("role", list(Role))
async def test_every_role_sees_the_map(harness: Harness, role: Role) -> None:
    for path in ("/api/vehicles", "/api/tracks", "/api/incidents", "/api/missions", "/api/zones"):
        response = await harness.http.get(path, headers=harness.auth(role))
        assert response.status_code == 200, (role, path)


# ----------------------------------------------------------------- users and zones


async def test_admin_manages_users_and_a_role_change_ends_old_tokens(harness: Harness) -> None:
    admin = harness.auth(Role.ADMIN)
    new = {"username": "ops.anna", "password": "long-enough-1", "role": "viewer"}
    created = await harness.http.post("/api/users", json=new, headers=admin)
    assert created.status_code == 201
    assert created.json()["role"] == "viewer"
    assert (await harness.http.post("/api/users", json=new, headers=admin)).status_code == 409
    for bad in (
        {**new, "username": "Anna Smith"},
        {**new, "username": "x2", "password": "short"},
        {**new, "username": "x3", "role": "god"},
        {**new, "username": "x4", "extra": 1},
    ):
        assert (await harness.http.post("/api/users", json=bad, headers=admin)).status_code == 422
    login = await harness.http.post(
        "/api/auth/token", json={"username": "ops.anna", "password": "long-enough-1"}
    )
    anna = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert (await harness.http.get("/api/vehicles", headers=anna)).status_code == 200
    patched = await harness.http.patch(
        "/api/users/ops.anna", json={"role": "commander"}, headers=admin
    )
    assert patched.json()["role"] == "commander"
    stale = await harness.http.get("/api/vehicles", headers=anna)
    assert stale.status_code == 401
    assert "role has changed" in stale.json()["detail"]
    assert (
        await harness.http.patch("/api/users/ops.anna", json={}, headers=admin)
    ).status_code == 422
    assert (
        await harness.http.patch("/api/users/admin", json={"role": "viewer"}, headers=admin)
    ).status_code == 409
    assert (await harness.http.delete("/api/users/ops.anna", headers=admin)).status_code == 204
    assert (await harness.http.delete("/api/users/ops.anna", headers=admin)).status_code == 404
    names = [u["username"] for u in (await harness.http.get("/api/users", headers=admin)).json()]
    assert names == ["admin", "commander", "pilot", "viewer"]


async def test_admin_manages_zones_and_bad_zones_change_nothing(harness: Harness) -> None:
    admin = harness.auth(Role.ADMIN)
    base = {"kind": "base", "name": "North", "lat_deg": BASE[0], "lon_deg": BASE[1]}
    no_fly = {
        "kind": "no_fly",
        "name": "Airport",
        "polygon": [[47.45, 8.54], [47.47, 8.54], [47.47, 8.58], [47.45, 8.58]],
    }
    made = [await harness.http.post("/api/zones", json=z, headers=admin) for z in (base, no_fly)]
    assert [r.status_code for r in made] == [201, 201]
    assert made[0].json()["zone"]["radius_m"] == 50_000.0
    bad_zones = [
        {**no_fly, "polygon": [[47.45, 8.54], [47.47, 8.58], [47.47, 8.54], [47.45, 8.58]]},
        {**no_fly, "polygon": [[47.45, 8.54], [47.47, 8.54]]},
        {**base, "radius_m": 60_000},
        {**base, "lat_deg": 91},
        {**base, "kind": "castle"},
    ]
    for bad in bad_zones:
        response = await harness.http.post("/api/zones", json=bad, headers=admin)
        assert response.status_code == 422, bad
    zones = (await harness.http.get("/api/zones", headers=harness.auth(Role.VIEWER))).json()
    assert [z["zone"]["name"] for z in zones] == ["North", "Airport"]
    zone_id = zones[0]["zone_id"]
    assert (await harness.http.delete(f"/api/zones/{zone_id}", headers=admin)).status_code == 204
    assert (await harness.http.delete(f"/api/zones/{zone_id}", headers=admin)).status_code == 404


# ----------------------------------------------------------------- live picture


async def test_vehicle_states_reach_the_api_and_the_websocket(harness: Harness) -> None:
    await harness.bus.publish(topics.vehicle_state("drone-1"), state("drone-1", *BASE))
    await harness.vehicle_known("drone-1")
    ws_url = harness.url.replace("http", "ws") + f"/ws?token={harness.tokens[Role.VIEWER]}"
    async with connect(ws_url) as ws:
        first = json.loads(await ws.recv())
        assert first["vehicles"]["drone-1"]["lat_deg"] == BASE[0]
        await harness.bus.publish(
            topics.vehicle_state("drone-1"), state("drone-1", BASE[0] + 0.01, BASE[1])
        )
        moved = json.loads(await ws.recv())
        assert moved["vehicles"]["drone-1"]["lat_deg"] == pytest.approx(BASE[0] + 0.01)
    missing = await harness.http.get("/api/vehicles/drone-9", headers=harness.auth(Role.VIEWER))
    assert missing.status_code == 404
    bad_id = await harness.http.get("/api/vehicles/a b", headers=harness.auth(Role.VIEWER))
    assert bad_id.status_code == 422


async def test_websocket_coalesces_a_burst_into_the_newest_state(harness: Harness) -> None:
    ws_url = harness.url.replace("http", "ws") + f"/ws?token={harness.tokens[Role.VIEWER]}"
    async with connect(ws_url) as ws:
        await ws.recv()
        for step in range(100):
            await harness.bus.publish(
                topics.vehicle_state("drone-2"), state("drone-2", BASE[0] + step * 1e-4, BASE[1])
            )
        batches = 0
        async with asyncio.timeout(10):
            while True:
                batch = json.loads(await ws.recv())
                batches += 1
                seen = batch.get("vehicles", {}).get("drone-2")
                if seen and seen["lat_deg"] == pytest.approx(BASE[0] + 99e-4):
                    break
        assert batches < 100


async def test_websocket_refuses_a_missing_or_bad_token(harness: Harness) -> None:
    base = harness.url.replace("http", "ws") + "/ws"
    for url in (base, base + "?token=abc.def"):
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with connect(url) as ws:
                await ws.recv()
        assert refused.value.response.status_code == 403


async def test_tracks_coverage_and_detections_are_pushed(harness: Harness) -> None:
    now = datetime.now(UTC)
    track = Track(
        track_id="t-1",
        class_name="car",
        class_confidence=0.9,
        lat_deg=BASE[0],
        lon_deg=BASE[1],
        position_sigma_m=2.0,
        first_seen=now,
        last_seen=now,
    )
    ws_url = harness.url.replace("http", "ws") + f"/ws?token={harness.tokens[Role.VIEWER]}"
    async with connect(ws_url) as ws:
        await ws.recv()
        await harness.bus.publish(topics.tracks(), TrackList(time=now, tracks=(track,)))
        cell = CoverageCell(cell_id="c0", lat_deg=BASE[0], lon_deg=BASE[1], last_imaged=now)
        await harness.bus.publish(
            topics.coverage(), CoverageLayer(time=now, cell_size_m=100, cells=(cell,))
        )
        seen: dict[str, Any] = {}
        async with asyncio.timeout(10):
            while "tracks" not in seen or "coverage" not in seen:
                seen.update(json.loads(await ws.recv()))
    assert seen["tracks"]["all"]["tracks"][0]["track_id"] == "t-1"
    assert seen["coverage"]["all"]["cells"][0]["cell_id"] == "c0"
    api = await harness.http.get("/api/tracks", headers=harness.auth(Role.VIEWER))
    assert api.json()["tracks"][0]["class_name"] == "car"


async def test_alerts_for_low_battery_link_loss_and_failsafe(harness: Harness) -> None:
    viewer = harness.auth(Role.VIEWER)
    await harness.bus.publish(
        topics.vehicle_state("drone-3"), state("drone-3", *BASE, battery_pct=12.0)
    )
    event = VehicleEvent(
        vehicle_id="drone-3",
        time=datetime.now(UTC),
        kind=VehicleEventKind.FAILSAFE,
        detail="battery failsafe: RTL",
    )
    await harness.bus.publish(topics.vehicle_event("drone-3"), event)

    async def two_alerts() -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = (
            await harness.http.get("/api/alerts", headers=viewer)
        ).json()
        return alerts if len(alerts) == 2 else []

    alerts = await harness.until(two_alerts, "alerts never raised")
    assert {a["kind"] for a in alerts} == {"low_battery", "failsafe"}
    failsafe = next(a for a in alerts if a["kind"] == "failsafe")
    assert "battery failsafe" in failsafe["text"]
    acked = await harness.http.post(f"/api/alerts/{failsafe['alert_id']}/ack", headers=viewer)
    assert acked.status_code == 200
    again = await harness.http.post(f"/api/alerts/{failsafe['alert_id']}/ack", headers=viewer)
    assert again.status_code == 404
    lost = LinkQuality(connected=False, last_heard_age_s=6.0)
    await harness.bus.publish(
        topics.vehicle_state("drone-3"), state("drone-3", *BASE, battery_pct=90.0, link=lost)
    )

    async def link_alert_only() -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = (
            await harness.http.get("/api/alerts", headers=viewer)
        ).json()
        return alerts if [a["kind"] for a in alerts] == ["link_lost"] else []

    await harness.until(link_alert_only, "the link alert never replaced the battery alert")


async def test_feeds_hand_out_whep_urls_and_the_view_token(harness: Harness) -> None:
    await harness.bus.publish(topics.vehicle_state("drone-4"), state("drone-4", *BASE))
    await harness.vehicle_known("drone-4")
    feeds = (await harness.http.get("/api/feeds", headers=harness.auth(Role.VIEWER))).json()
    assert feeds == [{"vehicle_id": "drone-4", "whep_url": "/whep/drone-4", "token": "view-token"}]


# ----------------------------------------------------------------- incidents and dispatch


async def test_commander_raises_an_incident_and_the_nearest_drone_is_sent(
    harness: Harness,
) -> None:
    await harness.bus.publish(topics.vehicle_state("near"), state("near", BASE[0] + 0.01, BASE[1]))
    await harness.bus.publish(topics.vehicle_state("far"), state("far", BASE[0] + 0.2, BASE[1]))
    await harness.vehicle_known("near")
    await harness.vehicle_known("far")
    commander = harness.auth(Role.COMMANDER)
    async with harness.bus.subscribe(topics.incident("+")) as incidents:
        raised = await harness.http.post(
            "/api/incidents",
            json={"lat_deg": BASE[0], "lon_deg": BASE[1], "category": "burglary", "priority": 3},
            headers=commander,
        )
        assert raised.status_code == 201, raised.text
        outcome = raised.json()
        assert outcome["dispatch"]["vehicle_id"] == "near"
        assert outcome["incident"]["status"] == "dispatched"
        async with asyncio.timeout(10):
            published: list[Incident] = [(await incidents.get()).payload for _ in range(2)]
    assert [i.status.value for i in published] == ["open", "dispatched"]
    missions = (await harness.http.get("/api/missions", headers=commander)).json()
    assert [(m["vehicle_id"], m["state"]) for m in missions] == [("near", "en_route")]
    incident_id = outcome["incident"]["incident_id"]
    again = await harness.http.post(f"/api/incidents/{incident_id}/dispatch", headers=commander)
    assert again.json()["dispatch"]["vehicle_id"] == "far"
    for bad in (
        {"lat_deg": 95, "lon_deg": 1, "category": "x"},
        {"lat_deg": 1, "lon_deg": 1, "category": ""},
        {"lat_deg": 1, "lon_deg": 1, "category": "x", "priority": 9},
        {"lat_deg": "north", "lon_deg": 1, "category": "x"},
    ):
        response = await harness.http.post("/api/incidents", json=bad, headers=commander)
        assert response.status_code == 422, bad
    unknown = await harness.http.post("/api/incidents/inc-none/dispatch", headers=commander)
    assert unknown.status_code == 404
    audit = (await harness.http.get("/api/audit", headers=harness.auth(Role.ADMIN))).json()
    actions = [(e["action"], e["result"]) for e in audit if e["actor"] == "commander:commander"]
    assert actions == [
        ("log_in", "ok"),
        ("raise_incident", "ok"),
        ("dispatch", "ok"),
        ("dispatch", "ok"),
    ]


# ----------------------------------------------------------------- pilot's mission console


async def test_pilot_previews_approves_launches_and_aborts_with_confirmation(
    harness: Harness,
) -> None:
    await harness.bus.publish(topics.vehicle_state("drone-5"), state("drone-5", *BASE))
    await harness.vehicle_known("drone-5")
    pilot = harness.auth(Role.PILOT)
    assert (await harness.http.get("/api/planners", headers=pilot)).json() == [
        "route",
        "perimeter",
    ]
    area = [[BASE[0] + 0.01, BASE[1]], [BASE[0] + 0.02, BASE[1]], [BASE[0] + 0.02, BASE[1] + 0.01]]
    request = {"planner": "perimeter", "vehicle_id": "drone-5", "geometry_type": "area"}
    preview = await harness.http.post(
        "/api/plans/preview", json={**request, "points": area}, headers=pilot
    )
    assert preview.status_code == 200, preview.text
    plan = preview.json()
    assert plan["feasible"] is True
    assert plan["distance_m"] > 2000
    assert plan["duration_s"] == pytest.approx(plan["distance_m"] / 15.0)
    created = await harness.http.post(
        "/api/missions", json={"preview_id": plan["preview_id"]}, headers=pilot
    )
    assert created.status_code == 201
    mission_id = created.json()["mission_id"]
    assert created.json()["state"] == "planned"
    path = await harness.http.get(f"/api/missions/{mission_id}/path", headers=pilot)
    assert path.json() == plan["path"]
    assert len(path.json()) == len(area) + 3  # from the drone, round the area, back
    unknown_path = await harness.http.get("/api/missions/m-none/path", headers=pilot)
    assert unknown_path.status_code == 404
    reused = await harness.http.post(
        "/api/missions", json={"preview_id": plan["preview_id"]}, headers=pilot
    )
    assert reused.status_code == 404

    async def command(action: str, confirm: bool) -> httpx.Response:
        return await harness.http.post(
            f"/api/missions/{mission_id}/{action}", json={"confirm": confirm}, headers=pilot
        )

    early = await command("launch", True)
    assert early.status_code == 409
    assert "launch is allowed from approved" in early.json()["detail"]
    assert (await command("approve", False)).json()["state"] == "approved"
    unconfirmed = await command("launch", False)
    assert unconfirmed.status_code == 409
    assert "confirm" in unconfirmed.json()["detail"]
    assert (await command("launch", True)).json()["state"] == "en_route"
    assert (await command("abort", True)).json()["state"] == "aborted"
    assert (await command("explode", True)).status_code == 422
    assert (await command("rtl", True)).status_code == 409
    audit = (await harness.http.get("/api/audit", headers=harness.auth(Role.ADMIN))).json()
    pilot_actions = [(e["action"], e["result"]) for e in audit if e["actor"] == "pilot:pilot"]
    assert pilot_actions[1:] == [
        ("preview_plan", "ok"),
        ("create_mission", "ok"),
        ("launch", "refused"),
        ("approve", "ok"),
        ("launch", "refused"),
        ("launch", "ok"),
        ("abort", "ok"),
        ("rtl", "refused"),
    ]


async def test_bad_plans_are_refused_before_anything_is_created(harness: Harness) -> None:
    await harness.bus.publish(topics.vehicle_state("drone-6"), state("drone-6", *BASE))
    await harness.vehicle_known("drone-6")
    pilot = harness.auth(Role.PILOT)
    request = {"planner": "route", "vehicle_id": "drone-6", "geometry_type": "route"}
    bowtie = [[47.0, 8.0], [47.1, 8.1], [47.1, 8.0], [47.0, 8.1]]
    for bad in (
        {**request, "points": [[47.0, 8.0]]},
        {**request, "geometry_type": "area", "points": bowtie},
        {**request, "points": [[47.0, 8.0], [147.0, 8.0]]},
        {**request, "alt_rel_m": 500, "points": [[47.0, 8.0], [47.1, 8.0]]},
    ):
        response = await harness.http.post("/api/plans/preview", json=bad, headers=pilot)
        assert response.status_code == 422, bad
    unknown = await harness.http.post(
        "/api/plans/preview",
        json={**request, "planner": "spiral", "points": [[47.0, 8.0], [47.1, 8.0]]},
        headers=pilot,
    )
    assert unknown.status_code == 404
    far = await harness.http.post(
        "/api/plans/preview",
        json={**request, "points": [[BASE[0], BASE[1]], [48.0, 8.5]]},
        headers=pilot,
    )
    assert far.json()["feasible"] is False
    assert any("beyond 50 km" in r for r in far.json()["reasons"])
    refused = await harness.http.post(
        "/api/missions", json={"preview_id": far.json()["preview_id"]}, headers=pilot
    )
    assert refused.status_code == 409
    assert (await harness.http.get("/api/missions", headers=pilot)).json() == []


async def test_without_a_controller_commands_answer_503(mqtt_url: str, tmp_path: Path) -> None:
    async with Bus(BusSettings(url=mqtt_url)) as bus:
        app = create_app(
            settings_for(tmp_path),
            bus=bus,
            clock=WallClock(),
            initial_users=[("pilot", password(Role.PILOT), Role.PILOT)],
        )
        async with ConsoleServer(app) as server, httpx.AsyncClient(base_url=server.url) as http:
            login = await http.post(
                "/api/auth/token", json={"username": "pilot", "password": password(Role.PILOT)}
            )
            pilot = {"Authorization": f"Bearer {login.json()['access_token']}"}
            response = await http.post(
                "/api/missions/m-1/abort", json={"confirm": True}, headers=pilot
            )
            assert response.status_code == 503
            assert "no mission controller" in response.json()["detail"]
            assert (await http.get("/api/planners", headers=pilot)).status_code == 503


async def test_tokens_expire_in_real_time_when_the_simulation_runs_faster(
    mqtt_url: str, tmp_path: Path
) -> None:
    clock = ScaledClock(10_000.0)
    async with Bus(BusSettings(url=mqtt_url), clock=clock) as bus:
        app = create_app(
            settings_for(tmp_path, token_ttl_s=60.0),
            bus=bus,
            clock=clock,
            initial_users=[("viewer", password(Role.VIEWER), Role.VIEWER)],
        )
        async with ConsoleServer(app) as server, httpx.AsyncClient(base_url=server.url) as http:
            login = await http.post(
                "/api/auth/token", json={"username": "viewer", "password": password(Role.VIEWER)}
            )
            viewer = {"Authorization": f"Bearer {login.json()['access_token']}"}
            await asyncio.sleep(0.05)  # 500 simulated seconds: far past a simulated 60 s
            assert (await http.get("/api/vehicles", headers=viewer)).status_code == 200


async def test_ground_reports_go_to_the_bus_for_fusion(harness: Harness) -> None:
    commander = harness.auth(Role.COMMANDER)
    body = {
        "source": "emergency_line",
        "category": "robbery",
        "text": "two men ran towards the station",
        "lat_deg": BASE[0],
        "lon_deg": BASE[1],
        "priority": 3,
    }
    async with harness.bus.subscribe(topics.reports()) as reports:
        filed = await harness.http.post("/api/reports", json=body, headers=commander)
        assert filed.status_code == 202
        async with asyncio.timeout(10):
            received = (await reports.get()).payload
    assert received.report_id == filed.json()["report_id"]
    assert (received.source.value, received.category) == ("emergency_line", "robbery")
    for bad in (
        {**body, "source": "twitter"},
        {**body, "lon_deg": 200},
        {**body, "text": "x" * 2001},
    ):
        response = await harness.http.post("/api/reports", json=bad, headers=commander)
        assert response.status_code == 422, bad
    refused = await harness.http.post("/api/reports", json=body, headers=harness.auth(Role.PILOT))
    assert refused.status_code == 403


async def test_repeated_wrong_passwords_lock_the_user_name_out(harness: Harness) -> None:
    wrong = {"username": "pilot", "password": "guess"}
    for _ in range(5):
        response = await harness.http.post("/api/auth/token", json=wrong)
        assert response.json()["detail"] == "unknown user or wrong password"
    right = {"username": "pilot", "password": password(Role.PILOT)}
    locked = await harness.http.post("/api/auth/token", json=right)
    assert locked.status_code == 401
    assert "too many failed log-ins for 'pilot'" in locked.json()["detail"]
    other = {"username": "viewer", "password": password(Role.VIEWER)}
    assert (await harness.http.post("/api/auth/token", json=other)).status_code == 200
