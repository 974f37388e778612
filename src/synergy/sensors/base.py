"""The sensor interface every backend implements.

A sensor is read, never pushed: :meth:`Sensor.read` returns one :class:`Reading` of every rail at a
monotonic timestamp. Values are SI: an *energy* sensor returns cumulative joules (already unwrapped), a
*power* sensor returns watts. How a value relates to the true power over time is the sensor's
:class:`FilterModel`; the attribution of energy to layers depends on it (``docs/sensors.md``).

Backends translate their own failures into :mod:`synergy.errors` once, at the boundary:
:class:`~synergy.errors.SensorReadError` for a transient failure (a gap), and
:class:`~synergy.errors.SensorUnavailable` when the sensor is gone.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from synergy.errors import SensorUnavailable

__all__ = ["FilterModel", "NullSensor", "Reading", "Sensor", "SensorKind"]


class SensorKind(enum.StrEnum):
    """What a sensor's values are."""

    ENERGY = "energy"
    """Cumulative energy counter, joules (RAPL, NVML total energy)."""
    POWER = "power"
    """Power, watts (Jetson rails, NVML instant power, power_supply)."""


@dataclass(frozen=True)
class FilterModel:
    """How a reading relates to the true power ``p(t)``.

    Attributes:
        kind: ``counter`` (each change of a cumulative counter is the energy since its previous change),
            ``box`` (the mean of ``p`` over the ``window_s`` before the value was latched), ``ema`` (an
            exponential moving average with time constant ``window_s``) or ``instant`` (``p`` at the read).
        window_s: the averaging window or time constant, seconds (0 for ``counter`` and ``instant``).
    """

    kind: str = "instant"
    window_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"kind": self.kind, "window_s": self.window_s}


@dataclass(frozen=True)
class Reading:
    """One read of every rail of a sensor.

    Attributes:
        t_ns: monotonic time of the read, ns (:func:`synergy.clock.now_ns`), the midpoint when a read
            spans several files.
        values: one value per rail, in the order of :attr:`Sensor.rails`: joules (cumulative, unwrapped)
            for an energy sensor, watts for a power sensor.
    """

    t_ns: int
    values: tuple[float, ...]


class Sensor(ABC):
    """A readable power or energy sensor with one or more rails.

    Attributes:
        name: backend name as used by ``--sensor`` (``rapl``, ``jetson``, ``nvml``, ...).
        kind: :class:`SensorKind` of the values.
        rails: names of the rails, in the order of :attr:`Reading.values`.
        total_rails: the rails whose sum is the non-overlapping total of what the sensor covers.
        update_period_s: how often the hardware updates a value, seconds; ``None`` when unknown (probe it).
        filter_model: how readings relate to the true power.
    """

    name: str = "sensor"
    kind: SensorKind = SensorKind.POWER
    rails: tuple[str, ...] = ()
    total_rails: tuple[str, ...] = ()
    update_period_s: float | None = None
    filter_model: FilterModel = FilterModel()

    @abstractmethod
    def read(self) -> Reading:
        """Read every rail now.

        Raises:
            SensorReadError: a transient failure; the caller records a gap and goes on.
            SensorUnavailable: the sensor vanished; sampling ends.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release any handle the sensor holds. Idempotent."""

    def total(self, reading: Reading) -> float:
        """The reading's non-overlapping total: the sum of :attr:`total_rails` (all rails if unset)."""
        wanted = self.total_rails or self.rails
        return float(sum(v for rail, v in zip(self.rails, reading.values, strict=True) if rail in wanted))

    def describe(self) -> dict[str, Any]:
        """JSON-ready description: name, kind, rails, total rails, unit, update period, filter model."""
        return {
            "name": self.name,
            "kind": str(self.kind),
            "unit": "J" if self.kind is SensorKind.ENERGY else "W",
            "rails": list(self.rails),
            "total_rails": list(self.total_rails or self.rails),
            "update_period_s": self.update_period_s,
            "filter_model": self.filter_model.to_dict(),
            **self.details(),
        }

    def details(self) -> dict[str, Any]:
        """Backend-specific extras for :meth:`describe` (paths, device index, ...)."""
        return {}

    def __enter__(self) -> Sensor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class NullSensor(Sensor):
    """The sensor used when none is found: reading it says why energy is unavailable.

    Measuring code holds a :class:`NullSensor` instead of branching on 'no sensor'; it records time and
    counters and reports :attr:`reason` once.
    """

    reason: str = "no power sensor was found"
    name: str = field(default="none")

    def read(self) -> Reading:
        """Always raises :class:`~synergy.errors.SensorUnavailable` with :attr:`reason`."""
        raise SensorUnavailable(self.reason)

    def details(self) -> dict[str, Any]:
        """The reason energy is unavailable."""
        return {"reason": self.reason}
