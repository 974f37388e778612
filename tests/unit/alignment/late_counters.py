"""A RAPL tree of in-place counters that a busy machine publishes late and bunched, read by a late poller.

Everything runs on a simulated clock (no sleeping, no threads): each rail is a
:class:`synergy.testing.inplace.InPlaceCounter` on its own grid, woken late (and, inside the runs, now and
then several periods late, so that it publishes only the latest tick), and a poller reads every file at its
own jittered pace, stamping each read. The result is what the sampler stores: changes only, each with the
last read of the previous values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from synergy.alignment.events import LayerEvents
from synergy.testing.inplace import InPlaceCounter


@dataclass(frozen=True)
class ConstantPower:
    """A rail at a constant power (picklable energy source)."""

    power_w: float

    def cumulative_j(self, t_ns: int) -> float:
        return self.power_w * t_ns * 1e-9


@dataclass(frozen=True)
class Changes:
    """The changes a sampler stores: ``t_ns`` first read of each row, ``t_prev_ns`` last read before it."""

    t_ns: npt.NDArray[np.int64]
    t_prev_ns: npt.NDArray[np.int64]
    values_j: npt.NDArray[np.float64]  # one column per rail, cumulative joules
    t_end_ns: int


def _busy(events: LayerEvents, t_ns: int) -> bool:
    k = int(np.searchsorted(events.run_start_ns, t_ns, side="right")) - 1
    return k >= 0 and t_ns <= int(events.run_end_ns[k])


def read_late_counters(
    directory: Path,
    events: LayerEvents,
    powers_w: dict[str, float],
    *,
    t0_ns: int,
    t1_ns: int,
    period_s: float = 1e-3,
    poll_s: float = 0.3e-3,
    late_share: float = 0.3,
    late_s: tuple[float, float] = (1e-3, 4e-3),
    seed: int = 0,
) -> Changes:
    """Publish every rail in place over ``[t0_ns, t1_ns]`` and poll them; the changes the poller saw.

    Args:
        directory: where the ``energy_uj`` files are written.
        events: the runs; inside them a writer wakes late with probability ``late_share``, by a time
            uniform in ``late_s`` (it then publishes only its latest tick), and the poller stalls as often.
        powers_w: each rail's constant power.
        t0_ns: start, ns.
        t1_ns: end, ns.
        period_s: every rail's update period (each on its own phase).
        poll_s: the poller's mean interval.
        late_share: how often a wake-up inside a run is late.
        late_s: range of those delays.
        seed: seed of every random choice.
    """
    rng = np.random.default_rng(seed)
    counters = []
    for i, (rail, power) in enumerate(powers_w.items()):
        path = directory / f"{rail}_energy_uj"
        path.write_text("0")
        origin = t0_ns - int(rng.uniform(0, period_s) * 1e9)
        counters.append(
            InPlaceCounter(
                path, ConstantPower(power), origin_ns=origin, period_s=period_s, jitter_s=5e-6, seed=seed + i
            )
        )

    def delay_ns(t_ns: int) -> int:
        if _busy(events, t_ns) and rng.random() < late_share:
            return int(rng.uniform(*late_s) * 1e9)
        return int(rng.exponential(20e-6) * 1e9)

    wake = [c.due_ns + delay_ns(c.due_ns) for c in counters]
    t_poll = t0_ns
    rows_t: list[int] = []
    rows_prev: list[int] = []
    rows_v: list[list[float]] = []
    last_t = t0_ns
    last_v: list[float] | None = None
    try:
        while t_poll < t1_ns:
            i = int(np.argmin(wake))
            if wake[i] <= t_poll:
                counters[i].step(wake[i])
                wake[i] = max(counters[i].due_ns, wake[i]) + delay_ns(counters[i].due_ns)
                continue
            values = [int(c.path.read_text()) * 1e-6 for c in counters]
            if last_v is None or values != last_v:
                rows_t.append(t_poll)
                rows_prev.append(last_t if last_v is not None else t_poll)
                rows_v.append(values)
            last_t, last_v = t_poll, values
            step = rng.exponential(poll_s)
            if _busy(events, t_poll) and rng.random() < 0.05:
                step += rng.uniform(*late_s)
            t_poll += max(int(step * 1e9), 1_000)
    finally:
        for c in counters:
            c.close()
    return Changes(
        np.asarray(rows_t, dtype=np.int64),
        np.asarray(rows_prev, dtype=np.int64),
        np.asarray(rows_v, dtype=np.float64),
        last_t,
    )
