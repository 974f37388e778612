"""The command line starts without loading the heavy libraries: they load inside the commands that use them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from synergy.cli import COMMANDS

HEAVY = (
    "numpy",
    "pandas",
    "scipy",
    "sklearn",
    "torch",
    "torchvision",
    "onnx",
    "onnxruntime",
    "pyarrow",
    "matplotlib",
    "rich.console",
    "rich.table",
    "rich.progress",
    "rich.live",
)

_PROBE = """
import json, sys
{body}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _loaded(body: str) -> list[str]:
    code = _PROBE.format(body=body, heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return list(json.loads(out.strip().splitlines()[-1]))


def test_building_the_parser_loads_no_heavy_module() -> None:
    assert _loaded("import synergy.cli as cli; cli.build_parser()") == []


def test_import_synergy_loads_no_heavy_module() -> None:
    assert _loaded("import synergy") == []


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_loads_no_heavy_module(command: str) -> None:
    body = (
        "import contextlib, io, synergy.cli as cli\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        f"    cli.main([{command!r}, '--help'])"
    )
    assert _loaded(body) == []
