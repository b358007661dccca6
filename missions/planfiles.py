"""Plan and zone files: QGroundControl ``.plan``, Mission Planner WPL 110, GeoJSON and KML.

Everything here reads or writes text; nothing else in :mod:`missions` touches files. Readers
raise :class:`~missions.planning.PlanFileError` naming the file, the item and the reason.
Item ``seq`` is the plan index (0 = first item after home); on the wire and in these files the
home position comes first, so file indices and DO_JUMP targets are ``seq + 1``.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink
from shapely.geometry import Polygon, shape

from missions.geo import GeoPoint, InvalidGeometryError, Zone, ZoneKind
from missions.planning import InvalidRequestError, MissionItem, Plan, PlanFileError

__all__ = [
    "MissionFile",
    "from_qgc_plan",
    "from_wpl",
    "read_mission",
    "read_polygons",
    "read_zones",
    "to_qgc_plan",
    "to_wpl",
    "write_mission",
]

MAX_FILE_BYTES = 20 * 1024 * 1024
# QGC .plan files store the float frames; the wire uses the _INT ones
_TO_FLOAT_FRAME = {
    mavlink.MAV_FRAME_GLOBAL_INT: mavlink.MAV_FRAME_GLOBAL,
    mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT: mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT,
    mavlink.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT: mavlink.MAV_FRAME_GLOBAL_TERRAIN_ALT,
}
_TO_INT_FRAME = {v: k for k, v in _TO_FLOAT_FRAME.items()}
_ALT_MODE = {  # QGC AltitudeMode per float frame
    mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT: 1,
    mavlink.MAV_FRAME_GLOBAL: 2,
    mavlink.MAV_FRAME_GLOBAL_TERRAIN_ALT: 3,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class MissionFile:
    """A mission read from a file: home, items, and no-fly polygons from its geofence."""

    home: GeoPoint
    home_alt_m: float
    items: tuple[MissionItem, ...]
    fence_zones: tuple[Zone, ...] = ()


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PlanFileError(str(path), "file", f"cannot be read ({exc.strerror})") from exc
    if size > MAX_FILE_BYTES:
        raise PlanFileError(str(path), "file", f"is {size} bytes, over {MAX_FILE_BYTES}")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanFileError(str(path), "file", f"cannot be read as UTF-8 text ({exc})") from exc


def _jump_out(item: MissionItem) -> float:
    return item.param1 + 1 if item.command == mavlink.MAV_CMD_DO_JUMP else item.param1


def _param(value: float) -> float | None:
    return None if math.isnan(value) else value


# ---------------------------------------------------------------- QGroundControl .plan


def to_qgc_plan(
    items: Sequence[MissionItem],
    home: GeoPoint,
    *,
    home_alt_m: float = 0.0,
    cruise_speed_m_s: float = 15.0,
    hover_speed_m_s: float = 5.0,
    fence_zones: Sequence[Zone] = (),
) -> dict[str, Any]:
    """A QGroundControl plan document (ArduPilot multirotor) for the items."""
    qgc_items = []
    for item in items:
        frame = _TO_FLOAT_FRAME.get(item.frame, item.frame)
        qgc_items.append(
            {
                "AMSLAltAboveTerrain": None,
                "Altitude": item.z,
                "AltitudeMode": _ALT_MODE.get(frame, 1),
                "autoContinue": item.autocontinue,
                "command": item.command,
                "doJumpId": item.seq + 1,
                "frame": frame,
                "params": [
                    _param(_jump_out(item)),
                    _param(item.param2),
                    _param(item.param3),
                    _param(item.param4),
                    item.lat_deg,
                    item.lon_deg,
                    item.z,
                ],
                "type": "SimpleItem",
            }
        )
    polygons = [
        {
            "inclusion": False,
            "polygon": [[lat, lon] for lon, lat in z.polygon.exterior.coords[:-1]],
            "version": 1,
        }
        for z in fence_zones
        if z.kind is ZoneKind.NO_FLY
    ]
    return {
        "fileType": "Plan",
        "geoFence": {"circles": [], "polygons": polygons, "version": 2},
        "groundStation": "QGroundControl",
        "mission": {
            "cruiseSpeed": cruise_speed_m_s,
            "firmwareType": mavlink.MAV_AUTOPILOT_ARDUPILOTMEGA,
            "globalPlanAltitudeMode": 1,
            "hoverSpeed": hover_speed_m_s,
            "items": qgc_items,
            "plannedHomePosition": [home.lat_deg, home.lon_deg, home_alt_m],
            "vehicleType": mavlink.MAV_TYPE_QUADROTOR,
            "version": 2,
        },
        "rallyPoints": {"points": [], "version": 2},
        "version": 1,
    }


def _flatten(raw: list[Any], source: str) -> list[dict[str, Any]]:
    """Simple items, with QGC's complex items (survey, corridor…) replaced by their own."""
    out: list[dict[str, Any]] = []
    for n, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise PlanFileError(source, f"mission item {n}", "is not an object")
        kind = entry.get("type")
        if kind == "SimpleItem":
            out.append(entry)
            continue
        inner = entry.get("TransectStyleComplexItem", {}).get("Items")
        if kind == "ComplexItem" and isinstance(inner, list):
            out.extend(_flatten(inner, source))
            continue
        raise PlanFileError(
            source,
            f"mission item {n}",
            f"{kind} {entry.get('complexItemType', '')} is not supported",
        )
    return out


