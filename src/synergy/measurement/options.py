"""What to measure and how: :class:`MeasureOptions`, the one source of the defaults of ``synergy measure``,
:func:`synergy.measure` and ``synergy study``, and the checks of every value before anything is opened
or written. Standard library only, so the command line can read the defaults without loading numpy."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from synergy.errors import UsageError

__all__ = ["CONTEXT_POLL_S", "OPTIMIZATIONS", "RUNTIMES", "MeasureOptions"]

#: Poll period of the context channels, s (utilisation uses its own window, a few kernel ticks).
CONTEXT_POLL_S = 0.01

#: The runtimes ``measure`` drives.
RUNTIMES: tuple[str, ...] = ("onnxruntime", "torch")

#: ONNX Runtime's graph optimisation levels.
OPTIMIZATIONS: tuple[str, ...] = ("all", "extended", "basic", "disable")

_SEED_MAX = 2**32 - 1


@dataclass(frozen=True)
class MeasureOptions:
    """What to measure and how.

    Attributes:
        model: the MODEL spec (``.onnx``, ``torchvision:NAME``, ``package.module:callable``).
        runtime: ``onnxruntime`` (default) or ``torch``.
        sensor: ``auto``, ``none``, a backend name or ``trace:FILE``.
        sysfs_root: the directory that replaces ``/`` for sysfs sensors and context channels.
        runs: measured inferences.
        warmup: discarded inferences first.
        threads: intra-op threads.
        idle_s: idle time sampled before the first run, s.
        input_shape: input shapes (default: the model's own).
        optimization: ONNX Runtime optimisation level (``all`` by default).
        pause_s: bounds of the random pause before each run, s.
        seed: seed of the pauses, the input and the sampler's jitter (0 to 2**32-1).
        bootstrap: run-resampling replicates for the standard errors (0: analytic).
        counters: count events with ``perf_event_open`` (per layer on the torch runtime, per inference
            on ONNX Runtime).
        context: sample the context channels (clocks, temperatures, utilisation) and check the conditions.
        context_interval_s: how long to watch other processes' CPU use before the runs, s (0 skips it).
        strict: any finding of the checks fails the measurement (after the results are written).
        isolation: after the runs, loop every layer alone long enough for the sensor to settle
            (:mod:`synergy.alignment.isolation`; runtimes that can isolate layers only), and report each
            layer's steady power and energy per call beside the attributed ones.
        isolation_s: measuring time of each isolated layer, s.
        trace_offset: for a ``trace:FILE`` sensor, how the meter's clock maps onto this machine's:
            seconds to add to the log's times, ``"wall"`` (the log is stamped in Unix time by this
            machine), or ``None``: a sync pattern is emitted before the runs and found in the log.
        pmic_calibration: for the Raspberry Pi PMIC sensor, ``(a, b)`` with board power = a × the rails'
            sum + b W, fitted against a wall meter (``None``: the rails' sum).
        keep_models: keep ONNX Runtime's optimised graph (``ort/optimized.onnx``, with its weights) beside
            the results; by default only the model that was run is kept (its ``onnx_sha256`` in ``run.json``).
    """

    model: str
    runtime: str = "onnxruntime"
    sensor: str = "auto"
    sysfs_root: Path = Path("/")
    runs: int = 200
    warmup: int = 10
    threads: int = 1
    idle_s: float = 1.0
    input_shape: tuple[tuple[int, ...], ...] | None = None
    optimization: str = "all"
    pause_s: tuple[float, float] = (1e-3, 10e-3)
    seed: int = 0
    bootstrap: int = 0
    counters: bool = True
    context: bool = True
    context_interval_s: float = 0.5
    strict: bool = False
    isolation: bool = False
    isolation_s: float = 1.0
    trace_offset: float | str | None = None
    pmic_calibration: tuple[float, float] | None = None
    keep_models: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        out["sysfs_root"] = str(self.sysfs_root)
        out["input_shape"] = [list(s) for s in self.input_shape] if self.input_shape else None
        out["pause_s"] = list(self.pause_s)
        out["pmic_calibration"] = list(self.pmic_calibration) if self.pmic_calibration is not None else None
        return out

    def validate(self) -> None:
        """Check every value; nothing is opened or written.

        Raises:
            UsageError: the first bad value, in one line.
        """
        if not isinstance(self.model, str) or not self.model.strip():
            raise UsageError("no MODEL given: give a .onnx file, torchvision:NAME or module:callable")
        if self.runtime not in RUNTIMES:
            raise UsageError(f"unknown runtime {self.runtime!r}: use one of {', '.join(RUNTIMES)}")
        if self.optimization not in OPTIMIZATIONS:
            raise UsageError(f"unknown optimisation level {self.optimization!r}: use one of {', '.join(OPTIMIZATIONS)}")
        _count("--runs", self.runs, 1)
        _count("--warmup", self.warmup, 0)
        _count("--threads", self.threads, 1)
        _count("--bootstrap", self.bootstrap, 0)
        _count("--seed", self.seed, 0, _SEED_MAX)
        _seconds("--idle-s", self.idle_s)
        _seconds("--context-interval-s", self.context_interval_s)
        _seconds("--isolation-s", self.isolation_s, positive=True)
        self._check_pause()
        self._check_shapes()
        self._check_isolation()
        self._check_trace()
        self._check_calibration()
        root = Path(self.sysfs_root)
        if not root.is_dir():
            raise UsageError(
                f"{root} is not a directory (give the directory that stands for / in a sysfs tree, or leave it out)"
            )

    def _check_pause(self) -> None:
        if len(self.pause_s) != 2 or not all(_finite(v) and v >= 0 for v in self.pause_s):
            raise UsageError(f"the pause bounds must be two finite times >= 0 s, got {self.pause_s!r}")
        if self.pause_s[0] > self.pause_s[1]:
            raise UsageError(f"the pause bounds {self.pause_s!r} are reversed: give (shortest, longest)")

    def _check_shapes(self) -> None:
        for shape in self.input_shape or ():
            if not shape or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in shape):
                raise UsageError(f"input shape {shape!r} must be positive whole numbers, such as 1,3,224,224")

    def _check_isolation(self) -> None:
        if self.isolation and self.runtime != "torch":
            raise UsageError(
                "--isolation loops PyTorch modules one at a time, and ONNX Runtime runs the graph only as a whole: "
                "add --runtime torch"
            )
        if self.isolation and self.sensor == "none":
            raise UsageError("--isolation measures each layer's power and needs a sensor: drop --sensor none")

    def _check_trace(self) -> None:
        offset = self.trace_offset
        if offset is None:
            return
        if not self.sensor.startswith("trace:"):
            raise UsageError("a trace offset applies to a trace:FILE sensor only")
        if offset != "wall" and (isinstance(offset, str | bool) or not _finite(offset)):
            raise UsageError(f"the trace offset must be a finite number of seconds or 'wall', got {offset!r}")

    def _check_calibration(self) -> None:
        calibration = self.pmic_calibration
        if calibration is None:
            return
        if self.sensor not in ("auto", "rpi-pmic"):
            raise UsageError("a PMIC calibration applies to the rpi-pmic sensor only")
        if len(calibration) != 2 or not all(_finite(v) for v in calibration) or calibration[0] <= 0:
            raise UsageError(f"a PMIC calibration is (a, b) with a finite a > 0 and a finite b, got {calibration!r}")


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _count(name: str, value: object, lowest: int, highest: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
        raise UsageError(f"{name} must be a whole number of at least {lowest}, got {value!r}")
    if highest is not None and value > highest:
        raise UsageError(f"{name} must be at most {highest}, got {value!r}")


def _seconds(name: str, value: object, *, positive: bool = False) -> None:
    if not _finite(value) or (value <= 0 if positive else value < 0):  # type: ignore[operator]
        bound = "positive" if positive else "at least 0"
        raise UsageError(f"{name} must be a finite number of seconds, {bound}, got {value!r}")
