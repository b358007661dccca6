"""``skyeye plan …``: plan coverage, routes, orbits, searches, containment and overwatch from the
command line, write QGC/WPL/GeoJSON files and print a summary (``--png`` draws the plan)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from missions.geo import Base, GeoError, OperatingArea, Zone, polygon_from_lat_lon
from missions.planfiles import read_polygons, read_zones, write_mission
from missions.planning import (
    PROFILES,
    TARGETS,
    CoverageOptions,
    Plan,
    PlanningError,
    VehicleProfile,
    plan_coverage_local,
)
from missions.planning.division import Drone, plan_division
from missions.planning.overwatch import plan_relay
from missions.planning.patterns import (
    plan_containment,
    plan_expanding_square,
    plan_orbit,
    plan_route_patrol,
    plan_sector_search,
)

__all__ = ["plan_app"]

plan_app = typer.Typer(
    help="Plan missions within a base's radius and write them as QGC .plan, WPL or GeoJSON.",
    no_args_is_help=True,
)

BaseLat = Annotated[float, typer.Option("--base-lat", help="Base latitude (degrees).")]
BaseLon = Annotated[float, typer.Option("--base-lon", help="Base longitude (degrees).")]
RadiusKm = Annotated[float, typer.Option("--radius-km", help="Operating radius (km).")]
ZonesFile = Annotated[
    Path | None, typer.Option("--zones", help="No-fly / ceiling zones (GeoJSON or KML).")
]
ProfileName = Annotated[str, typer.Option("--profile", help=f"One of {sorted(PROFILES)}.")]
Out = Annotated[Path, typer.Option("--out", help="Output: .plan, .waypoints or .geojson.")]
Png = Annotated[Path | None, typer.Option("--png", help="Also draw the plan to this PNG.")]
Lat = Annotated[float, typer.Option("--lat", help="Latitude of the point (degrees).")]
Lon = Annotated[float, typer.Option("--lon", help="Longitude of the point (degrees).")]
Alt = Annotated[float, typer.Option("--alt", help="Altitude above ground (m).")]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"✗ {message}", err=True)
    return typer.Exit(code=1)


def _area(lat: float, lon: float, radius_km: float, zones: Path | None) -> OperatingArea:
    loaded: tuple[Zone, ...] = tuple(read_zones(zones)) if zones else ()
    return OperatingArea(Base.at("base", lat, lon, radius_m=radius_km * 1000.0), zones=loaded)


def _profile(name: str) -> VehicleProfile:
    if name not in PROFILES:
        raise _fail(f"unknown profile {name!r}: use one of {sorted(PROFILES)}")
    return PROFILES[name]


def _points(text: str, what: str) -> list[tuple[float, float]]:
    try:
        pts = [tuple(float(v) for v in p.split(",")) for p in text.split(";") if p.strip()]
    except ValueError:
        raise _fail(f"{what}: expected 'lat,lon;lat,lon;…', got {text!r}") from None
    if any(len(p) != 2 for p in pts):
        raise _fail(f"{what}: every point needs lat,lon")
    return [(p[0], p[1]) for p in pts]


def _emit(plans: list[Plan], out: Path, png: Path | None, extra: list[str] | None = None) -> None:
    for plan in plans:
        target = (
            out if len(plans) == 1 else out.with_name(f"{out.stem}-{plan.vehicle_id}{out.suffix}")
        )
        write_mission(target, plan)
        s = plan.summary()
        line = (
            f"✓ {target}: {s['kind']} {plan.vehicle_id or ''} {s['distance_km']} km, "
            f"{s['duration_min']} min, {s['sorties']} sortie(s), {s['items']} items"
        )
        if plan.coverage_rate_km2_h is not None:
            line += f", {plan.area_km2:.2f} km² at {plan.coverage_rate_km2_h:.1f} km²/h"
        typer.echo(line)
        for note in plan.notes:
            typer.echo(f"  {note}")
        if len(plan.sorties) > 1 and out.suffix in (".plan", ".waypoints", ".txt"):
            typer.echo(f"  file holds sortie 1 of {len(plan.sorties)}; GeoJSON shows all")
    for note in extra or []:
        typer.echo(f"  {note}")
    if png is not None:
        _draw(plans, png)
        typer.echo(f"✓ {png}")


def _guard(call: Callable[[], None]) -> None:
    """Turn planning and file errors into a one-line refusal with exit code 1."""
    try:
        call()
    except (PlanningError, GeoError) as exc:
        raise _fail(str(exc)) from None


@plan_app.command()
def coverage(
    base_lat: BaseLat,
    base_lon: BaseLon,
    out: Out,
    area: Annotated[Path | None, typer.Option(help="Area polygon (GeoJSON or KML).")] = None,
    polygon: Annotated[str | None, typer.Option(help="Area as 'lat,lon;lat,lon;…'.")] = None,
    target: Annotated[str, typer.Option(help=f"Target class: {sorted(TARGETS)}.")] = "car",
    alt: Annotated[float | None, typer.Option(help="Fixed altitude above ground (m).")] = None,
    overlap: Annotated[float, typer.Option(help="Side overlap between strips (0–0.9).")] = 0.1,
    drones: Annotated[int, typer.Option(help="Divide among this many drones.")] = 1,
    radius_km: RadiusKm = 50.0,
    zones: ZonesFile = None,
    profile: ProfileName = "quad",
    png: Png = None,
) -> None:
    """Cover an area with boustrophedon sweeps at the altitude the target needs."""

    def go() -> None:
        op = _area(base_lat, base_lon, radius_km, zones)
        if (area is None) == (polygon is None):
            raise _fail("give --area FILE or --polygon 'lat,lon;…'")
        if area is not None:
            shapes = read_polygons(area)
            poly_ll = shapes[0][2]
        else:
            poly_ll = polygon_from_lat_lon(_points(polygon or "", "--polygon"))
        if alt is None and target not in TARGETS:
            raise _fail(f"unknown target {target!r}: use one of {sorted(TARGETS)}")
        options = CoverageOptions(
            target=None if alt is not None else TARGETS[target], agl_m=alt, side_overlap=overlap
        )
        prof = _profile(profile)
        if drones > 1:
            crew = [Drone(vehicle_id=f"d{i + 1}", profile=prof, area=op) for i in range(drones)]
            division = plan_division(poly_ll, crew, options=options)
            s = division.summary()
            _emit(
                list(division.plans),
                out,
                png,
                [f"makespan {s['makespan_h']} h, balance {s['balance']}, {s['sorties']} sorties"],
            )
            return
        plan = plan_coverage_local(
            op, op.frame.geometry_to_local(poly_ll), profile=prof, options=options
        )
        _emit([plan], out, png)

    _guard(go)


@plan_app.command()
def route(
    base_lat: BaseLat,
    base_lon: BaseLon,
    out: Out,
    points: Annotated[str, typer.Option("--route", help="Polyline 'lat,lon;lat,lon;…'.")],
    offset: Annotated[float, typer.Option(help="Distance flown beside the line (m).")] = 60.0,
    side: Annotated[str, typer.Option(help="Camera side: left or right.")] = "right",
    alt: Alt = 80.0,
    one_way: Annotated[bool, typer.Option(help="Do not come back along the other side.")] = False,
    radius_km: RadiusKm = 50.0,
    zones: ZonesFile = None,
    profile: ProfileName = "quad",
    png: Png = None,
) -> None:
    """Patrol a road, river or border beside it with the camera on it."""

    def go() -> None:
        op = _area(base_lat, base_lon, radius_km, zones)
        plan = plan_route_patrol(
            op,
            _points(points, "--route"),
            profile=_profile(profile),
            offset_m=offset,
            camera_side=side,
            agl_m=alt,
            both_ways=not one_way,
        )
        _emit([plan], out, png)

    _guard(go)


@plan_app.command()
def orbit(
    base_lat: BaseLat,
    base_lon: BaseLon,
    lat: Lat,
    lon: Lon,
    out: Out,
    radius: Annotated[float, typer.Option(help="Orbit radius (m).")] = 80.0,
    alt: Alt = 60.0,
    minutes: Annotated[
        float | None, typer.Option(help="Time on station (default: until told).")
    ] = None,
    radius_km: RadiusKm = 50.0,
    zones: ZonesFile = None,
    profile: ProfileName = "quad",
    png: Png = None,
) -> None:
    """Orbit a point with the gimbal on it."""

    def go() -> None:
        op = _area(base_lat, base_lon, radius_km, zones)
        plan = plan_orbit(
            op,
            lat,
            lon,
            profile=_profile(profile),
            radius_m=radius,
            agl_m=alt,
            time_s=minutes * 60.0 if minutes is not None else None,
        )
        _emit([plan], out, png)

    _guard(go)


@plan_app.command()
def search(
    base_lat: BaseLat,
    base_lon: BaseLon,
    lat: Lat,
    lon: Lon,
    out: Out,
    pattern: Annotated[str, typer.Option(help="square (expanding) or sector.")] = "square",
    radius: Annotated[float, typer.Option(help="Search radius from the datum (m).")] = 1000.0,
    spacing: Annotated[
        float | None, typer.Option(help="Track spacing (m); default the swath.")
    ] = None,
    alt: Alt = 60.0,
    radius_km: RadiusKm = 50.0,
    zones: ZonesFile = None,
    profile: ProfileName = "quad",
    png: Png = None,
) -> None:
    """Search from a last-known position: expanding square or sector."""

    def go() -> None:
        op = _area(base_lat, base_lon, radius_km, zones)
        prof = _profile(profile)
        if pattern == "square":
            track = spacing or prof.camera.footprint_width_m(alt) * 0.9
            plan = plan_expanding_square(
                op, lat, lon, profile=prof, track_spacing_m=track, radius_m=radius, agl_m=alt
            )
        elif pattern == "sector":
            plan = plan_sector_search(op, lat, lon, profile=prof, radius_m=radius, agl_m=alt)
        else:
            raise _fail(f"unknown pattern {pattern!r}: use square or sector")
        _emit([plan], out, png)

    _guard(go)


@plan_app.command()
def containment(
    base_lat: BaseLat,
    base_lon: BaseLon,
    lat: Lat,
    lon: Lon,
    out: Out,
    ring: Annotated[float, typer.Option(help="Ring radius around the incident (m).")] = 500.0,
    drones: Annotated[int, typer.Option(help="Drones available at the base.")] = 4,
    road: Annotated[list[str] | None, typer.Option(help="A road 'lat,lon;…' (repeatable).")] = None,
    alt: Alt = 60.0,
    radius_km: RadiusKm = 50.0,
    zones: ZonesFile = None,
    profile: ProfileName = "quad",
    png: Png = None,
) -> None:
    """Send drones to the exits of a ring around an incident and hold them there."""

    def go() -> None:
        op = _area(base_lat, base_lon, radius_km, zones)
        prof = _profile(profile)
        crew = [(f"d{i + 1}", prof, (0.0, 0.0)) for i in range(drones)]
        roads = [_points(r, "--road") for r in road or []]
        posts, notes = plan_containment(
            op, lat, lon, drones=crew, ring_m=ring, roads=roads, agl_m=alt
        )
        for post in posts:
            typer.echo(
                f"  {post.vehicle_id}: exit ({post.lat_deg:.5f}, {post.lon_deg:.5f}), "
                f"on post in {post.eta_s / 60:.1f} min"
            )
        _emit([p.plan for p in posts], out, png, notes)

    _guard(go)


@plan_app.command()
def overwatch(
    base_lat: BaseLat,
    base_lon: BaseLon,
    lat: Lat,
    lon: Lon,
    out: Out,
    hours: Annotated[float, typer.Option(help="How long to keep watch after arrival.")] = 2.0,
    drones: Annotated[int, typer.Option(help="Drones available at the base.")] = 3,
    radius: Annotated[float, typer.Option(help="Orbit radius (m).")] = 80.0,
    alt: Alt = 60.0,
    radius_km: RadiusKm = 50.0,
    zones: ZonesFile = None,
    profile: ProfileName = "quad",
    png: Png = None,
) -> None:
    """Relay drones over a point so one is always on station (zero gap)."""

    def go() -> None:
        op = _area(base_lat, base_lon, radius_km, zones)
        prof = _profile(profile)
        schedule = plan_relay(
            op,
            lat,
            lon,
            drones=[(f"d{i + 1}", prof) for i in range(drones)],
            duration_s=hours * 3600.0,
            radius_m=radius,
            agl_m=alt,
        )
        for s in schedule.shifts:
            typer.echo(
                f"  {s.vehicle_id}: launch {s.launch_s / 60:6.1f} min, on station "
                f"{s.on_station_s / 60:6.1f}–{s.off_station_s / 60:6.1f} min"
            )
        typer.echo(f"  {len(schedule.shifts)} shifts, gap {schedule.gap_s:g} s")
        plans = [
            replace(s.plan, vehicle_id=f"{s.vehicle_id}-shift{k + 1}")
            for k, s in enumerate(schedule.shifts)
        ]
        _emit(plans, out, png)

    _guard(go)


def _draw(plans: list[Plan], png: Path, size_px: int = 900) -> None:
    """The plans' tracks, the area and the no-fly zones, north up, with a scale bar."""
    from PIL import Image, ImageDraw

    area = plans[0].area
    tracks = [np.asarray(s.path_m) for p in plans for s in p.sorties]
    pts = np.vstack(tracks)
    zones = [
        np.asarray(g.exterior.coords)
        for g in getattr(area.no_fly, "geoms", [area.no_fly])
        if not g.is_empty
    ]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = float(max(hi - lo)) or 1.0
    scale = (size_px - 40) / span

    def px(xy: np.ndarray) -> list[tuple[float, float]]:
        return [(20 + (x - lo[0]) * scale, size_px - 20 - (y - lo[1]) * scale) for x, y in xy]

    img = Image.new("RGB", (size_px, size_px), "white")
    draw = ImageDraw.Draw(img)
    for ring in zones:
        draw.polygon(px(ring), fill=(255, 210, 210), outline=(200, 0, 0))
    palette = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (148, 103, 189), (140, 86, 75)]
    for plan_index, plan in enumerate(plans):
        for sortie in plan.sorties:
            pick = plan_index if len(plans) > 1 else sortie.index
            draw.line(px(np.asarray(sortie.path_m)), fill=palette[pick % len(palette)], width=1)
    bx, by = px(np.array([[0.0, 0.0]]))[0]
    draw.ellipse([bx - 5, by - 5, bx + 5, by + 5], fill=(0, 0, 0))
    bar = 10 ** math.floor(math.log10(span / 4))
    draw.line([(20, size_px - 10), (20 + bar * scale, size_px - 10)], fill=(0, 0, 0), width=3)
    draw.text((24 + bar * scale, size_px - 18), f"{bar:g} m", fill=(0, 0, 0))
    img.save(png)
