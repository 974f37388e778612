"""``synergy predict PREDICTOR MODEL... [--input-shape S] [--format table|csv|json] [--top N] [--sort COLUMN]``.

A MODEL may also be a run directory or ``layers.csv`` from ``synergy measure``: its measured layers are
predicted (with their counters, which a ``counters`` predictor needs).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synergy.cli.common import add_format_option, add_input_shape_option, add_trust_code_option
from synergy.cli.format import add_top_sort_options, messages_once, render_table, top_sorted, wrap_message

if TYPE_CHECKING:
    from synergy.models.predictor import Prediction, Predictor

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
    add_top_sort_options(parser)
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the layer-table cache")
    add_trust_code_option(parser)
    parser.set_defaults(func=_run)


def _is_run(model: str) -> bool:
    """Whether a MODEL names a measured run (a directory, or a CSV file) rather than a network."""
    path = Path(model)
    return path.is_dir() or (path.suffix.lower() == ".csv" and path.is_file())


def _predict(predictor: Predictor, models: list[str], args: argparse.Namespace) -> list[Prediction]:
    from synergy.graph.tablecache import analyze_many
    from synergy.models.dataset import load_measured_layers
    from synergy.models.features import layer_frame

    specs = [m for m in models if not _is_run(m)]
    if specs:
        predictor.check_models_supported()  # before any analysis: a counters predictor needs measured runs
    tables = analyze_many([(m, args.input_shape) for m in specs], use_cache=not args.no_cache)
    if len(specs) == len(models):
        return predictor.predict_tables(tables, models, warn=False)
    analysed = iter(tables)
    frames = [
        load_measured_layers(Path(m), use_cache=not args.no_cache, trust_code=args.trust_code)
        if _is_run(m)
        else layer_frame(next(analysed))
        for m in models
    ]
    return predictor.predict_frames(frames, models, warn=False)


def _warn(predictions: list[Prediction]) -> None:
    """Each distinct warning once, wrapped, with the models it concerns."""
    width = max(min(shutil.get_terminal_size((100, 24)).columns, 120), 60)
    for text, models in messages_once((p.model, w) for p in predictions for w in p.warnings):
        subject = models[0] if len(models) == 1 else f"{len(models)} models ({', '.join(models)})"
        sys.stderr.write(wrap_message("warning: ", f"{subject}: {text}", width))


def _run(args: argparse.Namespace) -> int:
    import pandas as pd

    from synergy.graph.layers import op_category
    from synergy.models.predictor import load_predictor

    predictor = load_predictor(args.predictor)
    predictions = _predict(predictor, list(args.models), args)
    _warn(predictions)
    out = sys.stdout
    unit = predictor.unit
    target = predictor.target
    if args.format == "json":
        out.write(json.dumps([p.to_dict() for p in predictions], indent=2) + "\n")
        return 0
    summary = pd.DataFrame(
        {
            "model": [p.model for p in predictions],
            target: [p.total for p in predictions],
            "layers": [len(p.layers) for p in predictions],
            "warnings": [len(p.warnings) for p in predictions],
        }
    )
    if args.format == "csv":
        top_sorted(summary, args.top, args.sort)[0].to_csv(out, index=False)
        return 0
    if len(predictions) == 1:
        p = predictions[0]
        out.write(f"{p.model}\n")
        frame = pd.DataFrame(
            {
                "name": [n for n, _, _ in p.layers],
                "op": [o for _, o, _ in p.layers],
                target: [float(v) for _, _, v in p.layers],
                "share_%": [100 * v / p.total if p.total else 0.0 for _, _, v in p.layers],
            }
        )
        shown, hidden = top_sorted(frame, args.top, args.sort)
        out.write(render_table(shown, f"{len(p.layers)} layers, {predictor.name} predictor", hidden=hidden))
        frame["layer_type"] = [op_category(o) for o in frame["op"]]
        by_type = frame.groupby("layer_type", sort=True)[[target, "share_%"]].sum().reset_index()
        out.write(render_table(by_type.sort_values(target, ascending=False), "by layer type"))
        if abs(p.overhead) > 1e-9 * abs(p.total):
            from synergy.units import human

            out.write(f"fixed cost per network: {human(p.overhead, unit, 4)}\n")
        out.write(f"{p.model}: {p.total:.6g} {unit}\n")
    else:
        shown, hidden = top_sorted(summary, args.top, args.sort)
        out.write(render_table(shown, f"{predictor.name} predictor, {target}", hidden=hidden))
    return 0
