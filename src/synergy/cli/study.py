"""``synergy study [ZOO] [--runtime R] [--sensor S] [--sysfs-root DIR] [--runs N] [--warmup N] [--threads N]
[--idle-s S] [-o DIR] [--resume | --force]``."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from synergy.cli.common import add_network_settings_options, add_trust_code_option, render_frame

__all__ = ["register"]

#: The settings a study records (their defaults are :class:`~synergy.study.StudyOptions`'s).
_SETTINGS: tuple[str, ...] = ("runtime", "sensor", "sysfs_root", "runs", "warmup", "threads", "idle_s", "seed")


def register(subparsers: Any) -> None:
    """Add the ``study`` subcommand."""
    parser = subparsers.add_parser(
        "study",
        help="measure a model zoo layer by layer, evaluate every predictor on unseen networks, write a report",
        description="The SyNERGY protocol end to end: measure every network of a zoo layer by layer (energy, "
        "or time when no energy sensor exists), fit every predictor leave-one-network-out, and write the study "
        "directory with an offline HTML report. Each finished network is stored at once; an interrupted study "
        "continues with --resume.",
    )
    parser.add_argument(
        "zoo",
        nargs="?",
        default=None,
        metavar="ZOO",
        help="'default' (the paper's networks), 'small' (a few fast ones) or a file of MODEL specs, one per "
        "line with an optional input shape (default: default)",
    )
    parser.add_argument(
        "--runtime",
        choices=("onnxruntime", "torch"),
        default=None,
        help="torch (default: layers are the leaf modules, with per-layer counters) or onnxruntime (fused nodes)",
    )
    parser.add_argument(
        "--sensor",
        default=None,
        metavar="SENSOR",
        help="auto, none, rapl, jetson, nvml, amdgpu, power-supply or trace:FILE (default: auto)",
    )
    parser.add_argument("--sysfs-root", type=Path, default=None, metavar="DIR", help="read sysfs under DIR")
    add_network_settings_options(parser)
    add_trust_code_option(parser)
    parser.add_argument(
        "--target",
        choices=("auto", "energy", "cpu-time", "time"),
        default="auto",
        help="what the predictors learn: auto (energy when measured, else the on-CPU time where the runtime counts "
        "it per layer, else the wall time), energy, cpu-time or time (default: %(default)s)",
    )
    parser.add_argument("-o", "--output", type=Path, default=None, metavar="DIR", help="study directory")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true", help="continue the study in DIR with its own settings")
    group.add_argument("--force", action="store_true", help="start afresh in an existing study directory")
    parser.set_defaults(func=_run)


def _default_dir(zoo: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(zoo).stem).strip("-") or "zoo"
    return Path("results") / f"study-{slug}"


def _options(args: argparse.Namespace, out: Path) -> Any:
    from synergy.study import StudyOptions, load_options
    from synergy.zoo import load_zoo

    trust = bool(args.trust_code)
    given = {k: getattr(args, k) for k in _SETTINGS if getattr(args, k) is not None}
    if args.resume:
        stored = load_options(out, trust_code=trust)
        base = stored.to_dict()
        zoo, zoo_name = stored.zoo, stored.zoo_name
        if args.zoo is not None:
            zoo, zoo_name = load_zoo(args.zoo, trust_code=trust), args.zoo
        settings = {k: base[k] for k in _SETTINGS}
        settings["sysfs_root"] = Path(settings["sysfs_root"])
        settings.update(given)
        return StudyOptions(zoo=zoo, zoo_name=zoo_name, trust_code=trust, **settings)
    name = args.zoo or "default"
    return StudyOptions(zoo=load_zoo(name, trust_code=trust), zoo_name=name, trust_code=trust, **given)


def _rich_progress(console: Any) -> Any:
    """A study progress drawn with rich (the study library is imported only when a study runs)."""
    from synergy.study import StudyProgress

    class RichProgress(StudyProgress):
        """Two bars: the whole study (in measured runs, with its ETA) and the network in progress."""

        def __init__(self, console: Any) -> None:
            self.console = console
            self.bar: Any = None
            self.total_task: Any = None
            self.net_task: Any = None
            self.runs = 0
            self.finished = 0

        def start(self, total: int, done: int, runs: int) -> None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.runs = runs
            if done:
                self.console.print(f"{done} of {total} networks already measured")
            self.bar = Progress(
                TextColumn("{task.description:<28}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
            )
            self.bar.start()
            self.total_task = self.bar.add_task(f"study ({total - done} to measure)", total=(total - done) * runs)

        def network(self, entry: Any, index: int) -> None:
            if self.net_task is not None:
                self.bar.remove_task(self.net_task)
            self.net_task = self.bar.add_task(f"  {entry.name}", total=self.runs)

        def run(self, done: int, total: int) -> None:
            self.bar.update(self.net_task, completed=done, total=total)
            self.bar.update(self.total_task, completed=self.finished * self.runs + done)

        def network_done(self, entry: Any, status: str, wall_s: float, error: str | None) -> None:
            self.finished += 1
            self.bar.update(self.total_task, completed=self.finished * self.runs)
            mark = "measured" if status == "done" else f"FAILED: {error}"
            self.console.print(f"{entry.name}: {mark} ({wall_s:.1f} s)")

        def phase(self, name: str) -> None:
            if self.net_task is not None:
                self.bar.remove_task(self.net_task)
                self.net_task = None
            self.bar.update(self.total_task, description=name)

        def stop(self) -> None:
            if self.bar is not None:
                self.bar.stop()

    return RichProgress(console)


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from synergy.measurement.signals import Interrupted
    from synergy.study import run_study

    out = args.output or _default_dir(args.zoo or "default")
    options = _options(args, out)
    drawer = _rich_progress(Console(file=sys.stderr))
    try:
        result = run_study(options, out, resume=args.resume, force=args.force, target=args.target, progress=drawer)
    except KeyboardInterrupt as exc:
        drawer.stop()
        sys.stderr.write(
            f"interrupted: the networks finished so far are stored in {out}; continue with "
            f"'synergy study --resume -o {out}'\n"
        )
        return 128 + exc.signum if isinstance(exc, Interrupted) else 130
    finally:
        drawer.stop()
    stdout = sys.stdout
    state = result.state
    if result.networks.empty:
        stdout.write("no network could be measured\n")
        for name, error in result.failed.items():
            stdout.write(f"  {name}: {error}\n")
        return 1
    label, unit = state["target_label"], state["target_unit"]
    shares = result.networks[
        ["network", "macs", "target_total", "conv_share", "pooling_share", "fc_share", "other_share"]
    ]
    shares = shares.rename(columns={"target_total": f"{state['target']}"})
    stdout.write(render_frame(shares, title=f"{label} per inference ({unit}) and its shares by layer type"))
    if result.evaluation is not None:
        table = result.evaluation.drop(columns=["description"])
        stdout.write(render_frame(table, title="leave-one-network-out evaluation (errors relative, %)"))
        stdout.write(f"best per layer: {state['best_model']}\n")
    for note in result.notes:
        stdout.write(f"note: {note}\n")
    for name, error in result.failed.items():
        stdout.write(f"failed: {name}: {error} (retry with --resume)\n")
    stdout.write(f"report: {result.report}\n")
    return 1 if result.failed else 0
