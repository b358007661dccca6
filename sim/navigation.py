"""What a vehicle believes about itself: the errors of its navigation estimate over the truth.

A real drone reports its EKF's estimate, not where it is: a GNSS position that wanders by a
metre or two over minutes, a barometric altitude that drifts, attitude and heading off by a
fraction of a degree to a few degrees, gimbal angles off by its encoders and mount. Each error
here is a first-order Gauss–Markov process (``x' = a·x + σ·√(1-a²)·w``, ``a = exp(-dt/τ)``),
started from its stationary distribution, so the error is there from the first report and its
σ is the configured one at any time. Seeded per vehicle: the same scenario gives the same errors.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from sim.scenario import NavigationConfig

__all__ = ["NavError", "NavErrorModel"]


@dataclass(frozen=True, slots=True)
class NavError:
    """Estimate minus truth, at one instant."""

    east_m: float
    north_m: float
    up_m: float
    roll_deg: float
    pitch_deg: float
    yaw_deg: float
    gimbal_pitch_deg: float
    gimbal_yaw_deg: float


class _GaussMarkov:
    """One first-order Gauss–Markov error of stationary σ ``sigma`` and time constant ``tau_s``."""

    __slots__ = ("_rng", "_sigma", "_tau_s", "value")

    def __init__(self, sigma: float, tau_s: float, rng: random.Random) -> None:
        self._sigma = sigma
        self._tau_s = tau_s
        self._rng = rng
        self.value = rng.gauss(0.0, sigma) if sigma > 0.0 else 0.0

    def step(self, dt: float) -> None:
        if self._sigma <= 0.0 or dt <= 0.0:
            return
        a = math.exp(-dt / self._tau_s)
        self.value = a * self.value + self._sigma * math.sqrt(1.0 - a * a) * self._rng.gauss(
            0.0, 1.0
        )


class NavErrorModel:
    """The navigation errors of one vehicle, advanced with simulated time."""

    __slots__ = ("_processes", "config")

    def __init__(self, config: NavigationConfig, *, seed: int) -> None:
        self.config = config
        rng = random.Random(seed)
        c = config
        self._processes = tuple(
            _GaussMarkov(sigma, tau_s, rng)
            for sigma, tau_s in (
                (c.gnss_horizontal_m, c.gnss_tau_s),
                (c.gnss_horizontal_m, c.gnss_tau_s),
                (c.altitude_m, c.altitude_tau_s),
                (c.roll_pitch_deg, c.roll_pitch_tau_s),
                (c.roll_pitch_deg, c.roll_pitch_tau_s),
                (c.yaw_deg, c.yaw_tau_s),
                (c.gimbal_deg, c.gimbal_tau_s),
                (c.gimbal_deg, c.gimbal_tau_s),
            )
        )

    def step(self, dt: float) -> None:
        for process in self._processes:
            process.step(dt)

    def error(self) -> NavError:
        return NavError(*(p.value for p in self._processes))
