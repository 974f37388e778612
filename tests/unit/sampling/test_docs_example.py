"""The worked example of docs/sampling.md runs as written."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "sampling.md"


def test_scripted_sensor_example_runs() -> None:
    if not DOC.is_file():
        pytest.skip("docs/sampling.md is not present")
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    example = next(b for b in blocks if "ScriptedSensor(" in b and "measure_idle" in b)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, str(DOC), "exec"), {"__name__": "docs_example"})
    text = out.getvalue()
    assert "idle: " in text and "busy window: " in text
    busy_w = float(re.search(r"busy window: [\d.]+ J, ([\d.]+) W", text).group(1))  # type: ignore[union-attr]
    assert busy_w == pytest.approx(25.0, rel=0.02)


def test_virtual_clock_example_prints_what_the_doc_shows() -> None:
    """The virtual-clock example is deterministic: its output is the doc's, digit for digit."""
    if not DOC.is_file():
        pytest.skip("docs/sampling.md is not present")
    text = DOC.read_text()
    blocks = re.findall(r"```python\n((?:(?!```).)*)```\n\n```text\n(.*?)```", text, flags=re.S)
    example, shown = next((code, out) for code, out in blocks if "ManualClock(" in code)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, str(DOC), "exec"), {"__name__": "docs_example"})
    assert out.getvalue() == shown
