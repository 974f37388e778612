"""Reading one sysfs file: every failure becomes one SyNERGY error with a one-line message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synergy.context.base import probe_file
from synergy.context.base import read_text as context_read_text
from synergy.errors import ChannelReadError, SensorReadError, SensorUnavailable
from synergy.sensors._sysfs import ATTRIBUTE_MAX_BYTES, display_path, read_bytes, read_int, read_text, try_read_text
from synergy.testing.sysfs import build_rapl


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


def test_a_fifo_is_refused_without_blocking_by_both_readers(tmp_path: Path) -> None:
    fifo = tmp_path / "energy_uj"
    os.mkfifo(fifo)
    with pytest.raises(SensorReadError, match="is a FIFO, not a regular file"):
        read_text(fifo, tmp_path)
    assert try_read_text(fifo) is None
    with pytest.raises(ChannelReadError, match="is a FIFO"):
        context_read_text(fifo)
    assert probe_file(fifo).status == "error"


def test_reads_are_bounded(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_text("1" * (ATTRIBUTE_MAX_BYTES + 1))
    with pytest.raises(SensorReadError, match=f"holds more than {ATTRIBUTE_MAX_BYTES} bytes"):
        read_text(big, tmp_path)
    assert read_bytes(big, ATTRIBUTE_MAX_BYTES + 1) == b"1" * (ATTRIBUTE_MAX_BYTES + 1)
    with pytest.raises(SensorReadError, match="is a directory"):
        read_text(tmp_path, tmp_path)


def test_synergy_sensors_does_not_hang_on_a_fifo_named_energy_uj(tmp_path: Path) -> None:
    tree = build_rapl(tmp_path, subzones=())
    path = tree.drivers["package-0"].files()[0]
    path.unlink()
    os.mkfifo(path)
    done = subprocess.run(
        [sys.executable, "-m", "synergy", "sensors", "--sysfs-root", str(tmp_path), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    reasons = {u["name"]: u["reason"] for u in json.loads(done.stdout)["unavailable"]}
    assert "intel-rapl:0/energy_uj is a FIFO, not a regular file" in reasons["rapl"]
