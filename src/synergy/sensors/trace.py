"""``trace:FILE``: an external power meter's log, aligned to the monotonic clock.

A meter (a bench supply, a USB power meter, a smart plug) logs on its own clock. SyNERGY reads its CSV log
after the run and puts it on the monotonic clock of the layer marks in one of two ways:

* an explicit offset: ``monotonic_s = trace_s + offset_s`` (``offset_s="wall"`` for logs stamped with Unix
  time by the measuring machine's own clock);
* a sync pattern: :func:`emit_sync_pattern` loads the CPU in a known pseudo-random sequence of busy and
  idle bursts at the start of the measurement and records every edge on the monotonic clock;
  :func:`align_trace` finds that square wave in the meter's power by cross-correlation and refuses
  (:class:`~synergy.errors.AlignmentError`) when the match is weak or ambiguous.

Accepted CSV (comma, semicolon or tab separated; lines starting with ``#`` are comments): a header row with
one time column and one power or energy column; other columns are ignored. A header is a quantity name with
an optional unit, as ``name_unit``, ``name (unit)`` or ``name [unit]``, or a bare unit:

============  ==========================================  ===========================================
quantity      names                                        units (default first)
============  ==========================================  ===========================================
time          ``t``, ``time``, ``timestamp``, ``ts``,      ``s``, ``ms``, ``us``, ``ns``, ``min``, ``h``;
              ``elapsed``, ``seconds``                     or ISO 8601 date-times (local time if naive)
power         ``power``, ``p``, ``watts``, ``W``           ``W``, ``mW``, ``uW``, ``kW``
energy        ``energy``, ``e``, ``joules``, ``J``, ``Wh``  ``J``, ``mJ``, ``uJ``, ``kJ``, ``Wh``, ``mWh``, ``kWh``
============  ==========================================  ===========================================

When a file has both power and energy, power is used (``column=`` picks another). Bad input (an empty
file, a missing column, a non-number or NaN, time that does not increase, an energy counter that goes
down, an unknown unit) raises a one-line :class:`~synergy.errors.DatasetError` naming the row and the fix.

A trace is not read live: the :class:`TraceSensor` that ``open_trace_sensor`` returns refuses
:meth:`~TraceSensor.read` and has ``live = False``; the measurement code asks it for
:meth:`~TraceSensor.timeline` after the run, when the meter's log is complete.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import random
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from synergy.clock import now_ns, wall_offset_ns
from synergy.errors import AlignmentError, DatasetError, SensorUnavailable
from synergy.sampling.timeline import Timeline, unwrap_counter
from synergy.sensors.base import FilterModel, Reading, Sensor, SensorKind

__all__ = [
    "Alignment",
    "MeterTrace",
    "SyncPattern",
    "SyncRecord",
    "TraceSensor",
    "align_trace",
    "emit_sync_pattern",
    "open_trace_sensor",
    "parse_trace_spec",
    "read_trace_csv",
]

FloatArray = npt.NDArray[np.float64]

_TIME_NAMES = {"t", "time", "timestamp", "ts", "elapsed", "seconds", "secs", "sec"}
_POWER_NAMES = {"power", "p", "watts", "watt"}
_ENERGY_NAMES = {"energy", "e", "joules", "joule"}
_TIME_UNITS = {"s": 1.0, "sec": 1.0, "secs": 1.0, "seconds": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6,
               "ns": 1e-9, "min": 60.0, "h": 3600.0}  # fmt: skip
_POWER_UNITS = {"w": 1.0, "watts": 1.0, "watt": 1.0, "mw": 1e-3, "uw": 1e-6, "µw": 1e-6, "kw": 1e3}
_ENERGY_UNITS = {"j": 1.0, "joules": 1.0, "joule": 1.0, "mj": 1e-3, "uj": 1e-6, "µj": 1e-6, "kj": 1e3,
                 "wh": 3600.0, "mwh": 3.6, "kwh": 3.6e6}  # fmt: skip
_BRACKET = re.compile(r"^(?P<name>.*?)\s*[\(\[]\s*(?P<unit>[^\)\]]*?)\s*[\)\]]$")
_FIX_HEADERS = "name the columns like t_s,power_w (or time,watts / timestamp,energy_j)"


@dataclass(frozen=True)
class _Column:
    index: int
    header: str
    quantity: str  # time | power | energy
    scale: float | None  # to s, W or J; None: unknown unit
    unit: str


def _classify(index: int, header: str) -> _Column | None:
    """Recognise a header as time, power or energy, with its unit scale."""
    text = header.strip().strip('"').strip("\ufeff").strip()
    joined = re.sub(r"[\s_-]+", "", text.lower())
    if joined in _TIME_NAMES or joined == "timestamp":  # time_stamp, "Time Stamp"
        return _Column(index, header, "time", 1.0, "s")
    name, unit = text, ""
    m = _BRACKET.match(text)
    if m:
        name, unit = m.group("name"), m.group("unit")
    elif "_" in text:
        head, tail = text.rsplit("_", 1)
        name, unit = head, tail
    low_name, low_unit = name.strip().lower(), unit.strip().lower()
    if unit.strip() in {"MW", "MJ", "MWh"}:
        low_unit = {"MW": "megaw", "MJ": "megaj", "MWh": "megawh"}[unit.strip()]
    # A bare unit as the whole header ("W", "mW", "J", "s").
    if not unit:
        bare = low_name
        if bare in _POWER_UNITS and bare not in _POWER_NAMES:
            return _Column(index, header, "power", _POWER_UNITS[bare], bare)
        if bare in _ENERGY_UNITS and bare not in _ENERGY_NAMES:
            return _Column(index, header, "energy", _ENERGY_UNITS[bare], bare)
        if bare in {"s", "ms", "us", "ns"}:
            return _Column(index, header, "time", _TIME_UNITS[bare], bare)
    for names, units, quantity, default in (
        (_TIME_NAMES, _TIME_UNITS, "time", "s"),
        (_POWER_NAMES, _POWER_UNITS, "power", "w"),
        (_ENERGY_NAMES, _ENERGY_UNITS, "energy", "j"),
    ):
        if low_name in names:
            if not low_unit:
                return _Column(index, header, quantity, units[default], default)
            return _Column(index, header, quantity, units.get(low_unit), low_unit)
    return None


@dataclass(frozen=True)
class MeterTrace:
    """A meter's log as read from its file, still on the meter's clock.

    Attributes:
        path: the file.
        t_s: time of each row on the meter's clock, seconds (Unix seconds for date-time columns).
        values: watts (``kind=POWER``) or cumulative joules (``kind=ENERGY``, unwrapped).
        kind: power or energy.
        time_column: header of the time column.
        value_column: header of the value column.
        wall_clock: whether the time column held date-times (Unix seconds).
    """

    path: Path
    t_s: FloatArray
    values: FloatArray
    kind: SensorKind
    time_column: str
    value_column: str
    wall_clock: bool = False

    @property
    def period_s(self) -> float:
        """Median interval between rows, seconds."""
        return float(np.median(np.diff(self.t_s)))

    def power_w(self, filter_model: FilterModel | None = None) -> tuple[FloatArray, FloatArray]:
        """``(t_s, watts)`` on the meter's clock, each value at the centre of what it describes.

        An energy log is differentiated between rows (values at interval midpoints); a power log whose
        ``filter_model`` is ``box`` (each row the mean since the previous one) is also placed at the
        midpoints, which removes the half-interval delay of an averaging meter.
        """
        if self.kind is SensorKind.POWER:
            if filter_model is not None and filter_model.kind == "box":
                return 0.5 * (self.t_s[1:] + self.t_s[:-1]), self.values[1:]
            return self.t_s, self.values
        mid = 0.5 * (self.t_s[1:] + self.t_s[:-1])
        return mid, np.diff(self.values) / np.diff(self.t_s)

    def to_timeline(self, offset_s: float, *, filter_model: FilterModel | None = None) -> Timeline:
        """The trace on the monotonic clock: ``t_ns = round((t_s + offset_s) * 1e9)``.

        Every row is exact (no bracket). Power rows are points (trapezoid rule) unless ``filter_model``
        says ``box`` (each row the mean power since the previous one).
        """
        t_ns = np.round((self.t_s + offset_s) * 1e9).astype(np.int64)
        fm = FilterModel("counter") if self.kind is SensorKind.ENERGY else filter_model or FilterModel("instant")
        return Timeline(
            kind=self.kind,
            rails=("meter",),
            t_ns=t_ns,
            values=self.values,
            filter_model=fm,
            sensor={
                "name": "trace",
                "path": str(self.path),
                "time_column": self.time_column,
                "value_column": self.value_column,
                "offset_s": offset_s,
                "update_period_s": self.period_s,
            },
        )


def _error(path: Path, problem: str, fix: str) -> DatasetError:
    return DatasetError(f"trace {os.fspath(path)!r}: {problem}; {fix}")


def _parse_time(text: str) -> tuple[float, bool]:
    """A time cell: a number, or an ISO 8601 date-time as Unix seconds. Returns (value, is_wall_clock)."""
    try:
        return float(text), False
    except ValueError:
        return datetime.fromisoformat(text.strip()).timestamp(), True


def read_trace_csv(
    path: str | os.PathLike[str], *, column: str | None = None, wrap_j: float | None = None
) -> MeterTrace:
    """Read a meter's CSV log (see the module docstring for the accepted headers and units).

    Args:
        path: the CSV file.
        column: the value column's header, when the file has several power or energy columns.
        wrap_j: for an energy column: the value at which the meter's counter wraps, joules.

    Raises:
        DatasetError: the file is missing, empty, lacks a column, or holds a bad value (one line, with the
            row and the fix).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise _error(p, "no such file", "give the path of the meter's CSV log as trace:FILE") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise _error(p, f"cannot be read ({exc})", "give a readable UTF-8 CSV file") from exc
    lines = [
        (n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise _error(p, "is empty", f"give a CSV log with a header row; {_FIX_HEADERS}")
    header_line = lines[0][1]
    delimiter = max(",;\t", key=header_line.count)
    rows = list(csv.reader(io.StringIO("\n".join(line for _, line in lines)), delimiter=delimiter))
    header = rows[0]
    columns = [c for c in (_classify(i, h) for i, h in enumerate(header)) if c is not None]
    times = [c for c in columns if c.quantity == "time"]
    if not times:
        raise _error(p, f"no time column among {header}", _FIX_HEADERS)
    values = [c for c in columns if c.quantity in ("power", "energy")]
    if column is not None:
        values = [c for c in values if c.header.strip() == column]
        if not values:
            raise _error(p, f"no power or energy column named {column!r} among {header}", "pick one of the headers")
    if not values:
        raise _error(p, f"no power or energy column among {header}", _FIX_HEADERS)
    known = [c for c in values if c.scale is not None]
    if not known:
        bad = values[0]
        raise _error(
            p, f"unknown unit {bad.unit!r} in column {bad.header!r}", "use W, mW, uW, kW, J, mJ, uJ, kJ, Wh, mWh or kWh"
        )
    value_col = next((c for c in known if c.quantity == "power"), known[0])
    time_col = times[0]
    if time_col.scale is None:
        raise _error(p, f"unknown time unit {time_col.unit!r} in column {time_col.header!r}", "use s, ms, us or ns")
    data = rows[1:]
    if len(data) < 2:
        raise _error(p, f"has {len(data)} data row(s)", "log at least two rows (the whole run)")
    t = np.empty(len(data))
    v = np.empty(len(data))
    wall = False
    width = len(header)
    for i, row in enumerate(data):
        line_no = lines[i + 1][0]
        if len(row) != width:
            raise _error(p, f"line {line_no} has {len(row)} fields, the header {width}", "fix or remove that line")
        cell_t, cell_v = row[time_col.index], row[value_col.index]
        try:
            t[i], is_wall = _parse_time(cell_t)
            wall = wall or is_wall
        except ValueError:
            raise _error(
                p, f"line {line_no}: time {cell_t!r} is not a number or a date-time", "fix or remove that line"
            ) from None
        try:
            v[i] = float(cell_v)
        except ValueError:
            raise _error(
                p,
                f"line {line_no}: {cell_v!r} in column {value_col.header!r} is not a number",
                "fix or remove that line",
            ) from None
        if not (math.isfinite(t[i]) and math.isfinite(v[i])):
            raise _error(p, f"line {line_no} holds NaN or infinity", "remove that line")
    if not wall:
        t *= time_col.scale or 1.0
    v *= value_col.scale or 1.0
    steps = np.diff(t)
    if bool(np.any(steps <= 0)):
        k = int(np.argmax(steps <= 0)) + 2
        raise _error(
            p,
            f"time does not increase at line {lines[k][0]} ({t[k - 1]:.6g} after {t[k - 2]:.6g})",
            "sort the log by time and drop duplicate rows",
        )
    kind = SensorKind.POWER if value_col.quantity == "power" else SensorKind.ENERGY
    if kind is SensorKind.ENERGY:
        if wrap_j is not None:
            v = unwrap_counter(v, wrap_j)
        elif bool(np.any(np.diff(v) < 0)):
            k = int(np.argmax(np.diff(v) < 0)) + 2
            raise _error(
                p,
                f"energy decreases at line {lines[k][0]} (a counter reset or wrap)",
                "pass the counter's wrap value (wrap_j), or cut the log at the reset",
            )
    return MeterTrace(p, t, v, kind, time_col.header, value_col.header, wall)


# ---------------------------------------------------------------------- the sync pattern
@dataclass(frozen=True)
class SyncPattern:
    """Alternating busy and idle bursts: ``durations_s[0]`` busy, ``[1]`` idle, ``[2]`` busy, ...

    Use :meth:`random` for a pattern whose autocorrelation has one clear peak. Every burst must be several
    meter sampling periods long (at least 2×, better 5×) for the meter to see it.
    """

    durations_s: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.durations_s) < 2 or any(not d > 0 for d in self.durations_s):
            raise ValueError("a sync pattern needs at least two positive durations")

    @classmethod
    def random(cls, n_bursts: int = 8, bit_s: float = 0.25, *, max_bits: int = 3, seed: int = 20240) -> SyncPattern:
        """``n_bursts`` busy bursts separated by idle gaps, each 1..``max_bits`` × ``bit_s`` long (seeded)."""
        rng = random.Random(seed)
        durations = [rng.randint(1, max_bits) * bit_s for _ in range(2 * n_bursts - 1)]
        return cls(tuple(durations))

    @property
    def duration_s(self) -> float:
        """Total length, seconds."""
        return float(sum(self.durations_s))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"durations_s": list(self.durations_s)}


