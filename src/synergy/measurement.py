"""``measure``: run a network repeatedly, record every layer on the monotonic clock while sampling a power
sensor, and give every layer its time and energy.

The controlled setting follows the SyNERGY papers: one fixed input, ``threads`` intra-op threads (1 by
default), warm-up runs, then ``runs`` measured inferences, each after a small random pause so that sensor
updates fall at every phase of an inference. The sensor is sampled from ``idle_s`` seconds before the first
run (the idle power) until shortly after the last; energy is attributed to layers by a joint solve over all
runs (:mod:`synergy.alignment.attribute`).

Outputs (all written atomically into one directory, refused if it exists unless ``force``):
``layers.csv``, ``run.json``, ``events.parquet`` (per-layer events), ``runs.parquet`` (run windows),
``samples.parquet`` (the sensor's timeline), ``context.parquet`` (the context channels: clocks,
temperatures, utilisation, sampled by the same sampler on the same clock), ``power_profile.png``.
``run.json`` is written first with ``"status": "running"``; an interruption or a failure leaves the runs
completed so far written with ``"status": "partial"``.

The context channels (:mod:`synergy.context`) are found under the same root as the sensor and sampled even
without one. After the runs, their summaries go to ``run.json`` (``context``) and ``layers.csv``, and the
checks' findings to ``run.json`` (``checks``); with ``strict``, any finding fails the measurement
(:class:`~synergy.errors.MeasurementCheckError`, ``"status": "failed-checks"``) after everything is written.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synergy.alignment.attribute import Attribution, attribute_timeline
from synergy.alignment.events import LayerEvents, RunRecord
from synergy.alignment.isolation import IsolatedLayer, LoopRecord, attribute_isolated, isolated_frame, loop_plan
from synergy.atomic import atomic_path, write_text_atomic
from synergy.clock import now_ns, wall_offset_ns
from synergy.context import ChannelSet, Finding, SystemContext, check, collect_context, discover_channels, summarize
from synergy.context import Timeline as ContextTimeline
from synergy.context.results import (
    LAYER_RAILS,
    context_frame,
    from_sampler,
    layer_spans,
    summary_rails,
)
from synergy.counters import PerfCounters
from synergy.errors import (
    AlignmentError,
    MeasurementCheckError,
    MeasurementError,
    OutputExistsError,
    SamplingError,
    SynergyError,
    SynergyWarning,
    UsageError,
)
from synergy.graph.spec import ModelSpec, parse_model_spec
from synergy.layers import LayerTable, op_category
from synergy.metadata import cpu_frequencies_hz, system_metadata
from synergy.runtime.base import MeasureSettings, Runtime
from synergy.runtime.torch_eager import TorchEagerRuntime
from synergy.sampling.idle import IdlePower, idle_from_timeline
from synergy.sampling.sampler import Sampler
from synergy.sampling.timeline import Timeline
from synergy.sensors.base import NullSensor, Sensor

__all__ = ["FORMAT_VERSION", "MeasureOptions", "MeasureResult", "measure"]

#: Version of the ``run.json`` layout.
FORMAT_VERSION = 1

#: Poll period of the context channels, s (utilisation uses its own window, a few kernel ticks).
CONTEXT_POLL_S = 0.01

RUNTIMES = ("onnxruntime", "torch")

#: Breakdown of the paper: every category outside conv, pooling and fc counts as other.
_BREAKDOWN = {"conv": "conv", "pooling": "pooling", "fc": "fc"}


@dataclass(frozen=True)
class MeasureOptions:
    """What to measure and how.

    Attributes:
        model: the MODEL spec (``.onnx``, ``torchvision:NAME``, ``package.module:callable``).
        runtime: ``onnxruntime`` (default) or ``torch``.
        sensor: ``auto``, ``none``, a backend name or ``trace:FILE``.
        sysfs_root: the directory that replaces ``/`` for sysfs sensors.
        runs: measured inferences.
        warmup: discarded inferences first.
        threads: intra-op threads.
        idle_s: idle time sampled before the first run, s.
        input_shape: input shapes (default: the model's own).
        optimization: ONNX Runtime optimisation level (``all`` by default).
        pause_s: bounds of the random pause before each run, s.
        seed: seed of the pauses, the input and the sampler's jitter.
        bootstrap: run-resampling replicates for the standard errors (0: analytic).
        counters: count events with ``perf_event_open`` (per layer on the torch runtime, per inference
            on ONNX Runtime).
        context: sample the context channels (clocks, temperatures, utilisation) and check the conditions.
        context_interval_s: how long to watch other processes' CPU use before the runs, s (0 skips it).
        strict: any finding of the checks fails the measurement (after the results are written).
        isolation: after the runs, loop every layer alone long enough for the sensor to settle
            (:mod:`synergy.alignment.isolation`; PyTorch runtime only), and report each layer's steady power
            and energy per call beside the attributed ones.
        isolation_s: measuring time of each isolated layer, s (longer when the sensor is slow: at least ten
            of its time constants).
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "model": self.model,
            "runtime": self.runtime,
            "sensor": self.sensor,
            "sysfs_root": str(self.sysfs_root),
            "runs": self.runs,
            "warmup": self.warmup,
            "threads": self.threads,
            "idle_s": self.idle_s,
            "input_shape": [list(s) for s in self.input_shape] if self.input_shape else None,
            "optimization": self.optimization,
            "pause_s": list(self.pause_s),
            "seed": self.seed,
            "bootstrap": self.bootstrap,
            "counters": self.counters,
            "context": self.context,
            "context_interval_s": self.context_interval_s,
            "strict": self.strict,
            "isolation": self.isolation,
            "isolation_s": self.isolation_s,
        }


