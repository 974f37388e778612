"""The command line starts without loading the heavy libraries: they load inside the commands that use them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


def test_analyze_loads_only_what_the_analysis_needs(tmp_path: Path) -> None:
    """The analysis and its table need torch (or onnx) and rich, never the data-frame stack."""
    source = tmp_path / "startup_net.py"
    source.write_text("from torch import nn\n\ndef build():\n    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())\n")
    for view in ([], ["--format", "json"]):
        body = (
            f"import contextlib, io, os, sys; os.chdir({str(tmp_path)!r}); sys.path.insert(0, {str(tmp_path)!r})\n"
            "import synergy.cli as cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    assert cli.main(['analyze', 'startup_net:build', '--input-shape', '1,3,8,8', *{view!r}]) == 0"
        )
        loaded = _loaded(body)
        assert "torch" in loaded and not {"pandas", "scipy", "sklearn", "pyarrow", "matplotlib"} & set(loaded), loaded
