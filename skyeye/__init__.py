"""Skyeye's shell: message contracts, the bus, the embedded broker, configuration, clock, CLI."""

from skyeye.clock import Clock, ScaledClock, WallClock

__all__ = ["Clock", "ScaledClock", "WallClock", "__version__"]

__version__ = "0.1.0"
