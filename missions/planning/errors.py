"""Errors of :mod:`missions.planning`.

::

    PlanningError                  anything a planner refuses or cannot read
    ├── InvalidRequestError        a request that makes no sense (bad profile, radius, weight…)
    ├── PlanRefusedError           a plan that breaks a rule: carries every Violation, each with
    │                              the rule, the offending leg or point and the nearest alternative
    └── PlanFileError              a .plan / WPL / GeoJSON / KML file that cannot be read
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from missions.planning.feasibility import Violation

__all__ = ["InvalidRequestError", "PlanFileError", "PlanRefusedError", "PlanningError"]


class PlanningError(Exception):
    """Base of every error raised by :mod:`missions.planning` and :mod:`missions.planfiles`."""


class InvalidRequestError(PlanningError, ValueError):
    """A planning request that makes no sense; the message names the value and why."""


class PlanRefusedError(PlanningError):
    """The plan cannot be flown: ``violations`` says which rule, where, and what would work."""

    def __init__(self, what: str, violations: Sequence[Violation]) -> None:
        lines = "; ".join(v.message for v in violations)
        super().__init__(f"{what} refused: {lines}")
        self.what = what
        self.violations = tuple(violations)


class PlanFileError(PlanningError):
    """A plan or zone file that cannot be read; ``source`` is the file, ``where`` the item."""

    def __init__(self, source: str, where: str, reason: str) -> None:
        super().__init__(f"{source}: {where}: {reason}")
        self.source = source
        self.where = where
        self.reason = reason
