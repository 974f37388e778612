"""``synergy run -- CMD``: a command's energy on a fake RAPL package at a known power, and its exit status."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from synergy.cli import main
from synergy.testing.sysfs import Constant, SysfsWriter, build_rapl

WATTS = 12.0


@pytest.fixture(scope="module")
def rapl_root() -> Iterator[Path]:
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        root = Path(tmp)
        tree = build_rapl(root, subzones=())
        with SysfsWriter(tree, {"package-0": Constant(WATTS)}, default=Constant(0.0), mode="process"):
            yield root


def _synergy(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.run(
        [sys.executable, "-m", "synergy", *argv], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def test_a_python_command_gets_the_expected_energy(rapl_root: Path, tmp_path: Path) -> None:
    out, log = tmp_path / "run.json", tmp_path / "power.csv"
    done = _synergy(
        "run", "--sensor", "rapl", "--sysfs-root", str(rapl_root), "--idle-s", "0.3", "--idle-after-s", "0.2",
        "-o", str(out), "--log", str(log), "--", sys.executable, "-c", "import time; time.sleep(1.0); print('hi')",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hi"  # the command's own output, untouched
    result = json.loads(out.read_text())
    assert result["format_version"] == 1 and result["exit_code"] == 0
    assert result["duration_s"] >= 1.0
    assert result["energy_j"] == pytest.approx(WATTS * result["duration_s"], rel=0.02)
    assert result["power_w"] == pytest.approx(WATTS, rel=0.02)
    assert result["rails_j"]["package-0"] == pytest.approx(result["energy_j"])
    # Idle is sampled for 0.3 s: a writer late by 15 ms at one edge of it (a loaded machine) moves it by 5 %.
    assert result["idle_before"]["mean_w"] == pytest.approx(WATTS, rel=0.1)
    assert result["idle_after_w"] == pytest.approx(WATTS, rel=0.1)
    assert abs(result["dynamic_energy_j"]) < 0.1 * result["energy_j"]
    assert "synergy run:" in done.stderr and "package-0" in done.stderr
    with log.open() as handle:
        rows = list(csv.DictReader(handle))
    assert {r["phase"] for r in rows} == {"idle-before", "command", "idle-after"}
    assert list(rows[0]) == ["t_s", "phase", "package-0_w", "total_w"]


def test_the_exit_status_is_passed_through(tmp_path: Path) -> None:
    done = _synergy(
        "run", "--sensor", "none", "-o", str(tmp_path / "r.json"), "--",
        sys.executable, "-c", "raise SystemExit(3)", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 3
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["exit_code"] == 3 and result["energy_j"] is None
    assert "switched off" in result["energy_unavailable"]


def test_bad_input_touches_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "mine.json"
    existing.write_text("keep")
    assert main(["run", "--sensor", "none", "-o", str(existing), "--", "true"]) == 2
    assert existing.read_text() == "keep" and "exists" in capsys.readouterr().err
    assert main(["run", "--sensor", "none", "-o", str(tmp_path / "x.json")]) == 2
    assert "after '--'" in capsys.readouterr().err
    assert main(["run", "--sensor", "none", "-o", str(tmp_path / "y.json"), "--", "no-such-command-xyz"]) == 2
    assert "command not found: no-such-command-xyz" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
