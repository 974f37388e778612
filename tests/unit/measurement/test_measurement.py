"""``synergy.measurement``: the whole chain on a small network, with no sensor and with a fake RAPL tree."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from synergy.errors import OutputExistsError, SensorUnavailable, SynergyWarning, UsageError
from synergy.measurement import MeasureOptions, measure
from synergy.sampling.timeline import Timeline
from synergy.testing.sysfs import Constant, SysfsWriter, build_rapl


class _Small(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 16, 3, padding=1)
        self.relu = torch.nn.ReLU()
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.relu(self.conv(x))), 1))


@pytest.fixture(scope="module")
def small_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "small.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter announces its age
        torch.onnx.export(_Small().eval(), (torch.randn(1, 3, 32, 32),), str(path), dynamo=False, input_names=["input"])
    return path


def _options(model: Path, **kw: object) -> MeasureOptions:
    # No counters by default: on a busy machine the task clock would add a (correct) busy-machine warning,
    # and warnings are errors here.
    base: dict[str, object] = {"runs": 15, "warmup": 2, "idle_s": 0.0, "pause_s": (0.0, 1e-3), "counters": False}
    base.update(kw)
    return MeasureOptions(model=str(model), **base)  # type: ignore[arg-type]


def test_without_sensor_time_only(small_onnx: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = measure(_options(small_onnx, sensor="none"), out)
    assert result.energy_unavailable is not None and "sensor 'none'" in result.energy_unavailable
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "context.parquet",  # the real machine's channels (at least CPU load from /proc/stat)
        "events.parquet",
        "layers.csv",
        "ort",
        "power_profile.png",
        "run.json",
        "runs.parquet",
    ]
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "complete" and run["format_version"] == 2 and run["runs"] == 15
    assert run["inference_energy_j"] is None and run["energy_unavailable"]
    assert run["inference_s"] > 0 and run["system"]["kernel"]
    layers = pd.read_csv(out / "layers.csv")
    conv = layers[layers["op"] == "Conv"].iloc[0]
    assert conv["contains"] == "/conv/Conv;/relu/Relu"  # fused at ORT_ENABLE_ALL, MACs of both
    assert conv["macs"] == 16 * 32 * 32 * 3 * 9
    assert conv["runs"] == 15 and conv["duration_s"] > 0
    assert layers["energy_j"].isna().all()
    events = pd.read_parquet(out / "events.parquet")
    assert set(events["run"]) == set(range(15))


def test_counters_per_inference(small_onnx: Path, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SynergyWarning)  # a busy machine is reported, not failed
        result = measure(_options(small_onnx, sensor="none", counters=True, runs=5), tmp_path / "c")
    counters = result.run["counters"]
    assert set(counters["events"]) | set(counters["unsupported"]) >= {"task_clock_ns", "instructions"}
    if "task_clock_ns" in counters["events"]:
        assert counters["per_inference"]["task_clock_ns"] > 0


def test_existing_output_is_refused_and_untouched(small_onnx: Path, tmp_path: Path) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(OutputExistsError, match="--force"):
        measure(_options(small_onnx, sensor="none"), out)
    # A directory synergy did not write is refused even with force, and left alone.
    with pytest.raises(OutputExistsError, match="did not write"):
        measure(_options(small_onnx, sensor="none"), out, force=True)
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


def test_force_replaces_exactly_what_synergy_wrote(small_onnx: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    measure(_options(small_onnx, sensor="none", runs=3, keep_models=True), out)
    manifest = json.loads((out / ".synergy-manifest.json").read_text())
    assert {"run.json", "layers.csv", "events.parquet", "ort/optimized.onnx"} <= set(manifest["files"])
    (out / "samples.parquet").write_bytes(b"a previous run's samples")  # as if listed by a sensor run
    manifest["files"].append("samples.parquet")
    (out / ".synergy-manifest.json").write_text(json.dumps(manifest))
    (out / "notes.txt").write_text("the user's")
    (out / "ort" / "user.txt").write_text("the user's too")
    measure(_options(small_onnx, sensor="none", runs=4), out, force=True)
    assert not (out / "samples.parquet").exists()  # stale: the new run has no sensor
    assert (out / "notes.txt").read_text() == "the user's" and (out / "ort" / "user.txt").exists()
    assert json.loads((out / "run.json").read_text())["runs"] == 4


def test_absent_sensor_is_a_usage_error_before_anything_is_written(small_onnx: Path, tmp_path: Path) -> None:
    with pytest.raises(SensorUnavailable, match="intel-rapl"):
        measure(_options(small_onnx, sensor="rapl", sysfs_root=tmp_path), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_interrupt_leaves_partial_runs(small_onnx: Path, tmp_path: Path) -> None:
    out = tmp_path / "partial"

    def progress(done: int, total: int) -> None:
        if done == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        measure(_options(small_onnx, sensor="none"), out, progress=progress)
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "partial" and run["interrupted_by"] == "KeyboardInterrupt"
    assert run["runs"] == 5
    assert len(pd.read_csv(out / "layers.csv")) > 0


def test_fake_rapl_energy_and_check(small_onnx: Path, tmp_path: Path) -> None:
    root = tmp_path / "sys-root"
    tree = build_rapl(root, subzones=())
    out = tmp_path / "energy"
    with SysfsWriter(tree, {"package-0": Constant(20.0)}, default=Constant(0.0)):
        result = measure(_options(small_onnx, sensor="rapl", sysfs_root=root, runs=40, idle_s=0.3), out)
    assert result.attribution is not None
    run = result.run
    assert run["sensor"]["name"] == "rapl" and run["idle"]["mean_w"] == pytest.approx(20.0, rel=0.1)
    # A constant 20 W: the whole inference's energy is 20 W times its mean length. The inference is far
    # shorter than the counter's 1 ms tick and the fake writer may publish late on a busy machine, so
    # this checks the wiring, not the accuracy (benchmarks/attribution_accuracy.py does that).
    assert run["inference_energy_j"] == pytest.approx(20.0 * run["inference_s_mean"], rel=0.5)
    a = result.attribution
    # Layers far shorter than the counter's tick may be undetermined: NaN with the reason, never 0 ± 0.
    assert all(a.reasons[i] for i in np.flatnonzero(~a.determined))
    assert np.isfinite(result.layers["energy_j"][a.determined]).all()
    undetermined = result.layers[~a.determined]
    assert undetermined["energy_j"].isna().all() and (undetermined["undetermined_reason"] != "").all()
    if not a.determined.all():
        assert "layers-undetermined" in [c["code"] for c in run["checks"]]
    timeline = Timeline.from_parquet(out / "samples.parquet")
    assert len(timeline) > 10
    assert (out / "power_profile.png").stat().st_size > 1000


def test_sensor_vanishing_mid_run_gives_a_complete_run_with_the_gap(small_onnx: Path, tmp_path: Path) -> None:
    root = tmp_path / "sys-root"
    tree = build_rapl(root, subzones=())
    energy_file = tree.drivers["package-0"].files()[0]
    out = tmp_path / "gap"
    with SysfsWriter(tree, {"package-0": Constant(20.0)}, default=Constant(0.0)) as writer:

        def progress(done: int, total: int) -> None:
            if done == 20:
                writer.vanish(energy_file)  # returns once the writer deleted the file (it waits up to 10 s)
                assert not energy_file.exists()

        with pytest.warns(SynergyWarning) as caught:
            result = measure(
                _options(small_onnx, sensor="rapl", sysfs_root=root, runs=40, idle_s=0.2), out, progress=progress
            )
    messages = [str(w.message) for w in caught]
    run = result.run
    assert run["status"] == "complete" and run["runs"] == 40
    # However late the sampler notices on a busy machine, the file is gone from run 21 on: the sensor ends
    # or leaves a gap, and the energies come from the runs it covered, said so.
    assert run["sensor_end_reason"] or run["sensor_gaps"]
    assert any("sensor stopped" in m for m in messages), messages
    if result.attribution is not None:
        missed = run["attribution"]["runs_not_covered"]
        assert 20 <= missed < 40 and result.attribution.runs == 40 - missed  # a run needs a reading after it
        assert any(f"cover {40 - missed} of 40 runs" in m for m in messages), messages
    else:
        assert "cannot determine the layers" in run["energy_unavailable"]


def _torch_model_module(directory: Path) -> str:
    """A ``module:callable`` spec for a small PyTorch network written into ``directory``."""
    (directory / "isolation_net.py").write_text(
        "import torch\n\n\n"
        "def build() -> torch.nn.Module:\n"
        "    return torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 8))\n"
    )
    return "isolation_net:build"


def test_isolation_loops_every_layer_and_keeps_the_runs_attribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = _torch_model_module(tmp_path)
    root = tmp_path / "sys-root"
    tree = build_rapl(root, subzones=())
    out = tmp_path / "isolated"
    options = MeasureOptions(
        model=spec, runtime="torch", sensor="rapl", sysfs_root=root, input_shape=((1, 64),), runs=30, warmup=2,
        idle_s=0.2, pause_s=(0.0, 1e-3), counters=False, context=False, isolation=True, isolation_s=0.2,
    )  # fmt: skip
    # The fake counter is written by its own process at its own pace: in a thread it would wait for the
    # interpreter lock behind the loops it measures and publish in bursts on a busy machine.
    with SysfsWriter(tree, {"package-0": Constant(20.0)}, default=Constant(0.0), mode="process") as writer:
        result = measure(options, out)
    assert writer.stats["published"] > 0
    isolated = pd.read_csv(out / "isolated.csv", dtype={"layer": str})
    assert list(isolated["layer"]) == ["0", "1", "2"]
    # A constant 20 W: every layer drew 20 W while it looped (the fake writer may publish late on a busy
    # machine, hence the tolerance), and its energy per call is that power times its time per call.
    # A publication held up by d at an edge of the 0.2 s window moves that window's mean by up to d / 0.2 s:
    # the tolerance follows how late the writer actually published.
    late_s = writer.stats.get("delay_max_us", 0.0) * 1e-6
    assert np.allclose(isolated["power_w"], 20.0, rtol=0.1 + 2 * late_s / 0.2), writer.stats
    assert np.allclose(isolated["energy_j"], isolated["power_w"] * isolated["duration_s"])
    assert (isolated["calls"] > 0).all()
    assert np.allclose(result.layers["isolated_power_w"], isolated["power_w"])
    info = result.run["isolation"]
    assert info["layers"] == 3 and info["measure_s"] == pytest.approx(0.2) and info["file"] == "isolated.csv"
    # The loops ran after the runs and are not taken for idle time between them.
    assert result.attribution is not None and result.attribution.idle_power_w == pytest.approx(20.0, rel=0.2)


def test_isolation_refuses_onnx_runtime_before_anything_is_written(small_onnx: Path, tmp_path: Path) -> None:
    out = tmp_path / "never"
    with pytest.raises(UsageError, match="--runtime torch"):
        measure(_options(small_onnx, sensor="none", isolation=True), out)
    assert not out.exists()


def test_runs_delayed_by_other_work_are_a_finding() -> None:
    """Energies and times are means over the runs: a spread the median hides is a check of its own."""
    from types import SimpleNamespace

    from synergy.measurement.pipeline import _delay_findings

    def findings(durations: list[float]) -> list[str]:
        events = SimpleNamespace(run_duration_s=lambda: np.asarray(durations))
        return [f.code + ": " + f.message for f in _delay_findings(SimpleNamespace(events=events))]  # type: ignore[arg-type]

    assert findings([1e-3] * 10) == []
    assert findings([1e-3] * 3 + [11e-3]) == []  # too few runs to say
    skewed = findings([1e-3] * 9 + [11e-3])
    assert len(skewed) == 1 and skewed[0].startswith("runs-delayed: ") and "2× their median (1 ms)" in skewed[0]
