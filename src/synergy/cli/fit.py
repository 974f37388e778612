"""``synergy fit DATA... --target COLUMN [--level layer|network] [--model NAME] [-o PREDICTOR.json] [--force]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from synergy.cli.common import add_trust_code_option, render_frame
from synergy.errors import NoEnergyError, OutputExistsError, UsageError

__all__ = ["register"]

#: ``--model`` names (checked against :data:`synergy.models.MODELS` when the command runs, so that the
#: command line starts without loading scikit-learn).
_MODEL_HELP = "op-mean, mac-linear, polynomial, layer-type, residual, counters or chain (default: best in CV)"


def register(subparsers: Any) -> None:
    """Add the ``fit`` subcommand."""
    parser = subparsers.add_parser(
        "fit",
        help="fit an energy (or time) predictor on measured layers or networks",
        description="Fit a predictor on layer-level runs (layers.csv files or run directories from 'synergy "
        "measure') or on a network-level CSV (columns: model, optional input_shape, the target). Prints the "
        "cross-validated error table, grouped by network, and writes a versioned JSON predictor. Without "
        "--model, the model form with the lowest cross-validated mean relative error is fitted. Layer-level "
        "runs with per-layer hardware counters also offer SyNERGY's counter model (counters) and its MAC-only "
        "chain (chain).",
    )
    parser.add_argument("data", nargs="+", type=Path, metavar="DATA", help="layers.csv, run directory or CSV")
    parser.add_argument("--target", required=True, metavar="COLUMN", help="the measured column, e.g. energy_j")
    parser.add_argument("--level", choices=("layer", "network"), default=None, help="data level (default: detect)")
    parser.add_argument("--model", default=None, metavar="NAME", help=f"model form: {_MODEL_HELP}")
    parser.add_argument("-o", "--output", type=Path, default=Path("predictor.json"), help="predictor file to write")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output or plot")
    parser.add_argument("--folds", type=int, default=5, metavar="K", help="grouped cross-validation folds")
    parser.add_argument("--plot", type=Path, default=None, metavar="PNG", help="write a predicted-vs-measured plot")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the layer-table cache")
    parser.add_argument("--workers", type=int, default=None, metavar="N", help="processes analysing networks")
    add_trust_code_option(parser)
    parser.set_defaults(func=_run)


@contextmanager
def _progress(label: str) -> Iterator[Any]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(file=sys.stderr)
    if not console.is_terminal:
        yield None
        return
    with Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True
    ) as bar:
        yield bar


def _check_output(path: Path | None, force: bool) -> None:
    if path is None:
        return
    if path.exists() and not force:
        raise OutputExistsError(f"{path} exists: choose another path or pass --force to overwrite it")
    if path.is_dir():
        raise OutputExistsError(f"{path} is a directory: give a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"cannot write {path}: {folder} is not a directory")


def _load(args: argparse.Namespace) -> Any:
    from synergy.models.dataset import load_training_data

    with _progress("analysing networks") as bar:
        task = bar.add_task("analyse", total=None) if bar is not None else None

        def tick(done: int, total: int) -> None:
            if bar is not None and task is not None:
                bar.update(task, completed=done, total=total)

        try:
            return load_training_data(
                args.data,
                args.target,
                args.level,
                use_cache=not args.no_cache,
                workers=args.workers,
                progress=tick,
                trust_code=args.trust_code,
            )
        except NoEnergyError as exc:
            raise NoEnergyError(f"{exc}: fit the layers' time with --target duration_s") from exc


def _run(args: argparse.Namespace) -> int:
    import pandas as pd

    from synergy.models import BASELINE, COUNTER_MODELS, MODELS
    from synergy.models.evaluate import plot_predictions
    from synergy.models.fitting import fit_predictor, offered_models

    for path in (args.output, args.plot):
        _check_output(path, args.force)
    if args.folds < 2:
        raise UsageError(f"--folds {args.folds} is too small: use 2 or more")
    if args.model is not None and args.model not in (*MODELS, *COUNTER_MODELS):
        raise UsageError(f"unknown --model {args.model!r}: choose one of {', '.join((*MODELS, *COUNTER_MODELS))}")
    training = _load(args)
    offered, support = offered_models(training)
    if args.model in COUNTER_MODELS:
        support.require(args.model)  # before any output
    out = sys.stdout
    data = training.data
    unit = f" ({training.unit})" if training.unit else ""
    conversion = f" → {training.target}{unit}" if training.target != training.column else unit
    out.write(
        f"data: {len(data.networks)} networks, {data.n_units} targets, {len(data.frame)} layers "
        f"({training.level} level); target {training.column}{conversion}\n"
    )
    if training.dropped:
        out.write(
            f"note: {len(training.dropped)} layer(s) measured at 0 {training.unit or ''} left out "
            f"(first: {training.dropped[0]}): a relative error needs a positive target\n"
        )
    if support.available:
        out.write(
            f"counters: {support.describe()} of {support.layers} {'/'.join(support.categories)} layers; "
            "counters and chain model those layers, the layer-type model the others\n"
        )
    elif training.level == "layer":
        out.write(f"counters, chain: not offered: {support.reason}\n")
    with _progress("cross-validating") as bar:
        task = bar.add_task("cv", total=len(offered) if args.model is None else 2) if bar is not None else None

        def step(name: str) -> None:
            if bar is not None and task is not None:
                bar.update(task, advance=1, description=name)

        result = fit_predictor(training, args.model, folds=args.folds, progress=step)
    table = result.table()
    protocol = result.evaluations[0].protocol
    out.write(render_frame(table, title=f"{protocol} cross-validation, grouped by network (errors relative)"))
    for ev in result.evaluations:
        if ev.per_layer_type is not None and ev.model == result.chosen:
            frame = ev.per_layer_type.drop(columns=["kendall_tau"])
            for col in ("mean_err", "std_err", "rmspe", "within_5", "within_10", "share_of_target"):
                frame[col] = 100 * frame[col]
            frame = frame.rename(columns={c: f"{c}_%" for c in frame.columns if c not in ("layer_type", "layers")})
            out.write(render_frame(frame, title=f"{result.chosen} per layer type"))
    predictor = result.predictor
    if training.level == "network":
        layers = predictor.estimator.predict_layers(data)
        frame = pd.DataFrame({"layer_type": data.frame["category"].to_numpy(), "prediction": layers})
        share = frame.groupby("layer_type")["prediction"].sum()
        total = float(share.sum()) + predictor.estimator.network_cost_ * data.n_units
        shares = pd.DataFrame({"layer_type": share.index, "share_%": (100 * share / total).to_numpy()})
        if predictor.estimator.network_cost_ > 0:
            extra = pd.DataFrame(
                {
                    "layer_type": ["(per network)"],
                    "share_%": [100 * predictor.estimator.network_cost_ * data.n_units / total],
                }
            )
            shares = pd.concat([shares, extra], ignore_index=True)
        out.write(render_frame(shares, title=f"{result.chosen}: {training.target} by layer type"))
    scores = {ev.model: ev.scores for ev in result.evaluations}
    chosen = scores[result.chosen]
    if result.auto:
        base = scores[BASELINE]
        out.write(
            f"chosen: {result.chosen} (lowest mean relative error, {100 * chosen['mean_err']:.2f} %; "
            f"baseline {BASELINE}: {100 * base['mean_err']:.2f} %)\n"
        )
    else:
        out.write(f"fitted: {result.chosen} (as asked; {100 * chosen['mean_err']:.2f} % mean relative error in CV)\n")
    if predictor.needs_counters:
        out.write(
            "note: a counters predictor needs measured counters: 'synergy predict' applies it to run directories "
            "or layers.csv files; fit --model chain to predict any MODEL from its MACs\n"
        )
    if args.plot is not None:
        plot_predictions(list(result.evaluations), args.plot, training.unit, f"{training.target}: {protocol} CV")
        out.write(f"wrote {args.plot}\n")
    predictor.save(args.output, force=args.force)
    out.write(f"wrote {args.output}\n")
    return 0