@dataclass
class MeasureResult:
    """What :func:`measure` produced.

    Attributes:
        out_dir: the output directory.
        layers: the ``layers.csv`` table.
        run: the ``run.json`` content.
        attribution: the fit, or ``None`` without energy.
        energy_unavailable: why there is no energy (``None`` when there is).
        partial: the measurement was interrupted; the files hold the runs completed.
        warnings: things the user should know (printed once by the CLI).
        findings: the checks of the measurement conditions, each with its remedy (printed by the CLI).
        context_before: the machine state before the runs (``summary_line()`` for the printed summary).
    """

    out_dir: Path
    layers: pd.DataFrame
    run: dict[str, Any]
    attribution: Attribution | None
    energy_unavailable: str | None
    partial: bool = False
    warnings: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    context_before: SystemContext | None = None

    def breakdown(self) -> pd.DataFrame:
        """Shares by layer type (conv / pooling / fc / other) of time, energy and MACs, as the paper reports."""
        frame = self.layers.copy()
        frame["type"] = [_BREAKDOWN.get(c, "other") for c in frame["category"]]
        columns = {"duration_s": "time_share", "macs": "macs_share"}
        if "energy_j" in frame and frame["energy_j"].notna().any():
            columns["energy_j"] = "energy_share"
        grouped = frame.groupby("type")[list(columns)].sum()
        grouped = grouped.reindex([t for t in ("conv", "pooling", "fc", "other") if t in grouped.index])
        out = pd.DataFrame({"type": grouped.index, "layers": frame.groupby("type").size()[grouped.index].values})
        for source, share in columns.items():
            values = grouped[source].to_numpy(dtype=float)
            total = float(values.sum())
            out[source] = values
            out[share] = values / total if total else np.nan
        return out.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- files