@dataclass(frozen=True)
class SyncRecord:
    """A sync pattern as it was emitted.

    Attributes:
        pattern: the pattern asked for.
        edges_ns: monotonic time of each edge, ns: the start of every burst, then the end of the last one.
        workers: CPU threads that were loaded.
    """

    pattern: SyncPattern
    edges_ns: npt.NDArray[np.int64]
    workers: int = 1

    def level(self, t_ns: npt.ArrayLike) -> FloatArray:
        """The emitted square wave at ``t_ns``: 1 while busy, 0 while idle or outside the pattern."""
        t = np.asarray(t_ns, dtype=np.int64)
        k = np.searchsorted(self.edges_ns, t, side="right") - 1
        inside = (k >= 0) & (k < len(self.edges_ns) - 1)
        return np.where(inside & (k % 2 == 0), 1.0, 0.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"pattern": self.pattern.to_dict(), "edges_ns": [int(e) for e in self.edges_ns], "workers": self.workers}


def _burn(stop: threading.Event, busy: threading.Event, block: bytes) -> None:
    while not stop.is_set():
        if busy.wait(0.05):
            hashlib.sha256(block).digest()  # releases the GIL while hashing


def emit_sync_pattern(pattern: SyncPattern | None = None, *, workers: int | None = None) -> SyncRecord:
    """Load the CPU in ``pattern`` (busy: hashing on ``workers`` threads; idle: sleeping) and time every edge.

    Blocks for the pattern's duration. Hashing releases the interpreter lock, so ``workers`` threads load
    as many cores; the default is every core this process may use.

    Returns:
        The edges on the monotonic clock, for :func:`align_trace`.
    """
    pattern = pattern or SyncPattern.random()
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n_workers = max(1, workers)
    block = b"\x5a" * 16384
    stop, busy = threading.Event(), threading.Event()
    helpers = [
        threading.Thread(target=_burn, args=(stop, busy, block), name=f"synergy-sync-{i}", daemon=True)
        for i in range(n_workers - 1)
    ]
    for h in helpers:
        h.start()
    edges = [now_ns()]
    try:
        deadline = edges[0]
        for i, duration in enumerate(pattern.durations_s):
            deadline += int(duration * 1e9)
            if i % 2 == 0:
                busy.set()
                while now_ns() < deadline:
                    hashlib.sha256(block).digest()
                busy.clear()
            else:
                remaining = deadline - now_ns()
                if remaining > 0:
                    time.sleep(remaining / 1e9)
            edges.append(now_ns())
    finally:
        busy.clear()
        stop.set()
        for h in helpers:
            h.join(1.0)
    return SyncRecord(pattern, np.asarray(edges, dtype=np.int64), n_workers)


