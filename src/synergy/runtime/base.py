"""What every runtime offers: repeated inferences with every layer's start and end on the monotonic clock.

A runtime is prepared once (model loaded, session built, warm-up runs done), then :meth:`Runtime.measure`
runs ``runs`` inferences of one fixed random input with a small random pause before each, so that sensor
updates fall at every phase of an inference, and returns the runs' :class:`~synergy.alignment.events.RunRecord`.
:meth:`Runtime.set_input` replaces the random input by the user's batches (the measured runs cycle through
them).
Layer names are :attr:`Runtime.layers` (the *measured* layers: for ONNX Runtime a fused node is one
measured layer that contains several analysis layers, listed in :attr:`Runtime.contains`).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from synergy.alignment.events import RunRecord
from synergy.errors import InputShapeError
from synergy.measurement.options import MeasureOptions

if TYPE_CHECKING:
    from synergy.alignment.isolation import LoopRecord

__all__ = ["BatchCycle", "Isolating", "MeasureSettings", "Runtime", "check_batch", "isolation_of", "pause"]


@dataclass(frozen=True)
class MeasureSettings:
    """The controlled setting of a measurement.

    Attributes:
        runs: measured inferences.
        warmup: inferences run and discarded first.
        threads: intra-op threads (1: one core, the paper's setting).
        pause_s: bounds of the uniform random pause before each measured run, s.
        seed: seed of the pauses and the input.
    """

    runs: int = MeasureOptions.runs
    warmup: int = MeasureOptions.warmup
    threads: int = MeasureOptions.threads
    pause_s: tuple[float, float] = MeasureOptions.pause_s
    seed: int = MeasureOptions.seed

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "runs": self.runs,
            "warmup": self.warmup,
            "threads": self.threads,
            "pause_s": list(self.pause_s),
            "seed": self.seed,
        }


def pause(rng: np.random.Generator, bounds: tuple[float, float]) -> None:
    """Sleep a uniform random time within ``bounds`` seconds (the phase randomisation between runs)."""
    lo, hi = bounds
    if hi > 0:
        time.sleep(float(rng.uniform(lo, hi)))


def check_batch(index: int, batch: Sequence[npt.NDArray[Any]], expected: Sequence[tuple[int, ...]]) -> None:
    """Refuse a batch (number ``index`` from 0) whose inputs are not those a runtime was prepared for.

    Raises:
        InputShapeError: another number of inputs, or another shape; the message names expected and got.
    """
    if len(batch) != len(expected):
        raise InputShapeError(f"batch {index + 1} gives {len(batch)} input(s) but the model takes {len(expected)}")
    for array, shape in zip(batch, expected, strict=True):
        if tuple(array.shape) != tuple(shape):
            want, got = "x".join(map(str, shape)), "x".join(map(str, array.shape))
            raise InputShapeError(f"batch {index + 1} does not fit the model: expected shape {want}, got {got}")


_T = TypeVar("_T")


class BatchCycle(Generic[_T]):
    """The inputs of a runtime's inferences in turn: each call of :meth:`next` takes the next batch, and
    after :meth:`restart` (before the measured runs) measured run *i* takes batch *i* mod *n*."""

    def __init__(self, batches: Sequence[_T]) -> None:
        self.batches = list(batches)
        self._taken = 0

    @property
    def first(self) -> _T:
        """The first batch (the one a runtime describes and sizes itself by)."""
        return self.batches[0]

    def next(self) -> _T:
        """The batch of the next inference."""
        batch = self.batches[self._taken % len(self.batches)]
        self._taken += 1
        return batch

    def restart(self) -> None:
        """Start again at the first batch."""
        self._taken = 0


#: Called after each measured run with (runs done, runs planned).
Progress = Callable[[int, int], None]


class Runtime(ABC):
    """A framework that runs one network and reports when each of its layers ran.

    Attributes:
        name: ``onnxruntime`` or ``torch``.
        layers: measured-layer names, the index space of :attr:`RunRecord.layer_index`.
        contains: measured-layer name → analysis-layer names it executes (itself for an unfused layer;
            empty for runtime-only work such as layout reorders).
    """

    name: str = "runtime"
    layers: tuple[str, ...] = ()
    contains: dict[str, tuple[str, ...]] = {}  # noqa: RUF012 - replaced per instance

    @abstractmethod
    def measure(self, settings: MeasureSettings, progress: Progress | None = None) -> list[RunRecord]:
        """Warm up, then run ``settings.runs`` inferences with random pauses; return every run's record.

        On ``KeyboardInterrupt`` the runs completed so far are returned by :meth:`completed` before the
        interrupt propagates.
        """

    @abstractmethod
    def completed(self) -> list[RunRecord]:
        """The runs recorded so far (after an interruption: the complete ones)."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """JSON-ready description: runtime, version, settings, optimisation level, device."""

    def set_input(self, batches: Sequence[Sequence[npt.NDArray[Any]]]) -> None:
        """Feed these batches instead of the random input: measured run *i* takes batch *i* mod *n*.

        Args:
            batches: each batch as one array per model input, of the shapes the runtime was prepared for.

        Raises:
            InputShapeError: a batch of other shapes or another number of inputs, or a runtime that takes none.
        """
        raise InputShapeError(f"the {self.name} runtime runs its own input only")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the session or model. Idempotent."""


@runtime_checkable
class Isolating(Protocol):
    """The optional capability of a runtime to loop each of its layers alone (isolation mode)."""

    def isolate(
        self, settle_s: float, measure_s: float, layers: list[str] | None = None, progress: Progress | None = None
    ) -> list[LoopRecord]:
        """Loop each layer alone for ``settle_s + measure_s`` and return one record per layer."""


def isolation_of(runtime: Runtime) -> Isolating | None:
    """``runtime`` as an :class:`Isolating` runtime, or ``None`` when it cannot loop layers alone."""
    return runtime if isinstance(runtime, Isolating) else None
