"""The mission state machine: which state may follow which.

::

    draft → planned → approved → uploading → launching → en_route ⇄ on_station → returning
                                                                               → landed → completed
    any state before landed → aborted;  uploading … returning → failed

``planned → uploading`` skips approval for mission types that launch on their own (first
response); ``en_route/on_station → en_route`` is a re-plan while flying.
"""

from __future__ import annotations

from collections.abc import Mapping

from missions.controller.errors import InvalidTransitionError
from skyeye.contracts import MissionState as S

__all__ = ["AIRBORNE", "PRE_FLIGHT", "TERMINAL", "TRANSITIONS", "check_transition"]

TRANSITIONS: Mapping[S, frozenset[S]] = {
    S.DRAFT: frozenset({S.PLANNED, S.ABORTED}),
    S.PLANNED: frozenset({S.APPROVED, S.UPLOADING, S.ABORTED}),
    S.APPROVED: frozenset({S.UPLOADING, S.ABORTED}),
    S.UPLOADING: frozenset({S.LAUNCHING, S.EN_ROUTE, S.ABORTED, S.FAILED}),
    S.LAUNCHING: frozenset({S.EN_ROUTE, S.RETURNING, S.ABORTED, S.FAILED}),
    S.EN_ROUTE: frozenset({S.EN_ROUTE, S.ON_STATION, S.RETURNING, S.ABORTED, S.FAILED}),
    S.ON_STATION: frozenset({S.EN_ROUTE, S.RETURNING, S.ABORTED, S.FAILED}),
    S.RETURNING: frozenset({S.LANDED, S.ABORTED, S.FAILED}),
    S.LANDED: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.ABORTED: frozenset(),
    S.FAILED: frozenset(),
}

TERMINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
PRE_FLIGHT = frozenset({S.DRAFT, S.PLANNED, S.APPROVED})
AIRBORNE = frozenset({S.LAUNCHING, S.EN_ROUTE, S.ON_STATION, S.RETURNING})


def check_transition(mission_id: str, current: S, requested: S) -> None:
    """Raise :class:`InvalidTransitionError` unless ``current → requested`` is allowed."""
    allowed = TRANSITIONS[current]
    if requested not in allowed:
        raise InvalidTransitionError(
            mission_id, current.value, requested.value, sorted(s.value for s in allowed)
        )
