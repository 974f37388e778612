"""Background sampling of sensors (and other channels) on the monotonic clock.

One :class:`Sampler` polls one or more *channels* from one background thread. A channel is anything that
satisfies :class:`Readable` — every :class:`~synergy.sensors.base.Sensor`, and other readers such as CPU
frequency or temperature — so all of them share one clock and one schedule.

**Rates.** Each channel is polled every ``update_period / oversample`` seconds, clamped to
``[1 / max_rate_hz, 1 / min_rate_hz]`` (defaults: 16×, 1 kHz, 20 Hz), but a power or energy sensor never
slower than ``MIN_SENSOR_OVERSAMPLE`` (4) times per update, whatever the cap: a counter read no faster than
it updates merges and misplaces increments, and a sysfs read costs microseconds (RAPL's 976 µs counter is
read every 244 µs). Sixteen polls per period bracket each latch within a sixteenth of a period, which is
what fixes the phase of a sensor's latch grid (and so the windows of its readings) to tens of
microseconds; context channels without a filter model (clocks, temperatures) are polled at most
``CONTEXT_OVERSAMPLE`` (4) times per period. A channel that states no update period is probed first
(:func:`probe_update_period`); ``poll_period_s`` overrides all of this.

**Read phase and clock.** Each read of a power or energy sensor falls at a uniformly random instant of its
poll slot (``read_phase``), so the reads cannot lock to the sensor's publication grid. All timing goes
through a :class:`~synergy.sampling.clock.Clock` (the monotonic clock; tests inject a virtual one).

**Changes only.** A value identical to the previous one is not stored. Each stored row keeps the time of
the first read of the new value (``t_ns``) and of the last read before it (``t_prev_ns``), so the change
instant is bracketed to one poll interval (:mod:`synergy.sampling.timeline`).

**Bounded memory.** Rows are buffered ``chunk_rows`` at a time per channel and then written to Parquet in
``spool_dir`` (a private temporary directory when none is given, removed when the sampler stops). The
timeline is read back in full by :meth:`Sampler.stop`.

**Failures.** A :class:`~synergy.errors.SensorReadError` is a gap (its time and reason are kept; runs of
failures are merged), and so is a reading with a non-finite value, except that a channel which is neither
power nor energy (no ``kind``: a frequency, a temperature) may mark single rails unreadable with NaN and
keeps the others; a :class:`~synergy.errors.SensorUnavailable` (or any other sensor error, or an
unexpected exception) ends that channel with everything read so far kept and the reason recorded. The
sampler never prints: it reports through :class:`SamplerResult`.

**Lifecycle.** :meth:`Sampler.start` starts the thread and waits until every channel has been read once
(the ready handshake); :meth:`Sampler.stop` sets the stop event, joins the thread with a timeout and
collects the result. A context manager and a ``weakref.finalize`` hook make sure no thread outlives the
sampler.
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from synergy.errors import SamplingError, SensorError, SensorReadError, SensorUnavailable
from synergy.sampling.clock import Clock, MonotonicClock
from synergy.sampling.timeline import Gap, Timeline
from synergy.sensors.base import FilterModel, Reading, SensorKind

__all__ = [
    "ChannelReport",
    "Probe",
    "Readable",
    "Sampler",
    "SamplerResult",
    "poll_period_for",
    "probe_update_period",
]

#: Polls per update period of a channel that is not a power sensor (no filter model).
CONTEXT_OVERSAMPLE = 4.0
#: A power or energy sensor is polled at least this many times per update period, whatever ``max_rate_hz``:
#: a counter polled no faster than it updates merges increments and misplaces them (a sysfs read costs µs).
MIN_SENSOR_OVERSAMPLE = 4.0

_INTERVAL_RING = 1 << 16


@runtime_checkable
class Readable(Protocol):
    """What the sampler needs of a channel: every Sensor has it, and so can any other reader.

    Optional attributes the sampler uses when present: ``kind`` (:class:`SensorKind`; absent means a
    quantity that is neither power nor energy), ``filter_model``, ``total_rails``, ``unit`` and
    ``describe()``.
    """

    name: str
    rails: tuple[str, ...]
    update_period_s: float | None

    def read(self) -> Reading:
        """One read of every rail at a monotonic timestamp."""
        ...


@dataclass(frozen=True)
class Probe:
    """The outcome of :func:`probe_update_period`.

    Attributes:
        update_period_s: median interval between value changes, seconds, or ``None`` if fewer than two
            changes were seen.
        n_reads: reads done.
        n_changes: value changes seen.
        duration_s: time spent probing, seconds.
    """

    update_period_s: float | None
    n_reads: int
    n_changes: int
    duration_s: float


def probe_update_period(
    channel: Readable, duration_s: float = 0.3, *, max_changes: int = 25, clock: Clock | None = None
) -> Probe:
    """Measure how often a channel's value changes by reading it as fast as possible.

    Reads for ``duration_s`` (or until ``max_changes`` changes were seen) and takes the median interval
    between changes. A channel whose value does not change (an idle counter, a constant power) gives
    ``None``. Transient read errors are skipped.

    Raises:
        SensorUnavailable: the channel vanished while probing.
    """
    clock = clock or MonotonicClock()
    now_ns = clock.now_ns
    start = now_ns()
    deadline = start + int(duration_s * 1e9)
    last: tuple[float, ...] | None = None
    changes: list[int] = []
    n_reads = 0
    while now_ns() < deadline and len(changes) < max_changes:
        try:
            reading = channel.read()
        except SensorReadError:
            continue
        n_reads += 1
        if last is not None and reading.values != last:
            changes.append(reading.t_ns)
        last = reading.values
        clock.sleep(0)  # let other threads in between reads
    period = float(np.median(np.diff(changes))) / 1e9 if len(changes) >= 3 else None
    return Probe(period, n_reads, len(changes), (now_ns() - start) / 1e9)


def poll_period_for(
    update_period_s: float | None,
    *,
    oversample: float = 16.0,
    max_rate_hz: float = 1000.0,
    min_rate_hz: float = 20.0,
    default_s: float = 0.01,
    min_oversample: float = 0.0,
) -> float:
    """The poll period for a channel updating every ``update_period_s`` seconds.

    ``update_period_s / oversample``, clamped to ``[1 / max_rate_hz, 1 / min_rate_hz]``; ``default_s``
    (clamped the same way) when the period is unknown. With ``min_oversample``, the period is never longer
    than ``update_period_s / min_oversample``, however low ``max_rate_hz`` (a power or energy sensor must be
    read faster than it updates).
    """
    known = bool(update_period_s and update_period_s > 0)
    wanted = update_period_s / oversample if known and update_period_s else default_s
    period = min(max(wanted, 1.0 / max_rate_hz), 1.0 / min_rate_hz)
    if known and update_period_s and min_oversample > 0:
        period = min(period, update_period_s / min_oversample)
    return float(period)


@dataclass(frozen=True)
class ChannelReport:
    """How sampling one channel went.

    Attributes:
        name: the channel's name.
        update_period_s: the update period used to pick the rate, seconds (stated, probed, or ``None``).
        update_period_source: ``stated``, ``probed``, ``unknown`` (probing saw no change) or ``override``.
        poll_period_s: the target poll period, seconds.
        n_polls: reads attempted while running.
        n_stored: rows stored (value changes).
        n_errors: reads that failed transiently (recorded as gaps).
        n_gaps: gap runs recorded (more may have been merged or dropped, see ``n_gaps_dropped``).
        n_gaps_dropped: gap runs not kept because ``max_gaps`` was reached.
        n_late: polls that were skipped because the thread fell more than a period behind.
        achieved_rate_hz: polls per second over the run.
        interval_p50_s: median interval between polls, seconds (over the last 65,536 polls).
        interval_p99_s: 99th percentile of the interval between polls, seconds (same window).
        interval_max_s: longest interval between polls, seconds.
        end_reason: why the channel stopped before the sampler did (it vanished), or ``None``.
        probe: the probe's outcome when one ran.
    """

    name: str
    update_period_s: float | None
    update_period_source: str
    poll_period_s: float
    n_polls: int
    n_stored: int
    n_errors: int
    n_gaps: int
    n_gaps_dropped: int
    n_late: int
    achieved_rate_hz: float
    interval_p50_s: float | None
    interval_p99_s: float | None
    interval_max_s: float | None
    end_reason: str | None
    probe: Probe | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class SamplerResult:
    """Everything a sampler saw.

    Attributes:
        timelines: one :class:`Timeline` per channel name.
        channels: one :class:`ChannelReport` per channel name.
        t_start_ns: when polling began, monotonic ns.
        t_stop_ns: when polling ended, monotonic ns.
        cpu_s: CPU time used by the sampling thread, seconds (``time.thread_time``).
    """

    timelines: Mapping[str, Timeline]
    channels: Mapping[str, ChannelReport]
    t_start_ns: int
    t_stop_ns: int
    cpu_s: float

    @property
    def wall_s(self) -> float:
        """How long the thread ran, seconds."""
        return (self.t_stop_ns - self.t_start_ns) / 1e9

    @property
    def cpu_fraction(self) -> float:
        """Sampler CPU time over wall time (1.0 = one core busy)."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else math.nan

    def timeline(self, name: str | None = None) -> Timeline:
        """The timeline of channel ``name`` (default: the first channel)."""
        if name is None:
            return next(iter(self.timelines.values()))
        try:
            return self.timelines[name]
        except KeyError:
            raise KeyError(f"no channel {name!r}; channels are {list(self.timelines)}") from None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no arrays)."""
        return {
            "t_start_ns": self.t_start_ns,
            "t_stop_ns": self.t_stop_ns,
            "wall_s": self.wall_s,
            "cpu_s": self.cpu_s,
            "channels": {name: report.to_dict() for name, report in self.channels.items()},
        }


# ---------------------------------------------------------------------- per-channel state (thread side)
class _Store:
    """Rows of one channel: a preallocated in-memory buffer of ``chunk_rows`` rows, spilled to Parquet.

    Memory per channel: ``chunk_rows * (16 + 8 * rails)`` bytes (1.5 MiB for one rail at the default).
    """

    def __init__(self, name: str, n_rails: int, chunk_rows: int, spool: _Spool) -> None:
        self.name = name
        self.n_rails = n_rails
        self.chunk_rows = chunk_rows
        self.spool = spool
        self._t = np.zeros(chunk_rows, np.int64)
        self._tp = np.zeros(chunk_rows, np.int64)
        self._v = np.zeros((chunk_rows, n_rails), np.float64)
        self.n_buffered = 0
        self.chunks: list[Path] = []
        self.n_rows = 0

    @property
    def last_t_ns(self) -> int | None:
        """Time of the last buffered row, or ``None`` when the buffer is empty."""
        return int(self._t[self.n_buffered - 1]) if self.n_buffered else None

    def append(self, t_ns: int, t_prev_ns: int, values: tuple[float, ...], *, spill: bool = True) -> None:
        """Add a row; write a chunk when the buffer is full (``spill=False``: grow the buffer instead)."""
        if self.n_buffered == self._t.shape[0]:
            if spill:
                self.flush()
            if self.n_buffered == self._t.shape[0]:  # not spilled (or the write failed): make room
                self._t = np.concatenate([self._t, np.zeros_like(self._t)])
                self._tp = np.concatenate([self._tp, np.zeros_like(self._tp)])
                self._v = np.concatenate([self._v, np.zeros_like(self._v)])
        i = self.n_buffered
        self._t[i] = t_ns
        self._tp[i] = t_prev_ns
        self._v[i] = values
        self.n_buffered += 1
        self.n_rows += 1

    def flush(self) -> None:
        """Write the buffered rows as one Parquet chunk and empty the buffer."""
        if not self.n_buffered:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        n = self.n_buffered
        columns: dict[str, Any] = {"t_ns": self._t[:n], "t_prev_ns": self._tp[:n]}
        for j in range(self.n_rails):
            columns[f"v{j}"] = self._v[:n, j]
        path = self.spool.path(f"{self.name}.{len(self.chunks):06d}.parquet")
        pq.write_table(pa.table(columns), path)
        self.chunks.append(path)
        self.n_buffered = 0

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every row: the chunks read back, then the buffer."""
        import pyarrow.parquet as pq

        ts, tps, vs = [], [], []
        for path in self.chunks:
            table = pq.read_table(path)
            ts.append(table.column("t_ns").to_numpy())
            tps.append(table.column("t_prev_ns").to_numpy())
            vs.append(np.column_stack([table.column(f"v{j}").to_numpy() for j in range(self.n_rails)]))
        n = self.n_buffered
        ts.append(self._t[:n].copy())
        tps.append(self._tp[:n].copy())
        vs.append(self._v[:n].copy().reshape(n, self.n_rails))
        return np.concatenate(ts), np.concatenate(tps), np.concatenate(vs)


