"""``synergy analyze MODEL [--input-shape S] [--format table|csv|json]``."""

from __future__ import annotations

import argparse
import shutil
import sys
from typing import TYPE_CHECKING, Any

from synergy.cli.common import add_format_option, add_input_shape_option
from synergy.cli.format import add_top_sort_options, top_sorted

if TYPE_CHECKING:
    from synergy.graph.layers import LayerTable

__all__ = ["register", "render_table"]

_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def _si(value: float, unit: str = "") -> str:
    """``118013952`` → ``118.0M``: three significant digits and an SI prefix (exact values: csv, json)."""
    if value == 0:
        return "0"
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale:
            scaled = value / scale
            digits = 1 if abs(scaled) < 100 else 0
            return f"{scaled:.{digits}f}{prefix}{unit}"
    return f"{value:g}{unit}"


def _shape_text(shapes: tuple[tuple[int, ...], ...]) -> str:
    return ";".join("x".join(map(str, s)) for s in shapes)


def render_table(
    table: LayerTable, width: int | None = None, *, top: int | None = None, sort: str | None = None
) -> str:
    """The human view: one compact row per layer, a breakdown by layer type, and exact totals.

    Counts are rounded to three significant digits with SI prefixes; ``extra`` is the extra FLOPs of
    every class (normalisation, activation, pooling, elementwise); ``FLOP/B`` is the arithmetic
    intensity.

    Args:
        table: the analysed network.
        width: terminal width in columns (default: the terminal's, at least 80).
        top: show only this many layer rows (the totals still count every layer).
        sort: order the layer rows by this column of ``--format csv`` (``macs``, ``params``,
            ``bytes_moved``, ``flops``, ...), largest first.

    Returns:
        Plain text (no colour codes).

    Raises:
        UsageError: ``sort`` names no column.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table

    width = width or max(shutil.get_terminal_size((100, 24)).columns, 80)
    console = Console(width=width, force_terminal=False, color_system=None, highlight=False)
    rows = Table(
        title=f"{table.model}: {len(table)} layers, input {_shape_text(table.input_shapes)}",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        header_style="bold",
    )
    rows.add_column("layer", overflow="fold", min_width=16)
    rows.add_column("op", no_wrap=True)
    rows.add_column("output", no_wrap=True)
    for header in ("MACs", "params", "bytes", "extra", "FLOP/B"):
        rows.add_column(header, justify="right", no_wrap=True)
    layers = list(table)
    if sort is None:  # the order of execution, cut to top: no frame needed
        indices = list(range(len(layers)))[:top] if top is not None else list(range(len(layers)))
        hidden = len(layers) - len(indices)
    else:
        order = table.to_frame().reset_index(drop=True)
        order["_index"] = range(len(order))
        shown, hidden = top_sorted(order, top, sort)
        indices = [int(i) for i in shown["_index"]]
    for index in indices:
        layer = layers[int(index)]
        rows.add_row(
            layer.name + (" !" if layer.unsupported else ""),
            layer.op,
            _shape_text(layer.output_shapes),
            _si(layer.macs),
            _si(layer.params),
            _si(layer.bytes_moved, "B"),
            _si(layer.extra_flops),
            f"{layer.arithmetic_intensity:.3g}",
        )
    totals = table.totals()
    macs = int(totals["macs"]) or 1
    kinds = Table(title="by layer type", box=box.SIMPLE_HEAD, pad_edge=False, header_style="bold")
    kinds.add_column("type")
    for header in ("layers", "MACs", "% MACs", "params", "bytes", "extra"):
        kinds.add_column(header, justify="right", no_wrap=True)
    for record in table.grouped_totals("category"):
        count = {key: int(value) for key, value in record.items() if key != "category"}
        extra = sum(count[f"flops_{kind}"] for kind in ("norm", "activation", "pooling", "elementwise"))
        kinds.add_row(
            str(record["category"]),
            str(count["layers"]),
            _si(count["macs"]),
            f"{100 * count['macs'] / macs:.1f}",
            _si(count["params"]),
            _si(count["bytes_moved"], "B"),
            _si(extra),
        )
    with console.capture() as capture:
        console.print(rows)
        if hidden:
            console.print(f"… {hidden} more layer(s) not shown (of {len(table)}; the totals count all)\n")
        console.print(kinds)
    lines = [
        capture.get(),
        f"total: {totals['macs']:,} MACs, {totals['params']:,} params, {totals['bytes_moved']:,} bytes moved\n"
        f"       {totals['flops']:,} FLOPs = 2·MACs + {totals['flops'] - 2 * totals['macs']:,} extra\n",
    ]
    if table.unsupported_ops:
        lines.append(f"unsupported ops, their work not counted (rows marked !): {', '.join(table.unsupported_ops)}\n")
    return "".join(lines)


def register(subparsers: Any) -> None:
    """Add the ``analyze`` subcommand."""
    parser = subparsers.add_parser(
        "analyze",
        help="per-layer MACs, parameters, bytes and FLOPs of a network",
        description="Static analysis of a network, layer by layer: shapes, MACs (one multiply-add counted "
        "once), parameters, bytes moved, arithmetic intensity and extra FLOPs by class. The table view "
        "rounds; --format csv or json gives every column exactly.",
    )
    parser.add_argument(
        "model", metavar="MODEL", help="a .onnx file, torchvision:NAME, nb201:ARCH_STR or package.module:callable"
    )
    add_input_shape_option(parser)
    add_format_option(parser)
    add_top_sort_options(parser)
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when the totals are incomplete (an op without a formula, a layer without shapes)",
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from synergy.graph.analysis import analyze

    table = analyze(args.model, args.input_shape)
    out = sys.stdout
    if args.format == "json":
        out.write(table.to_json() + "\n")
    elif args.format == "csv":
        top_sorted(table.to_frame(), args.top, args.sort)[0].to_csv(out, index=False)
    else:
        out.write(render_table(table, top=args.top, sort=args.sort))
    if table.incomplete:
        why = [f"ops without a formula: {', '.join(table.unsupported_ops)}"] if table.unsupported_ops else []
        if table.layers_without_shapes:
            names = table.layers_without_shapes
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            why.append(f"{len(names)} layer(s) without shapes ({shown})")
        message = f"the totals are incomplete: {'; '.join(why)}"
        if args.strict:
            sys.stderr.write(f"error: {message} (--strict)\n")
            return 1
        if table.layers_without_shapes:
            sys.stderr.write(f"warning: {message}\n")
    return 0
