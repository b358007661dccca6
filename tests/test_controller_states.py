"""The mission state machine's table."""

from __future__ import annotations

import itertools

import pytest

from missions.controller import TERMINAL, TRANSITIONS, InvalidTransitionError, check_transition
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
