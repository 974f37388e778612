"""``synergy export trace``: a real measurement directory (fake RAPL at a known power) as a Chrome trace.

The Perfetto trace processor needs a binary downloaded on first use, so the trace is checked against the
trace event format's schema here: every event well formed, layer slices inside their run's slice, one
counter track per rail.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import torch

from synergy.cli import main
from synergy.errors import DatasetError
from synergy.export import chrome_trace
from synergy.measurement import MeasureOptions, measure
from synergy.testing.sysfs import Constant, SysfsWriter, build_rapl

WATTS = 15.0


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    work = tmp_path_factory.mktemp("trace")
    model = work / "tiny.onnx"
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(144, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(net.eval(), (torch.randn(1, 3, 8, 8),), str(model), dynamo=False)
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        tree = build_rapl(Path(tmp), subzones=())
        with SysfsWriter(tree, {"package-0": Constant(WATTS)}, default=Constant(0.0), mode="process"):
            options = MeasureOptions(
                model=str(model), sensor="rapl", sysfs_root=Path(tmp), runs=12, warmup=1, idle_s=0.2,
                counters=False, context=False,
            )  # fmt: skip
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                measure(options, work / "run")
    yield work / "run"


def _check_schema(trace: dict[str, object]) -> list[dict[str, object]]:
    events = trace["traceEvents"]
    assert isinstance(events, list) and events
    for e in events:
        assert isinstance(e, dict) and e["ph"] in {"X", "C", "M"} and isinstance(e["name"], str)
        assert isinstance(e["pid"], int)
        if e["ph"] == "X":
            assert isinstance(e["tid"], int) and e["ts"] >= 0 and e["dur"] >= 0  # type: ignore[operator]
        if e["ph"] == "C":
            assert e["ts"] >= 0 and all(isinstance(v, float) for v in e["args"].values())  # type: ignore[attr-defined,operator]
    return events  # type: ignore[return-value]


def test_slices_per_layer_per_run_counters_per_rail_idle_marked(run_dir: Path) -> None:
    trace = chrome_trace(run_dir)
    events = _check_schema(trace)
    names = {e["args"]["name"] for e in events if e["ph"] == "M"}  # type: ignore[index]
    assert "onnxruntime" in names and "phases" in names
    layer_events = pd.read_parquet(run_dir / "events.parquet")
    runs = [e for e in events if e["ph"] == "X" and e["cat"] == "run"]
    layers = [e for e in events if e["ph"] == "X" and e["tid"] == 1 and e["cat"] != "run"]
    assert len(runs) == 12 and len(layers) == len(layer_events)
    by_run = {e["name"]: e for e in runs}
    for e in layers:
        parent = by_run[f"run {e['args']['run']}"]  # type: ignore[index]
        assert parent["ts"] - 1e-3 <= e["ts"] and e["ts"] + e["dur"] <= parent["ts"] + parent["dur"] + 1e-3  # type: ignore[operator]
        assert "op" in e["args"]  # type: ignore[operator]
    idle = [e for e in events if e["ph"] == "X" and e["name"] == "idle"]
    assert len(idle) == 1 and idle[0]["args"]["idle_w"] == pytest.approx(WATTS, rel=0.1)  # type: ignore[index]
    tracks = {e["name"] for e in events if e["ph"] == "C"}
    assert tracks == {"power package-0 (W)", "power total (W)"}
    watts = sorted(e["args"]["W"] for e in events if e["name"] == "power total (W)")  # type: ignore[index]
    assert watts[len(watts) // 2] == pytest.approx(WATTS, rel=0.1)
    assert trace["metadata"]["runs"] == 12  # type: ignore[index]


def test_the_command_writes_json_and_refuses_to_overwrite(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "trace.json"
    assert main(["export", "trace", str(run_dir), "-o", str(out)]) == 0
    assert json.loads(out.read_text())["displayTimeUnit"] == "ms"
    assert "ui.perfetto.dev" in capsys.readouterr().err
    assert main(["export", "trace", str(run_dir), "-o", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["export", "trace", str(run_dir), "-o", str(out), "--force"]) == 0


def test_a_directory_that_is_not_a_measurement_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "trace", str(tmp_path), "-o", str(tmp_path / "t.json")]) == 2
    assert "has no run.json" in capsys.readouterr().err and not (tmp_path / "t.json").exists()
    (tmp_path / "run.json").write_text("[1, 2]")
    (tmp_path / "events.parquet").write_text("not parquet")
    with pytest.raises(DatasetError):
        chrome_trace(tmp_path)