# ---------------------------------------------------------------------- alignment
@dataclass(frozen=True)
class Alignment:
    """Where the sync pattern was found in a trace.

    Attributes:
        offset_s: add to the trace's time to get monotonic seconds.
        correlation: Pearson correlation of the trace's power with the pattern at the best offset (1 is a
            perfect match).
        runner_up: the best correlation at an offset at least one burst away from the best one.
        resolution_s: the step of the offset search, seconds.
    """

    offset_s: float
    correlation: float
    runner_up: float
    resolution_s: float

    @property
    def ambiguity(self) -> float:
        """``runner_up / correlation``: near 1 means two offsets fit about as well."""
        return self.runner_up / self.correlation if self.correlation > 0 else math.inf

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "offset_s": self.offset_s,
            "correlation": self.correlation,
            "runner_up": self.runner_up,
            "ambiguity": self.ambiguity,
            "resolution_s": self.resolution_s,
        }


_ALIGN_FIX = "lengthen the sync pattern (more or longer bursts), log the meter faster, or give offset_s explicitly"


def align_trace(
    trace: MeterTrace,
    record: SyncRecord,
    *,
    min_correlation: float = 0.6,
    max_ambiguity: float = 0.85,
    max_points: int = 2_000_000,
    trace_filter: FilterModel | None = None,
) -> Alignment:
    """Find the clock offset of a trace from the sync pattern it recorded.

    Resamples the trace's power onto a uniform grid, slides the pattern's square wave along it and takes the
    offset with the highest Pearson correlation, refined to a fraction of a grid step.

    Args:
        trace: the meter's log.
        record: the edges of the emitted pattern (:func:`emit_sync_pattern`).
        min_correlation: the weakest match accepted (Pearson correlation).
        max_ambiguity: the highest accepted ratio of the runner-up correlation to the best.
        max_points: cap on the resampled grid's length (long logs get a coarser grid).
        trace_filter: how a power row relates to the true power; ``box`` places each row at the middle of
            the interval it averages (an averaging meter otherwise reads half an interval late).

    Raises:
        AlignmentError: the trace is too coarse or too short for the pattern, the best correlation is below
            ``min_correlation``, or another offset fits almost as well (``runner_up / correlation`` above
            ``max_ambiguity``); the message says what to change.
    """
    t_s, p_w = trace.power_w(trace_filter)
    edges_s = (record.edges_ns - record.edges_ns[0]) / 1e9
    shortest = float(np.min(np.diff(edges_s)))
    meter_dt = float(np.median(np.diff(t_s)))
    if meter_dt > shortest / 2:
        raise AlignmentError(
            f"the meter logs every {meter_dt:.3g} s but the sync pattern's shortest burst is {shortest:.3g} s; "
            f"use bursts of at least {2 * meter_dt:.3g} s (SyncPattern.random(bit_s=...)), or give offset_s"
        )
    span = float(t_s[-1] - t_s[0])
    length_s = float(edges_s[-1])
    if span < length_s:
        raise AlignmentError(
            f"the trace covers {span:.3g} s, shorter than the {length_s:.3g} s sync pattern; start the meter's "
            "log before the measurement and stop it after, or give offset_s"
        )
    step = max(min(meter_dt / 10, shortest / 50), span / max_points)
    grid = np.arange(t_s[0], t_s[-1], step)
    x = np.interp(grid, t_s, p_w)
    ref = record.level(record.edges_ns[0] + np.round(np.arange(0.0, length_s, step) * 1e9).astype(np.int64))
    m = ref.size
    if x.size < m + 1:
        raise AlignmentError(f"the trace is too short to hold the sync pattern; {_ALIGN_FIX}")
    ref = ref - ref.mean()
    ref_norm = float(np.sqrt(np.sum(ref * ref)))
    if ref_norm == 0:
        raise AlignmentError("the sync pattern has no edges; use SyncPattern.random()")
    from scipy.signal import correlate

    num = correlate(x, ref, mode="valid", method="fft")
    c1 = np.concatenate([[0.0], np.cumsum(x)])
    c2 = np.concatenate([[0.0], np.cumsum(x * x)])
    s1 = c1[m:] - c1[:-m]
    s2 = c2[m:] - c2[:-m]
    var = np.maximum(s2 - s1 * s1 / m, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.where(var > 1e-12 * max(1.0, float(np.max(s2))), num / (np.sqrt(var) * ref_norm), 0.0)
    best = int(np.argmax(corr))
    r_best = float(corr[best])
    frac = 0.0
    if 0 < best < corr.size - 1:
        a, b, c = corr[best - 1], corr[best], corr[best + 1]
        denom = a - 2 * b + c
        frac = float(0.5 * (a - c) / denom) if denom < 0 else 0.0
    guard = max(1, round(shortest / step))
    masked = corr.copy()
    masked[max(0, best - guard) : best + guard + 1] = -np.inf
    r_second = float(np.max(masked)) if np.isfinite(np.max(masked)) else 0.0
    offset_s = float(record.edges_ns[0] / 1e9 - (grid[0] + (best + frac) * step))
    result = Alignment(offset_s, r_best, max(r_second, 0.0), step)
    if r_best < min_correlation:
        raise AlignmentError(
            f"the sync pattern was not found in the trace (best correlation {r_best:.2f} < {min_correlation}); "
            f"check that the meter logged during the pattern, then {_ALIGN_FIX}"
        )
    if result.ambiguity > max_ambiguity:
        raise AlignmentError(
            f"the sync pattern's position is ambiguous (correlations {r_best:.2f} and {r_second:.2f} at offsets "
            f"at least {shortest:.3g} s apart); {_ALIGN_FIX}"
        )
    return result


# ---------------------------------------------------------------------- the sensor
@dataclass
class TraceSensor(Sensor):
    """An external meter's log as a sensor that is read after the run, not live.

    ``live`` is ``False``: the measurement code does not sample it; it emits a sync pattern (or knows the
    offset), runs, and then calls :meth:`timeline`.

    Attributes:
        path: the CSV log.
        offset_s: ``monotonic_s = trace_s + offset_s``; ``"wall"`` for logs stamped in Unix time by this
            machine's clock; ``None`` to align from a sync pattern.
        column: the value column, when the file has several.
        wrap_j: wrap value of an energy counter column, joules.
        trace_filter: how a power row relates to the true power (``instant``: trapezoid; ``box``: the mean
            since the previous row).
        alignment: the last automatic alignment, if any.
    """

    path: Path = field(default_factory=Path)
    offset_s: float | Literal["wall"] | None = None
    column: str | None = None
    wrap_j: float | None = None
    trace_filter: FilterModel = field(default_factory=lambda: FilterModel("instant"))
    alignment: Alignment | None = None
    live: bool = False
    name: str = "trace"

    def __post_init__(self) -> None:
        first = read_trace_csv(self.path, column=self.column, wrap_j=self.wrap_j)
        self.kind = first.kind
        self.rails = ("meter",)
        self.total_rails = ("meter",)
        self.update_period_s = first.period_s
        self.filter_model = FilterModel("counter") if first.kind is SensorKind.ENERGY else self.trace_filter

    def read(self) -> Reading:
        """Always raises: a trace is complete only after the run (use :meth:`timeline`)."""
        raise SensorUnavailable(
            f"trace {os.fspath(self.path)!r} is read after the run, not live; call TraceSensor.timeline() once "
            "the meter's log is complete"
        )

    def load(self) -> MeterTrace:
        """Read the log again (the meter may have appended rows since the sensor was opened)."""
        return read_trace_csv(self.path, column=self.column, wrap_j=self.wrap_j)

    def timeline(self, sync: SyncRecord | None = None, **align_options: Any) -> Timeline:
        """The meter's log on the monotonic clock.

        Args:
            sync: the record of the sync pattern emitted during the run; used when ``offset_s`` is ``None``.
            **align_options: passed to :func:`align_trace`.

        Raises:
            AlignmentError: no offset and no sync record, or the pattern cannot be found.
            DatasetError: the log became unreadable.
        """
        trace = self.load()
        if self.offset_s == "wall":
            if not trace.wall_clock and trace.t_s[0] < 1e8:
                raise AlignmentError(
                    f"trace {os.fspath(self.path)!r} is not stamped in Unix time, so offset 'wall' does not apply; "
                    "give offset_s in seconds or use a sync pattern"
                )
            offset = -wall_offset_ns() / 1e9
        elif self.offset_s is not None:
            offset = float(self.offset_s)
        elif sync is not None:
            align_options.setdefault("trace_filter", self.trace_filter)
            self.alignment = align_trace(trace, sync, **align_options)
            offset = self.alignment.offset_s
        else:
            raise AlignmentError(
                f"trace {os.fspath(self.path)!r} has no clock offset; give offset_s or emit a sync pattern "
                "(emit_sync_pattern) at the start of the measurement"
            )
        timeline = trace.to_timeline(offset, filter_model=self.trace_filter)
        extra = {"alignment": self.alignment.to_dict()} if self.alignment and self.offset_s is None else {}
        return Timeline(
            kind=timeline.kind,
            rails=timeline.rails,
            t_ns=timeline.t_ns,
            values=timeline.values,
            filter_model=timeline.filter_model,
            sensor={**timeline.sensor, **extra},
        )

    def details(self) -> dict[str, Any]:
        """The log's path, offset and alignment."""
        return {
            "path": str(self.path),
            "offset_s": self.offset_s,
            "live": False,
            "alignment": self.alignment.to_dict() if self.alignment else None,
        }


def open_trace_sensor(
    path: str | os.PathLike[str],
    offset_s: float | Literal["wall"] | None = None,
    *,
    column: str | None = None,
    wrap_j: float | None = None,
    filter_model: FilterModel | None = None,
) -> TraceSensor:
    """Open ``trace:FILE``: check the log now (bad input fails before the run), read it fully later.

    Args:
        path: the meter's CSV log (the part after ``trace:``).
        offset_s: clock offset in seconds, ``"wall"``, or ``None`` for a sync pattern.
        column: the value column, when the file has several.
        wrap_j: wrap value of an energy counter column, joules.
        filter_model: how a power row relates to the true power (default ``instant``).

    Raises:
        DatasetError: the log is missing or malformed.
    """
    return TraceSensor(
        path=Path(path),
        offset_s=offset_s,
        column=column,
        wrap_j=wrap_j,
        trace_filter=filter_model or FilterModel("instant"),
    )


def parse_trace_spec(spec: str) -> Path | None:
    """The FILE of a ``trace:FILE`` sensor spec, or ``None`` for any other spec."""
    return Path(spec[len("trace:") :]) if spec.startswith("trace:") and len(spec) > len("trace:") else None
