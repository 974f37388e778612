"""``synergy predict PREDICTOR MODEL... [--input-shape S] [--format table|csv|json]``.

A MODEL may also be a run directory or ``layers.csv`` from ``synergy measure``: its measured layers are
predicted (with their counters, which a ``counters`` predictor needs).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from synergy.cli.common import add_format_option, add_input_shape_option, render_frame
from synergy.dataset import load_measured_layers
from synergy.layers import op_category
from synergy.models.features import layer_frame
from synergy.predictor import Prediction, Predictor, load_predictor
from synergy.tablecache import analyze_many

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``predict`` subcommand."""
    parser = subparsers.add_parser(
        "predict",
        help="predict the energy (or time) of networks, layer by layer, without running them",
        description="Predict networks with a predictor from 'synergy fit' or a shipped preset "
        "(rpi5-onnxruntime, rpi5-torchmobile, rpi5-litert). Warns when a network leaves the predictor's "
        "training domain (op types never seen, features out of range). A MODEL may also be a run directory "
        "or layers.csv from 'synergy measure' (what a counters predictor needs: measured counters).",
    )
    parser.add_argument("predictor", metavar="PREDICTOR", help="a predictor JSON file or a preset name")
    parser.add_argument(
        "models",
        nargs="+",
        metavar="MODEL",
        help="a .onnx file, torchvision:NAME, nb201:ARCH_STR, package.module:callable, or a run directory or "
        "layers.csv from 'synergy measure'",
    )
    add_input_shape_option(parser)
    add_format_option(parser)
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the layer-table cache")
    parser.set_defaults(func=_run)


def _is_run(model: str) -> bool:
    """Whether a MODEL names a measured run (a directory, or a CSV file) rather than a network."""
    path = Path(model)
    return path.is_dir() or (path.suffix.lower() == ".csv" and path.is_file())


def _predict(predictor: Predictor, models: list[str], args: argparse.Namespace) -> list[Prediction]:
    specs = [m for m in models if not _is_run(m)]
    if specs:
        predictor.check_models_supported()  # before any analysis: a counters predictor needs measured runs
    tables = analyze_many([(m, args.input_shape) for m in specs], use_cache=not args.no_cache)
    if len(specs) == len(models):
        return predictor.predict_tables(tables, models)
    analysed = iter(tables)
    frames = [
        load_measured_layers(Path(m), use_cache=not args.no_cache) if _is_run(m) else layer_frame(next(analysed))
        for m in models
    ]
    return predictor.predict_frames(frames, models)


def _run(args: argparse.Namespace) -> int:
    predictor = load_predictor(args.predictor)
    predictions = _predict(predictor, list(args.models), args)
    for p in predictions:
        for text in p.warnings:
            sys.stderr.write(f"warning: {p.model}: {text}\n")
    out = sys.stdout
    unit = predictor.unit
    if args.format == "json":
        out.write(json.dumps([p.to_dict() for p in predictions], indent=2) + "\n")
        return 0
    summary = pd.DataFrame(
        {
            "model": [p.model for p in predictions],
            f"{predictor.target}": [p.total for p in predictions],
            "layers": [len(p.layers) for p in predictions],
            "warnings": [len(p.warnings) for p in predictions],
        }
    )
    if args.format == "csv":
        summary.to_csv(out, index=False)
        return 0
    if len(predictions) == 1:
        p = predictions[0]
        frame = pd.DataFrame(
            {
                "name": [n for n, _, _ in p.layers],
                "op": [o for _, o, _ in p.layers],
                f"{predictor.target}": [v for _, _, v in p.layers],
                "share_%": [100 * v / p.total if p.total else 0.0 for _, _, v in p.layers],
            }
        )
        out.write(render_frame(frame, title=f"{p.model}: {len(p.layers)} layers ({predictor.name} predictor)"))
        frame["layer_type"] = [op_category(o) for o in frame["op"]]
        by_type = frame.groupby("layer_type", sort=True)[[predictor.target, "share_%"]].sum().reset_index()
        out.write(render_frame(by_type, title="by layer type"))
        if abs(p.overhead) > 1e-9 * abs(p.total):
            out.write(f"fixed cost per network: {p.overhead:.6g} {unit}\n")
    else:
        out.write(render_frame(summary, title=f"{predictor.name} predictor, {predictor.target} [{unit}]"))
    for p in predictions:
        out.write(f"{p.model}: {p.total:.6g} {unit}\n" if len(predictions) == 1 else "")
    return 0