class _Spool:
    """Where chunks go: a given directory, or a private temporary one made on first use."""

    def __init__(self, directory: Path | None) -> None:
        self.given = directory
        self.private: Path | None = None

    def path(self, filename: str) -> Path:
        if self.given is not None:
            self.given.mkdir(parents=True, exist_ok=True)
            return self.given / filename
        if self.private is None:
            self.private = Path(tempfile.mkdtemp(prefix="synergy-samples-"))
        return self.private / filename

    def where(self) -> str:
        """The directory chunks go to, for messages."""
        return str(self.given or self.private or "a temporary directory")

    def cleanup(self) -> None:
        if self.private is not None:
            shutil.rmtree(self.private, ignore_errors=True)
            self.private = None


@dataclass
class _Channel:
    source: Readable
    name: str
    level: bool
    n_rails: int
    poll_ns: int
    store: _Store
    max_gaps: int
    jitter: float
    clock: Clock = field(default_factory=MonotonicClock)
    read_phase: bool = False
    next_due_ns: int = 0
    slot_ns: int = 0
    last_values: tuple[float, ...] | None = None
    last_good_ns: int = 0
    last_stored_ns: int = 0
    last_poll_ns: int = 0
    n_polls: int = 0
    n_errors: int = 0
    n_late: int = 0
    gaps: list[Gap] = field(default_factory=list)
    n_gaps_dropped: int = 0
    open_gap: list[Any] | None = None  # [t_start_ns, t_end_ns, n, reason]
    end_reason: str | None = None
    intervals: np.ndarray = field(default_factory=lambda: np.zeros(_INTERVAL_RING, np.int64))
    n_intervals: int = 0
    max_interval_ns: int = 0
    first_poll_ns: int = 0

    def close(self) -> None:
        """End of sampling: close an open gap, and store the last good read if its value was a repeat.

        The closing row (same value, empty bracket) says the value held until the last good read; without
        it a sensor that never changed (an idle counter, a constant power) would have no coverage.
        """
        self.close_gap()
        if self.last_values is not None and self.last_good_ns > self.last_stored_ns:
            self.store.append(self.last_good_ns, self.last_good_ns, self.last_values, spill=False)
            self.last_stored_ns = self.last_good_ns

    def close_gap(self) -> None:
        if self.open_gap is None:
            return
        if len(self.gaps) < self.max_gaps:
            self.gaps.append(Gap(*self.open_gap))
        else:
            self.n_gaps_dropped += 1
        self.open_gap = None

    def poll(self, rng: np.random.Generator | None) -> None:
        """Read once, store a change, record a failure; schedule the next poll."""
        t_call = self.clock.now_ns()
        try:
            reading = self.source.read()
            values = tuple(float(v) for v in reading.values)
            if len(values) != self.n_rails:
                raise SensorReadError(f"{self.name}: {len(values)} values for {self.n_rails} rails")
            if not all(math.isfinite(v) for v in values) and not (
                self.level and any(math.isfinite(v) for v in values) and not any(math.isinf(v) for v in values)
            ):
                raise SensorReadError(f"{self.name}: non-finite value {values}")
        except SensorReadError as exc:
            self.n_errors += 1
            if self.open_gap is None:
                self.open_gap = [t_call, t_call, 1, str(exc)]
            else:
                self.open_gap[1] = t_call
                self.open_gap[2] += 1
            self._count_poll(t_call)
        except SensorError as exc:  # vanished, or no longer permitted: the channel ends, its data stays
            self.end_reason = str(exc) or type(exc).__name__
        except Exception as exc:  # a bug or an untranslated failure in a reader: end the channel, keep data
            self.end_reason = f"unexpected {type(exc).__name__}: {exc}"
        else:
            self.close_gap()
            t = int(reading.t_ns)
            try:
                if self.last_values is None:
                    self.store.append(t, t, values)
                    self.last_stored_ns = t
                elif not _same(values, self.last_values):
                    t = max(t, self.last_good_ns + 1)  # keep rows ordered even if a reader's stamps are not
                    self.store.append(t, self.last_good_ns, values)
                    self.last_stored_ns = t
            except Exception as exc:  # the spool cannot be written (disk full): stop this channel, keep rows
                self.end_reason = f"cannot write samples to {self.store.spool.where()}: {exc}"
                self.last_stored_ns = max(self.last_stored_ns, self.store.last_t_ns or 0)
            self.last_values = values
            self.last_good_ns = max(t, self.last_good_ns)
            self._count_poll(t_call)
        self._schedule(rng)

    def _count_poll(self, t_call: int) -> None:
        if self.n_polls == 0:
            self.first_poll_ns = t_call
        else:
            dt = t_call - self.last_poll_ns
            self.intervals[self.n_intervals % _INTERVAL_RING] = dt
            self.n_intervals += 1
            self.max_interval_ns = max(self.max_interval_ns, dt)
        self.last_poll_ns = t_call
        self.n_polls += 1

    def _schedule(self, rng: np.random.Generator | None) -> None:
        """The next poll: one (jittered) step after the current slot, at a random phase inside it.

        With ``read_phase`` the read falls anywhere in its slot, uniformly, so the read instants cannot
        lock to a sensor's publication grid however close the poll period is to its update period.
        """
        step = self.poll_ns
        if rng is not None and self.jitter > 0:
            step = int(step * (1.0 + self.jitter * (2.0 * rng.random() - 1.0)))
        self.slot_ns += step
        now = self.clock.now_ns()
        if self.slot_ns < now - self.poll_ns:
            self.n_late += 1
            self.slot_ns = now
        phase = int(rng.random() * self.poll_ns) if rng is not None and self.read_phase else 0
        self.next_due_ns = self.slot_ns + phase


