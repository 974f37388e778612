"""An immutable time series of sensor readings, with exact window integration.

A :class:`Timeline` holds what a sampler (or an external meter's log) saw of one channel: one row per
*change* of the value, on the monotonic clock (:func:`synergy.clock.now_ns`). It is the one time series of
the package: power and energy sensors, and context channels (clocks, temperatures, utilisation: ``kind``
``None``, NaN where a rail could not be read), whose reads :mod:`synergy.context.timeline` summarises over
the measured windows. Built from reads rather than changes (no ``t_prev_ns``), a context timeline's rows
are sorted by time and may share a stamp.

Each row ``i`` carries two times:

* ``t_ns[i]``: the first read that returned the new value;
* ``t_prev_ns[i]``: the last read before it, which still returned the previous value.

The sensor latched the value read at ``t_ns[i]`` somewhere in ``(t_prev_ns[i], t_ns[i]]``, and, when the
hardware updates every ``update_period_s`` (``U``), no earlier than ``t_ns[i] - U`` (a later update would
have replaced it). The timeline takes the midpoint of ``(max(t_prev_ns[i], t_ns[i] - U), t_ns[i]]`` as the
change instant, :attr:`Timeline.t_change_ns`: the error is at most half a poll interval, and a poll that
came late (a busy machine) costs at most half an update period. The first row only anchors the timeline:
its bracket is empty (``t_prev_ns[0] == t_ns[0]``) and the window its value describes lies before
sampling started.

How a row's value relates to energy depends on the :attr:`Timeline.model`:

``counter``
    ``values`` are cumulative joules (energy sensors). The increment of row ``i`` is the energy of
    ``(c[i-1], c[i]]`` where ``c`` are the change instants.
``box``
    ``values`` are watts latched at each change, the mean power over the window that ended at the latch
    (INA3221 rails, filter model ``box``). Row ``i`` holds the power of ``(c[i-1], c[i]]``; rows dropped
    because the value repeated are covered by the next distinct value, which had the same power.
``point``
    ``values`` are watts at the change instant (filter model ``instant`` or ``ema``, most meter logs);
    power between rows is interpolated linearly (trapezoid rule).

All three reduce to a cumulative energy ``E(t)`` defined on the coverage ``[c[0], c[-1]]``, and a window's
energy is ``E(t1) - E(t0)``: windows are additive, and a constant power integrates to ``P * (t1 - t0)``
exactly, partial intervals at the edges included. ``edges="increments"`` instead sums the whole increments
whose change instant falls in ``(t0, t1]`` (no interpolation; error at most one increment per edge).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt
import pandas as pd

from synergy.atomic import atomic_path
from synergy.errors import AlignmentError, DatasetError, SamplingError
from synergy.sensors.base import FilterModel, Reading, SensorKind
from synergy.sensors.counter import unwrap_array

__all__ = ["FORMAT_VERSION", "Gap", "Timeline", "unwrap_counter"]

#: Version of the Parquet layout written by :meth:`Timeline.to_parquet`.
FORMAT_VERSION = 1

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Edges = Literal["interpolate", "increments"]
_METADATA_KEY = b"synergy.timeline"
_UNITS: dict[SensorKind | None, str] = {SensorKind.ENERGY: "J", SensorKind.POWER: "W"}
_SUFFIXES: dict[SensorKind | None, str] = {SensorKind.ENERGY: "_j", SensorKind.POWER: "_w"}


@dataclass(frozen=True)
class Gap:
    """A run of failed reads: no value was obtained between the surrounding good reads.

    Attributes:
        t_start_ns: monotonic time of the first failed read, ns.
        t_end_ns: monotonic time of the last failed read of the run, ns.
        n_errors: how many reads failed in a row.
        reason: the first error's message (``ENODATA``, ``EAGAIN``, a half-written value, ...).
    """

    t_start_ns: int
    t_end_ns: int
    n_errors: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "t_start_ns": self.t_start_ns,
            "t_end_ns": self.t_end_ns,
            "n_errors": self.n_errors,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Gap:
        """Inverse of :meth:`to_dict`."""
        return cls(int(data["t_start_ns"]), int(data["t_end_ns"]), int(data["n_errors"]), str(data["reason"]))


def unwrap_counter(raw: npt.ArrayLike, range_j: float, max_increment_j: float | None = None) -> FloatArray:
    """Unwrap a counter that wraps to zero at ``range_j`` (RAPL's ``max_energy_range_uj``, in joules).

    The rule is :mod:`synergy.sensors.counter`'s: a decrease is a wrap only when the increment it implies,
    ``range_j - before + after``, is at most ``max_increment_j`` (default: the whole range, for logs read
    less often than half a wrap period); any other decrease is a read fault, which adds no energy.

    Args:
        raw: counter readings in ``[0, range_j)``, joules, in time order (1-D, or 2-D with one column per rail).
        range_j: the value at which the counter wraps, joules (> 0).
        max_increment_j: the largest increment a wrap may imply, joules.

    Returns:
        Cumulative joules starting at ``raw[0]``, non-decreasing.
    """
    if not range_j > 0:
        raise ValueError(f"range_j must be positive, got {range_j!r}")
    values, _ = unwrap_array(raw, range_j, range_j if max_increment_j is None else max_increment_j)
    return values


class Timeline:
    """What was seen of one channel: value changes on the monotonic clock, and the gaps between them.

    Immutable: its arrays are read-only. Build one from a sampler (:meth:`Sampler.stop`), from arrays
    (this constructor), from a data frame (:meth:`from_frame`), or from Parquet (:meth:`from_parquet`).

    Args:
        rails: one name per column of ``values``.
        t_ns: monotonic time of the first read of each value, ns, strictly increasing (for ``kind=None``
            without ``t_prev_ns``: any order, sorted here, stamps may repeat).
        values: ``(n, len(rails))`` values (1-D accepted for one rail); finite, except that a ``kind=None``
            timeline may hold NaN for a rail that could not be read at that time.
        kind: ``ENERGY`` (cumulative joules), ``POWER`` (watts), or ``None`` (the default) for any other
            quantity (frequency, temperature), which supports :meth:`mean` but no energy queries.
        t_prev_ns: time of the last read before each change, ns (``t_ns[i-1] <= t_prev_ns[i] <= t_ns[i]``);
            default ``t_ns`` itself (no bracket: every read was stored).
        t_end_ns: time of the last good read, ns (default ``t_ns[-1]``).
        filter_model: how values relate to the true power; picks the :attr:`model`.
        total_rails: rails whose sum is the non-overlapping total (default: all).
        gaps: failed-read runs.
        sensor: the channel's description (:meth:`Sensor.describe`).
        end_reason: why sampling ended early (the sensor vanished), or ``None``.
        unit: unit of a ``kind=None`` quantity (``MHz``, ``degC``), informative.
        update_period_s: the hardware update period, seconds, when known: it narrows wide brackets.
    """

    def __init__(
        self,
        rails: Sequence[str],
        t_ns: npt.ArrayLike,
        values: npt.ArrayLike,
        *,
        kind: SensorKind | None = None,
        t_prev_ns: npt.ArrayLike | None = None,
        t_end_ns: int | None = None,
        filter_model: FilterModel | None = None,
        total_rails: Sequence[str] = (),
        gaps: Sequence[Gap] = (),
        sensor: Mapping[str, Any] | None = None,
        end_reason: str | None = None,
        unit: str | None = None,
        update_period_s: float | None = None,
    ) -> None:
        self.kind = kind
        self.update_period_s = update_period_s if update_period_s and update_period_s > 0 else None
        self.rails = tuple(str(r) for r in rails)
        t = np.array(t_ns, dtype=np.int64).reshape(-1)
        vals = np.array(values, dtype=np.float64)
        if vals.ndim == 1:
            vals = vals.reshape(t.shape[0], len(self.rails))
        if vals.shape != (t.shape[0], len(self.rails)):
            raise ValueError(f"values have shape {vals.shape}, expected ({t.shape[0]}, {len(self.rails)})")
        reads = kind is None and t_prev_ns is None
        if reads and t.shape[0] > 1 and bool(np.any(np.diff(t) < 0)):
            order = np.argsort(t, kind="stable")
            t, vals = t[order], vals[order]
        tp = t.copy() if t_prev_ns is None else np.array(t_prev_ns, dtype=np.int64).reshape(-1)
        if tp.shape != t.shape:
            raise ValueError("t_prev_ns and t_ns differ in length")
        if t.shape[0] > 1 and bool(np.any(np.diff(t) < 0 if reads else np.diff(t) <= 0)):
            raise ValueError("t_ns must be strictly increasing")
        if bool(np.any(tp > t)) or (t.shape[0] > 1 and bool(np.any(tp[1:] < t[:-1]))):
            raise ValueError("each t_prev_ns must lie between the previous and the current t_ns")
        if not bool(np.all(np.isfinite(vals) | (np.isnan(vals) if kind is None else False))):
            raise ValueError("values must be finite (NaN marks an unreadable rail only where kind is None)")
        for arr in (t, tp, vals):
            arr.flags.writeable = False
        self.t_ns: IntArray = t
        self.t_prev_ns: IntArray = tp
        self.values: FloatArray = vals
        self.t_end_ns = int(t[-1]) if t_end_ns is None and t.shape[0] else int(t_end_ns or 0)
        if filter_model is None:
            filter_model = FilterModel("counter") if kind is SensorKind.ENERGY else FilterModel("instant")
        self.filter_model = filter_model
        self.total_rails = tuple(total_rails) or self.rails
        unknown = set(self.total_rails) - set(self.rails)
        if unknown:
            raise ValueError(f"total_rails names rails that do not exist: {sorted(unknown)}")
        self.gaps: tuple[Gap, ...] = tuple(gaps)
        self.sensor: dict[str, Any] = dict(sensor or {})
        self.end_reason = end_reason
        self.unit = unit if unit is not None else _UNITS.get(kind, "")
        lower = tp if self.update_period_s is None else np.maximum(tp, t - int(self.update_period_s * 1e9))
        mid = lower + (t - lower) // 2
        mid.flags.writeable = False
        self.t_change_ns: IntArray = mid
        """Estimated change instants, ns: midpoints of the brackets, narrowed by the update period."""
        self._cum: FloatArray | None = None

    # ------------------------------------------------------------------ basic properties
    @property
    def model(self) -> str:
        """``counter``, ``box`` or ``point`` (see the module docstring); ``level`` for ``kind=None``."""
        if self.kind is SensorKind.ENERGY:
            return "counter"
        if self.kind is None:
            return "level"
        return "box" if self.filter_model.kind == "box" else "point"

    def __len__(self) -> int:
        return int(self.t_ns.shape[0])

    def __repr__(self) -> str:
        return (
            f"Timeline(kind={self.kind}, model={self.model}, rails={self.rails}, n={len(self)}, "
            f"duration_s={self.duration_s:.3f}, gaps={len(self.gaps)})"
        )

    @property
    def coverage_ns(self) -> tuple[int, int]:
        """``(first, last)`` change instant: the span on which windows can be integrated, ns."""
        if len(self) == 0:
            raise SamplingError("the timeline is empty: no value was read; check the sensor")
        return int(self.t_change_ns[0]), int(self.t_change_ns[-1])

    @property
    def duration_s(self) -> float:
        """Length of the coverage, seconds (0 for fewer than two rows)."""
        return 0.0 if len(self) < 2 else float(self.t_change_ns[-1] - self.t_change_ns[0]) / 1e9

    @property
    def bracket_ns(self) -> IntArray:
        """Width of each change's bracket ``t_ns - t_prev_ns``, ns: the uncertainty of the change instant."""
        out = self.t_ns - self.t_prev_ns
        out.flags.writeable = False
        return out

    def column(self, rail: str) -> FloatArray:
        """The values of one rail."""
        return self.values[:, self._rail_index(rail)[0]]

    @classmethod
    def from_readings(cls, rails: Sequence[str], readings: Iterable[Reading]) -> Timeline:
        """A context timeline of reads from :class:`~synergy.sensors.base.Reading` objects (a gap is a missing one)."""
        readings = list(readings)
        t_ns = np.array([r.t_ns for r in readings], dtype=np.int64)
        values = np.array([r.values for r in readings], dtype=np.float64).reshape(len(readings), len(rails))
        return cls(tuple(rails), t_ns, values)

    def merge(self, other: Timeline) -> Timeline:
        """Both timelines' rails side by side on the union of their reads (each rail keeps only its own
        samples, NaN at the other's stamps): a context timeline of reads."""
        clash = set(self.rails) & set(other.rails)
        if clash:
            raise ValueError(f"timelines share rails {sorted(clash)}")
        t_ns = np.concatenate([self.t_ns, other.t_ns])
        values = np.full((len(t_ns), len(self.rails) + len(other.rails)), np.nan)
        values[: len(self), : len(self.rails)] = self.values
        values[len(self) :, len(self.rails) :] = other.values
        return Timeline(self.rails + other.rails, t_ns, values)

    def gaps_in(self, t0_ns: int, t1_ns: int) -> tuple[Gap, ...]:
        """The gaps that overlap ``[t0_ns, t1_ns]``."""
        return tuple(g for g in self.gaps if g.t_end_ns >= t0_ns and g.t_start_ns <= t1_ns)

    def _rail_index(self, rail: str | None) -> list[int]:
        if rail is None:
            return [self.rails.index(r) for r in self.total_rails]
        if rail not in self.rails:
            raise KeyError(f"no rail {rail!r}; rails are {list(self.rails)}")
        return [self.rails.index(rail)]

    # ------------------------------------------------------------------ cumulative energy
    def _cumulative(self) -> FloatArray:
        """Cumulative energy (or value-seconds for a level channel) at each change instant, per rail."""
        if self._cum is None:
            n = len(self)
            c = (self.t_change_ns - self.t_change_ns[0]).astype(np.float64) / 1e9 if n else np.zeros(0)
            cum = np.zeros_like(self.values)
            if n > 1:
                dt = np.diff(c)[:, None]
                if self.model == "counter":
                    cum = self.values - self.values[0]
                elif self.model == "box":
                    cum[1:] = np.cumsum(self.values[1:] * dt, axis=0)
                else:
                    cum[1:] = np.cumsum(0.5 * (self.values[1:] + self.values[:-1]) * dt, axis=0)
            cum.flags.writeable = False
            self._cum = cum
        return self._cum

    def _check_window(self, t: IntArray) -> None:
        if len(self) < 2:
            raise SamplingError(
                f"the timeline holds {len(self)} reading(s), too few to integrate; sample for longer than "
                "two sensor update periods"
            )
        lo, hi = self.coverage_ns
        if t.size and (int(t.min()) < lo or int(t.max()) > hi):
            raise AlignmentError(
                f"window [{int(t.min())}, {int(t.max())}] ns reaches outside the timeline's coverage [{lo}, {hi}] "
                "ns; start sampling before the first mark and stop it after the last one"
            )

    def _energy_at(self, t: IntArray, edges: Edges) -> FloatArray:
        """Cumulative quantity at times ``t`` (ns), one column per rail."""
        cum = self._cumulative()
        c = self.t_change_ns
        if edges == "increments":
            k = np.searchsorted(c, t, side="right") - 1
            return cum[np.clip(k, 0, len(self) - 1)]
        x = (t - c[0]).astype(np.float64) / 1e9
        knots = (c - c[0]).astype(np.float64) / 1e9
        if self.model in ("counter", "box"):
            return np.stack([np.interp(x, knots, cum[:, j]) for j in range(cum.shape[1])], axis=-1)
        k = np.clip(np.searchsorted(c, t, side="right") - 1, 0, len(self) - 2)
        h = knots[k + 1] - knots[k]
        h = np.where(h > 0, h, 1.0)
        s = x - knots[k]
        v0 = self.values[k]
        v1 = self.values[k + 1]
        slope = (v1 - v0) / h[:, None]
        return np.asarray(cum[k] + v0 * s[:, None] + 0.5 * slope * (s * s)[:, None], dtype=np.float64)

    def _window(self, t0_ns: Any, t1_ns: Any, rail: str | None, edges: Edges | None) -> FloatArray:
        t0 = np.atleast_1d(np.asarray(t0_ns, dtype=np.int64))
        t1 = np.atleast_1d(np.asarray(t1_ns, dtype=np.int64))
        t0, t1 = np.broadcast_arrays(t0, t1)
        if bool(np.any(t1 < t0)):
            raise ValueError("a window must have t1_ns >= t0_ns")
        both = np.concatenate([t0, t1])
        self._check_window(both)
        mode: Edges = edges or ("increments" if self.model == "counter" else "interpolate")
        e = self._energy_at(both, mode)
        cols = self._rail_index(rail)
        diff = e[t0.size :, cols] - e[: t0.size, cols]
        return np.asarray(diff.sum(axis=1), dtype=np.float64)

    def _require_energy(self) -> None:
        if self.kind is None:
            raise SamplingError(f"channel {self.sensor.get('name', '?')!r} is not a power or energy sensor")

    @overload
    def energy_j(self, t0_ns: int, t1_ns: int, *, rail: str | None = None, edges: Edges | None = None) -> float: ...
    @overload
    def energy_j(
        self, t0_ns: npt.ArrayLike, t1_ns: npt.ArrayLike, *, rail: str | None = None, edges: Edges | None = None
    ) -> FloatArray: ...
    def energy_j(
        self, t0_ns: Any, t1_ns: Any, *, rail: str | None = None, edges: Edges | None = None
    ) -> float | FloatArray:
        """Energy over the window ``[t0_ns, t1_ns]``, joules.

        Args:
            t0_ns: window start, monotonic ns (an int, or an array of starts).
            t1_ns: window end, monotonic ns (same shape as ``t0_ns``).
            rail: one rail, or ``None`` for the total over :attr:`total_rails`.
            edges: ``interpolate`` integrates the timeline's model exactly, partial intervals at the edges
                included (default for power); ``increments`` sums the whole increments whose change instant
                lies in ``(t0_ns, t1_ns]`` (default for counters: no assumption about power inside an update
                period; the error is at most one increment per edge).

        Raises:
            AlignmentError: the window reaches outside :attr:`coverage_ns`.
            SamplingError: fewer than two readings, or a channel that is neither power nor energy.
        """
        self._require_energy()
        out = self._window(t0_ns, t1_ns, rail, edges)
        return float(out[0]) if np.ndim(t0_ns) == 0 and np.ndim(t1_ns) == 0 else out

    @overload
    def mean_power_w(self, t0_ns: int, t1_ns: int, *, rail: str | None = None, edges: Edges | None = None) -> float: ...
    @overload
    def mean_power_w(
        self, t0_ns: npt.ArrayLike, t1_ns: npt.ArrayLike, *, rail: str | None = None, edges: Edges | None = None
    ) -> FloatArray: ...
    def mean_power_w(
        self, t0_ns: Any, t1_ns: Any, *, rail: str | None = None, edges: Edges | None = None
    ) -> float | FloatArray:
        """Mean power over ``[t0_ns, t1_ns]``, watts: :meth:`energy_j` over the window length (> 0)."""
        self._require_energy()
        e = self._window(t0_ns, t1_ns, rail, edges)
        dt = (np.asarray(t1_ns, dtype=np.int64) - np.asarray(t0_ns, dtype=np.int64)).astype(np.float64) / 1e9
        if bool(np.any(dt <= 0)):
            raise ValueError("mean power needs a window of positive length")
        out = e / np.atleast_1d(dt)
        return float(out[0]) if np.ndim(t0_ns) == 0 and np.ndim(t1_ns) == 0 else out

    def mean(self, t0_ns: int, t1_ns: int, *, rail: str | None = None) -> float:
        """Time-weighted mean value of one rail (or the total) over ``[t0_ns, t1_ns]``, in :attr:`unit`.

        For power and energy timelines this is the mean power in watts; for any other quantity (a frequency,
        a temperature) the values are interpolated linearly between rows.
        """
        if t1_ns <= t0_ns:
            raise ValueError("the mean needs a window of positive length")
        if self.kind is not None:
            return float(self.mean_power_w(t0_ns, t1_ns, rail=rail, edges="interpolate"))
        return float(self._window(t0_ns, t1_ns, rail, "interpolate")[0]) / ((t1_ns - t0_ns) / 1e9)

    # ------------------------------------------------------------------ views and conversions
    def power_w(self, rail: str | None = None) -> tuple[IntArray, FloatArray]:
        """Power against time for plots: ``(t_ns, watts)``.

        ``box`` and ``counter`` timelines give one point per interval, at its midpoint; ``point`` timelines
        their own rows.
        """
        self._require_energy()
        cols = self._rail_index(rail)
        if self.model == "point":
            return self.t_change_ns.copy(), self.values[:, cols].sum(axis=1)
        if len(self) < 2:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        power = self.to_power().values[1:, cols].sum(axis=1)
        c = self.t_change_ns
        return c[:-1] + (c[1:] - c[:-1]) // 2, power

    def _replace(self, **changes: Any) -> Timeline:
        kwargs: dict[str, Any] = {
            "kind": self.kind,
            "rails": self.rails,
            "t_ns": self.t_ns,
            "values": self.values,
            "t_prev_ns": self.t_prev_ns,
            "t_end_ns": self.t_end_ns,
            "filter_model": self.filter_model,
            "total_rails": self.total_rails,
            "gaps": self.gaps,
            "sensor": self.sensor,
            "end_reason": self.end_reason,
            "update_period_s": self.update_period_s,
        }
        kwargs.update(changes)
        return Timeline(**kwargs)

    def to_counter(self) -> Timeline:
        """The same timeline as a cumulative energy counter (joules, starting at 0).

        Exact at the change instants; between them a ``point`` timeline's counter view is linear where the
        trapezoid rule is quadratic.
        """
        self._require_energy()
        if self.model == "counter":
            return self
        return self._replace(kind=SensorKind.ENERGY, values=self._cumulative(), filter_model=FilterModel("counter"))

    def to_power(self) -> Timeline:
        """The same timeline as box-averaged power (watts): row ``i`` is the mean power of ``(c[i-1], c[i]]``.

        The first row, which covers nothing, repeats the second so the values stay finite.
        """
        self._require_energy()
        if self.model in ("box", "point"):
            return self
        values = np.zeros_like(self.values)
        if len(self) > 1:
            dt = np.diff(self.t_change_ns).astype(np.float64)[:, None] / 1e9
            values[1:] = np.diff(self.values, axis=0) / dt
            values[0] = values[1]
        return self._replace(
            kind=SensorKind.POWER, values=values, filter_model=FilterModel("box", self.sensor_period_s() or 0.0)
        )

    def sensor_period_s(self) -> float | None:
        """Median interval between change instants, seconds (the update period as seen), or ``None``."""
        if len(self) < 3:
            return None
        return float(np.median(np.diff(self.t_change_ns[1:]))) / 1e9

    # ------------------------------------------------------------------ frames and files
    def _value_columns(self) -> list[str]:
        suffix = _SUFFIXES.get(self.kind, "")
        return [f"{rail}{suffix}" for rail in self.rails]

    def metadata(self) -> dict[str, Any]:
        """Everything but the arrays, JSON-ready (stored in Parquet files and frame ``attrs``)."""
        return {
            "format_version": FORMAT_VERSION,
            "kind": None if self.kind is None else str(self.kind),
            "rails": list(self.rails),
            "total_rails": list(self.total_rails),
            "unit": self.unit,
            "filter_model": self.filter_model.to_dict(),
            "t_end_ns": self.t_end_ns,
            "gaps": [g.to_dict() for g in self.gaps],
            "sensor": self.sensor,
            "end_reason": self.end_reason,
            "update_period_s": self.update_period_s,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per change: ``t_ns``, ``t_prev_ns``, ``t_change_ns``, then one column per rail
        (``<rail>_j`` or ``<rail>_w``); :meth:`metadata` in ``frame.attrs``."""
        frame = pd.DataFrame({"t_ns": self.t_ns, "t_prev_ns": self.t_prev_ns, "t_change_ns": self.t_change_ns})
        for j, column in enumerate(self._value_columns()):
            frame[column] = self.values[:, j]
        frame.attrs.update(self.metadata())
        return frame

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, metadata: Mapping[str, Any] | None = None) -> Timeline:
        """Inverse of :meth:`to_frame` (metadata from ``frame.attrs`` unless given)."""
        meta = dict(metadata if metadata is not None else frame.attrs)
        if int(meta.get("format_version", 0)) > FORMAT_VERSION:
            raise DatasetError(
                f"timeline format version {meta.get('format_version')} is newer than this SyNERGY reads "
                f"({FORMAT_VERSION}); upgrade synergy-nn"
            )
        try:
            kind = None if meta.get("kind") is None else SensorKind(meta["kind"])
            rails = [str(r) for r in meta["rails"]]
            fm = meta.get("filter_model") or {}
            probe = cls(kind=kind, rails=rails, t_ns=[0], values=np.zeros((1, len(rails))))
            columns = probe._value_columns()
            missing = [c for c in ["t_ns", "t_prev_ns", *columns] if c not in frame.columns]
            if missing:
                raise DatasetError(f"timeline data lacks columns {missing}; write it with Timeline.to_parquet")
            return cls(
                kind=kind,
                rails=rails,
                t_ns=frame["t_ns"].to_numpy(np.int64),
                t_prev_ns=frame["t_prev_ns"].to_numpy(np.int64),
                values=frame[columns].to_numpy(np.float64),
                t_end_ns=meta.get("t_end_ns"),
                filter_model=FilterModel(str(fm.get("kind", "instant")), float(fm.get("window_s", 0.0))),
                total_rails=meta.get("total_rails") or (),
                gaps=[Gap.from_dict(g) for g in meta.get("gaps", [])],
                sensor=meta.get("sensor"),
                end_reason=meta.get("end_reason"),
                unit=meta.get("unit"),
                update_period_s=meta.get("update_period_s"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"timeline data is invalid ({exc}); write it with Timeline.to_parquet") from exc

    def to_parquet(self, path: str | os.PathLike[str]) -> Path:
        """Write the timeline to one Parquet file (metadata in the schema), atomically. Returns the path."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        target = Path(path)
        frame = self.to_frame()
        frame.attrs = {}
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.replace_schema_metadata({_METADATA_KEY: json.dumps(self.metadata()).encode()})
        with atomic_path(target) as tmp:
            pq.write_table(table, tmp)
        return target

    @classmethod
    def from_parquet(cls, path: str | os.PathLike[str]) -> Timeline:
        """Read a file written by :meth:`to_parquet`."""
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except (OSError, ValueError) as exc:
            raise DatasetError(
                f"cannot read timeline {os.fspath(path)!r} ({exc}); give a file from to_parquet"
            ) from exc
        raw = (table.schema.metadata or {}).get(_METADATA_KEY)
        if raw is None:
            raise DatasetError(f"{os.fspath(path)!r} is not a SyNERGY timeline (no metadata); write it with to_parquet")
        return cls.from_frame(table.to_pandas(), json.loads(raw))
