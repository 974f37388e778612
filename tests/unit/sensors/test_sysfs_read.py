"""Reading one sysfs file: every failure becomes one SyNERGY error with a one-line message."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synergy.errors import SensorReadError, SensorUnavailable
from synergy.sensors._sysfs import display_path, read_int, read_text


def test_reads_integer_with_newline(tmp_path: Path) -> None:
    (tmp_path / "v").write_text("123456\n")
    assert read_int(tmp_path / "v") == 123456


def test_reads_leading_integer_of_value_with_unit(tmp_path: Path) -> None:
    (tmp_path / "v").write_text("430 ms\n")
    assert read_int(tmp_path / "v") == 430


@pytest.mark.parametrize("content", ["", "\n", "12ab", "garbage", "-", "1.5"])
def test_garbage_is_a_read_error_on_one_line(tmp_path: Path, content: str) -> None:
    (tmp_path / "energy_uj").write_text(content)
    with pytest.raises(SensorReadError) as info:
        read_int(tmp_path / "energy_uj", tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("/energy_uj holds")


def test_vanished_file_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(SensorUnavailable, match="/gone has vanished"):
        read_text(tmp_path / "gone", tmp_path)


def test_display_path_is_shown_from_root(tmp_path: Path) -> None:
    assert display_path(tmp_path / "sys/class/x", tmp_path) == "/sys/class/x"
    assert display_path(Path("/elsewhere/x"), tmp_path) == "/elsewhere/x"


@given(st.integers(min_value=-(2**63), max_value=2**64))
def test_any_integer_round_trips(value: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v"
        path.write_text(f"{value}\n")
        assert read_int(path) == value
