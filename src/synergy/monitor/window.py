"""One measured stretch of code: its marks, and its time and energy once resolved."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from synergy.results.jsonio import clean_json

if TYPE_CHECKING:
    from synergy.monitor.monitor import Monitor

__all__ = ["FLAGS", "Window", "WindowEnergy"]

#: Every quality flag a window may carry, and what it means.
FLAGS: dict[str, str] = {
    "short": "shorter than the sensor's update period: the energy is interpolated across the update(s) "
    "spanning it, assuming constant power within an update",
    "no-energy": "no energy: no power sensor is sampled",
    "not-covered": "the sensor's readings do not cover the window",
    "stale": "the sensor did not update around the window for much longer than its update period (a late or "
    "stalled sensor): the figure is what it reported, not necessarily what was drawn",
    "gaps": "sensor reads failed inside the window",
    "sensor-ended": "the sensor stopped during or before the window",
    "idle-unknown": "no idle power was measured, so the idle-subtracted energy is unknown",
}


@dataclass(frozen=True)
class WindowEnergy:
    """What the sensor saw of a window.

    Attributes:
        energy_j: energy over the window, summed over the sensor's non-overlapping rails, J (NaN when
            unknown: see ``flags``).
        rails_j: energy of each rail, J.
        energy_error_j: bound of the error of ``energy_j``: the true energy lies within ``energy_j ±
            energy_error_j`` for any power profile inside the updates that straddle the window's edges.
        power_w: mean power, W.
        peak_power_w: highest mean power over bins of ten update periods (at least 100 ms) inside the window, W
            (a window shorter than a bin gives its mean power).
        rails_peak_w: the same per rail, W.
        idle_w: the idle power subtracted, W (NaN when not measured).
        dynamic_energy_j: ``energy_j - idle_w * duration_s``, J.
        flags: quality flags (keys of :data:`FLAGS`).
        notes: one line per flag, with figures.
    """

    energy_j: float
    rails_j: dict[str, float]
    energy_error_j: float
    power_w: float
    peak_power_w: float
    rails_peak_w: dict[str, float]
    idle_w: float
    dynamic_energy_j: float
    flags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @classmethod
    def unknown(cls, rails: tuple[str, ...], idle_w: float, flag: str, note: str) -> WindowEnergy:
        """No energy figure: NaN everywhere, one flag and its note."""
        blank = dict.fromkeys(rails, _NAN)
        return cls(_NAN, blank, _NAN, _NAN, _NAN, dict(blank), idle_w, _NAN, (flag,), (note,))


_NAN = float("nan")


@dataclass(eq=False)
class Window:
    """A named window of a :class:`~synergy.monitor.Monitor`: open after ``begin_window``, closed by
    ``end_window``.

    The marks cost microseconds; the energy is resolved the first time one of its figures is read (which
    waits, at most about one sensor update period, for the readings that cover the window's end).

    Attributes:
        name: the window's name.
        t0_ns: start mark, monotonic ns.
        t1_ns: end mark, monotonic ns (``None`` while open).
    """

    name: str
    t0_ns: int
    t1_ns: int | None = None
    _monitor: Monitor | None = field(default=None, repr=False)
    _energy: WindowEnergy | None = field(default=None, repr=False)

    @property
    def open(self) -> bool:
        """Whether the window is still open."""
        return self.t1_ns is None

    @property
    def duration_s(self) -> float:
        """Time between the marks, seconds."""
        if self.t1_ns is None:
            raise ValueError(f"window {self.name!r} is still open; end it before reading its figures")
        return (self.t1_ns - self.t0_ns) / 1e9

    def resolve(self) -> WindowEnergy:
        """The window's energy figures (computed once)."""
        if self._energy is None:
            if self.t1_ns is None:
                raise ValueError(f"window {self.name!r} is still open; end it before reading its figures")
            if self._monitor is None:
                raise ValueError(f"window {self.name!r} belongs to no monitor")
            self._energy = self._monitor._resolve(self)
        return self._energy

    energy_j = property(lambda self: self.resolve().energy_j, doc="Energy over the window, J.")
    rails_j = property(lambda self: self.resolve().rails_j, doc="Energy of each rail, J.")
    energy_error_j = property(lambda self: self.resolve().energy_error_j, doc="Error bound of energy_j, J.")
    power_w = property(lambda self: self.resolve().power_w, doc="Mean power, W.")
    peak_power_w = property(lambda self: self.resolve().peak_power_w, doc="Peak power, W.")
    idle_w = property(lambda self: self.resolve().idle_w, doc="Idle power subtracted, W.")
    dynamic_energy_j = property(lambda self: self.resolve().dynamic_energy_j, doc="Energy above idle, J.")
    flags = property(lambda self: self.resolve().flags, doc="Quality flags.")
    notes = property(lambda self: self.resolve().notes, doc="One line per flag.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: marks, time and every energy figure (NaN as ``None``)."""
        e = self.resolve()
        clean = clean_json
        return {
            "name": self.name,
            "t0_ns": self.t0_ns,
            "t1_ns": self.t1_ns,
            "duration_s": self.duration_s,
            "energy_j": clean(e.energy_j),
            "energy_error_j": clean(e.energy_error_j),
            "rails_j": {k: clean(v) for k, v in e.rails_j.items()},
            "power_w": clean(e.power_w),
            "peak_power_w": clean(e.peak_power_w),
            "rails_peak_w": {k: clean(v) for k, v in e.rails_peak_w.items()},
            "idle_w": clean(e.idle_w),
            "dynamic_energy_j": clean(e.dynamic_energy_j),
            "flags": list(e.flags),
            "notes": list(e.notes),
        }

    def __repr__(self) -> str:
        if self.t1_ns is None:
            return f"Window({self.name!r}, open)"
        text = f"Window({self.name!r}, {_si(self.duration_s, 's')}"
        if self._energy is not None or self._monitor is not None:
            e = self.resolve()
            if math.isfinite(e.energy_j):
                text += f", {_si(e.energy_j, 'J')} ± {_si(e.energy_error_j, 'J')}, {_si(e.power_w, 'W')}"
            if e.flags:
                text += f", flags={list(e.flags)}"
        return text + ")"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in self.to_dict().items()
            if k not in ("t0_ns", "t1_ns")
        )
        return f"<table>{rows}</table>"


def _si(value: float, unit: str) -> str:
    from synergy.units import human

    return human(value, unit)
