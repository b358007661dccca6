"""Dispatch decisions: earliest on-scene time, pre-emption, battery, no double booking."""

from __future__ import annotations

import math

import pytest

from missions.dispatch import (
    Candidate,
    DispatchRequest,
    InvalidCandidateError,
    InvalidIncidentError,
    NoVehicleAvailableError,
    VehicleProfile,
    dispatch,
    dispatch_one,
    great_circle_m,
    physical_limit_s,
)
from skyeye.contracts import Priority

BASE = (52.0, 5.0)
QUAD = VehicleProfile(
    name="quad",
    cruise_speed_m_s=15.0,
    climb_rate_m_s=5.0,
    descent_rate_m_s=3.0,
    battery_use_pct_per_s=0.05,
    launch_overhead_s=3.0,
)
M_PER_DEG_LAT = 111_195.0


def north_of(lat: float, lon: float, metres: float) -> tuple[float, float]:
    return lat + metres / M_PER_DEG_LAT, lon


def vehicle(
    vehicle_id: str,
    north_m: float = 0.0,
    *,
    airborne: bool = False,
    battery_pct: float = 100.0,
    **extra: object,
) -> Candidate:
    lat, lon = north_of(*BASE, north_m)
    return Candidate(
        vehicle_id=vehicle_id,
        lat_deg=lat,
        lon_deg=lon,
        alt_rel_m=60.0 if airborne else 0.0,
        airborne=airborne,
        battery_pct=battery_pct,
        profile=QUAD,
        home_lat_deg=BASE[0],
        home_lon_deg=BASE[1],
        **extra,  # type: ignore[arg-type]
    )


def incident(
    incident_id: str, north_m: float, priority: Priority = Priority.HIGH
) -> DispatchRequest:
    lat, lon = north_of(*BASE, north_m)
    return DispatchRequest(
        incident_id=incident_id, lat_deg=lat, lon_deg=lon, priority=priority, on_station_s=300
    )


def test_great_circle_matches_a_degree_of_latitude() -> None:
    assert float(great_circle_m(0.0, 0.0, 1.0, 0.0)) == pytest.approx(M_PER_DEG_LAT, rel=1e-4)


def test_nearest_ground_vehicle_is_chosen_with_its_on_scene_time_and_reasons() -> None:
    near, far = vehicle("near", 1000.0), vehicle("far", -2000.0)
    request = incident("inc-1", 3000.0)
    decision = dispatch_one(request, [far, near])
    assert decision.vehicle_id == "near"
    # 2 km at 15 m/s + climb 60 m at 5 m/s + 3 s launch
    assert decision.eta_s == pytest.approx(2000 / 15 + 12 + 3, rel=1e-3)
    assert decision.physical_limit_s == pytest.approx(physical_limit_s(near, request))
    assert decision.eta_s is not None
    assert decision.physical_limit_s is not None
    assert decision.eta_s - decision.physical_limit_s == pytest.approx(3.0)
    assert any("climb 12.0 s" in reason for reason in decision.reasons)
    assert decision.alternatives[0].vehicle_id == "far"
    assert "later than the chosen drone" in decision.alternatives[0].reason


def test_airborne_vehicle_beats_a_closer_one_on_the_ground_when_earlier() -> None:
    ground = vehicle("ground", 2900.0)
    flying = vehicle("flying", 2700.0, airborne=True)
    decision = dispatch_one(incident("inc", 3000.0), [ground, flying])
    assert decision.vehicle_id == "flying"
    assert "airborne, no launch needed" in decision.reasons


def test_preemption_only_by_strictly_higher_priority() -> None:
    busy = vehicle(
        "busy", 2900.0, airborne=True, mission_id="patrol-1", mission_priority=Priority.NORMAL
    )
    idle = vehicle("idle", 0.0)
    high = dispatch_one(incident("robbery", 3000.0, Priority.HIGH), [busy, idle])
    assert high.vehicle_id == "busy"
    assert high.preempted_mission_id == "patrol-1"
    assert any("pre-empts mission patrol-1" in reason for reason in high.reasons)

    same = dispatch_one(incident("litter", 3000.0, Priority.NORMAL), [busy, idle])
    assert same.vehicle_id == "idle"
    assert same.preempted_mission_id is None
    refused = {a.vehicle_id: a.reason for a in same.alternatives}
    assert "busy on mission patrol-1" in refused["busy"]


