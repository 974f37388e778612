"""Pieces shared by the subcommands: common options, rendering of tables, writing outputs."""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from synergy.graph.spec import parse_input_shape

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["add_format_option", "add_input_shape_option", "input_shape_arg", "lazy_choice", "render_frame"]


def lazy_choice(load: Callable[[], Sequence[str]]) -> Callable[[str], str]:
    """argparse ``type=`` accepting one of the names ``load()`` returns, loaded only when a value is given.

    For choices that live in a heavy module: ``choices=`` would load it for ``--help``, which lists them.
    """

    def check(text: str) -> str:
        names = tuple(load())
        if text not in names:
            raise argparse.ArgumentTypeError(f"invalid choice {text!r} (choose from {', '.join(names)})")
        return text

    return check


def input_shape_arg(text: str) -> tuple[tuple[int, ...], ...]:
    """argparse ``type=`` for ``--input-shape`` (errors become one-line usage errors)."""
    from synergy.errors import InputShapeError

    try:
        return parse_input_shape(text)
    except InputShapeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_input_shape_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--input-shape`` to a subcommand."""
    parser.add_argument(
        "--input-shape",
        type=input_shape_arg,
        default=None,
        metavar="S",
        help="input shape, e.g. 1,3,224,224 (several inputs separated by ';'); default: the model's own",
    )


def add_trust_code_option(parser: argparse.ArgumentParser) -> None:
    """``--trust-code``: MODEL specs read from data files may import Python code (refused by default)."""
    parser.add_argument(
        "--trust-code",
        action="store_true",
        help="let MODEL specs read from data files (CSV, run.json, zoo, study.json) import Python code",
    )


def add_network_settings_options(parser: argparse.ArgumentParser) -> None:
    """``--runs``, ``--warmup``, ``--threads``, ``--idle-s`` and ``--seed`` of a command that measures many
    networks; ``None`` when not given (the defaults, named in the help, are ``MeasureOptions``'s)."""
    from synergy.measurement.options import MeasureOptions

    shown = MeasureOptions  # its defaults are class attributes
    parser.add_argument(
        "--runs", type=int, default=None, metavar="N", help=f"measured inferences per network ({shown.runs})"
    )
    parser.add_argument(
        "--warmup", type=int, default=None, metavar="N", help=f"discarded inferences first ({shown.warmup})"
    )
    parser.add_argument("--threads", type=int, default=None, metavar="N", help=f"intra-op threads ({shown.threads})")
    parser.add_argument(
        "--idle-s", type=float, default=None, metavar="S", help=f"idle sampled before each network ({shown.idle_s:g})"
    )
    parser.add_argument("--seed", type=int, default=None, help=f"seed of pauses and inputs ({shown.seed})")


def add_format_option(parser: argparse.ArgumentParser, choices: tuple[str, ...] = ("table", "csv", "json")) -> None:
    """Add ``--format`` to a subcommand."""
    parser.add_argument("--format", choices=choices, default=choices[0], help="output format (default: %(default)s)")


def render_frame(frame: pd.DataFrame, title: str | None = None, width: int | None = None) -> str:
    """Render a data frame as a rich text table (numbers right-aligned, thousands separated)."""
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(str(column), justify="right" if numeric else "left", overflow="fold")
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            if isinstance(value, bool):
                cells.append(str(value))
            elif isinstance(value, int):
                cells.append(f"{value:,}")
            elif isinstance(value, float):
                cells.append(f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}")
            else:
                cells.append(str(value))
        table.add_row(*cells)
    buffer = io.StringIO()
    Console(file=buffer, width=width or 200, force_terminal=False, color_system=None).print(table)
    return buffer.getvalue()