def from_qgc_plan(document: dict[str, Any], source: str = "plan") -> MissionFile:
    """Home and items of a QGroundControl plan document."""
    if document.get("fileType") != "Plan":
        raise PlanFileError(
            source, "fileType", f"expected 'Plan', got {document.get('fileType')!r}"
        )
    mission = document.get("mission")
    if not isinstance(mission, dict):
        raise PlanFileError(source, "mission", "missing")
    home_raw = mission.get("plannedHomePosition")
    if not (isinstance(home_raw, list) and len(home_raw) == 3):
        raise PlanFileError(source, "plannedHomePosition", "expected [lat, lon, alt]")
    try:
        home = GeoPoint(float(home_raw[0]), float(home_raw[1]))
    except (TypeError, ValueError, InvalidGeometryError) as exc:
        raise PlanFileError(source, "plannedHomePosition", str(exc)) from exc
    items = []
    for seq, entry in enumerate(_flatten(mission.get("items", []), source)):
        where = f"mission item {seq + 1}"
        params = entry.get("params")
        if not (isinstance(params, list) and len(params) == 7):
            raise PlanFileError(source, where, "params must be a list of 7 numbers or null")
        try:
            p = [0.0 if v is None else float(v) for v in params]  # QGC: null = unused
            command = int(entry["command"])
            frame = _TO_INT_FRAME.get(int(entry["frame"]), int(entry["frame"]))
            if command == mavlink.MAV_CMD_DO_JUMP:
                p[0] -= 1
            items.append(
                MissionItem(
                    seq=seq,
                    command=command,
                    frame=frame,
                    param1=p[0],
                    param2=p[1],
                    param3=p[2],
                    param4=p[3],
                    x=round(p[4] * 1e7),
                    y=round(p[5] * 1e7),
                    z=p[6],
                    autocontinue=bool(entry.get("autoContinue", True)),
                )
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise PlanFileError(source, where, str(exc)) from exc
    zones = []
    fence = document.get("geoFence", {})
    for n, poly in enumerate(fence.get("polygons", []) if isinstance(fence, dict) else []):
        if isinstance(poly, dict) and poly.get("inclusion") is False:
            try:
                zones.append(
                    Zone.no_fly(
                        f"fence-{n + 1}", [(float(a), float(b)) for a, b in poly["polygon"]]
                    )
                )
            except (KeyError, TypeError, ValueError, InvalidGeometryError) as exc:
                raise PlanFileError(source, f"geoFence polygon {n + 1}", str(exc)) from exc
    return MissionFile(
        home=home,
        home_alt_m=float(home_raw[2] or 0.0),
        items=tuple(items),
        fence_zones=tuple(zones),
    )


# ---------------------------------------------------------------- WPL 110


def to_wpl(items: Sequence[MissionItem], home: GeoPoint, *, home_alt_m: float = 0.0) -> str:
    """Mission Planner's ``QGC WPL 110`` text: home at index 0, then the items."""
    lines = ["QGC WPL 110"]
    home_row = [0, 1, mavlink.MAV_FRAME_GLOBAL, mavlink.MAV_CMD_NAV_WAYPOINT, 0, 0, 0, 0]
    lines.append(
        "\t".join(map(str, home_row))
        + f"\t{home.lat_deg:.8f}\t{home.lon_deg:.8f}\t{home_alt_m:.6f}\t1"
    )
    for item in items:
        frame = _TO_FLOAT_FRAME.get(item.frame, item.frame)
        params = [_jump_out(item), item.param2, item.param3, item.param4]
        cells = [str(item.seq + 1), "0", str(frame), str(item.command)]
        cells += [f"{v:.8f}" for v in params]
        cells += [
            f"{item.lat_deg:.8f}",
            f"{item.lon_deg:.8f}",
            f"{item.z:.6f}",
            str(int(item.autocontinue)),
        ]
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def from_wpl(text: str, source: str = "wpl") -> MissionFile:
    rows = [r for r in text.splitlines() if r.strip()]
    if not rows or not rows[0].startswith("QGC WPL 110"):
        raise PlanFileError(source, "line 1", "expected the header 'QGC WPL 110'")
    if len(rows) < 2:
        raise PlanFileError(source, "line 2", "no home row")
    parsed: list[list[float]] = []
    for n, row in enumerate(rows[1:], start=2):
        cells = row.split()
        if len(cells) != 12:
            raise PlanFileError(source, f"line {n}", f"expected 12 columns, got {len(cells)}")
        try:
            parsed.append([float(c) for c in cells])
        except ValueError as exc:
            raise PlanFileError(source, f"line {n}", str(exc)) from exc
    home_row = parsed[0]
    try:
        home = GeoPoint(home_row[8], home_row[9])
    except InvalidGeometryError as exc:
        raise PlanFileError(source, "line 2 (home)", str(exc)) from exc
    items = []
    for seq, r in enumerate(parsed[1:]):
        try:
            command = int(r[3])
            p1 = r[4] - 1 if command == mavlink.MAV_CMD_DO_JUMP else r[4]
            frame = _TO_INT_FRAME.get(int(r[2]), int(r[2]))
            items.append(
                MissionItem(
                    seq=seq,
                    command=command,
                    frame=frame,
                    param1=p1,
                    param2=r[5],
                    param3=r[6],
                    param4=r[7],
                    x=round(r[8] * 1e7),
                    y=round(r[9] * 1e7),
                    z=r[10],
                    autocontinue=bool(r[11]),
                )
            )
        except InvalidRequestError as exc:
            raise PlanFileError(source, f"line {seq + 3}", str(exc)) from exc
    return MissionFile(home=home, home_alt_m=home_row[10], items=tuple(items))


# ---------------------------------------------------------------- by file name


def write_mission(path: Path, plan: Plan, *, sortie: int = 0) -> None:
    """Write a plan by extension: ``.plan`` (QGC), ``.waypoints``/``.txt`` (WPL 110) — one
    sortie's items — or ``.geojson``/``.json`` (every sortie, for the map)."""
    suffix = path.suffix.lower()
    area = plan.area
    home = area.base.position
    if suffix in (".geojson", ".json"):
        text = json.dumps(plan.geojson(), indent=1)
    elif suffix == ".plan":
        items = plan.sorties[sortie].items
        doc = to_qgc_plan(
            items,
            home,
            home_alt_m=area.home_elevation_m,
            fence_zones=area.zones,
        )
        text = json.dumps(doc, indent=1)
    elif suffix in (".waypoints", ".txt"):
        text = to_wpl(plan.sorties[sortie].items, home, home_alt_m=area.home_elevation_m)
    else:
        raise PlanFileError(str(path), "file name", f"unknown extension {suffix!r}")
    path.write_text(text, encoding="utf-8")


def read_mission(path: Path) -> MissionFile:
    text = _read_text(path)
    if path.suffix.lower() == ".plan":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PlanFileError(str(path), f"line {exc.lineno}", exc.msg) from exc
        if not isinstance(doc, dict):
            raise PlanFileError(str(path), "document", "is not a JSON object")
        return from_qgc_plan(doc, str(path))
    return from_wpl(text, str(path))


# ---------------------------------------------------------------- zones and areas


def _zone(name: str, props: dict[str, Any], poly: Polygon, source: str) -> Zone:
    kind_raw = str(props.get("kind", "no_fly")).lower().replace("-", "_")
    try:
        kind = ZoneKind(kind_raw)
    except ValueError as exc:
        raise PlanFileError(
            source, name, f"kind must be 'no_fly' or 'ceiling', got {kind_raw!r}"
        ) from exc
    ceiling = props.get("ceiling_m")
    try:
        return Zone(
            name=name,
            kind=kind,
            polygon=poly,
            ceiling_agl_m=float(ceiling)
            if ceiling is not None and kind is ZoneKind.CEILING
            else None,
        )
    except (InvalidGeometryError, ValueError) as exc:
        raise PlanFileError(source, name, str(exc)) from exc


def _geojson_polygons(text: str, source: str) -> list[tuple[str, dict[str, Any], Polygon]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanFileError(source, f"line {exc.lineno}", exc.msg) from exc
    features = doc.get("features") if isinstance(doc, dict) else None
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    if not isinstance(features, list):
        raise PlanFileError(source, "document", "expected a FeatureCollection or Feature")
    out = []
    for n, feature in enumerate(features, start=1):
        props = feature.get("properties") or {}
        name = str(props.get("name", f"feature {n}"))
        try:
            geom = shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PlanFileError(source, name, f"geometry cannot be read ({exc})") from exc
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        parts = list(getattr(geom, "geoms", [geom]))
        for k, poly in enumerate(parts):
            label = name if len(parts) == 1 else f"{name}#{k + 1}"
            if not poly.is_valid:
                raise PlanFileError(source, label, "polygon is not valid (self-intersecting?)")
            out.append((label, props, poly))
    return out


def _kml_polygons(text: str, source: str) -> list[tuple[str, dict[str, Any], Polygon]]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise PlanFileError(source, f"line {exc.position[0]}", f"not valid XML ({exc})") from exc

    def ring(el: ET.Element | None, name: str) -> list[tuple[float, float]]:
        coords = el.find(".//{*}coordinates") if el is not None else None
        raw = (coords.text or "") if coords is not None else ""
        if not raw.strip():
            raise PlanFileError(source, name, "polygon without coordinates")
        try:
            return [(float(c.split(",")[0]), float(c.split(",")[1])) for c in raw.split()]
        except (IndexError, ValueError) as exc:
            raise PlanFileError(source, name, f"bad coordinates ({exc})") from exc

    out = []
    for n, mark in enumerate(root.findall(".//{*}Placemark"), start=1):
        name_el = mark.find("{*}name")
        name = (
            (name_el.text or "").strip()
            if name_el is not None and name_el.text
            else f"placemark {n}"
        )
        props: dict[str, Any] = {}
        for data in mark.findall(".//{*}Data"):
            value = data.find("{*}value")
            props[data.get("name", "")] = value.text if value is not None else None
        for data in mark.findall(".//{*}SimpleData"):
            props[data.get("name", "")] = data.text
        polys = mark.findall(".//{*}Polygon")
        for k, pel in enumerate(polys):
            label = name if len(polys) == 1 else f"{name}#{k + 1}"
            outer = ring(pel.find("{*}outerBoundaryIs"), label)
            holes = [ring(h, label) for h in pel.findall("{*}innerBoundaryIs")]
            poly = Polygon(outer, holes)
            if not poly.is_valid or poly.area <= 0:
                raise PlanFileError(source, label, "polygon is not valid (self-intersecting?)")
            out.append((label, props, poly))
    return out


def read_polygons(path: Path) -> list[tuple[str, dict[str, Any], Polygon]]:
    """(name, properties, lon/lat polygon) of every polygon in a GeoJSON or KML file."""
    text = _read_text(path)
    if path.suffix.lower() == ".kml":
        found = _kml_polygons(text, str(path))
    else:
        found = _geojson_polygons(text, str(path))
    if not found:
        raise PlanFileError(str(path), "file", "contains no polygon")
    return found


def read_zones(path: Path) -> list[Zone]:
    """No-fly zones and ceilings from GeoJSON (``properties.kind`` / ``ceiling_m``) or KML
    (``ExtendedData`` with the same names); polygons default to no-fly."""
    return [_zone(name, props, poly, str(path)) for name, props, poly in read_polygons(path)]
