"""A sensor that follows a scripted power function: the public test double for everything that samples.

:class:`ScriptedSensor` behaves like real hardware on the monotonic clock: an energy counter that advances
only at update boundaries (RAPL-like, optionally quantised and wrapping), or a power value latched at each
update boundary as the box average of the last update period (INA3221-like). It can fail transiently
(:class:`~synergy.errors.SensorReadError`, a gap) during given windows and vanish
(:class:`~synergy.errors.SensorUnavailable`) at a given time.

Example::

    sensor = ScriptedSensor(lambda t_s: 5.0 + 2.0 * (t_s % 1.0 < 0.5), update_period_s=0.001)
    sensor.read()  # Reading(t_ns=..., values=(joules so far,))
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from synergy.clock import now_ns
from synergy.errors import SensorReadError, SensorUnavailable
from synergy.sensors.base import FilterModel, Reading, Sensor, SensorKind
from synergy.sensors.counter import CounterUnwrapper

__all__ = ["CounterUnwrapper", "ScriptedSensor"]

PowerFunction = Callable[[float], float]


class ScriptedSensor(Sensor):
    """A :class:`~synergy.sensors.base.Sensor` whose values follow ``p(t)``, paced like hardware.

    Time ``t`` is seconds on the monotonic clock since the sensor's origin (its creation, or ``origin_ns``).
    The hardware state changes only at update boundaries ``k * update_period_s``:

    * ``kind=ENERGY``: the counter holds the integral of ``p`` up to the last boundary, rounded down to
      ``resolution_j`` and, with ``wrap_j``, wrapping to zero there. :meth:`read` returns it unwrapped (the
      interface's contract) and :meth:`read_raw` the raw counter.
    * ``kind=POWER``: the value is the mean of ``p`` over the last complete update period (filter ``box``).

    Args:
        power_w: ``p(t)`` in watts: a function of seconds since the origin, a constant, or one of either per
            rail.
        kind: energy counter or latched power.
        update_period_s: hardware update period, seconds.
        rails: rail names (default one rail, ``total``).
        state_period: whether :attr:`update_period_s` is advertised; ``False`` makes samplers probe it.
        resolution_j: counter resolution, joules (RAPL 1e-6, NVML 1e-3); ``0`` for none.
        wrap_j: wrap value of the raw counter, joules, or ``None``.
        errors: ``(start_s, end_s)`` windows in which every read raises ``SensorReadError``.
        error_reason: the message of those errors.
        vanish_at_s: from this time on every read raises ``SensorUnavailable``.
        origin_ns: the time ``t = 0``, monotonic ns (default: now).
        clock: the monotonic ns clock (inject a fake one for deterministic tests).
        substeps: Simpson panels per update period for integrating ``p``.
        name: the sensor's name.
    """

    def __init__(
        self,
        power_w: PowerFunction | float | Sequence[PowerFunction | float],
        *,
        kind: SensorKind = SensorKind.ENERGY,
        update_period_s: float = 0.001,
        rails: Sequence[str] | None = None,
        state_period: bool = True,
        resolution_j: float = 0.0,
        wrap_j: float | None = None,
        errors: Iterable[tuple[float, float]] = (),
        error_reason: str = "ENODATA: no data available",
        vanish_at_s: float | None = None,
        origin_ns: int | None = None,
        clock: Callable[[], int] = now_ns,
        substeps: int = 2,
        name: str = "scripted",
    ) -> None:
        functions = list(power_w) if isinstance(power_w, Sequence) else [power_w]
        self._functions: list[PowerFunction] = [_as_function(f) for f in functions]
        if rails is None:
            rails = ("total",) if len(self._functions) == 1 else tuple(f"rail{i}" for i in range(len(self._functions)))
        if len(rails) != len(self._functions):
            raise ValueError(f"{len(rails)} rail names for {len(self._functions)} power functions")
        if not update_period_s > 0:
            raise ValueError(f"update_period_s must be positive, got {update_period_s!r}")
        self.name = name
        self.kind = kind
        self.rails = tuple(rails)
        self.total_rails = self.rails
        self.period_s = float(update_period_s)
        self.update_period_s = self.period_s if state_period else None
        self.filter_model = FilterModel("counter") if kind is SensorKind.ENERGY else FilterModel("box", self.period_s)
        self.resolution_j = float(resolution_j)
        self.wrap_j = wrap_j
        self.errors = tuple((float(a), float(b)) for a, b in errors)
        self.error_reason = error_reason
        self.vanish_at_s = vanish_at_s
        self.clock = clock
        self.origin_ns = clock() if origin_ns is None else int(origin_ns)
        self.substeps = max(1, int(substeps))
        self._lock = threading.Lock()
        self._k = 0  # last integrated boundary index
        self._energy = [0.0] * len(self._functions)  # integral of p up to boundary _k, per rail
        # energy of period (_k-1, _k]; before the first latch the register holds p(0)
        self._last_period_j = [_simpson(f, -self.period_s, self.period_s, self.substeps) for f in self._functions]
        self._unwrappers = [CounterUnwrapper(wrap_j, max_increment=wrap_j) for _ in self._functions] if wrap_j else None
        self._closed = False

    # ------------------------------------------------------------------ hardware model
    def _advance(self, t_s: float) -> None:
        """Integrate ``p`` boundary by boundary up to the last boundary before ``t_s``."""
        k_now = math.floor(t_s / self.period_s)
        T = self.period_s
        while self._k < k_now:
            a = self._k * T
            for r, f in enumerate(self._functions):
                e = _simpson(f, a, T, self.substeps)
                self._energy[r] += e
                self._last_period_j[r] = e
            self._k += 1

    def true_energy_j(self, t0_s: float, t1_s: float, *, panels: int = 10_000) -> tuple[float, ...]:
        """The integral of ``p`` over ``[t0_s, t1_s]`` (seconds since the origin), per rail: the truth to compare
        a measurement with (Simpson's rule, independent of the hardware model)."""
        return tuple(_simpson(f, t0_s, t1_s - t0_s, panels) for f in self._functions)

    def _raw(self, t_ns: int) -> tuple[float, ...]:
        t_s = (t_ns - self.origin_ns) / 1e9
        if self.vanish_at_s is not None and t_s >= self.vanish_at_s:
            raise SensorUnavailable(f"sensor {self.name!r} vanished (device removed); check the device and rerun")
        for start, end in self.errors:
            if start <= t_s < end:
                raise SensorReadError(f"{self.name}: {self.error_reason}")
        self._advance(t_s)
        if self.kind is SensorKind.POWER:
            return tuple(e / self.period_s for e in self._last_period_j)
        values = list(self._energy)
        if self.resolution_j > 0:
            values = [math.floor(v / self.resolution_j) * self.resolution_j for v in values]
        if self.wrap_j:
            values = [math.fmod(v, self.wrap_j) for v in values]
        return tuple(values)

    # ------------------------------------------------------------------ Sensor interface
    def read_raw(self) -> Reading:
        """Read the raw hardware values (a wrapping counter is not unwrapped)."""
        if self._closed:
            raise SensorUnavailable(f"sensor {self.name!r} is closed")
        with self._lock:
            t = self.clock()
            return Reading(t, self._raw(t))

    def read(self) -> Reading:
        """Read every rail now: cumulative joules (unwrapped) or latched watts."""
        if self._closed:
            raise SensorUnavailable(f"sensor {self.name!r} is closed")
        with self._lock:
            t = self.clock()
            raw = self._raw(t)
            if self._unwrappers is not None and self.kind is SensorKind.ENERGY:
                raw = tuple(u.update(v) for u, v in zip(self._unwrappers, raw, strict=True))
            return Reading(t, raw)

    def close(self) -> None:
        """Later reads raise :class:`~synergy.errors.SensorUnavailable`."""
        self._closed = True

    def details(self) -> dict[str, Any]:
        """The scripted parameters."""
        return {
            "scripted": True,
            "hardware_period_s": self.period_s,
            "resolution_j": self.resolution_j,
            "wrap_j": self.wrap_j,
        }


def _simpson(f: PowerFunction, a: float, width: float, panels: int) -> float:
    """Integral of ``f`` over ``[a, a + width]`` by Simpson's rule on ``panels`` panels."""
    h = width / panels
    acc = 0.0
    for j in range(panels):
        x = a + j * h
        acc += f(x) + 4.0 * f(x + 0.5 * h) + f(x + h)
    return acc * h / 6.0


def _as_function(f: PowerFunction | float) -> PowerFunction:
    if callable(f):
        return f
    value = float(f)
    return lambda _t: value
