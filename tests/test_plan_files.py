"""QGC .plan, WPL 110, GeoJSON and KML: round trips, files from other tools, bad input."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from shapely.geometry import box

from missions.geo import Base, OperatingArea, ZoneKind
from missions.planfiles import read_mission, read_zones, write_mission
from missions.planning import (
    PROFILES,
    TARGETS,
    CoverageOptions,
    Plan,
    PlanFileError,
    Rule,
    check_items,
    plan_coverage_local,
)
from missions.planning.patterns import plan_orbit

AREA = OperatingArea(Base.at("hq", 52.0, 5.0))


def _plan() -> Plan:
    return plan_coverage_local(
        AREA,
        box(300, 300, 1200, 900),
        profile=PROFILES["quad"],
        options=CoverageOptions(target=TARGETS["car"]),
    )


@pytest.mark.parametrize("suffix", [".plan", ".waypoints"])
def test_a_skyeye_plan_round_trips_through_qgc_and_mission_planner_files(
    tmp_path: Path, suffix: str
) -> None:
    plan = _plan()
    path = tmp_path / f"survey{suffix}"
    write_mission(path, plan)
    back = read_mission(path)
    assert back.items == plan.items
    assert (back.home.lat_deg, back.home.lon_deg) == (52.0, 5.0)
    assert check_items(AREA, PROFILES["quad"], back.items).ok


def test_plan_file_has_what_qgc_expects(tmp_path: Path) -> None:
    path = tmp_path / "orbit.plan"
    lat, lon = AREA.frame.to_geo(800.0, 400.0)
    write_mission(
        path, plan_orbit(AREA, float(lat), float(lon), profile=PROFILES["quad"], time_s=300)
    )
    doc = json.loads(path.read_text())
    assert doc["fileType"] == "Plan"
    assert doc["groundStation"] == "QGroundControl"
    mission = doc["mission"]
    assert mission["plannedHomePosition"] == [52.0, 5.0, 0.0]
    assert [i["doJumpId"] for i in mission["items"]] == list(range(1, len(mission["items"]) + 1))
    loiter = next(i for i in mission["items"] if i["command"] == mavlink.MAV_CMD_NAV_LOITER_TURNS)
    assert loiter["frame"] == mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT
    assert loiter["params"][0] == 5.0  # whole 80 m turns at 8 m/s lasting 5 minutes
    assert loiter["params"][4:6] == pytest.approx([float(lat), float(lon)], abs=1e-7)


QGC_SURVEY: dict[str, Any] = {
    "fileType": "Plan",
    "geoFence": {
        "circles": [],
        "polygons": [
            {
                "inclusion": False,
                "polygon": [[52.005, 5.005], [52.005, 5.006], [52.006, 5.006]],
                "version": 1,
            }
        ],
        "version": 2,
    },
    "groundStation": "QGroundControl",
    "mission": {
        "cruiseSpeed": 15,
        "firmwareType": 3,
        "hoverSpeed": 5,
        "items": [
            {
                "autoContinue": True,
                "command": 22,
                "doJumpId": 1,
                "frame": 3,
                "params": [0, 0, 0, None, 0, 0, 50],
                "type": "SimpleItem",
            },
            {
                "type": "ComplexItem",
                "complexItemType": "survey",
                "TransectStyleComplexItem": {
                    "Items": [
                        {
                            "autoContinue": True,
                            "command": 16,
                            "doJumpId": 2,
                            "frame": 3,
                            "params": [0, 0, 0, None, 52.001, 5.001, 50],
                            "type": "SimpleItem",
                        },
                        {
                            "autoContinue": True,
                            "command": 16,
                            "doJumpId": 3,
                            "frame": 3,
                            "params": [0, 0, 0, None, 52.001, 5.004, 50],
                            "type": "SimpleItem",
                        },
                    ]
                },
            },
            {
                "autoContinue": True,
                "command": 177,
                "doJumpId": 4,
                "frame": 2,
                "params": [2, 3, 0, 0, 0, 0, 0],
                "type": "SimpleItem",
            },
            {
                "autoContinue": True,
                "command": 20,
                "doJumpId": 5,
                "frame": 2,
                "params": [0, 0, 0, 0, 0, 0, 0],
                "type": "SimpleItem",
            },
        ],
        "plannedHomePosition": [52.0, 5.0, 12.5],
        "vehicleType": 2,
        "version": 2,
    },
    "rallyPoints": {"points": [], "version": 2},
    "version": 1,
}


def test_a_plan_made_in_qgc_is_read_with_its_survey_and_fence_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "qgc.plan"
    path.write_text(json.dumps(QGC_SURVEY))
    mission = read_mission(path)
    commands = [i.command for i in mission.items]
    assert commands == [22, 16, 16, 177, 20]
    assert mission.items[1].frame == mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT
    assert mission.items[3].param1 == 1.0  # DO_JUMP to doJumpId 2 is plan index 1
    assert mission.home_alt_m == 12.5
    assert [z.kind for z in mission.fence_zones] == [ZoneKind.NO_FLY]
    area = OperatingArea(AREA.base, zones=mission.fence_zones)
    assert check_items(area, PROFILES["quad"], mission.items).ok
    high = [replace(i, z=150.0) if i.command == 16 else i for i in mission.items]
    report = check_items(area, PROFILES["quad"], high)
    assert report.rules() == {Rule.CEILING}


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ("{not json", "line 1"),
        (json.dumps({"fileType": "Mission"}), "fileType"),
        (
            json.dumps(
                {
                    **QGC_SURVEY,
                    "mission": {**QGC_SURVEY["mission"], "plannedHomePosition": [95, 5, 0]},
                }
            ),
            "plannedHomePosition",
        ),
        (
            json.dumps(
                {
                    **QGC_SURVEY,
                    "mission": {
                        **QGC_SURVEY["mission"],
                        "items": [
                            {"type": "SimpleItem", "command": 9999, "frame": 3, "params": [0] * 7}
                        ],
                    },
                }
            ),
            "mission item 1",
        ),
    ],
)
def test_bad_plan_files_name_the_place(tmp_path: Path, content: str, where: str) -> None:
    path = tmp_path / "bad.plan"
    path.write_text(content)
    with pytest.raises(PlanFileError) as info:
        read_mission(path)
    assert info.value.where == where


def test_bad_wpl_is_refused_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.waypoints"
    path.write_text("QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t52\t5\t0\t1\n1\t0\t3\t16\t0\t0\n")
    with pytest.raises(PlanFileError, match="line 3: expected 12 columns"):
        read_mission(path)


def test_zones_from_geojson_and_kml(tmp_path: Path) -> None:
    geojson = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "prison"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[5.01, 52.01], [5.02, 52.01], [5.02, 52.02], [5.01, 52.01]]],
                },
            },
            {
                "type": "Feature",
                "properties": {"name": "airport", "kind": "ceiling", "ceiling_m": 45},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[5.1, 52.1], [5.2, 52.1], [5.2, 52.2], [5.1, 52.1]]],
                },
            },
            {
                "type": "Feature",
                "properties": {"name": "a road"},
                "geometry": {"type": "LineString", "coordinates": [[5.0, 52.0], [5.1, 52.1]]},
            },
        ],
    }
    (tmp_path / "z.geojson").write_text(json.dumps(geojson))
    zones = read_zones(tmp_path / "z.geojson")
    assert [(z.name, z.kind, z.ceiling_agl_m) for z in zones] == [
        ("prison", ZoneKind.NO_FLY, None),
        ("airport", ZoneKind.CEILING, 45.0),
    ]
    kml = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
 <Placemark><name>stadium</name>
  <ExtendedData><Data name="kind"><value>ceiling</value></Data>
   <Data name="ceiling_m"><value>60</value></Data></ExtendedData>
  <Polygon><outerBoundaryIs><LinearRing><coordinates>
   5.01,52.01,0 5.02,52.01,0 5.02,52.02,0 5.01,52.01,0
  </coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
 <Placemark><name>base camp</name>
  <Polygon><outerBoundaryIs><LinearRing>
   <coordinates>5.0,52.1 5.1,52.1 5.1,52.2 5.0,52.1</coordinates>
  </LinearRing></outerBoundaryIs></Polygon></Placemark>
</Document></kml>"""
    (tmp_path / "z.kml").write_text(kml)
    zones = read_zones(tmp_path / "z.kml")
    assert [(z.name, z.kind, z.ceiling_agl_m) for z in zones] == [
        ("stadium", ZoneKind.CEILING, 60.0),
        ("base camp", ZoneKind.NO_FLY, None),
    ]
    (tmp_path / "bad.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "bow", "kind": "maybe"},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [[[5, 52], [5.1, 52], [5.1, 52.1], [5, 52]]],
                        },
                    }
                ],
            }
        )
    )
    with pytest.raises(PlanFileError, match="bow: kind must be"):
        read_zones(tmp_path / "bad.geojson")
    (tmp_path / "bad.kml").write_text("<kml><Placemark>")
    with pytest.raises(PlanFileError, match="not valid XML"):
        read_zones(tmp_path / "bad.kml")
