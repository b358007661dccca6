"""The mission state machine's table."""

from __future__ import annotations

import itertools

import pytest

from missions.controller import (
    TERMINAL,
    TRANSITIONS,
    FenceSpec,
    FlightPlan,
    InvalidTransitionError,
    PlanItem,
    PlanItemKind,
    check_transition,
)
from skyeye.contracts import MissionState as S


def test_the_nominal_path_is_allowed_step_by_step() -> None:
    path = [
        S.DRAFT,
        S.PLANNED,
        S.APPROVED,
        S.UPLOADING,
        S.LAUNCHING,
        S.EN_ROUTE,
        S.ON_STATION,
        S.RETURNING,
        S.LANDED,
        S.COMPLETED,
    ]
    for current, following in itertools.pairwise(path):
        check_transition("m", current, following)


def test_every_state_has_an_entry_and_terminal_states_lead_nowhere() -> None:
    assert set(TRANSITIONS) == set(S)
    assert {S.COMPLETED, S.ABORTED, S.FAILED} == TERMINAL


@pytest.mark.parametrize(
    ("current", "requested"),
    [
        (S.DRAFT, S.LAUNCHING),
        (S.APPROVED, S.EN_ROUTE),
        (S.LANDED, S.EN_ROUTE),
        (S.COMPLETED, S.DRAFT),
        (S.DRAFT, S.FAILED),
        (S.RETURNING, S.ON_STATION),
    ],
)
def test_invalid_transitions_are_refused_with_the_allowed_ones(current: S, requested: S) -> None:
    with pytest.raises(InvalidTransitionError) as raised:
        check_transition("m-9", current, requested)
    message = str(raised.value)
    assert f"mission 'm-9' is {current.value} and cannot become {requested.value}" in message
    assert raised.value.current == current.value


def test_a_plan_read_back_at_wire_precision_matches_and_a_changed_one_does_not() -> None:
    fence = FenceSpec(radius_m=5000, alt_max_m=120)
    plan = FlightPlan(
        items=(
            PlanItem(kind=PlanItemKind.TAKEOFF, alt_rel_m=60),
            PlanItem(
                kind=PlanItemKind.ORBIT,
                lat_deg=52.123456789,
                lon_deg=5.1,
                alt_rel_m=60,
                radius_m=80,
            ),
        ),
        fence=fence,
    )
    wire = FlightPlan(
        items=(
            PlanItem(kind=PlanItemKind.TAKEOFF, alt_rel_m=60.0000001),
            PlanItem(
                kind=PlanItemKind.ORBIT, lat_deg=52.1234568, lon_deg=5.1, alt_rel_m=60, radius_m=80
            ),
        ),
        fence=FenceSpec(radius_m=5000.0001, alt_max_m=120),
    )
    moved = FlightPlan(
        items=(
            plan.items[0],
            PlanItem(
                kind=PlanItemKind.ORBIT, lat_deg=52.1235, lon_deg=5.1, alt_rel_m=60, radius_m=80
            ),
        ),
        fence=fence,
    )
    assert plan.matches(wire)
    assert not plan.matches(moved)
    assert not plan.matches(FlightPlan(items=plan.items, fence=None))
    assert not plan.matches(FlightPlan(items=plan.items[:1], fence=fence))
