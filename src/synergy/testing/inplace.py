"""A fake energy counter that is not kind: published in place, at its own pace, jittered, late under load.

:class:`~synergy.testing.sysfs.SysfsWriter` publishes punctually: it stages each value ahead of its instant
and renames it into place. Loaded hardware and drivers are not so polite. :class:`InPlaceCounter` keeps a
RAPL-like ``energy_uj`` the way a busy machine shows one:

* the counter latches on its own grid, ``origin + k × period`` of the writer's clock, which runs
  ``drift_ppm`` fast or slow against the reader's (its own pace, not the stated update period);
* the value of tick ``k`` is the exact energy delivered up to the tick instant (from a power source with
  ``cumulative_j(t_ns)``, such as :class:`synergy.testing.announce.AnnouncedPower`), in integer µJ, wrapping
  at ``max_range_uj``;
* it is written with ``pwrite`` over the old text (no staging, no rename; truncated when it got shorter),
  ``jitter_s`` (exponential) after the tick, and later still when the scheduler runs the writer late;
* a writer woken after several ticks publishes only the latest one, as hardware shows only its present value.

The logic (:meth:`InPlaceCounter.step`) takes the time as an argument, so tests drive it with a
:class:`synergy.testing.clock.ManualClock` and never sleep; :class:`InPlaceWriter` runs it in a spawned
process on the monotonic clock.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from synergy.sampling.clock import Clock, MonotonicClock

__all__ = ["EnergySource", "InPlaceCounter", "InPlaceWriter"]


class EnergySource(Protocol):
    """Exact cumulative energy at a monotonic time, J (picklable for :class:`InPlaceWriter`)."""

    def cumulative_j(self, t_ns: int) -> float: ...


class InPlaceCounter:
    """The counter's state and its publication schedule.

    Args:
        path: the ``energy_uj`` file (it exists; it is rewritten in place, never replaced).
        source: the energy delivered.
        origin_ns: the writer's tick 0 on the reader's clock, ns.
        period_s: the update period on the writer's own clock, s.
        drift_ppm: how much faster the writer's clock runs than the reader's, parts per million.
        jitter_s: mean of the exponential delay from a tick to its publication, s.
        initial_uj: the counter's value at tick 0, µJ.
        max_range_uj: where it wraps, µJ.
        seed: seed of the jitter.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        source: EnergySource,
        *,
        origin_ns: int,
        period_s: float = 1e-3,
        drift_ppm: float = 0.0,
        jitter_s: float = 5e-6,
        initial_uj: int = 0,
        max_range_uj: int = 262_143_328_850,
        seed: int = 0,
    ) -> None:
        self.path = Path(path)
        self.source = source
        self.origin_ns = int(origin_ns)
        self.period_ns = period_s * 1e9 / (1.0 + drift_ppm * 1e-6)  # the writer's period on the reader's clock
        self.jitter_ns = jitter_s * 1e9
        self.initial_uj = int(initial_uj)
        self.max_range_uj = int(max_range_uj)
        self.rng = np.random.default_rng(seed)
        self.base_j = source.cumulative_j(self.origin_ns)
        self.tick = -1
        self.due_ns = self.origin_ns
        self.delays_ns: list[int] = []
        self.skipped = 0
        self._fd = os.open(self.path, os.O_WRONLY)
        self._length = os.fstat(self._fd).st_size  # text longer than the new value is cut, never left behind

    def tick_ns(self, k: int) -> int:
        """The instant of tick ``k`` on the reader's clock, ns."""
        return self.origin_ns + round(k * self.period_ns)

    def value_uj(self, k: int) -> int:
        """The counter at tick ``k``: exact energy since tick 0, integer µJ, wrapped."""
        joules = self.source.cumulative_j(self.tick_ns(k)) - self.base_j
        return (self.initial_uj + math.floor(joules * 1e6 + 1e-6)) % self.max_range_uj  # µJ, as RAPL counts

    def step(self, now_ns: int) -> int | None:
        """Publish the latest tick if it is due at ``now_ns``; the tick published, or ``None``.

        Returns without writing before the next publication instant (its tick plus its jitter).
        """
        if now_ns < self.due_ns:
            return None
        k = math.floor((now_ns - self.origin_ns) / self.period_ns)
        if k <= self.tick:
            return None
        self.skipped += max(k - self.tick - 1, 0) if self.tick >= 0 else 0
        text = str(self.value_uj(k)).encode()
        os.pwrite(self._fd, text, 0)
        if len(text) < self._length:
            os.ftruncate(self._fd, len(text))
        self._length = len(text)
        self.delays_ns.append(now_ns - self.tick_ns(k))
        self.tick = k
        self.due_ns = self.tick_ns(k + 1) + round(self.rng.exponential(self.jitter_ns))
        return k

    def close(self) -> None:
        os.close(self._fd)

    def stats(self) -> dict[str, float]:
        """How it published: counts and publication delays after the ticks (µs), and the grid's origin."""
        delays = np.asarray(self.delays_ns, dtype=np.float64) / 1e3
        late = float(np.sum(delays > 0.5 * self.period_ns / 1e3)) if delays.size else 0.0
        q = np.percentile(delays, [0, 50, 90, 99, 100]) if delays.size else np.zeros(5)
        return {
            "published": float(len(delays)),
            "late": late,
            "skipped": float(self.skipped),
            "recomputed": 0.0,
            "delay_min_us": float(q[0]),
            "delay_median_us": float(q[1]),
            "delay_p90_us": float(q[2]),
            "delay_p99_us": float(q[3]),
            "delay_max_us": float(q[4]),
            "grid_origin_ns": float(self.origin_ns),
            "grid_period_ns": float(self.period_ns),
        }


