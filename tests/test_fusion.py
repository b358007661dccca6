"""Fusion: ground tracking across drones, coverage, incidents, and the bus service.

The tracking scenes here are synthetic ground truth (cars driving both ways along a road,
two drones imaging overlapping stretches with their own bias and noise, misses and class
confusion), so that MOTA/IDF1 can be computed exactly.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from skyeye import topics
from skyeye.bus import Bus, BusSettings
from skyeye.contracts import (
    Detection,
    DetectionBatch,
    GeoPoint,
    IncidentStatus,
    Priority,
    Report,
    ReportSource,
)
from vision.fusion import (
    CoverageGrid,
    FusionService,
    FusionSettings,
    GeoTracker,
    IncidentBook,
    LocalFrame,
    TrackingScore,
)

FRAME = LocalFrame(52.0, 5.0)
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Car:
    car_id: str
    start_east_m: float
    north_m: float
    speed_m_s: float

    def east_at(self, t: float) -> float:
        return self.start_east_m + self.speed_m_s * t


def _road_scene(rng: np.random.Generator, count: int) -> list[Car]:
    cars = []
    for i in range(count):
        eastbound = i % 2 == 0
        cars.append(
            Car(
                car_id=f"car-{i}",
                start_east_m=-400.0 + 45.0 * i + rng.uniform(-5, 5),
                north_m=0.0 if eastbound else 4.5,
                speed_m_s=rng.uniform(11.5, 12.5) * (1 if eastbound else -1),  # no overtaking
            )
        )
    return cars


def _batch(
    *,
    vehicle_id: str,
    frame_id: int,
    t: float,
    cars: list[Car],
    view: tuple[float, float],
    bias: tuple[float, float],
    rng: np.random.Generator,
    noise_m: float = 1.5,
    miss_rate: float = 0.05,
) -> DetectionBatch:
    detections = []
    for car in cars:
        east = car.east_at(t)
        if not view[0] <= east <= view[1] or rng.random() < miss_rate:
            continue
        e = east + bias[0] + rng.normal(0, noise_m)
        n = car.north_m + bias[1] + rng.normal(0, noise_m)
        lat, lon = FRAME.to_geo(np.array([e]), np.array([n]))
        detections.append(
            Detection(
                class_name="van" if rng.random() < 0.1 else "car",
                confidence=float(rng.uniform(0.5, 0.95)),
                x_min_px=0,
                y_min_px=0,
                x_max_px=10,
                y_max_px=10,
                lat_deg=float(lat[0]),
                lon_deg=float(lon[0]),
                ground_sigma_m=3.0,
            )
        )
    corners_e = np.array([view[0], view[1], view[1], view[0]])
    corners_n = np.array([-150.0, -150.0, 150.0, 150.0])
    lat, lon = FRAME.to_geo(corners_e, corners_n)
    footprint = tuple(
        GeoPoint(lat_deg=float(a), lon_deg=float(b)) for a, b in zip(lat, lon, strict=True)
    )
    return DetectionBatch(
        vehicle_id=vehicle_id,
        frame_id=frame_id,
        capture_time=T0 + timedelta(seconds=t),
        image_width_px=1280,
        image_height_px=720,
        footprint=footprint,
        detections=tuple(detections),
    )


def test_two_drones_over_one_road_track_every_car_once() -> None:
    rng = np.random.default_rng(7)
    cars = _road_scene(rng, 16)
    tracker = GeoTracker(FRAME)
    score = TrackingScore(match_distance_m=5.0)
    views = {"drone-a": (-300.0, 150.0), "drone-b": (-50.0, 400.0)}
    biases = {"drone-a": (1.2, -0.8), "drone-b": (-1.0, 1.1)}
    for step in range(300):  # 60 s at 5 Hz per drone, the drones' frames interleaved
        t = step * 0.2
        for offset, vehicle in ((0.0, "drone-a"), (0.1, "drone-b")):
            tracker.update_batch(
                _batch(
                    vehicle_id=vehicle,
                    frame_id=step,
                    t=t + offset,
                    cars=cars,
                    view=views[vehicle],
                    bias=biases[vehicle],
                    rng=rng,
                )
            )
        if step < 10:
            continue  # tracks need a few hits before they are confirmed
        view_lo, view_hi = -250.0, 350.0  # well inside the union of both views
        truth = [c for c in cars if view_lo <= c.east_at(t + 0.1) <= view_hi]
        ids, xy = tracker.positions()
        truth_xy = np.array([[c.east_at(t + 0.1), c.north_m] for c in truth]).reshape(-1, 2)
        # Tracks just outside the evaluated stretch count only if they match a car inside it.
        inside = (xy[:, 0] >= view_lo) & (xy[:, 0] <= view_hi)
        if len(truth_xy):
            near_truth = (
                np.linalg.norm(xy[:, None, :] - truth_xy[None, :, :], axis=2).min(axis=1) < 5
            )
            inside |= near_truth
        track_ids = [i for i, keep in zip(ids, inside, strict=True) if keep]
        track_xy = xy[inside]
        score.add_frame([c.car_id for c in truth], truth_xy, track_ids, track_xy)
    assert score.ground_truth > 1000
    assert score.mota >= 0.9, (score.mota, score.misses, score.false_positives, score.id_switches)
    assert score.idf1 >= 0.85
    assert score.duplicates == 0
    both = [t for t in tracker.tracks() if len(t.seen_by) == 2]
    assert both, "cars in the overlap must be tracks seen by both drones"
    assert all(t.class_name == "car" for t in tracker.tracks())


def test_a_person_never_updates_a_car_track() -> None:
    tracker = GeoTracker(FRAME)
    lat, lon = FRAME.to_geo(np.array([0.0]), np.array([0.0]))

    def batch(frame_id: int, class_name: str) -> DetectionBatch:
        return DetectionBatch(
            vehicle_id="d",
            frame_id=frame_id,
            capture_time=T0 + timedelta(seconds=frame_id * 0.2),
            image_width_px=640,
            image_height_px=360,
            detections=(
                Detection(
                    class_name=class_name,
                    confidence=0.9,
                    x_min_px=0,
                    y_min_px=0,
                    x_max_px=5,
                    y_max_px=5,
                    lat_deg=float(lat[0]),
                    lon_deg=float(lon[0]),
                    ground_sigma_m=2.0,
                ),
            ),
        )

    for k in range(4):
        tracker.update_batch(batch(2 * k, "car"))
        tracker.update_batch(batch(2 * k + 1, "person"))
    classes = sorted(t.class_name for t in tracker.tracks())
    assert classes == ["car", "person"]


def test_coverage_marks_cells_under_a_footprint() -> None:
    grid = CoverageGrid(FRAME, radius_m=5_000, cell_m=100)
    corners_e = np.array([-500.0, 500.0, 500.0, -500.0])
    corners_n = np.array([-300.0, -300.0, 300.0, 300.0])
    lat, lon = FRAME.to_geo(corners_e, corners_n)
    footprint = tuple(
        GeoPoint(lat_deg=float(a), lon_deg=float(b)) for a, b in zip(lat, lon, strict=True)
    )
    marked = grid.add_footprint(footprint, T0)
    assert marked == 10 * 6  # cell centres at ±50, ±150 … m: 10 × 6 inside 1 km × 0.6 km
    total_cells = np.pi * 5_000**2 / 100**2
    assert grid.fraction_imaged() == pytest.approx(60 / total_cells, rel=0.01)
    assert grid.fraction_imaged(since=T0 + timedelta(seconds=1)) == 0.0
    layer = grid.layer(T0)
    assert len(layer.cells) == 60
    assert all(cell.last_imaged == T0 for cell in layer.cells)


def _report(n: int, east: float, north: float, minutes: float, **kw: object) -> Report:
    lat, lon = FRAME.to_geo(np.array([east]), np.array([north]))
    fields: dict[str, object] = {
        "report_id": f"R{n}",
        "time": T0 + timedelta(minutes=minutes),
        "source": ReportSource.CITIZEN_APP,
        "category": "traffic_accident",
        "text": f"report {n}",
        "lat_deg": float(lat[0]),
        "lon_deg": float(lon[0]),
        "priority": Priority.NORMAL,
    }
    fields.update(kw)
    return Report.model_validate(fields)


def test_reports_cluster_into_incidents_and_corroboration_raises_priority() -> None:
    book = IncidentBook(FRAME, radius_m=300, window_s=900)
    first = book.add_report(_report(1, 0, 0, 0))
    second = book.add_report(_report(2, 120, 50, 2, source=ReportSource.EMERGENCY_LINE))
    assert second.incident_id == first.incident_id
    assert second.priority is Priority.NORMAL
    third = book.add_report(_report(3, -80, 30, 4))
    assert third.incident_id == first.incident_id
    assert third.priority is Priority.HIGH
    assert third.report_ids == ("R1", "R2", "R3")
    far = book.add_report(_report(4, 2_000, 0, 5))
    late = book.add_report(_report(5, 0, 0, 40))
    other = book.add_report(_report(6, 0, 0, 5, category="fire"))
    assert len({first.incident_id, far.incident_id, late.incident_id, other.incident_id}) == 4
    closed = book.set_status(first.incident_id, IncidentStatus.CLOSED)
    assert closed.status is IncidentStatus.CLOSED
    with pytest.raises(KeyError, match="no incident"):
        book.set_status("INC-99999", IncidentStatus.CLOSED)


async def test_service_publishes_tracks_and_incidents_over_a_real_broker(mqtt_url: str) -> None:
    rng = np.random.default_rng(3)
    cars = _road_scene(rng, 4)
    settings = FusionSettings(tracks_rate_hz=20, coverage_period_s=0.2, coverage_radius_m=5_000)
    async with (
        Bus(BusSettings(url=mqtt_url)) as bus,
        bus.subscribe(topics.tracks()) as track_lists,
        bus.subscribe(topics.incident("+")) as incidents,
        bus.subscribe(topics.coverage()) as coverage,
        FusionService(bus, frame=FRAME, settings=settings),
    ):
        for step in range(6):
            batch = _batch(
                vehicle_id="drone-a",
                frame_id=step,
                t=step * 0.2,
                cars=cars,
                view=(-500, 500),
                bias=(0, 0),
                rng=rng,
                miss_rate=0.0,
            )
            await bus.publish(topics.detections("drone-a"), batch)
        async with asyncio.timeout(10):
            while True:
                message = await track_lists.get()
                if len(message.payload.tracks) == len(cars):
                    break
        await bus.publish(topics.reports(), _report(1, 0, 0, 0))
        async with asyncio.timeout(10):
            incident = (await incidents.get()).payload
            layer = (await coverage.get()).payload
            while not layer.cells:  # layers published before the footprints arrived
                layer = (await coverage.get()).payload
    assert incident.category == "traffic_accident"
    assert incident.report_ids == ("R1",)
    assert len(layer.cells) == 8  # 1 km × 300 m footprint, 250 m cells centred at ±125, ±375 m


def test_tracking_score_counts_misses_false_positives_switches_and_duplicates() -> None:
    score = TrackingScore(match_distance_m=5.0)
    a, b = np.array([[0.0, 0.0]]), np.array([[100.0, 0.0]])
    score.add_frame(["g1"], a, ["t1"], a + 1)  # match
    score.add_frame(["g1"], a, ["t2"], a + 1)  # identity switch
    score.add_frame(["g1"], a, ["t2", "t3"], np.vstack([a + 1, a + 2]))  # duplicate (an FP too)
    score.add_frame(["g1"], a, ["t4"], b)  # a miss and a false positive
    assert (score.matches, score.misses, score.false_positives) == (3, 1, 2)
    assert (score.id_switches, score.duplicates) == (1, 1)
    assert score.mota == pytest.approx(1 - (1 + 2 + 1) / 4)
    assert score.idf1 == pytest.approx(2 * 2 / (4 + 5))
