"""Per-layer events: when each layer of each run started and ended, on the monotonic clock.

A runtime records, for every measured inference (a *run*), the run's own window and one event per executed
layer. :class:`LayerEvents` holds them as flat integer arrays (nanoseconds of :func:`synergy.clock.now_ns`),
which is what the attribution needs and what is written to ``events.parquet``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from synergy.errors import AlignmentError

__all__ = ["LayerEvents", "RunRecord"]

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RunRecord:
    """One measured inference as a runtime reports it.

    Attributes:
        start_ns: monotonic time the inference started, ns.
        end_ns: monotonic time the inference ended, ns.
        layer_index: index of each executed layer (into the runtime's measured-layer names), in order.
        layer_start_ns: start of each executed layer, ns.
        layer_end_ns: end of each executed layer, ns.
        counters: event-counter increments over the whole inference (see :mod:`synergy.runtime.counters`).
        layer_counters: event-counter increments of each executed layer (runtimes that can read them at
            layer boundaries), one tuple per layer.
    """

    start_ns: int
    end_ns: int
    layer_index: tuple[int, ...]
    layer_start_ns: tuple[int, ...]
    layer_end_ns: tuple[int, ...]
    counters: tuple[int, ...] = ()
    layer_counters: tuple[tuple[int, ...], ...] = ()


@dataclass(frozen=True)
class LayerEvents:
    """The layer events of many runs of one network.

    Attributes:
        layers: measured-layer names; ``layer`` indexes into them.
        run: run index of each event (0-based, into ``run_start_ns``).
        layer: layer index of each event.
        start_ns: event start, monotonic ns.
        end_ns: event end, monotonic ns.
        run_start_ns: start of each run, monotonic ns.
        run_end_ns: end of each run, monotonic ns.
    """

    layers: tuple[str, ...]
    run: IntArray
    layer: IntArray
    start_ns: IntArray
    end_ns: IntArray
    run_start_ns: IntArray
    run_end_ns: IntArray

    def __post_init__(self) -> None:
        n = len(self.run)
        if not (len(self.layer) == len(self.start_ns) == len(self.end_ns) == n):
            raise AlignmentError("layer events have columns of different lengths")
        if len(self.run_start_ns) != len(self.run_end_ns):
            raise AlignmentError("run windows have columns of different lengths")
        if n and (self.run.min() < 0 or self.run.max() >= len(self.run_start_ns)):
            raise AlignmentError("a layer event refers to a run that has no window")
        if n and (self.layer.min() < 0 or self.layer.max() >= len(self.layers)):
            raise AlignmentError("a layer event refers to a layer that has no name")
        if np.any(self.end_ns < self.start_ns) or np.any(self.run_end_ns < self.run_start_ns):
            raise AlignmentError("an event ends before it starts; the runtime's clock mapping is broken")

    @classmethod
    def from_runs(cls, layers: Sequence[str], runs: Sequence[RunRecord]) -> LayerEvents:
        """Flatten run records into events.

        Args:
            layers: measured-layer names.
            runs: the runs, in the order they were executed.
        """
        counts = [len(r.layer_index) for r in runs]
        run = np.repeat(np.arange(len(runs), dtype=np.int64), counts)

        def cat(values: list[tuple[int, ...]]) -> IntArray:
            return np.asarray([v for vs in values for v in vs], dtype=np.int64)

        return cls(
            layers=tuple(layers),
            run=run,
            layer=cat([r.layer_index for r in runs]),
            start_ns=cat([r.layer_start_ns for r in runs]),
            end_ns=cat([r.layer_end_ns for r in runs]),
            run_start_ns=np.asarray([r.start_ns for r in runs], dtype=np.int64),
            run_end_ns=np.asarray([r.end_ns for r in runs], dtype=np.int64),
        )

    @property
    def n_runs(self) -> int:
        """Number of runs."""
        return len(self.run_start_ns)

    def select_runs(self, keep: npt.NDArray[np.bool_]) -> LayerEvents:
        """The events of the runs where ``keep`` is true, renumbered from 0."""
        new_index = np.cumsum(keep) - 1
        mask = keep[self.run]
        return LayerEvents(
            layers=self.layers,
            run=new_index[self.run[mask]].astype(np.int64),
            layer=self.layer[mask],
            start_ns=self.start_ns[mask],
            end_ns=self.end_ns[mask],
            run_start_ns=self.run_start_ns[keep],
            run_end_ns=self.run_end_ns[keep],
        )

    def duration_matrix_s(self) -> npt.NDArray[np.float64]:
        """Time each layer ran in each run, seconds: shape ``(runs, layers)`` (a layer run twice is summed)."""
        out = np.zeros((self.n_runs, len(self.layers)))
        np.add.at(out, (self.run, self.layer), (self.end_ns - self.start_ns) * 1e-9)
        return out

    def run_duration_s(self) -> npt.NDArray[np.float64]:
        """Wall time of each run, seconds."""
        return np.asarray((self.run_end_ns - self.run_start_ns) * 1e-9, dtype=np.float64)

    def to_frame(self) -> pd.DataFrame:
        """One row per event: ``run``, ``layer``, ``name``, ``start_ns``, ``end_ns``, ``duration_s``."""
        return pd.DataFrame(
            {
                "run": self.run,
                "layer": self.layer,
                "name": np.asarray(self.layers, dtype=object)[self.layer] if len(self.layer) else [],
                "start_ns": self.start_ns,
                "end_ns": self.end_ns,
                "duration_s": (self.end_ns - self.start_ns) * 1e-9,
            }
        )

    def runs_frame(self) -> pd.DataFrame:
        """One row per run: ``run``, ``start_ns``, ``end_ns``, ``duration_s``."""
        return pd.DataFrame(
            {
                "run": np.arange(self.n_runs),
                "start_ns": self.run_start_ns,
                "end_ns": self.run_end_ns,
                "duration_s": self.run_duration_s(),
            }
        )
