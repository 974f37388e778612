"""ONNX Runtime with per-node start and end times from its profiler, on the monotonic clock.

The profiler (``SessionOptions.enable_profiling``) records one ``Node`` event per executed node and one
``model_run`` event per inference, with ``ts`` in whole µs (truncated) since the profiler started, on ONNX
Runtime's own clock, which on Linux is the wall clock. Two estimates of the offset are combined:

- **Start time.** ``InferenceSession.get_profiling_start_time_ns()`` gives the profiler's start on the wall
  clock; minus :func:`synergy.clock.wall_offset_ns` (read right after the session is built) it is the start
  on the monotonic clock, to about 1 µs (the µs truncation of ``ts`` and the offset read).
- **Brackets.** Each inference is bracketed by :func:`synergy.clock.now_ns` reads before and after
  ``session.run``; every ``model_run`` must lie inside its bracket, which bounds the offset from both sides.
  The intersection over all runs is typically 50–100 µs wide (the Python call's own overhead).

The start time is used when it falls inside the bracket interval (residual: 1 µs); otherwise the middle of
the interval (residual: its half-width). When the brackets do not intersect (the wall clock was stepped or
slewed during the measurement), an offset and a drift are fitted by least squares to the bracket middles
and the residual is the largest violation.

The session runs at ONNX Runtime's default optimisation level (``ORT_ENABLE_ALL``); the optimised graph is
saved and mapped back to the original nodes (:mod:`synergy.runtime.onnx_mapping`), so a fused Conv+Add+Relu
is one measured layer that contains three analysis layers. A measured layer is named after the first
original node it contains; runtime-only nodes (layout reorders) keep their own names. The profiler does not
give per-node hardware counters: counters are per inference on this runtime.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from synergy.alignment.events import RunRecord
from synergy.clock import now_ns, wall_offset_ns
from synergy.errors import AlignmentError, MeasurementError, ModelSpecError
from synergy.runtime.base import BatchCycle, MeasureSettings, Progress, Runtime, check_batch, pause
from synergy.runtime.counters import PerfCounters
from synergy.runtime.onnx_mapping import NodeMapping, map_optimized_graph

__all__ = ["ClockCalibration", "OnnxRuntime", "calibrate_profiler_clock", "parse_profile"]

_LEVELS = ("disable", "basic", "extended", "all")
_KERNEL_SUFFIX = "_kernel_time"
_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(uint8)": np.uint8,
    "tensor(int8)": np.int8,
    "tensor(bool)": np.bool_,
}


@dataclass(frozen=True)
class ClockCalibration:
    """Mapping of profiler µs onto monotonic ns: ``t_ns = offset_ns + ts_us × 1000 × (1 + drift)``.

    Attributes:
        offset_ns: monotonic ns of profiler time 0.
        drift: relative rate difference (0 when the bracket method applies).
        residual_ns: half-width of the offset's feasible interval, or the largest bracket violation.
        method: ``brackets`` or ``least-squares``.
        runs: number of runs used.
    """

    offset_ns: float
    drift: float
    residual_ns: float
    method: str
    runs: int

    def to_ns(self, ts_us: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Profiler µs → monotonic ns."""
        ts = np.asarray(ts_us, dtype=np.float64)
        return np.asarray(np.round(self.offset_ns + ts * 1e3 * (1.0 + self.drift)), dtype=np.int64)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "offset_ns": self.offset_ns,
            "drift": self.drift,
            "residual_ns": self.residual_ns,
            "method": self.method,
            "runs": self.runs,
        }


