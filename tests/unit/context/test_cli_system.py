"""``synergy system`` on fake trees and on this machine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synergy.cli import COMMANDS, main
from synergy.testing.context import ContextTree


def test_registered() -> None:
    assert "system" in COMMANDS


def test_table_on_a_fake_orin(orin: ContextTree, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["system", "--sysfs-root", str(orin.root), "--interval", "0"]) == 0
    out = capsys.readouterr().out
    assert "Jetson power mode: 0 MAXN (from var/lib/nvpmodel/status)" in out
    assert "17000000.gpu" in out and "nvhost_podgov" in out
    assert "tj-thermal" in out and "offline" in out
    assert "EMC (memory) clock: 3.199 GHz, 10% busy" in out
    assert "warning: CPU governor is 'schedutil'" in out
    assert "    sudo jetson_clocks" in out
    assert "synergy system only reads" in out


def test_json_on_a_fake_x86(x86: ContextTree, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["system", "--sysfs-root", str(x86.root), "--format", "json", "--interval", "0"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["context"]["format_version"] == 1
    assert [c["name"] for c in data["channels"]["channels"]] == ["cpu_freq", "thermal", "cpu_util"]
    assert {f["code"] for f in data["findings"]} == {"cpu-governor", "turbo"}
    assert data["cpu_util"] == {}


def test_never_writes(orin: ContextTree, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p: p.read_bytes() for p in orin.root.rglob("*") if p.is_file() and not p.is_symlink()}
    main(["system", "--sysfs-root", str(orin.root), "--interval", "0"])
    after = {p: p.read_bytes() for p in orin.root.rglob("*") if p.is_file() and not p.is_symlink()}
    assert before == after
    capsys.readouterr()


def test_on_this_machine(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["system", "--interval", "0.05"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("root: /")
    assert "CPU busy over 0.05 s" in out or "cpu_util" not in out
    if not Path("/sys/devices/system/cpu/cpu0/cpufreq").exists():
        assert "CPU frequency: no cpufreq under sys/devices/system/cpu" in out


def test_json_on_this_machine(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["system", "--format", "json", "--interval", "0"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["context"]["root"] == "/"


def test_bad_root_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["system", "--sysfs-root", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --sysfs-root") and err.count("\n") == 1
    assert main(["system", "--interval", "-1"]) == 2
