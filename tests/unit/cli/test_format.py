"""Readable tables: one prefix per unit column, top and sort, messages wrapped and said once."""

from __future__ import annotations

import pandas as pd
import pytest

from synergy.cli.format import column_unit, messages_once, render_table, top_sorted, wrap_message
from synergy.errors import UsageError
from synergy.units import human, prefix_for


def test_units_from_column_names() -> None:
    assert column_unit("duration_s") == ("duration", "s", False)
    assert column_unit("energy_j_se") == ("energy se", "J", False)
    assert column_unit("power_w") == ("power", "W", True)
    assert column_unit("macs") is None


def test_human_and_prefixes() -> None:
    assert human(0.004885, "s") == "4.88 ms"
    assert human(8.6e-06, "J") == "8.6 µJ"
    assert human(float("nan"), "J") == "n/a"
    assert prefix_for([1.5, 12.0, 30.0], base_only=True) == (1.0, "")
    assert prefix_for([2e-6, 3e-6, 4e-3]) == (1e-6, "µ")


def test_one_prefix_per_column_and_errors_share_it() -> None:
    frame = pd.DataFrame(
        {
            "layer": ["conv1", "fc"],
            "duration_s": [0.004885, 0.000120],
            "energy_j": [8.6e-06, 2.5e-05],
            "energy_j_se": [1.0e-7, 3.0e-7],
            "power_w": [1.7, 0.2],
        }
    )
    text = render_table(frame, "t")
    header = next(line for line in text.splitlines() if "layer" in line)
    assert "duration (ms)" in header and "energy (µJ)" in header and "energy se (µJ)" in header
    assert "power (W)" in header
    assert "4.88" in text and "8.60" in text and "0.100" in text
    assert "e-0" not in text


def test_top_and_sort() -> None:
    frame = pd.DataFrame({"name": list("abcd"), "energy_j": [1.0, 4.0, 2.0, 3.0]})
    shown, hidden = top_sorted(frame, 2, "energy_j")
    assert list(shown["name"]) == ["b", "d"] and hidden == 2
    assert list(top_sorted(frame, None, "name")[0]["name"]) == list("abcd")
    with pytest.raises(UsageError, match="cannot sort by 'nope'"):
        top_sorted(frame, 1, "nope")
    assert "… 2 more row(s) not shown" in render_table(shown, hidden=hidden)


def test_messages_are_said_once_and_wrapped() -> None:
    pairs = [("a", "op X never seen"), ("b", "op X never seen"), ("b", "out of range"), ("a", "op X never seen")]
    assert messages_once(pairs) == [("op X never seen", ["a", "b"]), ("out of range", ["b"])]
    text = wrap_message("warning: ", "word " * 40, width=60)
    lines = text.splitlines()
    assert len(lines) > 2 and all(len(line) <= 60 for line in lines)
    assert all(line.startswith(" " * len("warning: ")) for line in lines[1:])