def calibrate_profiler_clock(
    before_ns: npt.ArrayLike,
    after_ns: npt.ArrayLike,
    run_ts_us: npt.ArrayLike,
    run_dur_us: npt.ArrayLike,
    start_ns: float | None = None,
) -> ClockCalibration:
    """Find the offset between the profiler's clock and the monotonic clock.

    Args:
        before_ns: ``now_ns()`` just before each ``session.run``.
        after_ns: ``now_ns()`` just after it.
        run_ts_us: each ``model_run`` event's ``ts``, µs.
        run_dur_us: its ``dur``, µs.
        start_ns: the profiler's start on the monotonic clock, when known (checked against the brackets).

    Raises:
        AlignmentError: no runs, or arrays of different lengths.
    """
    b = np.asarray(before_ns, dtype=np.float64)
    a = np.asarray(after_ns, dtype=np.float64)
    ts = np.asarray(run_ts_us, dtype=np.float64) * 1e3
    dur = np.asarray(run_dur_us, dtype=np.float64) * 1e3
    if len(b) == 0 or not (len(b) == len(a) == len(ts) == len(dur)):
        raise AlignmentError("the profiler's runs do not match the timed runs; cannot calibrate its clock")
    # ts is rounded to whole µs: widen each bound by 1 µs.
    lo = b - ts - 1e3
    hi = a - (ts + dur) + 1e3
    low, high = float(lo.max()), float(hi.min())
    if start_ns is not None and low <= start_ns + 500.0 <= high:
        # ts is truncated to µs: the event started on average 0.5 µs after ts.
        return ClockCalibration(start_ns + 500.0, 0.0, 1000.0, "start time (within brackets)", len(b))
    if low <= high:
        return ClockCalibration(0.5 * (low + high), 0.0, 0.5 * (high - low), "brackets", len(b))
    middle = 0.5 * (lo + hi)
    if len(b) >= 2 and np.ptp(ts) > 0:
        slope, intercept = np.polyfit(ts, middle, 1)
    else:
        slope, intercept = 0.0, float(middle.mean())
    predicted = intercept + slope * ts
    violation = np.maximum(lo - predicted, predicted - hi)
    return ClockCalibration(float(intercept), float(slope), float(max(violation.max(), 0.0)), "least-squares", len(b))


@dataclass(frozen=True)
class ProfileRun:
    """One ``model_run`` of the profile and the node events inside it (profiler µs)."""

    ts_us: int
    dur_us: int
    node: tuple[str, ...]
    node_ts_us: tuple[int, ...]
    node_dur_us: tuple[int, ...]


def parse_profile(events: list[dict[str, Any]]) -> list[ProfileRun]:
    """Group a profile's ``Node`` events by the ``model_run`` they fall in, in run order.

    Raises:
        MeasurementError: the profile is not ONNX Runtime's event list.
    """
    if not isinstance(events, list):
        raise MeasurementError("the ONNX Runtime profile is not a list of events; its format changed")
    runs = sorted(
        (int(e["ts"]), int(e["dur"])) for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"
    )
    nodes = sorted(
        (int(e["ts"]), int(e["dur"]), str(e["name"])[: -len(_KERNEL_SUFFIX)])
        for e in events
        if e.get("cat") == "Node" and str(e.get("name", "")).endswith(_KERNEL_SUFFIX)
    )
    node_ts = np.asarray([n[0] for n in nodes], dtype=np.int64)
    out = []
    for ts, dur in runs:
        lo = int(np.searchsorted(node_ts, ts, side="left"))
        hi = int(np.searchsorted(node_ts, ts + dur, side="right"))
        inside = nodes[lo:hi]
        out.append(
            ProfileRun(
                ts,
                dur,
                tuple(n[2] for n in inside),
                tuple(n[0] for n in inside),
                tuple(n[1] for n in inside),
            )
        )
    return out


