"""``synergy system --interval``: checked before anything runs (a typo must not sleep for years)."""

from __future__ import annotations

import time

import pytest

from synergy.cli import main


@pytest.mark.parametrize("interval", ["-1", "1e9", "nan", "inf", "61"])
def test_an_interval_out_of_range_is_one_line_exit_2(interval: str, capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    assert main(["system", "--interval", interval]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith(f"error: --interval {float(interval):g} is out of range")
    assert time.monotonic() - started < 60  # refused, not slept
