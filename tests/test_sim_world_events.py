"""Scripted incident reports come due at their time and place."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sim.world import TargetField, TargetsConfig, World, WorldConfig, WorldConfigError
from sim.world.events import ScriptedEvents, parse_events
from sim.world.truth import truth_step
from skyeye.contracts import Priority, ReportSource

START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _targets() -> TargetField:
    world = World(WorldConfig(origin=(52.0, 5.0)), seed=3)
    return TargetField(
        world,
        TargetsConfig.model_validate(
            {
                "density": {
                    "vehicles_per_road_km": 0,
                    "people_per_town_hectare": 0,
                    "boats_per_water_km2": 0,
                },
                "actors": [
                    {
                        "kind": "fleeing_vehicle",
                        "id": "suspect",
                        "route": [[52.0, 5.0], [52.0, 5.1]],
                        "speed_m_s": 20.0,
                    },
                ],
            }
        ),
    )


def test_reports_come_due_in_their_window_where_they_happen() -> None:
    events = parse_events(
        [
            {
                "kind": "incident_report",
                "id": "r1",
                "at_s": 90,
                "position": [52.01, 5.02],
                "category": "burglary",
                "text": "two men at a fence",
                "priority": "high",
            },
            {
                "kind": "incident_report",
                "id": "r2",
                "at_s": 100,
                "actor": "suspect",
                "category": "pursuit",
            },
        ]
    )
    script = ScriptedEvents(events, _targets(), START)
    assert script.due(0.0, 89.9) == []
    (r1,) = script.due(0.0, 90.0)
    assert (r1.report_id, r1.lat_deg, r1.lon_deg) == ("r1", 52.01, 5.02)
    assert r1.priority is Priority.HIGH
    assert r1.source is ReportSource.SIMULATION
    assert r1.time == datetime(2026, 5, 1, 12, 1, 30, tzinfo=UTC)
    (r2,) = script.due(90.0, 200.0)
    # 100 s at 20 m/s east of the route's start
    assert r2.lat_deg == pytest.approx(52.0, abs=1e-6)
    assert r2.lon_deg == pytest.approx(5.0 + 2000.0 / (111_412.0 * 0.6157), abs=2e-4)


def test_bad_events_are_refused_with_their_key() -> None:
    with pytest.raises(WorldConfigError, match=r"events\.0\.at_s"):
        parse_events(
            [
                {
                    "kind": "incident_report",
                    "id": "x",
                    "at_s": -1,
                    "category": "c",
                    "position": [52.0, 5.0],
                }
            ]
        )
    with pytest.raises(WorldConfigError, match="exactly one of position and actor"):
        parse_events([{"kind": "incident_report", "id": "x", "at_s": 1, "category": "c"}])
    events = parse_events(
        [{"kind": "incident_report", "id": "x", "at_s": 1, "category": "c", "actor": "ghost"}]
    )
    with pytest.raises(WorldConfigError, match="ghost"):
        ScriptedEvents(events, _targets(), START)


def test_truth_steps_list_every_target_once_where_it_is(tmp_path: Path) -> None:
    targets = _targets()
    with (tmp_path / "truth.jsonl").open("w") as out:
        for t in (0.0, 10.0):
            truth_step(targets, t, [(52.0, 5.0), (52.0, 5.0005)], 500.0, time=START, out=out)
    first, second = (
        json.loads(line) for line in (tmp_path / "truth.jsonl").read_text().splitlines()
    )
    assert [r["id"] for r in first["targets"]] == ["suspect"]
    assert first["time"] == "2026-05-01T12:00:00Z"
    assert first["targets"][0]["lon_deg"] == pytest.approx(5.0)
    assert second["targets"][0]["lon_deg"] > 5.0
    assert second["targets"][0]["speed_m_s"] == 20.0