class OnnxRuntime(Runtime):
    """One ONNX Runtime CPU session, profiled, at a chosen optimisation level (default: all).

    Args:
        model_path: the ``.onnx`` file.
        work_dir: where the optimised model and the raw profile are written.
        threads: intra-op threads; inter-op is 1 and the executor sequential.
        optimization: ``all`` (default, what is deployed), ``extended``, ``basic`` or ``disable``.
        input_shape: shapes of the inputs, when the model's are not static.
        profile: record per-node events (``False``: plain timing, for overhead comparisons).
        seed: seed of the random input.
        counters: event counters read around every inference (the profiler gives no per-node counters),
            or ``None``. Open them before this session so its thread pool is counted too.

    Raises:
        ModelSpecError: the model cannot be loaded by ONNX Runtime.
    """

    name = "onnxruntime"

    def __init__(
        self,
        model_path: Path,
        work_dir: Path,
        *,
        threads: int = 1,
        optimization: str = "all",
        input_shape: tuple[tuple[int, ...], ...] | None = None,
        profile: bool = True,
        seed: int = 0,
        counters: PerfCounters | None = None,
    ) -> None:
        import onnx
        import onnxruntime as ort

        if optimization not in _LEVELS:
            raise ModelSpecError(f"unknown optimisation level {optimization!r}: use one of {', '.join(_LEVELS)}")
        self.model_path = Path(model_path)
        self.work_dir = Path(work_dir)
        self.threads = threads
        self.optimization = optimization
        self.profile = profile
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.counters = counters if counters is not None and counters.names else None
        self._run_counts: list[tuple[int, ...]] = []
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = {
            "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }[optimization]
        options.log_severity_level = 3
        optimized_path = self.work_dir / "optimized.onnx"
        if profile:
            options.enable_profiling = True
            options.profile_file_prefix = str(self.work_dir / "ort_profile")
            options.optimized_model_filepath = str(optimized_path)
            # Large initializers go beside the optimised graph (not to a path relative to it that only the
            # original model's folder has).
            options.add_session_config_entry(
                "session.optimized_model_external_initializers_file_name", optimized_path.name + ".data"
            )
        try:
            self.session = ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own Fail/InvalidGraph types
            raise ModelSpecError(f"ONNX Runtime cannot load {self.model_path}: {exc}") from exc
        self._profiler_start_ns: float | None = None
        if profile:
            self._profiler_start_ns = float(self.session.get_profiling_start_time_ns() - wall_offset_ns())
        self._ort_version = ort.__version__
        rng = np.random.default_rng(seed)
        self.feeds: dict[str, npt.NDArray[Any]] = {}
        for i, inp in enumerate(self.session.get_inputs()):
            shape = tuple(input_shape[i]) if input_shape is not None and i < len(input_shape) else tuple(inp.shape)
            if any(not isinstance(d, int) or d <= 0 for d in shape):
                from synergy.errors import InputShapeError

                raise InputShapeError(f"input {inp.name!r} has dynamic shape {inp.shape}: give --input-shape")
            dtype = _DTYPES.get(inp.type, np.float32)
            self.feeds[inp.name] = rng.standard_normal(shape).astype(dtype)
        self._feeds: BatchCycle[dict[str, npt.NDArray[Any]]] = BatchCycle([self.feeds])
        self.mapping: NodeMapping | None = None
        if profile:
            # The mapping needs the graphs' structure only, not the weights (which may live in external files).
            original = onnx.load(str(self.model_path), load_external_data=False)
            optimized = onnx.load(str(optimized_path), load_external_data=False)
            self.mapping = map_optimized_graph(original, optimized)
            self._set_layers(self.mapping, optimized)
        self._records: list[RunRecord] = []
        self.calibration: ClockCalibration | None = None
        self.profile_path: Path | None = None
        self._closed = False

    def _set_layers(self, mapping: NodeMapping, optimized: Any) -> None:
        names: list[str] = []
        self.contains = {}
        self._node_to_layer: dict[str, int] = {}
        for node in optimized.graph.node:
            members = mapping.groups.get(node.name, ())
            label = members[0] if members else node.name
            base, k = label, 2
            while label in self.contains:
                label, k = f"{base}#{k}", k + 1
            self.contains[label] = members
            self._node_to_layer[node.name] = len(names)
            names.append(label)
        self.layers = tuple(names)
        self.optimized_nodes = {label: node.name for label, node in zip(names, optimized.graph.node, strict=True)}

    def set_input(self, batches: Sequence[Sequence[npt.NDArray[Any]]]) -> None:
        """Feed the user's batches (numpy arrays, cast to the inputs' types) instead of the random input;
        run *i* takes batch *i* mod *n*.

        Raises:
            InputShapeError: a batch of other shapes than the inputs prepared, or another number of inputs.
        """
        names = list(self.feeds)
        expected = [tuple(self.feeds[name].shape) for name in names]
        feeds = []
        for index, batch in enumerate(batches):
            check_batch(index, batch, expected)
            feeds.append(
                {
                    name: np.ascontiguousarray(array, dtype=self.feeds[name].dtype)
                    for name, array in zip(names, batch, strict=True)
                }
            )
        if feeds:
            self._feeds = BatchCycle(feeds)
            self.feeds = self._feeds.first

    def run_once(self) -> tuple[int, int]:
        """One inference; returns monotonic ns before and after (counter increments kept aside)."""
        feed = self._feeds.next()
        if self.counters is None:
            before = now_ns()
            self.session.run(None, feed)
            return before, now_ns()
        counts = self.counters.read()
        before = now_ns()
        self.session.run(None, feed)
        after = now_ns()
        self._run_counts.append(self.counters.delta(counts, self.counters.read()))
        return before, after

    def measure(self, settings: MeasureSettings, progress: Progress | None = None) -> list[RunRecord]:
        """Warm up, run with random pauses, end profiling and turn the profile into run records."""
        rng = np.random.default_rng(settings.seed)
        brackets: list[tuple[int, int]] = []
        self._run_counts = []
        try:
            for _ in range(settings.warmup):
                brackets.append(self.run_once())
            self._feeds.restart()  # measured run i takes batch i mod n
            for i in range(settings.runs):
                pause(rng, settings.pause_s)
                brackets.append(self.run_once())
                if progress is not None:
                    progress(i + 1, settings.runs)
        finally:
            self._records = self._collect(brackets, settings.warmup)
        return self._records

    def _collect(self, brackets: list[tuple[int, int]], warmup: int) -> list[RunRecord]:
        counts = self._run_counts if self.counters is not None else [() for _ in brackets]
        if not self.profile:
            pairs = list(zip(brackets, counts, strict=True))[warmup:]
            return [RunRecord(b, a, (), (), (), counters=c) for (b, a), c in pairs]
        path = Path(self.session.end_profiling())
        target = self.work_dir / "ort_profile.json"
        path.replace(target)
        self.profile_path = target
        with target.open() as fh:
            runs = parse_profile(json.load(fh))
        n = min(len(runs), len(brackets))
        if n == 0:
            return []
        runs, brackets = runs[:n], brackets[:n]
        self.calibration = calibrate_profiler_clock(
            [b for b, _ in brackets],
            [a for _, a in brackets],
            [r.ts_us for r in runs],
            [r.dur_us for r in runs],
            self._profiler_start_ns,
        )
        records = []
        for (before, after), run, count in list(zip(brackets, runs, counts[:n], strict=True))[warmup:]:
            index = [self._node_to_layer.get(name, -1) for name in run.node]
            keep = [j for j, k in enumerate(index) if k >= 0]
            start = self.calibration.to_ns([run.node_ts_us[j] for j in keep])
            end = self.calibration.to_ns([run.node_ts_us[j] + run.node_dur_us[j] for j in keep])
            records.append(
                RunRecord(
                    before,
                    after,
                    tuple(index[j] for j in keep),
                    tuple(int(x) for x in start),
                    tuple(int(x) for x in end),
                    counters=count,
                )
            )
        return records

    def completed(self) -> list[RunRecord]:
        """The runs recorded by the last :meth:`measure` (complete even after an interruption)."""
        return list(self._records)

    def describe(self) -> dict[str, Any]:
        """Runtime, version, optimisation level, threads, executor, calibration and fusion summary."""
        out: dict[str, Any] = {
            "name": self.name,
            "version": self._ort_version,
            "provider": "CPUExecutionProvider",
            "optimization": self.optimization,
            "intra_op_threads": self.threads,
            "inter_op_threads": 1,
            "executor": "sequential",
            "profiled": self.profile,
            "counters": "per inference" if self.counters is not None else None,
            "inputs": {k: list(v.shape) for k, v in self.feeds.items()},
        }
        if self.calibration is not None:
            out["clock_calibration"] = self.calibration.to_dict()
        if self.mapping is not None:
            out["measured_layers"] = len(self.layers)
            out["fused_layers"] = sum(1 for v in self.contains.values() if len(v) > 1)
            out["runtime_only_nodes"] = [k for k, v in self.contains.items() if not v]
            out["folded_nodes"] = len(self.mapping.folded)
            out["unmapped_nodes"] = list(self.mapping.unmapped)
        return out

    def close(self) -> None:
        """Drop the session."""
        if not self._closed:
            self._closed = True
            del self.session
