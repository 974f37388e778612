"""The ``synergy`` command line: parse, call the library, map errors to one-line messages and exit codes.

Each subcommand lives in a module of this package exposing ``register(subparsers)``; the module sets
``func`` on its parser, a callable taking the parsed namespace and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence

from synergy import __version__
from synergy.errors import SynergyError, UntrustedCodeError

__all__ = ["main"]

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "analyze",
    "measure",
    "fit",
    "predict",
    "sensors",
    "system",
    "study",
    "run",
    "export",
    "fleet",
)


#: What to add to a library error's message on the command line (the library never names a flag).
HINTS: tuple[tuple[type[SynergyError], str], ...] = ((UntrustedCodeError, "add --trust-code to allow it"),)


def error_line(exc: SynergyError) -> str:
    """The one-line ``error: …`` of a library error, with the command line's hint for its kind."""
    hint = next((text for kind, text in HINTS if isinstance(exc, kind)), None)
    return f"error: {exc} ({hint})" if hint else f"error: {exc}"


class _Parser(argparse.ArgumentParser):
    """argparse with the project's one-line ``error: …`` and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, every subcommand registered."""
    parser = _Parser(
        prog="synergy",
        description="Measure and predict the energy of neural-network inference, layer by layer.",
    )
    parser.add_argument("--version", action="version", version=f"synergy {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"synergy.cli.{name}")
        module.register(subparsers)
    return parser


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: object = None,
    line: str | None = None,
) -> None:
    if category.__module__.startswith("synergy") or str(filename).find("synergy") >= 0:
        sys.stderr.write(f"warning: {message}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 failed measurement or check, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.filterwarnings("ignore", module=r"(torch|torchvision|onnx|onnxscript|onnxruntime)(\..*)?")
        warnings.showwarning = _show_warning
        try:
            code: int = args.func(args)
        except SynergyError as exc:
            sys.stderr.write(error_line(exc) + "\n")
            return exc.exit_code
        except KeyboardInterrupt:
            sys.stderr.write("error: interrupted\n")
            return 130
        except BrokenPipeError:
            return 0
    return code


def run() -> None:
    """Console-script entry point."""
    raise SystemExit(main())
