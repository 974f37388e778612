"""``synergy measure MODEL [--runtime R] [--sensor S] [--trace-offset S|wall] [--sysfs-root DIR] [--runs N]
[--warmup N] [--threads N] [--idle-s S] [--isolation [--isolation-s S]] [--strict] [--no-context]
[--pmic-calibration A,B] [--keep-models] [--top N] [--sort COLUMN] [-o DIR] [--force]``.

Every default comes from :class:`synergy.measurement.options.MeasureOptions` (the one source of them for the
command line, the Python API and ``study``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from synergy.cli.common import add_input_shape_option
from synergy.cli.format import add_top_sort_options, render_table, top_sorted
from synergy.cli.sensors import add_sysfs_root_option
from synergy.measurement.options import OPTIMIZATIONS, RUNTIMES, MeasureOptions

__all__ = ["register"]

_TABLE = ["layer", "op", "duration_s", "energy_j", "energy_j_se", "power_w", "isolated_energy_j", "macs"]

#: The defaults (class attributes of the dataclass).
_D = MeasureOptions


def _trace_offset(text: str) -> float | str:
    """argparse ``type=`` for ``--trace-offset``: ``wall`` or a finite number of seconds."""
    if text == "wall":
        return text
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds nor 'wall'")
    return value


def _calibration(text: str) -> tuple[float, float]:
    """argparse ``type=`` for ``--pmic-calibration``: ``A,B`` for board = A × rail sum + B."""
    from synergy.sensors.rpi_pmic import parse_calibration

    try:
        return parse_calibration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: Any) -> None:
    """Add the ``measure`` subcommand."""
    parser = subparsers.add_parser(
        "measure",
        help="run a network, record every layer, and give each its time and energy",
        description="Run a network repeatedly with random pauses, record every layer's start and end on one "
        "monotonic clock while sampling the power sensor, and attribute energy to layers by a joint fit over all "
        "runs. Writes layers.csv, run.json, events/runs/samples Parquet files and power_profile.png.",
    )
    parser.add_argument("model", metavar="MODEL", help="a .onnx file, torchvision:NAME or package.module:callable")
    add_input_shape_option(parser)
    parser.add_argument("--runtime", choices=RUNTIMES, default=_D.runtime, help="(default: %(default)s)")
    parser.add_argument(
        "--sensor",
        default=_D.sensor,
        metavar="SENSOR",
        help="auto, none, rapl, jetson, nvml, amdgpu, power-supply, rpi-pmic or trace:FILE (default: %(default)s)",
    )
    parser.add_argument(
        "--pmic-calibration",
        type=_calibration,
        default=None,
        metavar="A,B",
        help="with --sensor rpi-pmic: the board's power as A × the PMIC rails' sum + B W, fitted against a wall "
        "meter (default: the rails' sum)",
    )
    parser.add_argument(
        "--trace-offset",
        type=_trace_offset,
        default=None,
        metavar="S",
        help="with --sensor trace:FILE: seconds to add to the log's times, or 'wall' for a log stamped in Unix "
        "time by this machine (default: emit a sync pattern before the runs and find it in the log)",
    )
    add_sysfs_root_option(parser)
    parser.add_argument(
        "--runs", type=int, default=_D.runs, metavar="N", help="measured inferences (default: %(default)s)"
    )
    parser.add_argument(
        "--warmup", type=int, default=_D.warmup, metavar="N", help="discarded inferences (default: %(default)s)"
    )
    parser.add_argument(
        "--threads", type=int, default=_D.threads, metavar="N", help="intra-op threads (default: %(default)s)"
    )
    parser.add_argument(
        "--idle-s", type=float, default=_D.idle_s, metavar="S", help="idle sampled first (default: %(default)s)"
    )
    parser.add_argument(
        "--optimization",
        choices=OPTIMIZATIONS,
        default=_D.optimization,
        help="ONNX Runtime graph optimisation level (default: %(default)s, what is deployed)",
    )
    parser.add_argument(
        "--bootstrap", type=int, default=_D.bootstrap, metavar="N", help="resample runs N times for errors"
    )
    parser.add_argument("--seed", type=int, default=_D.seed, help="seed of pauses and input (default: %(default)s)")
    parser.add_argument("--no-counters", action="store_true", help="do not open perf_event counters")
    parser.add_argument(
        "--no-context", action="store_true", help="do not sample clocks, temperatures and load, nor check them"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail (exit 1) when a check of the conditions finds a problem; the results are still written",
    )
    parser.add_argument(
        "--isolation",
        action="store_true",
        help="after the runs, loop every layer alone until the sensor settles and report its steady power and "
        "energy per call too (isolated.csv; PyTorch runtime only)",
    )
    parser.add_argument(
        "--isolation-s",
        type=float,
        default=_D.isolation_s,
        metavar="S",
        help="measuring time of each isolated layer; at least ten sensor time constants are used "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--keep-models",
        action="store_true",
        help="keep ONNX Runtime's optimised graph with its weights (ort/optimized.onnx); by default only the model "
        "that was run is kept, its SHA-256 in run.json",
    )
    add_top_sort_options(parser)
    parser.add_argument("-o", "--output", type=Path, default=None, metavar="DIR", help="output directory")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace the results in an output directory synergy wrote (other files there are kept)",
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from synergy.errors import MeasurementCheckError
    from synergy.measurement import MeasureResult, default_output_dir, measure
    from synergy.measurement.signals import Interrupted

    options = MeasureOptions(
        model=args.model,
        runtime=args.runtime,
        sensor=args.sensor,
        sysfs_root=args.sysfs_root,
        runs=args.runs,
        warmup=args.warmup,
        threads=args.threads,
        idle_s=args.idle_s,
        input_shape=args.input_shape,
        optimization=args.optimization,
        seed=args.seed,
        bootstrap=args.bootstrap,
        counters=not args.no_counters,
        context=not args.no_context,
        strict=args.strict,
        isolation=args.isolation,
        isolation_s=args.isolation_s,
        trace_offset=args.trace_offset,
        pmic_calibration=args.pmic_calibration,
        keep_models=args.keep_models,
    )
    _check_sort(args.sort)
    out_dir = args.output or default_output_dir(args.model)
    console = Console(file=sys.stderr)
    display = _Display(console)
    failure: MeasurementCheckError | None = None
    try:
        result = measure(options, out_dir, force=args.force, progress=display.progress, stage=display.stage)
    except MeasurementCheckError as exc:
        if not isinstance(exc.result, MeasureResult):
            raise
        result, failure = exc.result, exc
    except Interrupted as exc:
        display.stop()
        sys.stderr.write(f"interrupted by {exc}: the completed runs are in {out_dir} (status: partial)\n")
        return 128 + exc.signum
    finally:
        display.stop()
    _summary(result, args)
    if failure is not None:
        raise failure
    return 0


class _Display:
    """The current step on stderr from the first second (a spinner), then a progress bar over the runs.

    Both are transient: an error before any run stays one clean line, and the summary follows on stdout.
    """

    def __init__(self, console: Any) -> None:
        self.console = console
        self.status: Any = None
        self.bar: Any = None
        self.task: Any = None

    def stage(self, name: str) -> None:
        if name == "runs":
            return  # the bar takes over on the first completed run
        self._stop_bar()
        if self.status is None:
            self.status = self.console.status(f"{name}…")
            self.status.start()
        else:
            self.status.update(f"{name}…")

    def progress(self, done: int, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        if self.bar is None:
            self._stop_status()
            self.bar = Progress(
                TextColumn("measuring"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("runs", total=total)
        self.bar.update(self.task, completed=done, total=total)

    def _stop_status(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None

    def _stop_bar(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def stop(self) -> None:
        self._stop_status()
        self._stop_bar()


def _summary(result: Any, args: argparse.Namespace) -> None:
    out = sys.stdout
    columns = [c for c in _TABLE if c in result.layers]
    if result.attribution is None:
        columns = [c for c in columns if not c.startswith(("energy", "power"))]
    sort = args.sort if args.sort in result.layers else None
    shown, hidden = top_sorted(result.layers, args.top, sort)
    frame = shown[columns]
    title = f"{args.model}: {len(result.layers)} measured layers ({args.runtime})"
    out.write(render_table(frame, title=title, hidden=hidden))
    out.write(render_table(result.breakdown(), title="by layer type"))
    run = result.run
    from synergy.measurement.pipeline import SKEW_RATIO

    mean_s = run.get("inference_s_mean")
    spread = f", mean {mean_s * 1e3:.3f} ms" if mean_s and mean_s > SKEW_RATIO * run["inference_s"] else ""
    out.write(f"inference: {run['inference_s'] * 1e3:.3f} ms (median of {run['runs']} runs{spread})\n")
    out.write(_energy_line(result))

    isolation = run.get("isolation")
    if isolation and isolation.get("layers"):
        out.write(
            f"isolation: {isolation['layers']} layers looped alone ({isolation['settle_s']:.3g} s to settle, "
            f"{isolation['measure_s']:.3g} s measured each); layers sum to {isolation['energy_j']:.4g} J per "
            "inference (isolated.csv)\n"
        )
    counters = run.get("counters")
    if counters:
        per = counters.get("per_inference", {})
        counted = ", ".join(f"{k} {v:,.0f}" for k, v in per.items()) or "none"
        missing = ", ".join(f"{k} ({why})" for k, why in counters.get("unsupported", {}).items())
        out.write(f"counters per inference: {counted}" + (f"; not counted: {missing}" if missing else "") + "\n")
    if result.context_before is not None:
        out.write(f"context: {result.context_before.summary_line()}\n")
    out.write(_context_line(result.run.get("context")))
    out.write(f"results: {result.out_dir}\n")
    out.flush()
    from synergy.context import format_findings

    for line in format_findings(result.findings):
        sys.stderr.write(line + "\n")


def _check_sort(sort: str | None) -> None:
    """Refuse a ``--sort`` column that ``layers.csv`` does not have, before anything is measured."""
    from synergy.errors import UsageError
    from synergy.results.schema import COUNTER_NAMES, layer_column_names

    known = (*layer_column_names(), *COUNTER_NAMES)
    if sort is not None and sort not in known:
        raise UsageError(f"cannot sort by {sort!r}: give a column of layers.csv, such as {', '.join(_TABLE)}")


def _energy_line(result: Any) -> str:
    """The whole inference's energy, the layers' sum (or why there is none) and both idle powers."""
    run, attribution = result.run, result.attribution
    refused = any(finding.code == "layers-undetermined" for finding in result.findings)
    if attribution is None:
        # A refusal is said once, in its warning below with the remedy.
        why = "the readings cannot determine the layers (see the warning)" if refused else result.energy_unavailable
        return f"energy: not measured: {why}\n"
    a = run.get("attribution") or {}
    headline = run.get("inference_energy_j")
    text = (
        f"energy: {headline:.4g} J per inference ({run['energy_source']})"
        if headline is not None
        else "energy: not determined per inference"
    )
    undetermined = a.get("undetermined_layers") or []
    check = run.get("check") or {}
    summed = check.get("inference_energy_j") is not None and check.get("layers_energy_j") is not None
    if summed:
        text += (
            f"; layers sum to {check['layers_energy_j']:.4g} J + overhead {check['overhead_energy_j']:.4g} J "
            f"= {check['inference_energy_j']:.4g} J ({_percent(check['relative_difference'])} vs direct)"
        )
    if undetermined:
        # The reason is said once, in the warning that follows the results.
        share = check.get("undetermined_share")
        text += f"; {len(undetermined)} of {len(attribution.layers)} layers undetermined (n/a)"
        text += f", {share:.2%} of the time" if summed and share is not None else ", no layer sum"
    text += f"; idle measured {_watts(a.get('idle_measured_w'))}, fitted {_watts(a.get('idle_fitted_w'))}"
    missed = a.get("runs_not_covered") or 0
    if missed:
        text += f"; energies from the {a.get('runs')} runs the sensor covered ({missed} not covered)"
    return text + "\n"


def _watts(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:.3g} W"


def _context_line(context: dict[str, Any] | None) -> str:
    """The clocks and the hottest temperature over the measured runs, one line."""
    if not context:
        return ""
    runs = context.get("runs", {})
    parts = []
    for rail, label in (("cpu_freq_hz", "CPU"), ("gpu_freq_hz", "GPU"), ("emc_freq_hz", "EMC")):
        stats = runs.get(rail)
        if stats and stats.get("median") is not None:
            parts.append(f"{label} {stats['min'] / 1e9:.3g}/{stats['median'] / 1e9:.3g}/{stats['max'] / 1e9:.3g} GHz")
    temp = runs.get("temp_c")
    if temp and temp.get("max") is not None:
        parts.append(f"hottest zone {temp['min']:.1f}-{temp['max']:.1f} °C")
    util = runs.get("other_cpu_util")
    if util and util.get("median") is not None:
        parts.append(f"other processes {util['median']:.0%} of the CPU (median)")
    if not parts:
        return ""
    return "during the runs (min/median/max): " + "; ".join(parts) + "\n"


def _percent(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value * 100:+.2f} %"
