"""Power functions of monotonic seconds (picklable, so a process-based writer can use them)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

PowerFunction = Callable[[float], float]


@dataclass(frozen=True)
class Constant:
    """``p(t) = watts``."""

    watts: float

    def __call__(self, t_s: float) -> float:
        return self.watts

    def energy_j(self, t0_s: float, t1_s: float) -> float:
        """Exact energy over ``[t0_s, t1_s]``, J."""
        return self.watts * (t1_s - t0_s)


@dataclass(frozen=True)
class Square:
    """A square wave: ``high_w`` for ``duty`` of each ``period_s`` (starting at ``phase_s``), else ``low_w``."""

    low_w: float
    high_w: float
    period_s: float
    duty: float = 0.5
    phase_s: float = 0.0

    def __call__(self, t_s: float) -> float:
        frac = ((t_s - self.phase_s) / self.period_s) % 1.0
        return self.high_w if frac < self.duty else self.low_w

    def _cumulative_j(self, t_s: float) -> float:
        cycles = math.floor((t_s - self.phase_s) / self.period_s)
        frac = (t_s - self.phase_s) / self.period_s - cycles
        per_cycle = self.duty * self.high_w + (1.0 - self.duty) * self.low_w
        within = min(frac, self.duty) * self.high_w + max(frac - self.duty, 0.0) * self.low_w
        return (cycles * per_cycle + within) * self.period_s

    def energy_j(self, t0_s: float, t1_s: float) -> float:
        """Exact energy over ``[t0_s, t1_s]``, J."""
        return self._cumulative_j(t1_s) - self._cumulative_j(t0_s)


def mean_power(p: PowerFunction, t0_s: float, t1_s: float, step_s: float = 1e-4) -> float:
    """Mean of ``p`` over ``[t0_s, t1_s]`` by the midpoint rule (at most 2000 points), watts."""
    span = t1_s - t0_s
    if span <= 0:
        return float(p(t1_s))
    n = max(1, min(2000, math.ceil(span / step_s)))
    dt = span / n
    return sum(float(p(t0_s + (k + 0.5) * dt)) for k in range(n)) / n


def interval_energy_j(p: PowerFunction, t0_s: float, t1_s: float) -> float | None:
    """Exact energy of ``p`` over ``[t0_s, t1_s]`` when ``p`` can integrate itself, else ``None``.

    A power function may offer ``energy_j(t0_s, t1_s)`` (exact, e.g. from time-stamped state changes:
    :class:`synergy.testing.announce.AnnouncedPower`) and ``version()`` (a number that changes whenever the
    past of ``p`` changes): the writer then computes a value just before the instant it stands for and
    publishes it at that instant, recomputing it if the version moved meanwhile.
    """
    exact = getattr(p, "energy_j", None)
    return None if exact is None else float(exact(t0_s, t1_s))


def _version(p: PowerFunction) -> object:
    version = getattr(p, "version", None)
    return None if version is None else version()