def _write_frame_parquet(path: Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _clean(value: Any) -> Any:
    """NaN and infinities become ``null`` (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(_clean(data), indent=2, default=_json_default) + "\n")


def _check_output(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"output path {out} is a file: choose a directory with -o")
    if out.exists() and not force:
        raise OutputExistsError(f"output directory {out} exists: choose another with -o, or add --force to overwrite")


def prepare_output(out_dir: Path, force: bool) -> Path:
    """Create the output directory; refuse an existing one without ``force`` (and leave it untouched).

    Raises:
        OutputExistsError: it exists and ``force`` is false, or it is a file.
    """
    out = Path(out_dir)
    _check_output(out, force)
    out.mkdir(parents=True, exist_ok=True)
    return out


def default_output_dir(model: str) -> Path:
    """``results/<model>-<YYYYmmdd-HHMMSS>`` under the current directory."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(model).stem if model.endswith(".onnx") else model).strip("-")
    return Path("results") / f"{slug}-{time.strftime('%Y%m%d-%H%M%S')}"


# ---------------------------------------------------------------------------------------------- parts
def _build_runtime(
    spec: ModelSpec, options: MeasureOptions, out: Path, warn: Callable[[str], None], counters: PerfCounters | None
) -> tuple[Runtime, LayerTable | None]:
    from synergy.analysis import analyze
    from synergy.runtime.models import build_torch_model, default_input_shape, export_onnx

    if options.runtime not in RUNTIMES:
        raise UsageError(f"unknown runtime {options.runtime!r}: use one of {', '.join(RUNTIMES)}")
    shapes = options.input_shape
    if shapes is None and spec.kind == "torchvision":
        shapes = (default_input_shape(spec),)
    analysis: LayerTable | None = None
    runtime: Runtime
    if options.runtime == "onnxruntime":
        from synergy.runtime.onnxruntime import OnnxRuntime

        if spec.kind == "onnx":
            onnx_path = Path(spec.target)
        else:
            if shapes is None:
                raise UsageError(f"{spec.text} needs --input-shape to be exported to ONNX")
            onnx_path = export_onnx(spec, shapes[0], out / "model.onnx")
        runtime = OnnxRuntime(
            onnx_path,
            out / "ort",
            threads=options.threads,
            optimization=options.optimization,
            input_shape=shapes,
            seed=options.seed,
            counters=counters,
        )
        try:
            analysis = analyze(str(onnx_path), shapes)
        except SynergyError as exc:
            warn(f"the layer table could not be built ({exc}); layers have no MACs")
    else:
        from synergy.runtime.torch_eager import TorchEagerRuntime

        if spec.kind == "onnx":
            raise UsageError("the torch runtime runs PyTorch models: give torchvision:NAME or module:callable")
        if shapes is None:
            raise UsageError(f"{spec.text} has no default input: give --input-shape N,C,H,W")
        runtime = TorchEagerRuntime(
            build_torch_model(spec), shapes[0], threads=options.threads, seed=options.seed, counters=counters
        )
        try:
            analysis = analyze(spec.text, shapes)
        except SynergyError as exc:
            warn(f"the layer table could not be built ({exc}); layers have no MACs")
    return runtime, analysis


def _layer_rows(runtime: Runtime, events: LayerEvents, analysis: LayerTable | None) -> pd.DataFrame:
    """One row per measured layer: op, category, contained analysis layers, summed counts."""
    by_name = {layer.name: layer for layer in analysis.layers} if analysis is not None else {}
    rows = []
    ran = np.zeros(len(events.layers), dtype=np.int64)
    if len(events.layer):
        pairs = np.unique(np.stack([events.run, events.layer]), axis=1)
        np.add.at(ran, pairs[1], 1)
    for index, name in enumerate(events.layers):
        members = [by_name[m] for m in runtime.contains.get(name, ()) if m in by_name]
        primary = max(members, key=lambda lay: lay.macs) if members else None
        op = primary.op if primary is not None else ("runtime" if not runtime.contains.get(name) else "unknown")
        rows.append(
            {
                "layer": name,
                "op": op,
                "category": op_category(op) if primary is not None else "other",
                "contains": ";".join(runtime.contains.get(name, ())),
                "runs": int(ran[index]),
                "macs": sum(m.macs for m in members),
                "params": sum(m.params for m in members),
                "flops": sum(m.flops for m in members),
                "bytes_moved": sum(m.bytes_moved for m in members),
            }
        )
    return pd.DataFrame(rows)


def _counters(
    counters: PerfCounters | None, records: list[RunRecord], events: LayerEvents, layers: pd.DataFrame
) -> dict[str, Any] | None:
    """Mean counter increments per inference (run.json) and per layer (columns of ``layers``)."""
    if counters is None:
        return None
    info: dict[str, Any] = counters.describe()
    names = list(counters.names)
    per_run = [r.counters for r in records if len(r.counters) == len(names)]
    if names and per_run:
        means = np.asarray(per_run, dtype=np.float64).mean(axis=0)
        info["per_inference"] = {name: float(v) for name, v in zip(names, means, strict=True)}
    if names and records and all(len(r.layer_counters) == len(r.layer_index) for r in records):
        values = np.asarray([c for r in records for c in r.layer_counters], dtype=np.float64)
        if len(values) == len(events.layer):
            for k, name in enumerate(names):
                total = np.zeros(len(events.layers))
                np.add.at(total, events.layer, values[:, k])
                layers[name] = total / events.n_runs
            info["per_layer"] = True
    return info


def _idle(timeline: Timeline, t_end_ns: int) -> IdlePower | None:
    lo, _ = timeline.coverage_ns
    if t_end_ns - lo < 50_000_000:
        return None
    try:
        return idle_from_timeline(timeline, lo, t_end_ns)
    except (SamplingError, ValueError, AlignmentError):
        return None


def _context_results(
    options: MeasureOptions,
    channels: ChannelSet,
    before: SystemContext | None,
    sampled: dict[str, Timeline],
    reads: dict[str, ContextTimeline],
    events: LayerEvents,
    layers: pd.DataFrame,
    result: Any,
) -> tuple[dict[str, Any] | None, list[Finding]]:
    """The ``context`` block of ``run.json``, the channel columns of ``layers`` (added in place), the findings."""
    if not options.context:
        return None, []
    real_root = Path(options.sysfs_root) == Path("/")
    after = collect_context(options.sysfs_root, use_nvml=real_root, top_interval_s=0)
    timelines = list(reads.values())
    run_spans = [(int(a), int(b)) for a, b in zip(events.run_start_ns, events.run_end_ns, strict=True)]
    info: dict[str, Any] = {
        "channels": channels.describe(),
        "sampler": {name: result.channels[name].to_dict() for name in sampled} if result is not None else {},
        "gaps": {name: [g.to_dict() for g in t.gaps] for name, t in sampled.items() if t.gaps},
        "before": before.to_dict() if before is not None else None,
        "after": after.to_dict(),
        "runs": summarize(timelines, {"runs": run_spans}).to_dict()["runs"] if timelines else {},
        "layers": {},
        "layer_rails": [],
    }
    derived = summary_rails(timelines)
    if derived is not None:
        spans = layer_spans(events.layers, events.layer, events.start_ns, events.end_ns)
        summary = summarize(derived, {"runs": run_spans, **spans})
        per_layer = summary.to_dict()
        info["runs"] = {**per_layer.pop("runs"), **info["runs"]}
        info["layers"] = per_layer
        info["layer_rails"] = list(derived.rails)
        frame = summary.to_frame(stats=("min", "median", "max"))
        for rail in LAYER_RAILS:
            column = f"{rail}_max" if rail == "temp_c" else f"{rail}_median"
            if rail in derived.rails:
                values = frame[column] if column in frame else pd.Series(dtype=float)
                layers[column] = [float(values.get(name, np.nan)) for name in layers["layer"]]
    findings = check(before, timelines, run_spans, context_after=after)
    return info, findings


def _after_runs(progress: Callable[[int, int], None] | None, runs: int) -> Callable[[int, int], None] | None:
    """Progress of the isolation loops, counted on after the runs (one step per layer)."""
    if progress is None:
        return None
    report = progress

    def step(done: int, total: int) -> None:
        report(runs + done, runs + total)

    return step


# ---------------------------------------------------------------------------------------------- main
def measure(
    options: MeasureOptions,
    out_dir: Path,
    *,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> MeasureResult:
    """Measure a network layer by layer and write the results to ``out_dir``.

    Args:
        options: what to measure and how.
        out_dir: the output directory (refused if it exists, unless ``force``).
        force: overwrite an existing output directory's files.
        progress: called after each measured run with (runs done, runs planned), and with isolation after
            each looped layer (counted on after the runs).

    Raises:
        OutputExistsError: ``out_dir`` exists and ``force`` is false (nothing is touched).
        ModelSpecError, InputShapeError: the model cannot be built or run.
        SensorUnavailable, SensorPermissionError: the named sensor is absent or unreadable.
        MeasurementError: no run completed.
        MeasurementCheckError: ``options.strict`` and the checks found problems (everything was written;
            the result is the error's ``result``).
        KeyboardInterrupt: re-raised after the completed runs were written (``status: partial``).
    """
    from synergy.sensors.discovery import open_sensor

    if options.runs < 1 or options.warmup < 0 or options.threads < 1 or options.idle_s < 0:
        raise UsageError("--runs and --threads must be at least 1, --warmup and --idle-s at least 0")
    if not options.isolation_s > 0:
        raise UsageError(f"--isolation-s must be positive, got {options.isolation_s}")
    if options.isolation and options.runtime != "torch":
        raise UsageError(
            "--isolation loops PyTorch modules one at a time, and ONNX Runtime runs the graph only as a whole: "
            "add --runtime torch"
        )
    if options.isolation and options.sensor == "none":
        raise UsageError("--isolation measures each layer's power and needs a sensor: drop --sensor none")
    spec = parse_model_spec(options.model)
    _check_output(Path(out_dir), force)  # before the sensor is opened: nothing to close on refusal
    sensor: Sensor = open_sensor(options.sensor, root=options.sysfs_root)
    try:
        out = prepare_output(out_dir, force)
    except BaseException:
        sensor.close()
        raise
    notes: list[str] = []
    started_wall_ns = wall_offset_ns()
    run_json: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "status": "running",
        "model": options.model,
        "options": options.to_dict(),
        "started_unix_ns": started_wall_ns + time.monotonic_ns(),
    }
    _write_json(out / "run.json", run_json)
    # Opened before the runtime, so threads it creates (ONNX Runtime's pool) are counted too.
    counters = PerfCounters() if options.counters else None
    try:
        runtime, analysis = _build_runtime(spec, options, out, notes.append, counters)
    except BaseException:
        run_json["status"] = "failed"
        _write_json(out / "run.json", run_json)
        sensor.close()
        if counters is not None:
            counters.close()
        raise
    settings = MeasureSettings(
        runs=options.runs, warmup=options.warmup, threads=options.threads, pause_s=options.pause_s, seed=options.seed
    )
    energy_reason: str | None = sensor.reason if isinstance(sensor, NullSensor) else None
    frequencies_before = cpu_frequencies_hz()
    # The context channels live under the same root as the sensor; NVML only on the real machine.
    real_root = Path(options.sysfs_root) == Path("/")
    channels = ChannelSet()
    before: SystemContext | None = None
    if options.context:
        channels = discover_channels(options.sysfs_root, pid=os.getpid(), use_nvml=real_root)
        before = collect_context(options.sysfs_root, use_nvml=real_root, top_interval_s=options.context_interval_s)
    sources: list[Any] = ([] if energy_reason else [sensor]) + list(channels)
    periods = {c.name: (c.update_period_s if c.name == "cpu_util" else None) or CONTEXT_POLL_S for c in channels}
    sampler = (
        Sampler(sources, jitter=0.1, jitter_seed=options.seed, poll_period_s=periods, probe_s=0.3) if sources else None
    )
    power_sampled = sampler is not None and not energy_reason
    interrupted: BaseException | None = None
    idle_end_ns = 0
    loops: list[LoopRecord] = []
    isolation_from_ns: int | None = None
    time_constant_s = (sensor.filter_model.window_s or 0.0) or (sensor.update_period_s or 0.0) or None
    isolation_plan = loop_plan(time_constant_s, measure_s=options.isolation_s)
    isolation_tail_s = max(3.0 * (time_constant_s or 0.1), 0.05)
    if options.isolation and not power_sampled:
        notes.append(f"isolation mode was skipped: it needs power readings ({energy_reason or 'no sensor'})")
    started = False
    try:
        if sampler is not None:
            sampler.start()
            started = True
        try:
            time.sleep(options.idle_s if power_sampled else 0.0)
            idle_end_ns = now_ns()
            runtime.measure(settings, progress)
        except (KeyboardInterrupt, Exception) as exc:  # keep what ran, then re-raise
            interrupted = exc
        if power_sampled and interrupted is None:
            time.sleep(min(0.2, max(options.idle_s, 0.05)))
            if options.isolation and isinstance(runtime, TorchEagerRuntime):
                isolation_from_ns = now_ns()
                try:
                    loops = runtime.isolate(*isolation_plan, progress=_after_runs(progress, options.runs))
                except (KeyboardInterrupt, Exception) as exc:  # keep the runs, then re-raise
                    interrupted = exc
                time.sleep(isolation_tail_s)  # the sensor's view of the last loop must be read too
    finally:
        # The thread may have ended on its own (its only sensor vanished): stop() still collects what it saw.
        result = sampler.stop() if sampler is not None and started else None
        records = runtime.completed()
        runtime_info = runtime.describe()
        runtime.close()
        if counters is not None:
            counters.close()
        sensor_info = sensor.describe()
        sensor.close()
        channels.close()
    events = LayerEvents.from_runs(runtime.layers, records)
    partial = interrupted is not None
    if events.n_runs == 0:
        run_json.update({"status": "partial" if partial else "failed", "runs": 0, "runtime": runtime_info})
        _write_json(out / "run.json", run_json)
        if interrupted is not None:
            raise interrupted
        raise MeasurementError("no inference completed; nothing to attribute")

    timeline = result.timeline(sensor.name) if result is not None and not energy_reason else None
    sampled: dict[str, Timeline] = {}
    reads: dict[str, ContextTimeline] = {}
    if result is not None:
        sampled = {c.name: result.timelines[c.name] for c in channels}
        reads = {name: from_sampler(t, result.channels[name].poll_period_s) for name, t in sampled.items()}
    attribution: Attribution | None = None
    idle: IdlePower | None = None
    if timeline is not None:
        if timeline.end_reason is not None:
            notes.append(
                f"the sensor stopped during the measurement ({timeline.end_reason}); runs after it have time only"
            )
        if len(timeline) < 2 or timeline.kind is None:
            energy_reason = timeline.end_reason or "the sensor gave fewer than two readings"
        else:
            try:
                attribution = attribute_timeline(
                    events, timeline, bootstrap=options.bootstrap, seed=options.seed, until_ns=isolation_from_ns
                )
            except AlignmentError as exc:
                energy_reason = f"energy could not be attributed: {exc}"
            if options.idle_s > 0:
                idle = _idle(timeline, idle_end_ns)

    isolated: list[IsolatedLayer] = []
    if loops and timeline is not None and len(timeline) >= 2 and timeline.kind is not None:
        idle_w = attribution.idle_power_w if attribution is not None else (idle.mean_w if idle is not None else 0.0)
        try:
            isolated = attribute_isolated(timeline, loops, idle_w if np.isfinite(idle_w) else 0.0)
        except (AlignmentError, SamplingError) as exc:
            notes.append(f"isolation mode gave no energies: {exc}")

    layers = _layer_rows(runtime, events, analysis)
    durations = events.duration_matrix_s()
    layers.insert(5, "duration_s", durations.mean(axis=0))
    layers.insert(6, "duration_s_std", durations.std(axis=0, ddof=1) if events.n_runs > 1 else 0.0)
    if attribution is not None:
        fit = attribution.to_frame()
        layers["energy_j"] = fit["energy_j"].to_numpy()
        layers["energy_j_se"] = fit["energy_j_se"].to_numpy()
        layers["dynamic_energy_j"] = fit["dynamic_energy_j"].to_numpy()
        layers["power_w"] = fit["power_w"].to_numpy()
        layers["power_w_se"] = fit["power_w_se"].to_numpy()
    else:
        for column in ("energy_j", "energy_j_se", "dynamic_energy_j", "power_w", "power_w_se"):
            layers[column] = np.nan

    isolation_info: dict[str, Any] | None = None
    if options.isolation:
        by_layer = {layer.layer: layer for layer in isolated}
        for column, attr in (
            ("isolated_duration_s", "duration_s"),
            ("isolated_power_w", "power_w"),
            ("isolated_energy_j", "energy_j"),
        ):
            layers[column] = [getattr(by_layer[n], attr) if n in by_layer else np.nan for n in layers["layer"]]
        isolation_info = {
            "settle_s": isolation_plan[0],
            "measure_s": isolation_plan[1],
            "time_constant_s": time_constant_s,
            "layers": len(isolated),
            "energy_j": float(sum(layer.energy_j for layer in isolated)) if isolated else None,
            "file": "isolated.csv" if isolated else None,
        }
    counter_info = _counters(counters, records, events, layers)
    run_s = events.run_duration_s()
    on_cpu = (counter_info or {}).get("per_inference", {}).get("task_clock_ns")
    if on_cpu is not None and options.threads == 1 and on_cpu * 1e-9 < 0.8 * float(np.mean(run_s)):
        notes.append(
            f"the inference ran on a CPU only {on_cpu * 1e-9 / float(np.mean(run_s)):.0%} of its wall time: "
            "other work shares the cores (see 'synergy system'); stop it or pin the run with taskset for "
            "stable times and energies"
        )
    context_info, findings = _context_results(options, channels, before, sampled, reads, events, layers, result)
    energy_j: float | None = None
    energy_source = None
    if attribution is not None:
        direct = attribution.direct_inference_energy_j
        energy_j, energy_source = (
            (direct, attribution.direct_method) if np.isfinite(direct) else (attribution.inference_energy_j, "model")
        )
    gaps = [g.to_dict() for g in timeline.gaps] if timeline is not None else []
    failed_checks = options.strict and bool(findings) and not partial
    run_json.update(
        {
            "status": "partial" if partial else ("failed-checks" if failed_checks else "complete"),
            "interrupted_by": type(interrupted).__name__ if interrupted is not None else None,
            "runtime": runtime_info,
            "settings": settings.to_dict(),
            "sensor": sensor_info,
            "sampler": result.to_dict() if result is not None else None,
            "sensor_gaps": gaps,
            "sensor_end_reason": timeline.end_reason if timeline is not None else None,
            "energy_unavailable": energy_reason,
            "idle": idle.to_dict() if idle is not None else None,
            "runs": events.n_runs,
            "inference_s": float(np.median(run_s)),
            "inference_s_mean": float(np.mean(run_s)),
            "inference_s_std": float(np.std(run_s, ddof=1)) if len(run_s) > 1 else 0.0,
            "layers_s": float(durations.sum(axis=1).mean()),
            "energy_j": energy_j,
            "energy_source": energy_source,
            "counters": counter_info,
            "attribution": attribution.summary() if attribution is not None else None,
            "check": attribution.check() if attribution is not None else None,
            "isolation": isolation_info,
            "analysis": (
                {"layers": len(analysis), "macs": analysis.macs, "frontend": analysis.frontend}
                if analysis is not None
                else None
            ),
            "system": {**system_metadata(), "frequencies_before_hz": frequencies_before, "threads": options.threads},
            "context": context_info,
            "checks": [finding.to_dict() for finding in findings],
            "warnings": notes,
        }
    )
    with atomic_path(out / "layers.csv") as tmp:
        layers.to_csv(tmp, index=False)
    if isolated:
        with atomic_path(out / "isolated.csv") as tmp:
            isolated_frame(isolated).to_csv(tmp, index=False)
    _write_frame_parquet(out / "events.parquet", events.to_frame())
    _write_frame_parquet(out / "runs.parquet", events.runs_frame())
    if timeline is not None and len(timeline) > 0:
        timeline.to_parquet(out / "samples.parquet")
    if sampled:
        _write_frame_parquet(out / "context.parquet", context_frame(sampled))
    try:
        from synergy.profile_plot import plot_power_profile

        plot_power_profile(
            out / "power_profile.png",
            events,
            list(layers["category"]),
            attribution=attribution,
            timeline=timeline if attribution is not None else None,
            context=list(reads.values()),
            title=f"{options.model} ({options.runtime}, {options.threads} thread(s)): one inference",
        )
    except (ValueError, RuntimeError) as exc:
        notes.append(f"power_profile.png was not drawn: {exc}")
    _write_json(out / "run.json", run_json)
    if interrupted is not None:
        raise interrupted
    for note in notes:
        warnings.warn(note, SynergyWarning, stacklevel=2)
    measured = MeasureResult(out, layers, run_json, attribution, energy_reason, partial, notes, findings, before)
    if failed_checks:
        codes = ", ".join(sorted({finding.code for finding in findings}))
        raise MeasurementCheckError(
            f"{len(findings)} measurement check(s) failed under --strict ({codes}); the results were written to "
            f"{out}: fix the conditions listed above and measure again",
            measured,
        )
    return measured
