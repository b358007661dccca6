"""Persistent overwatch relay schedules and priority patrol cycles."""

from __future__ import annotations

import itertools
import math

import pytest

from missions.geo import Base, OperatingArea
from missions.planning import PROFILES, InvalidRequestError, PlanRefusedError, Rule
from missions.planning.overwatch import Hotspot, plan_priority_patrol, plan_relay, visit_order

QUAD = PROFILES["quad"]
AREA = OperatingArea(Base.at("hq", 52.0, 5.0))


def _geo(x: float, y: float) -> tuple[float, float]:
    lat, lon = AREA.frame.to_geo(x, y)
    return float(lat), float(lon)


def test_relay_keeps_the_station_watched_with_zero_gap() -> None:
    drones = [("d1", QUAD), ("d2", QUAD), ("d3", QUAD)]
    schedule = plan_relay(
        AREA, *_geo(3000.0, 2000.0), drones=drones, duration_s=4 * 3600.0, handover_s=60.0
    )
    shifts = schedule.shifts
    assert schedule.gap_s == 0.0
    lap_s = 2 * math.pi * 80.0 / math.sqrt(2.5 * 80.0)  # the turn's pull limits the speed
    # the last drone stays to the end, finishing its last whole turn
    assert schedule.until_s <= shifts[-1].off_station_s < schedule.until_s + lap_s
    assert schedule.until_s - schedule.first_on_station_s == pytest.approx(4 * 3600.0)
    # each next drone is on station a full hand-over before the current one leaves
    assert schedule.handovers_s() == pytest.approx([60.0] * (len(shifts) - 1))
    for a, b in itertools.pairwise(shifts):
        assert b.on_station_s < a.off_station_s
    # a drone flies again only after landing and its battery swap
    for vid, _ in drones:
        mine = [s for s in shifts if s.vehicle_id == vid]
        for a, b in itertools.pairwise(mine):
            assert b.launch_s >= a.landed_s + QUAD.turnaround_s - 1e-6
    for shift in shifts:
        sortie = shift.plan.sorties[0]
        assert sortie.duration_s <= QUAD.usable_s + 1e-6
        loiter = [i for i in sortie.items if i.command == 18]  # NAV_LOITER_TURNS
        on_station = shift.off_station_s - shift.on_station_s
        assert loiter[0].param1 * lap_s == pytest.approx(on_station, abs=0.01)


def test_relay_with_too_few_drones_is_refused_with_the_gap_and_what_would_close_it() -> None:
    with pytest.raises(PlanRefusedError) as info:
        plan_relay(AREA, *_geo(3000.0, 2000.0), drones=[("d1", QUAD)], duration_s=3 * 3600.0)
    violation = info.value.violations[0]
    assert violation.rule is Rule.RELAY
    assert violation.alternative is not None
    assert "drones like d1" in violation.alternative
    with pytest.raises(InvalidRequestError):
        plan_relay(AREA, *_geo(3000.0, 2000.0), drones=[], duration_s=60.0)


def test_visit_order_is_proportional_spread_and_never_repeats_back_to_back() -> None:
    order = visit_order([4.0, 2.0, 1.0, 1.0], 8)
    assert [order.count(i) for i in range(4)] == [4, 2, 1, 1]
    assert all(a != b for a, b in itertools.pairwise(order))


def test_priority_patrol_revisits_in_proportion_to_weight() -> None:
    spots = [
        Hotspot(name="station", lat_deg=_geo(1000, 1000)[0], lon_deg=_geo(1000, 1000)[1], weight=4),
        Hotspot(name="park", lat_deg=_geo(-1000, 1500)[0], lon_deg=_geo(-1000, 1500)[1], weight=2),
        Hotspot(name="mall", lat_deg=_geo(500, -1200)[0], lon_deg=_geo(500, -1200)[1], weight=1),
        Hotspot(name="docks", lat_deg=_geo(-800, -900)[0], lon_deg=_geo(-800, -900)[1], weight=1),
    ]
    cycle = plan_priority_patrol(AREA, spots, profile=QUAD, dwell_s=60.0)
    assert cycle.visits == {"station": 4, "park": 2, "mall": 1, "docks": 1}
    assert cycle.mean_revisit_s["station"] == pytest.approx(cycle.cycle_s / 4)
    assert cycle.mean_revisit_s["mall"] == pytest.approx(cycle.cycle_s)
    assert cycle.max_revisit_s["station"] < cycle.cycle_s / 2
    assert cycle.plan.sorties[0].duration_s <= QUAD.usable_s
    loiters = [i for i in cycle.plan.items if i.command == 18]
    assert len(loiters) == 8
    with pytest.raises(PlanRefusedError) as info:
        plan_priority_patrol(AREA, spots, profile=QUAD, dwell_s=600.0, visits_per_cycle=16)
    assert info.value.violations[0].rule is Rule.BATTERY
