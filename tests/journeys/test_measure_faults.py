"""Faults a real user meets: signals from schedulers and terminals, a full disk, an output path under a
file, a directory holding another model's export. Real subprocesses and real signals; nothing measured
may be lost, nothing foreign touched, no half-written file left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import torch

from journeys.conftest import SHAPE, quick
from synergy.cli import main


@pytest.fixture(scope="module")
def small_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "small.onnx"
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8 * 36, 2)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (torch.randn(1, 3, 8, 8),), str(path), dynamo=False)
    return path


def _start(model: Path, out: Path) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "synergy", "measure", str(model), "--sensor", "none", "--runs", "100000"]
    argv += ["--warmup", "0", "--idle-s", "0", "--no-context", "--no-counters", "-o", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())


def _wait_for_runs(proc: subprocess.Popen[str], out: Path, timeout_s: float = 180.0) -> None:
    """Until ``run.json`` says running, and a little longer (the runs are then under way)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            if json.loads((out / "run.json").read_text())["status"] == "running":
                time.sleep(1.0)
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the measurement did not start")


def _assert_partial(out: Path) -> dict[str, object]:
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "partial" and isinstance(run["runs"], int) and run["runs"] > 0
    layers = pd.read_csv(out / "layers.csv")
    assert len(layers) > 0 and (layers["runs"] == run["runs"]).any()
    assert not [p.name for p in out.rglob("*.tmp")]  # no half-written file
    return run


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
def test_a_signal_keeps_the_completed_runs(small_onnx: Path, tmp_path: Path, signum: signal.Signals) -> None:
    out = tmp_path / "run"
    proc = _start(small_onnx, out)
    _wait_for_runs(proc, out)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, err
    run = _assert_partial(out)
    assert run["interrupted_by"] in ("Interrupted", "KeyboardInterrupt")


def test_a_second_signal_does_not_lose_the_partial_write(small_onnx: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = _start(small_onnx, out)
    _wait_for_runs(proc, out)
    proc.send_signal(signal.SIGTERM)
    for second in (signal.SIGINT, signal.SIGTERM, signal.SIGINT):
        time.sleep(0.1)
        if proc.poll() is None:
            proc.send_signal(second)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    _assert_partial(out)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 192 KiB tmpfs (skipped where this user cannot mount one)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_is_one_line_and_keeps_what_was_written(
    small_onnx: Path, small_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = small_disk / "run"
    code = main(["measure", str(small_onnx), "--sensor", "none", *quick("--runs", "400", "-o", str(out))])
    err = capsys.readouterr().err.strip()  # the progress bar leaves an empty line
    assert code == 2 and err.startswith("error: cannot write") and "\n" not in err, err
    assert "No space left" in err
    assert not [p.name for p in out.rglob("*.tmp")]
    layers = pd.read_csv(out / "layers.csv")  # written before the disk filled up, complete
    assert len(layers) > 0
    run = json.loads((out / "run.json").read_text())
    assert run["status"] in ("failed", "running")


def test_an_output_under_a_file_is_one_line(
    small_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("not a folder")
    code = main(["measure", str(small_onnx), "--sensor", "none", *quick("-o", str(tmp_path / "file" / "run"))])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: cannot create") and err.count("\n") == 1, err


def test_force_measures_the_new_model_not_the_old_export(
    net_spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "other_net.py").write_text(
        "import torch\n\n\ndef build() -> torch.nn.Module:\n"
        "    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 7))\n"
    )
    out = tmp_path / "run"
    assert main(["measure", "other_net:build", "--input-shape", SHAPE, "--sensor", "none", *quick("-o", str(out))]) == 0
    old_export = (out / "model.onnx").read_bytes()
    args = ["measure", net_spec, "--input-shape", SHAPE, "--sensor", "none", "--force", *quick("-o", str(out))]
    assert main(args) == 0
    capsys.readouterr()
    layers = pd.read_csv(out / "layers.csv")
    assert "Conv" in set(layers["op"])  # the new model, not the old model.onnx
    assert (out / "model.onnx").read_bytes() != old_export
