"""Readable tables and messages: one SI prefix per column, ``--top``/``--sort``, wrapped messages said once.

Files keep SI base units and every row; only what is printed is scaled, sorted and cut. A column's unit
comes from its name's suffix (``duration_s`` → ``duration (ms)``, ``energy_j`` and ``energy_j_se`` →
``(mJ)``, ``power_w`` → ``(W)``); :func:`render_table` picks the prefix from the column's values.

This module imports pandas and rich only inside its functions, so command modules may import it freely.
"""

from __future__ import annotations

import argparse
import re
import textwrap
from collections.abc import Iterable, Sequence
from typing import Any

from synergy.errors import UsageError
from synergy.units import PREFIXES, prefix_for

__all__ = [
    "UNIT_SUFFIXES",
    "add_top_sort_options",
    "column_unit",
    "messages_once",
    "render_table",
    "top_sorted",
    "wrap_message",
]

#: Column-name suffix → unit, and whether the unit keeps its base above 1 (watts stay watts).
UNIT_SUFFIXES: dict[str, tuple[str, bool]] = {"_s": ("s", False), "_j": ("J", False), "_w": ("W", True)}
_SUFFIX_RE = re.compile(r"^(?P<base>.+?)(?P<suffix>_s|_j|_w)(?P<tail>_se|_std|_mean|_median|_min|_max)?$")


def column_unit(name: str) -> tuple[str, str, bool] | None:
    """``energy_j_se`` → ``("energy se", "J", False)``: the label, unit and base-only rule of a column."""
    match = _SUFFIX_RE.match(name)
    if match is None:
        return None
    unit, base_only = UNIT_SUFFIXES[match["suffix"]]
    label = match["base"].replace("_", " ") + (f" {match['tail'][1:]}" if match["tail"] else "")
    return label, unit, base_only


def add_top_sort_options(parser: argparse.ArgumentParser, default_sort: str | None = None) -> None:
    """Add ``--top N`` and ``--sort COLUMN`` to a subcommand's table view."""
    parser.add_argument(
        "--top", type=_positive_int, default=None, metavar="N", help="show only the first N rows of the table"
    )
    parser.add_argument(
        "--sort",
        default=default_sort,
        metavar="COLUMN",
        help="sort the table by COLUMN, largest first (a column of --format csv; default: "
        + (f"{default_sort})" if default_sort else "graph order)"),
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} rows: give at least 1")
    return value


def top_sorted(frame: Any, top: int | None = None, sort: str | None = None) -> tuple[Any, int]:
    """The rows to show: sorted by ``sort`` (largest first; text columns A→Z), cut to ``top``.

    Returns:
        The frame to show and how many rows were left out.

    Raises:
        UsageError: ``sort`` names no column.
    """
    import pandas as pd

    if sort is not None:
        if sort not in frame.columns:
            raise UsageError(f"cannot sort by {sort!r}: the columns are {', '.join(map(str, frame.columns))}")
        numeric = pd.api.types.is_numeric_dtype(frame[sort])
        frame = frame.sort_values(sort, ascending=not numeric, kind="stable", na_position="last")
    hidden = 0
    if top is not None and len(frame) > top:
        hidden = len(frame) - top
        frame = frame.head(top)
    return frame, hidden


def _cell(value: Any, scale: float, digits: int) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:
            return "n/a"
        scaled = value / scale
        if scaled == 0:
            return "0"
        if abs(scaled) >= 10**digits:
            return f"{scaled:,.0f}"
        text = f"{scaled:#.{digits}g}"
        return text[:-1] if text.endswith(".") else text
    return str(value)


def render_table(
    frame: Any,
    title: str | None = None,
    *,
    width: int | None = None,
    digits: int = 3,
    hidden: int = 0,
) -> str:
    """A rich text table: unit columns scaled to one prefix each and labelled, numbers right-aligned.

    Args:
        frame: the rows to show (SI units; columns named with their unit suffix).
        title: the table's title.
        width: columns of text (default 200, wide enough not to fold names).
        digits: significant digits of scaled values.
        hidden: rows left out (said under the table).
    """
    import io

    import numpy as np
    import pandas as pd
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, header_style="bold")
    specs: dict[str, tuple[str, float, bool]] = {}  # column → (header, scale, right-aligned)
    for column in frame.columns:
        name = str(column)
        numeric = pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column])
        unit = column_unit(name) if numeric and pd.api.types.is_float_dtype(frame[column]) else None
        if unit is not None:
            label, base, base_only = unit
            scale, prefix = prefix_for(np.asarray(frame[column], dtype=float), base_only=base_only)
            specs[name] = (f"{label} ({prefix}{base})", scale, True)
        elif name.endswith("_%"):
            specs[name] = (f"{name[:-2].replace('_', ' ')} (%)", 1.0, numeric)
        else:
            specs[name] = (name, 1.0, numeric)
    # A standard error shares its value column's scale, so the two read side by side.
    for name, (_, _, right) in list(specs.items()):
        for tail in ("_se", "_std"):
            value = name[: -len(tail)]
            if name.endswith(tail) and value in specs and column_unit(value) is not None:
                unit = column_unit(name)
                scale = specs[value][1]
                prefix = next((p for sc, p in PREFIXES if sc == scale), "")
                specs[name] = (f"{unit[0]} ({prefix}{unit[1]})" if unit else name, scale, right)
    for header, _, right in specs.values():
        table.add_column(header, justify="right" if right else "left", overflow="fold")
    columns = [(name, scale) for name, (_, scale, _) in specs.items()]
    for row in frame.itertuples(index=False):
        table.add_row(
            *(_cell(v.item() if hasattr(v, "item") else v, s, digits) for v, (_, s) in zip(row, columns, strict=True))
        )
    buffer = io.StringIO()
    console = Console(file=buffer, width=width or 200, force_terminal=False, color_system=None, highlight=False)
    console.print(table)
    text = buffer.getvalue()
    if hidden:
        text += f"… {hidden} more row(s) not shown\n"
    return text


def wrap_message(prefix: str, text: str, width: int = 100) -> str:
    """``warning: …`` wrapped to ``width``, continuation lines indented under the text."""
    return (
        textwrap.fill(
            text, width=width, initial_indent=prefix, subsequent_indent=" " * len(prefix), break_on_hyphens=False
        )
        + "\n"
    )


def messages_once(items: Iterable[tuple[str, str]]) -> list[tuple[str, Sequence[str]]]:
    """``(subject, message)`` pairs → each distinct message once, with the subjects that share it, in order."""
    seen: dict[str, list[str]] = {}
    for subject, message in items:
        subjects = seen.setdefault(message, [])
        if subject not in subjects:
            subjects.append(subject)
    return list((message, subjects) for message, subjects in seen.items())
