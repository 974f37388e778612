"""The worked example of docs/monitor.md runs as written and prints what the page says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "monitor.md"


def test_monitor_example_runs(tmp_path: Path) -> None:
    if not DOC.is_file():
        pytest.skip("docs/monitor.md is not present")
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    example = next(b for b in blocks if "SysfsWriter(" in b and "monitor.measure" in b)
    script = tmp_path / "example.py"
    script.write_text(example)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("Window('epoch', ")
    seconds, joules = (float(x) for x in re.search(r"epoch: ([\d.]+) s, ([\d.]+) J", out).groups())  # type: ignore[union-attr]
    assert joules == pytest.approx(10.0 * seconds, rel=0.05)
    assert "Window('tiny'" in out and "'short'" in out and "shorter than the sensor's update period" in out
    assert out.count("preprocess") == 3 and out.count(" step ") == 3