def run_counter(counter: InPlaceCounter, clock: Clock, stop: Any, spin_s: float = 0.0) -> dict[str, float]:
    """Publish until ``stop`` (an event) is set: sleep until each publication instant, then step.

    ``spin_s`` before an instant the writer stops sleeping and polls the clock (sleeps of a loaded machine
    end late: that lateness is the point, so the harness keeps it small, not zero).
    """
    try:
        while not stop.is_set():
            counter.step(clock.now_ns())
            wait_s = (counter.due_ns - clock.now_ns()) / 1e9
            if wait_s > spin_s:
                clock.sleep(wait_s - spin_s)
            elif wait_s > 0:
                clock.sleep(0)
    finally:
        counter.close()
    return counter.stats()


def _process_main(kwargs: dict[str, Any], stop: Any, results: Any, ready: Any) -> None:
    counter = InPlaceCounter(**kwargs)
    ready.set()
    results.put(run_counter(counter, MonotonicClock(), stop, spin_s=50e-6))


class InPlaceWriter:
    """Runs an :class:`InPlaceCounter` in a spawned process (``with InPlaceWriter(...) as writer:``).

    Args:
        path: the ``energy_uj`` file.
        source: the energy delivered (picklable).
        **kwargs: the other arguments of :class:`InPlaceCounter` (``origin_ns`` defaults to now).

    Attributes:
        stats: after the writer stopped, :meth:`InPlaceCounter.stats`.
        pid: the writer process's id while it runs.
    """

    def __init__(self, path: str | os.PathLike[str], source: EnergySource, **kwargs: Any) -> None:
        self.kwargs = {"path": str(path), "source": source, **kwargs}
        self.stats: dict[str, float] = {}
        self.pid: int | None = None
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._ready = context.Event()
        self._results: Any = context.Queue()
        self._process: Any = None
        self._context = context

    def start(self) -> InPlaceWriter:
        self.kwargs.setdefault("origin_ns", time.monotonic_ns() + 200_000_000)
        self._process = self._context.Process(
            target=_process_main, args=(self.kwargs, self._stop, self._results, self._ready), daemon=True
        )
        self._process.start()
        self.pid = self._process.pid
        if not self._ready.wait(30):
            self.stop()
            raise RuntimeError("the in-place writer did not start within 30 s")
        return self

    def stop(self) -> dict[str, float]:
        if self._process is None:
            return self.stats
        self._stop.set()
        try:
            self.stats = self._results.get(timeout=30)
        except Exception:  # the process died: no statistics
            self.stats = {}
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
        self._process = None
        return self.stats

    def __enter__(self) -> InPlaceWriter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