def test_battery_that_cannot_cover_the_flight_is_refused_with_the_figure() -> None:
    weak = vehicle("weak", 2500.0, battery_pct=30.0)
    strong = vehicle("strong", -1000.0, battery_pct=95.0)
    decision = dispatch_one(incident("inc", 3000.0), [weak, strong])
    assert decision.vehicle_id == "strong"
    weak_reason = next(a.reason for a in decision.alternatives if a.vehicle_id == "weak")
    assert weak_reason.startswith("battery 30% below the")


def test_link_down_and_held_vehicles_are_skipped() -> None:
    lost = vehicle("lost", 2900.0, link_ok=False)
    held = vehicle("held", 2950.0, unavailable_reason="propeller change")
    with pytest.raises(NoVehicleAvailableError) as raised:
        dispatch_one(incident("inc", 3000.0), [lost, held])
    assert raised.value.refusals == {"lost": "link down", "held": "unavailable: propeller change"}
    assert "propeller change" in str(raised.value)


def test_simultaneous_incidents_never_double_book_and_minimise_total_time() -> None:
    # a is closest to both incidents; the optimum sends a to x and b to y.
    a = vehicle("a", 1000.0)
    b = vehicle("b", -1000.0)
    c = vehicle("c", -20_000.0)
    x = incident("x", 1500.0)
    y = incident("y", -500.0)
    decisions = dispatch([x, y], [c, a, b])
    assert [d.vehicle_id for d in decisions] == ["a", "b"]
    assert len({d.vehicle_id for d in decisions}) == 2


def test_higher_priority_tier_gets_the_fastest_vehicle_first() -> None:
    a = vehicle("a", 1000.0)
    b = vehicle("b", -5000.0)
    low = incident("low", 1100.0, Priority.LOW)
    critical = incident("critical", 900.0, Priority.CRITICAL)
    by_id = {d.incident_id: d for d in dispatch([low, critical], [a, b])}
    assert by_id["critical"].vehicle_id == "a"
    assert by_id["low"].vehicle_id == "b"
    assert any("faster drone a went to incident critical" in r for r in by_id["low"].reasons)


def test_more_incidents_than_vehicles_leaves_the_lowest_priority_unserved() -> None:
    only = vehicle("only", 0.0)
    decisions = dispatch(
        [incident("low", 1000.0, Priority.LOW), incident("high", 3000.0, Priority.HIGH)], [only]
    )
    assert decisions[0].vehicle_id is None
    assert decisions[1].vehicle_id == "only"
    assert decisions[0].alternatives[0].reason.startswith("assigned to incident high")


def test_bad_input_is_refused_with_a_specific_error() -> None:
    with pytest.raises(InvalidIncidentError, match="orbit altitude 500"):
        DispatchRequest(
            incident_id="x", lat_deg=1, lon_deg=1, priority=Priority.LOW, orbit_alt_rel_m=500
        )
    with pytest.raises(InvalidIncidentError, match="outside WGS84"):
        DispatchRequest(incident_id="x", lat_deg=91, lon_deg=1, priority=Priority.LOW)
    with pytest.raises(InvalidCandidateError, match="battery 120"):
        vehicle("v", battery_pct=120.0)
    with pytest.raises(InvalidCandidateError, match="listed twice"):
        dispatch([incident("i", 10.0)], [vehicle("v"), vehicle("v", 5.0)])
    with pytest.raises(InvalidIncidentError, match="listed twice"):
        dispatch([incident("i", 10.0), incident("i", 20.0)], [vehicle("v")])
    with pytest.raises(ValueError, match="cruise_speed_m_s must be positive"):
        VehicleProfile(
            name="bad",
            cruise_speed_m_s=math.nan,
            climb_rate_m_s=1,
            descent_rate_m_s=1,
            battery_use_pct_per_s=0.1,
        )
