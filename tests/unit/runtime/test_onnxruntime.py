"""ONNX Runtime: profiler events on the monotonic clock, fused nodes mapped back to the original layers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from synergy.alignment.events import LayerEvents
from synergy.errors import AlignmentError
from synergy.graph.resolve import resolve_model
from synergy.runtime.base import MeasureSettings
from synergy.runtime.onnx_mapping import map_optimized_graph
from synergy.runtime.onnxruntime import OnnxRuntime, calibrate_profiler_clock, parse_profile


@pytest.fixture(scope="module")
def resnet18_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = resolve_model("torchvision:resnet18")
    return model.export_onnx(model.input_shapes(), tmp_path_factory.mktemp("export") / "resnet18.onnx")


@pytest.fixture(scope="module")
def measured(resnet18_onnx: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[OnnxRuntime, LayerEvents]:
    runtime = OnnxRuntime(resnet18_onnx, tmp_path_factory.mktemp("work"), threads=1)
    records = runtime.measure(MeasureSettings(runs=4, warmup=2, pause_s=(0.0, 1e-3)))
    return runtime, LayerEvents.from_runs(runtime.layers, records)


def test_export_never_reuses_a_file_by_its_name(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"another model's export")
    model = resolve_model("synergy.zoo.cifar:nin")
    assert model.export_onnx(model.input_shapes(), path) == path
    graph = onnx.load(str(path)).graph
    assert graph.input[0].type.tensor_type.shape.dim[3].dim_value == 32 and len(graph.node) > 10


def test_resnet18_fusions_map_back_to_every_original_node(measured: tuple[OnnxRuntime, LayerEvents]) -> None:
    runtime, _ = measured
    assert runtime.mapping is not None
    original = onnx.load(str(runtime.model_path))
    compute = {n.name for n in original.graph.node if n.op_type != "Identity"}
    owned = {name for members in runtime.contains.values() for name in members}
    assert owned == compute
    assert runtime.mapping.unmapped == ()
    assert runtime.contains["/conv1/Conv"] == ("/conv1/Conv", "/relu/Relu")
    assert runtime.contains["/layer1/layer1.0/conv2/Conv"] == (
        "/layer1/layer1.0/conv2/Conv",
        "/layer1/layer1.0/Add",
        "/layer1/layer1.0/relu_1/Relu",
    )
    assert runtime.contains["/fc/Gemm"] == ("/fc/Gemm",)
    assert len(runtime.layers) == 25


def test_events_lie_inside_their_runs(measured: tuple[OnnxRuntime, LayerEvents]) -> None:
    runtime, events = measured
    assert events.n_runs == 4
    assert runtime.calibration is not None and runtime.calibration.residual_ns <= 100_000
    for run in range(events.n_runs):
        mine = events.run == run
        assert np.all(events.start_ns[mine] >= events.run_start_ns[run] - runtime.calibration.residual_ns)
        assert np.all(events.end_ns[mine] <= events.run_end_ns[run] + runtime.calibration.residual_ns)
        assert np.all(np.diff(events.start_ns[mine]) >= 0)
    conv_layers = [i for i, n in enumerate(events.layers) if n.endswith("Conv")]
    assert set(conv_layers) <= set(events.layer.tolist())


def test_unoptimised_graph_maps_one_to_one(resnet18_onnx: Path, tmp_path: Path) -> None:
    runtime = OnnxRuntime(resnet18_onnx, tmp_path, optimization="disable")
    # Every node is its own layer; Identity nodes on weights still run but hold no analysis layer.
    assert all(v == (k,) for k, v in runtime.contains.items() if not k.startswith("Identity"))
    assert sum(1 for v in runtime.contains.values() if v) == 49
    runtime.close()


def test_mapping_reports_folded_constant_nodes(resnet18_onnx: Path, measured: tuple[OnnxRuntime, LayerEvents]) -> None:
    runtime, _ = measured
    mapping = map_optimized_graph(onnx.load(str(resnet18_onnx)), onnx.load(str(runtime.work_dir / "optimized.onnx")))
    assert len(mapping.folded) == 16
    assert all(name.startswith("Identity") for name in mapping.folded)


def test_calibration_uses_start_time_inside_brackets() -> None:
    offset = 5_000_000.0
    ts = np.array([100.0, 2_000.0, 4_000.0])
    dur = np.array([1_000.0, 1_000.0, 1_000.0])
    before = offset + ts * 1e3 - 40_000
    after = offset + (ts + dur) * 1e3 + 30_000
    cal = calibrate_profiler_clock(before, after, ts, dur, start_ns=offset)
    assert cal.method.startswith("start time") and cal.offset_ns == offset + 500
    cal = calibrate_profiler_clock(before, after, ts, dur, start_ns=offset + 1e6)
    assert cal.method == "brackets"
    assert abs(cal.offset_ns - offset) <= cal.residual_ns


def test_calibration_fits_drift_when_brackets_disagree() -> None:
    ts = np.linspace(0, 1e6, 50)
    dur = np.full(50, 100.0)
    true = 1e9 + ts * 1e3 * (1 + 1e-4)
    cal = calibrate_profiler_clock(true - 10, true + dur * 1e3 + 10, ts, dur)
    assert cal.method == "least-squares"
    assert abs(cal.drift - 1e-4) < 1e-6


def test_calibration_refuses_mismatched_runs() -> None:
    with pytest.raises(AlignmentError):
        calibrate_profiler_clock([1], [2, 3], [0], [1])


def test_parse_profile_groups_nodes_by_run() -> None:
    events = [
        {"cat": "Session", "name": "model_run", "ts": 100, "dur": 50},
        {"cat": "Node", "name": "a_kernel_time", "ts": 110, "dur": 10},
        {"cat": "Node", "name": "b_kernel_time", "ts": 125, "dur": 10},
        {"cat": "Node", "name": "a_fence_before", "ts": 109, "dur": 0},
        {"cat": "Session", "name": "model_run", "ts": 200, "dur": 50},
        {"cat": "Node", "name": "a_kernel_time", "ts": 210, "dur": 10},
    ]
    runs = parse_profile(events)
    assert [r.node for r in runs] == [("a", "b"), ("a",)]
    assert runs[0].node_ts_us == (110, 125)
