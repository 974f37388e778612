"""Rebuild the shipped Raspberry Pi 5 presets from the public NAS-Bench-201 measurements.

    PYTHONPATH=src python scripts/build_presets.py [--data ../shared/data/rpi5-nb201] [--networks N]

For each framework of ``measurements.csv`` (``onnx`` → ``rpi5-onnxruntime``, ``torchmobile`` →
``rpi5-torchmobile``, ``litert`` → ``rpi5-litert``) the script builds the layer table of every network
(``nb201:ARCH``, 1x3x32x32, composed from five analysed networks by
:class:`synergy.models.nb201_tables.NB201Tables`), converts ``energy_mj`` to joules, drops physically implausible
measurements (below a quarter of the framework's 1st percentile: five LiteRT rows of 0.001-0.19 mJ
with latencies of microseconds), evaluates every model form
with grouped 5-fold cross-validation and with the small-data protocol (fit on 80 networks' totals, predict
all the others, repeated draws), fits the form that wins the grouped cross-validation on all networks, and
writes ``src/synergy/presets/<name>.json`` with both evaluations inside. It prints the tables as Markdown
(the ones in ``docs/predict.md``) and writes a predicted-vs-measured plot per framework when ``--plots`` is
given.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from synergy.models import MODELS
from synergy.models.dataset import LayerData, TrainingSet
from synergy.models.evaluate import plot_predictions, scores_frame, small_train
from synergy.models.fitting import fit_predictor
from synergy.models.nb201_tables import NB201Tables

ROOT = Path(__file__).resolve().parents[1]
PRESETS = {"onnx": "rpi5-onnxruntime", "torchmobile": "rpi5-torchmobile", "litert": "rpi5-litert"}


def markdown(frame: pd.DataFrame) -> str:
    """A data frame as a Markdown table (numbers with 2 decimals, τ with 3)."""
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        cells = []
        for col, value in zip(cols, row, strict=True):
            if isinstance(value, float):
                cells.append(f"{value:.3f}" if col == "kendall_tau" else f"{value:.2f}")
            else:
                cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "rpi5-nb201")
    parser.add_argument("--out", type=Path, default=ROOT / "src" / "synergy" / "presets")
    parser.add_argument("--networks", type=int, default=0, help="random subset of networks (0: all)")
    parser.add_argument("--repeats", type=int, default=20, help="draws of the 80-network protocol (0: skip it)")
    parser.add_argument(
        "--models", default=",".join(MODELS), help="model forms to cross-validate (the best one is fitted)"
    )
    parser.add_argument("--train", type=int, default=80, help="networks per draw of the small-data protocol")
    parser.add_argument("--frameworks", default="onnx,torchmobile,litert")
    parser.add_argument("--plots", type=Path, default=None, help="folder for predicted-vs-measured PNGs")
    parser.add_argument("--dry-run", action="store_true", help="evaluate only; write no preset")
    args = parser.parse_args(argv)

    csv = args.data / "measurements.csv"
    if not csv.is_file():
        print(f"error: {csv} not found: pass --data", file=sys.stderr)
        return 2
    frame = pd.read_csv(csv)
    archs = sorted(set(frame["arch_str"]))
    if args.networks:
        # a seeded random subset (the first networks of a fixed random order)
        order = np.random.default_rng(0).permutation(len(archs))
        archs = sorted(archs[i] for i in order[: args.networks])
    started = time.monotonic()
    tables = NB201Tables().tables(archs)
    print(f"{len(archs)} layer tables built in {time.monotonic() - started:.0f} s", file=sys.stderr)
    data = LayerData.from_tables(tables, [f"nb201:{a}" for a in archs])
    for framework in args.frameworks.split(","):
        rows = frame[frame["framework"] == framework].set_index("arch_str")
        y_all = rows.loc[archs, "energy_mj"].to_numpy(dtype=float) * 1e-3
        # physically implausible measurements (a CIFAR network in microseconds) are dropped
        floor = 0.25 * float(np.quantile(rows["energy_mj"], 0.01)) * 1e-3
        keep = np.flatnonzero(y_all >= floor)
        dropped = len(y_all) - len(keep)
        fw_data, y = data.subset(keep), y_all[keep]
        fw_tables = tuple(tables[i] for i in keep)
        training = TrainingSet(fw_data, y, "energy_j", "J", "energy_mj", (str(csv),), fw_tables)
        forms = args.models.split(",")
        result = fit_predictor(training, candidates=forms)
        small = [
            small_train(n, MODELS[n][0], fw_data, y, n_train=args.train, repeats=args.repeats)
            for n in (forms if args.repeats else ())
        ]
        predictor = result.predictor
        if small:
            predictor.evaluation["small_data"] = {
                "protocol": small[0].protocol,
                "scores": {ev.model: ev.scores for ev in small},
            }
        predictor.training["sources"] = [f"rpi5-nb201/measurements.csv (framework {framework})"]
        predictor.training["description"] = (
            f"Raspberry Pi 5, {framework}, NAS-Bench-201 (CIFAR-100, 1x3x32x32), {len(y)} networks "
            f"({dropped} implausible measurements below {1e3 * floor:.3g} mJ dropped); energy_mj converted to joules"
        )
        print(f"\n### {PRESETS[framework]} ({framework}, {len(y)} networks, {dropped} implausible dropped)\n")
        print(f"Grouped 5-fold cross-validation (chosen: `{result.chosen}`):\n")
        print(markdown(result.table()))
        if small:
            print(
                f"\nFit on {args.train} networks' totals, predict the other {len(y) - args.train} "
                f"({args.repeats} random draws):\n"
            )
            print(markdown(scores_frame(small)))
        sys.stdout.flush()
        if args.plots and small:
            args.plots.mkdir(parents=True, exist_ok=True)
            plot_predictions(small, args.plots / f"{PRESETS[framework]}.png", "J", f"{framework}: {small[0].protocol}")
        if not args.dry_run:
            args.out.mkdir(parents=True, exist_ok=True)
            predictor.save(args.out / f"{PRESETS[framework]}.json", force=True)
            print(f"\nwrote {args.out / (PRESETS[framework] + '.json')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
