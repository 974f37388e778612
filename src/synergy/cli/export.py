"""``synergy export trace RUN -o trace.json [--force]``: a measurement as a Chrome trace (Perfetto)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from synergy.errors import OutputExistsError, UsageError

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``export`` subcommand."""
    parser = subparsers.add_parser(
        "export",
        help="export a measurement to a format other tools open (trace: Perfetto, chrome://tracing)",
        description="Export a 'synergy measure' directory. 'trace' writes the Chrome trace event format: one "
        "slice per layer per run on the runtime's thread, the idle phases, and one power counter track per "
        "sensor rail; open it in https://ui.perfetto.dev or chrome://tracing.",
    )
    parser.add_argument("what", choices=("trace",), help="what to export")
    parser.add_argument("run", type=Path, metavar="RUN", help="a directory written by 'synergy measure'")
    parser.add_argument(
        "-o", "--output", type=Path, default=Path("trace.json"), metavar="FILE", help="(default: trace.json)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing output file")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from synergy.export import write_chrome_trace

    output: Path = args.output
    if output.exists() and not args.force:
        raise OutputExistsError(f"{output} exists: choose another file or pass --force to overwrite it")
    if not output.parent.is_dir():
        raise UsageError(f"{output.parent} is not a directory; create it or write elsewhere")
    path = write_chrome_trace(args.run, output)
    sys.stderr.write(f"trace: {path} (open it in https://ui.perfetto.dev or chrome://tracing)\n")
    return 0
