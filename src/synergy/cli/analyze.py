"""``synergy analyze MODEL [--input-shape S] [--format table|csv|json]``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from synergy.analysis import analyze
from synergy.cli.common import add_format_option, add_input_shape_option, render_frame

__all__ = ["register"]

_TABLE_COLUMNS = [
    "name",
    "op",
    "input_shapes",
    "output_shapes",
    "macs",
    "params",
    "bytes_moved",
    "arithmetic_intensity",
]


def register(subparsers: Any) -> None:
    """Add the ``analyze`` subcommand."""
    parser = subparsers.add_parser(
        "analyze",
        help="per-layer MACs, parameters, bytes and FLOPs of a network",
        description="Static analysis of a network, layer by layer: shapes, MACs (one multiply-add counted "
        "once), parameters, bytes moved, arithmetic intensity and extra FLOPs by class.",
    )
    parser.add_argument(
        "model", metavar="MODEL", help="a .onnx file, torchvision:NAME, nb201:ARCH_STR or package.module:callable"
    )
    add_input_shape_option(parser)
    add_format_option(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    table = analyze(args.model, args.input_shape)
    out = sys.stdout
    if args.format == "json":
        out.write(table.to_json() + "\n")
    elif args.format == "csv":
        table.to_frame().to_csv(out, index=False)
    else:
        frame = table.to_frame()[_TABLE_COLUMNS]
        out.write(render_frame(frame, title=f"{table.model}: {len(table)} layers"))
        out.write(render_frame(table.by_category(), title="by layer type"))
        totals = table.totals()
        out.write(
            f"total: {totals['macs']:,} MACs, {totals['params']:,} params, "
            f"{totals['flops']:,} FLOPs, {totals['bytes_moved']:,} bytes moved\n"
        )
        if table.unsupported_ops:
            out.write(f"unsupported ops (not counted): {', '.join(table.unsupported_ops)}\n")
    return 0