def _same(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Equal values, NaN equal to NaN (a rail of a level channel that stays unreadable is no change)."""
    return all(x == y or (x != x and y != y) for x, y in zip(a, b, strict=True))


class _State:
    """Shared between the sampler object and its thread (the thread never sees the Sampler)."""

    def __init__(self, channels: list[_Channel], jitter_seed: int | None, clock: Clock) -> None:
        self.clock = clock
        self.channels = channels
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.t_start_ns = 0
        self.t_stop_ns = 0
        self.cpu_s = 0.0
        self.crash: BaseException | None = None
        random = any(c.jitter > 0 or c.read_phase for c in channels)
        self.rng = np.random.default_rng(jitter_seed) if random else None


def _run(state: _State) -> None:
    """The sampling thread: first read of every channel (ready), then the schedule until stopped."""
    cpu0 = time.thread_time()
    clock = state.clock
    try:
        state.t_start_ns = clock.now_ns()
        for ch in state.channels:
            ch.next_due_ns = ch.slot_ns = state.t_start_ns
            ch.poll(state.rng)
        state.ready.set()
        stop = state.stop
        channels = state.channels
        while not stop.is_set():
            live = [c for c in channels if c.end_reason is None]
            if not live:
                break
            ch = min(live, key=lambda c: c.next_due_ns)
            wait_ns = ch.next_due_ns - clock.now_ns()
            if wait_ns > 0 and clock.wait(stop, wait_ns / 1e9):
                break
            ch.poll(state.rng)
    except BaseException as exc:  # never let the thread die silently
        state.crash = exc
    finally:
        state.t_stop_ns = clock.now_ns()
        state.cpu_s = time.thread_time() - cpu0
        state.ready.set()


def _shutdown(state: _State, thread: threading.Thread, spool: _Spool, timeout_s: float) -> None:
    """Finalizer: stop the thread (it is a daemon, so a stuck read cannot block exit) and drop the spool."""
    state.stop.set()
    if thread.is_alive() and thread is not threading.current_thread():
        thread.join(timeout_s)
    spool.cleanup()


_NAME_RE = re.compile(r"[^A-Za-z0-9_.-]+")


class Sampler:
    """Polls channels in a background thread and returns their timelines.

    Args:
        channels: one channel or several (sensors, or any :class:`Readable`); names must be unique.
        oversample: polls per stated update period.
        max_rate_hz: the fastest any channel is polled.
        min_rate_hz: the slowest any channel is polled.
        poll_period_s: a poll period for every channel, or per channel name, overriding the derived rate
            (still clamped to ``max_rate_hz``).
        probe_s: how long to probe a channel that states no update period, seconds (0: do not probe).
        default_poll_s: poll period of a channel whose period is unknown and could not be probed, seconds.
        jitter: random spread of each poll interval, as a fraction of it (``0.1`` = ±10%), to keep the
            sampling phase drifting against a periodic workload; 0 for a fixed period.
        jitter_seed: seed of that randomness (and of the read phase).
        read_phase: read each power or energy sensor at a uniformly random instant of its poll slot, so the
            reads cannot lock to the sensor's publication grid (context channels keep a fixed phase).
        clock: the clock to read, sleep and wait on (default: the monotonic clock; tests pass a
            :class:`synergy.testing.clock.ManualClock`).
        spool_dir: directory for Parquet chunks (default: a private temporary directory).
        chunk_rows: rows per channel kept in memory before a chunk is written.
        max_gaps: gap runs kept per channel; further runs are only counted.
        ready_timeout_s: how long :meth:`start` waits for the first read of every channel.
        stop_timeout_s: how long :meth:`stop` waits for the thread.

    Example::

        with Sampler(sensor) as sampler:
            run_the_workload()
        timeline = sampler.result.timeline()
    """

    def __init__(
        self,
        channels: Readable | Sequence[Readable],
        *,
        oversample: float = 16.0,
        max_rate_hz: float = 1000.0,
        min_rate_hz: float = 20.0,
        poll_period_s: float | Mapping[str, float] | None = None,
        probe_s: float = 0.3,
        default_poll_s: float = 0.01,
        jitter: float = 0.0,
        jitter_seed: int | None = None,
        read_phase: bool = True,
        clock: Clock | None = None,
        spool_dir: str | Path | None = None,
        chunk_rows: int = 65_536,
        max_gaps: int = 10_000,
        ready_timeout_s: float = 5.0,
        stop_timeout_s: float = 10.0,
    ) -> None:
        sources = [channels] if isinstance(channels, Readable) else list(channels)
        if not sources:
            raise SamplingError("a sampler needs at least one channel")
        names = [str(c.name) for c in sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SamplingError(f"channel names must be unique, {dupes} repeat; give each channel its own name")
        if not (0 < min_rate_hz <= max_rate_hz):
            raise SamplingError(f"need 0 < min_rate_hz <= max_rate_hz, got {min_rate_hz} and {max_rate_hz}")
        if not 0 <= jitter < 1:
            raise SamplingError(f"jitter must be in [0, 1), got {jitter}")
        self.sources = sources
        self.oversample = oversample
        self.max_rate_hz = max_rate_hz
        self.min_rate_hz = min_rate_hz
        self.poll_period_s = poll_period_s
        self.probe_s = probe_s
        self.default_poll_s = default_poll_s
        self.jitter = jitter
        self.jitter_seed = jitter_seed
        self.read_phase = read_phase
        self.clock: Clock = clock or MonotonicClock()
        self.chunk_rows = max(1, int(chunk_rows))
        self.max_gaps = max_gaps
        self.ready_timeout_s = ready_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self._spool = _Spool(Path(spool_dir) if spool_dir is not None else None)
        self._state: _State | None = None
        self._thread: threading.Thread | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._plans: dict[str, tuple[float | None, str, Probe | None]] = {}
        self.result: SamplerResult | None = None
        """The result of the last :meth:`stop`, or ``None``."""

    # ------------------------------------------------------------------ planning
    def _plan(self, source: Readable) -> tuple[float, float | None, str, Probe | None]:
        """(poll period, update period, its source, probe) for one channel."""
        override = self.poll_period_s
        if isinstance(override, Mapping):
            override = override.get(source.name)
        stated = getattr(source, "update_period_s", None)
        # A power sensor's readings are placed by its latch grid, which fine brackets pin down; a context
        # channel (a clock, a temperature) only needs its changes seen.
        sensor = hasattr(source, "filter_model")
        oversample = self.oversample if sensor else min(self.oversample, CONTEXT_OVERSAMPLE)
        clamp = {
            "oversample": oversample,
            "max_rate_hz": self.max_rate_hz,
            "min_rate_hz": self.min_rate_hz,
            "min_oversample": min(MIN_SENSOR_OVERSAMPLE, oversample) if sensor else 0.0,
        }
        if override is not None:
            return max(float(override), 1.0 / self.max_rate_hz), stated, "override", None
        if stated:
            return poll_period_for(stated, **clamp), float(stated), "stated", None
        if self.probe_s > 0:
            probe = probe_update_period(source, self.probe_s, clock=self.clock)
            if probe.update_period_s:
                return poll_period_for(probe.update_period_s, **clamp), probe.update_period_s, "probed", probe
            return poll_period_for(None, default_s=self.default_poll_s, **clamp), None, "unknown", probe
        return poll_period_for(None, default_s=self.default_poll_s, **clamp), None, "unknown", None

    # ------------------------------------------------------------------ lifecycle
    @property
    def running(self) -> bool:
        """Whether the sampling thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Sampler:
        """Probe channels that need it, start the thread, and wait until each channel was read once.

        Raises:
            SamplingError: already running, or the thread did not become ready in ``ready_timeout_s``.
        """
        if self._state is not None:
            raise SamplingError("the sampler was already started; make a new Sampler for another run")
        channels: list[_Channel] = []
        for source in self.sources:
            end_reason: str | None = None
            try:
                poll_s, period, origin, probe = self._plan(source)
            except SensorUnavailable as exc:
                poll_s, period, origin, probe = self.default_poll_s, None, "unknown", None
                end_reason = str(exc)
            self._plans[source.name] = (period, origin, probe)
            store = _Store(_NAME_RE.sub("_", source.name), len(source.rails), self.chunk_rows, self._spool)
            level = not isinstance(getattr(source, "kind", None), SensorKind)
            ch = _Channel(
                source,
                source.name,
                level,
                len(source.rails),
                int(poll_s * 1e9),
                store,
                self.max_gaps,
                self.jitter,
                clock=self.clock,
                read_phase=self.read_phase and hasattr(source, "filter_model"),
            )
            ch.end_reason = end_reason
            channels.append(ch)
        state = _State(channels, self.jitter_seed, self.clock)
        thread = threading.Thread(target=_run, args=(state,), name="synergy-sampler", daemon=True)
        self._state, self._thread = state, thread
        self._finalizer = weakref.finalize(self, _shutdown, state, thread, self._spool, self.stop_timeout_s)
        thread.start()
        if not state.ready.wait(self.ready_timeout_s):
            self._abort()
            raise SamplingError(
                f"the sampler did not read every channel within {self.ready_timeout_s} s; a sensor read is "
                "blocking: check the sensor, or raise ready_timeout_s"
            )
        return self

    def _abort(self) -> None:
        if self._finalizer is not None:
            self._finalizer()

    def stop(self) -> SamplerResult:
        """Stop the thread, read every timeline back, and return the result (also kept in :attr:`result`).

        Raises:
            SamplingError: never started, the thread did not stop within ``stop_timeout_s`` (a read is
                blocking), or the thread itself failed.
        """
        if self.result is not None:
            return self.result
        state, thread = self._state, self._thread
        if state is None or thread is None:
            raise SamplingError("the sampler was never started; call start() first")
        state.stop.set()
        thread.join(self.stop_timeout_s)
        if thread.is_alive():
            raise SamplingError(
                f"the sampling thread did not stop within {self.stop_timeout_s} s: a sensor read is blocking; "
                "check the sensor (its thread is a daemon and will not keep the process alive)"
            )
        try:
            if state.crash is not None:
                raise SamplingError(f"the sampling thread failed: {state.crash!r}") from state.crash
            self.result = self._collect(state)
        finally:
            self._abort()  # removes a private spool directory
        return self.result

    def timeline(self, name: str | None = None) -> Timeline:
        """The timeline of channel ``name`` (default: the first) after :meth:`stop`.

        Raises:
            SamplingError: the sampler has not been stopped yet.
        """
        if self.result is None:
            raise SamplingError("the sampler is still running or was never started; call stop() first")
        return self.result.timeline(name)

    def close(self) -> None:
        """Stop if running and release the spool; idempotent. Prefer :meth:`stop` to get the result."""
        if self.running and self.result is None:
            try:
                self.stop()
            finally:
                self._abort()
        self._abort()

    def __enter__(self) -> Sampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self._state is not None and self.result is None:
            self.stop()

    # ------------------------------------------------------------------ results
    def _collect(self, state: _State) -> SamplerResult:
        timelines: dict[str, Timeline] = {}
        reports: dict[str, ChannelReport] = {}
        for ch in state.channels:
            ch.close()
            t, tp, values = ch.store.arrays()
            src = ch.source
            kind = getattr(src, "kind", None)
            kind = kind if isinstance(kind, SensorKind) else None
            fm = getattr(src, "filter_model", None)
            describe = getattr(src, "describe", None)
            sensor = describe() if callable(describe) else {"name": ch.name, "rails": list(src.rails)}
            period, origin, probe = self._plans[ch.name]
            sensor = {**sensor, "update_period_s_used": period, "update_period_source": origin}
            timelines[ch.name] = Timeline(
                kind=kind,
                rails=src.rails,
                t_ns=t,
                values=values,
                t_prev_ns=tp,
                t_end_ns=ch.last_good_ns or None,
                filter_model=fm if isinstance(fm, FilterModel) else None,
                total_rails=tuple(getattr(src, "total_rails", ()) or ()),
                gaps=ch.gaps,
                sensor=sensor,
                end_reason=ch.end_reason,
                unit=getattr(src, "unit", None) if kind is None else None,
                update_period_s=period,
            )
            iv = ch.intervals[: min(ch.n_intervals, _INTERVAL_RING)] / 1e9
            span_s = (ch.last_poll_ns - ch.first_poll_ns) / 1e9
            reports[ch.name] = ChannelReport(
                name=ch.name,
                update_period_s=period,
                update_period_source=origin,
                poll_period_s=ch.poll_ns / 1e9,
                n_polls=ch.n_polls,
                n_stored=ch.store.n_rows,
                n_errors=ch.n_errors,
                n_gaps=len(ch.gaps),
                n_gaps_dropped=ch.n_gaps_dropped,
                n_late=ch.n_late,
                achieved_rate_hz=(ch.n_polls - 1) / span_s if span_s > 0 else 0.0,
                interval_p50_s=float(np.percentile(iv, 50)) if iv.size else None,
                interval_p99_s=float(np.percentile(iv, 99)) if iv.size else None,
                interval_max_s=ch.max_interval_ns / 1e9 if iv.size else None,
                end_reason=ch.end_reason,
                probe=probe,
            )
        return SamplerResult(timelines, reports, state.t_start_ns, state.t_stop_ns, state.cpu_s)
