"""PyTorch eager runtime: leaf-module marks on the monotonic clock."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

import synergy
from synergy.alignment.events import LayerEvents
from synergy.errors import InputShapeError
from synergy.graph.leaves import leaf_modules
from synergy.graph.resolve import resolve_model
from synergy.runtime.base import MeasureSettings
from synergy.runtime.torch_eager import TorchEagerRuntime


class _Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3)
        self.act = torch.nn.ReLU()
        self.head = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8 * 14 * 14, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.conv(x))
        return self.head(self.act(y + 1))


def test_leaf_modules_are_marked_in_order() -> None:
    runtime = TorchEagerRuntime(_Net(), (1, 3, 16, 16))
    records = runtime.measure(MeasureSettings(runs=3, warmup=1, pause_s=(0.0, 0.0)))
    # A module called twice in one inference is two layers, named as the analysis names them.
    assert runtime.layers == ("conv", "act", "act#2", "head.0", "head.1")
    events = LayerEvents.from_runs(runtime.layers, records)
    assert events.n_runs == 3
    first = events.to_frame().query("run == 0")
    assert list(first["name"]) == ["conv", "act", "act#2", "head.0", "head.1"]
    assert (first["duration_s"] > 0).all()
    assert events.duration_matrix_s().shape == (3, 5)
    assert runtime.describe()["marks"].startswith("clock read around")
    model = runtime.model
    runtime.close()
    # Every module has its class's forward back, and the model runs unmarked.
    assert all("forward" not in vars(m) for m in model.modules())
    marks = len(runtime._marks)
    model(runtime.input)
    assert len(runtime._marks) == marks


def test_marks_bracket_the_forward_itself() -> None:
    import torch

    from synergy.clock import now_ns

    inside: list[tuple[int, int]] = []

    class _Stamp(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            start = now_ns()
            y = x * 2
            inside.append((start, now_ns()))
            return y

    class _Two(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = _Stamp()
            self.b = _Stamp()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.b(self.a(x))  # type: ignore[no-any-return]

    runtime = TorchEagerRuntime(_Two(), (1, 4))
    inside.clear()
    record = runtime.run_once()
    assert len(inside) == 2
    for (start, end), mark_start, mark_end in zip(inside, record.layer_start_ns, record.layer_end_ns, strict=True):
        assert mark_start <= start and end <= mark_end
        # only the wrapper's own call lies between the marks and the work (no hook dispatch)
        assert (start - mark_start) + (mark_end - end) < 2_000_000
    assert record.start_ns <= record.layer_start_ns[0] and record.layer_end_ns[-1] <= record.end_ns
    runtime.close()


def test_counters_are_read_at_layer_boundaries() -> None:
    from synergy.runtime.counters import PerfCounters

    with PerfCounters() as counters:
        if not counters.names:
            return  # no perf_event_open here: the runtime runs without counters (covered above)
        runtime = TorchEagerRuntime(_Net(), (1, 3, 16, 16), counters=counters)
        records = runtime.measure(MeasureSettings(runs=2, warmup=1, pause_s=(0.0, 0.0)))
        for record in records:
            assert len(record.layer_counters) == len(record.layer_index)
            assert all(len(c) == len(counters.names) for c in record.layer_counters)
            assert len(record.counters) == len(counters.names)
            # The layers' increments are part of the inference's.
            clock = counters.names.index("task_clock_ns") if "task_clock_ns" in counters.names else 0
            assert sum(c[clock] for c in record.layer_counters) <= record.counters[clock]
        runtime.close()


class _Attention(torch.nn.Module):
    """Attention followed by a Linear, plus a head that the forward never calls."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = torch.nn.MultiheadAttention(16, 2, batch_first=True)
        self.proj = torch.nn.Linear(16, 8)
        self.unused = torch.nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.attn(x, x, x, need_weights=False)
        return self.proj(y)


def test_attention_and_linear_are_the_same_layers_as_in_the_analysis() -> None:
    model = _Attention().eval()
    table = synergy.analyze(model, [(1, 4, 16)])
    runtime = TorchEagerRuntime(model, (1, 4, 16))
    try:
        runtime.measure(MeasureSettings(runs=2, warmup=1, pause_s=(0.0, 0.0)))
        # one definition of a layer: the attention (its out_proj is no layer of its own) and the Linear
        assert runtime.layers == ("attn", "proj")
        assert [layer.name for layer in table] == ["attn", "proj"]
        assert table["attn"].op == "Attention" and table["attn"].macs > 0
        # a module never called is reported by both, and is never a measured layer
        assert runtime.uncalled_layers == ("unused",)
        assert table.meta["uncalled_layers"] == ["unused"]
        assert [name for name, _ in leaf_modules(model)] == ["attn", "proj", "unused"]
    finally:
        runtime.close()
    assert all("forward" not in vars(m) for m in model.modules())


def test_a_model_that_is_one_leaf_is_one_layer() -> None:
    model = torch.nn.Conv2d(3, 4, 3)
    runtime = TorchEagerRuntime(model, (1, 3, 8, 8))
    try:
        runtime.run_once()
        assert runtime.layers == ("Conv2d",) and runtime.uncalled_layers == ()
    finally:
        runtime.close()
    assert "forward" not in vars(model)


def test_an_input_that_cannot_fit_is_refused_before_allocation() -> None:
    with pytest.raises(InputShapeError, match=r"input shape 1,3,100000,100000 needs about 111\.8 GiB"):
        TorchEagerRuntime(torch.nn.Conv2d(3, 4, 3), (1, 3, 100000, 100000))


def test_nb201_runs_eagerly_with_the_analysis_layers() -> None:
    model = resolve_model(
        "nb201:|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|,cells=1"
    )
    shapes = model.input_shapes()
    runtime = TorchEagerRuntime(model.build_torch(shapes), shapes[0])
    try:
        runtime.run_once()
        table = synergy.analyze(model, shapes)
        assert set(runtime.layers) == {layer.name for layer in table if not layer.kind.startswith("aten.")}
    finally:
        runtime.close()


def test_a_callable_declaring_its_input_is_measured_without_a_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "declared_net.py").write_text(
        "from torch import nn\n"
        "def build():\n"
        "    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))\n"
        "build.input_shape = (1, 3, 8, 8)\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "declared_net", raising=False)
    model = resolve_model("declared_net:build")
    shapes = model.input_shapes()  # no shape given: the callable's declaration
    runtime = TorchEagerRuntime(model.build_torch(shapes), shapes[0])
    try:
        runtime.measure(MeasureSettings(runs=2, warmup=1, pause_s=(0.0, 0.0)))
        assert runtime.layers == tuple(layer.name for layer in synergy.analyze(model)) == ("0", "1", "2", "3")
    finally:
        runtime.close()
