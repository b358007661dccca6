"""Decisions: geodesy and zones, planners, dispatch, the mission controller, persistence,
and the console."""
