"""PyTorch frontend: single layers, functional ops, naming, fallbacks, bad specs and shapes."""

from __future__ import annotations

import importlib.util
import math
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

import synergy
from synergy.errors import GraphError, InputShapeError, ModelSpecError, UnsupportedOpWarning
from synergy.graph import formulas as f
from synergy.graph.layers import LayerTable
from synergy.graph.torch_frontend import analyze_module


def _run(module: nn.Module, *shapes: tuple[int, ...], meta: bool = False) -> LayerTable:
    module = module.eval()
    if meta:
        module = module.to("meta")
    return analyze_module(module, shapes, on_meta=meta)


def _both(module_factory: Callable[[], nn.Module], *shapes: tuple[int, ...]) -> LayerTable:
    """Analyse on the CPU and on the meta device; both must agree row for row."""
    cpu = _run(module_factory(), *shapes)
    meta = _run(module_factory(), *shapes, meta=True)
    assert cpu.meta["device"] == "cpu" and meta.meta["device"] == "meta"
    assert [(lay.name, lay.macs, lay.output_shapes) for lay in cpu] == [
        (lay.name, lay.macs, lay.output_shapes) for lay in meta
    ]
    return cpu


def _conv_expected(conv: nn.Conv2d, x: torch.Tensor) -> int:
    out = conv.eval()(x)
    k = conv.kernel_size[0] * conv.kernel_size[1]
    return out.numel() * (conv.in_channels // conv.groups) * k


# --- convolutions -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kernel_size": 3, "padding": 1},
        {"kernel_size": 3, "stride": 2, "padding": 1, "groups": 4},
        {"kernel_size": 3, "dilation": 2, "padding": 2},
        {"kernel_size": (3, 5), "stride": (2, 1), "padding": (0, 2), "dilation": (1, 2)},
        {"kernel_size": 3, "padding": "same", "dilation": 2},
        {"kernel_size": 4, "padding": "same"},
        {"kernel_size": 3, "padding": "valid"},
        {"kernel_size": 3, "padding": 1, "padding_mode": "reflect"},
        {"kernel_size": 3, "padding": 2, "padding_mode": "circular", "bias": False},
        {"kernel_size": 3, "padding": 1, "padding_mode": "replicate", "groups": 8},
    ],
)
def test_conv2d(kwargs: dict[str, object]) -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 16, **kwargs)  # type: ignore[arg-type]
    x = torch.randn(2, 8, 13, 11)
    table = _both(lambda: nn.Conv2d(8, 16, **kwargs), (2, 8, 13, 11))  # type: ignore[arg-type]
    (layer,) = table.layers
    assert layer.op == "Conv" and layer.kind == "Conv2d" and layer.name == "Conv2d"  # a lone module: its class
    assert layer.macs == _conv_expected(conv, x)
    assert layer.params == sum(p.numel() for p in conv.parameters())
    assert layer.output_shapes == (tuple(conv(x).shape),)
    assert layer.weight_bytes == 4 * layer.params
    assert layer.input_bytes == 4 * x.numel()


def test_depthwise_and_pointwise() -> None:
    model = nn.Sequential(nn.Conv2d(32, 64, 3, padding=1, groups=32, bias=False), nn.Conv2d(64, 24, 1))
    table = _both(lambda: model, (1, 32, 20, 20))
    dw, pw = table.layers
    assert (dw.name, pw.name) == ("0", "1")
    assert dw.macs == 64 * 20 * 20 * 3 * 3  # Cout·H·W·k·k, one input channel per group
    assert pw.macs == 24 * 20 * 20 * 64


def test_conv1d_and_conv3d() -> None:
    table = _both(lambda: nn.Conv1d(4, 6, 3, stride=2), (2, 4, 17))
    assert table.macs == 2 * 6 * 8 * 4 * 3
    table = _both(lambda: nn.Conv3d(2, 4, (1, 3, 3), padding=(0, 1, 1)), (1, 2, 5, 6, 6))
    assert table.macs == 4 * 5 * 6 * 6 * 2 * 9


@pytest.mark.parametrize(
    ("kwargs", "shape"),
    [
        ({"kernel_size": 4, "stride": 2, "padding": 1}, (1, 8, 7, 7)),
        ({"kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1, "groups": 4}, (2, 8, 5, 6)),
        ({"kernel_size": 3, "stride": 3, "dilation": 2, "bias": False}, (1, 8, 4, 4)),
    ],
)
def test_conv_transpose(kwargs: dict[str, object], shape: tuple[int, ...]) -> None:
    conv = nn.ConvTranspose2d(8, 12, **kwargs)  # type: ignore[arg-type]
    (layer,) = _both(lambda: nn.ConvTranspose2d(8, 12, **kwargs), shape).layers  # type: ignore[arg-type]
    groups = int(kwargs.get("groups", 1))  # type: ignore[call-overload]
    k = int(kwargs["kernel_size"]) ** 2  # type: ignore[call-overload]
    assert layer.op == "ConvTranspose"
    assert layer.macs == math.prod(shape) * (12 // groups) * k  # input-centric
    assert layer.output_shapes == (tuple(conv(torch.randn(shape)).shape),)


# --- linear, matmul, attention -----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 32), (2, 7, 32), (2, 3, 4, 32)])
def test_linear_any_rank(shape: tuple[int, ...]) -> None:
    (layer,) = _both(lambda: nn.Linear(32, 10), shape).layers
    assert layer.op == "Linear"
    assert layer.macs == math.prod(shape[:-1]) * 32 * 10
    assert layer.params == 32 * 10 + 10
    assert layer.output_shapes == ((*shape[:-1], 10),)


class _MatMul(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.matmul(a, b)


class _Bmm(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.bmm(a, b)


def test_matmul_broadcast_and_bmm() -> None:
    table = _both(_MatMul, (2, 3, 4, 5), (5, 6))
    assert table.macs == 2 * 3 * 4 * 6 * 5
    assert {lay.op for lay in table} == {"MatMul"} or "MatMul" in {lay.op for lay in table}
    table = _both(_MatMul, (2, 1, 4, 5), (3, 5, 7))
    assert table.macs == 2 * 3 * 4 * 7 * 5
    table = _both(_Bmm, (3, 4, 5), (3, 5, 2))
    (layer,) = table.layers
    assert (layer.name, layer.op, layer.macs) == ("_Bmm", "MatMul", 3 * 4 * 2 * 5)  # a lone module: its class


class _Sdpa(nn.Module):
    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v)


def test_sdpa_functional() -> None:
    q, k, v = (2, 4, 10, 16), (2, 4, 12, 16), (2, 4, 12, 8)
    expected = f.attention_macs(q, k, v)
    for table in (_run(_Sdpa(), q, k, v), _run(_Sdpa(), q, k, v, meta=True)):
        assert table.macs == expected
        assert not table.unsupported_ops


@pytest.mark.parametrize("batch_first", [True, False])
def test_multihead_attention(batch_first: bool) -> None:
    embed, heads, seq, batch = 32, 4, 9, 2

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = nn.MultiheadAttention(embed, heads, batch_first=batch_first)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.attn(x, x, x, need_weights=False)[0]

    shape = (batch, seq, embed) if batch_first else (seq, batch, embed)
    table = _both(Block, shape)
    (layer,) = table.layers
    assert (layer.name, layer.op, layer.kind) == ("attn", "Attention", "MultiheadAttention")
    projections = 4 * batch * seq * embed * embed
    assert layer.macs == projections + 2 * batch * seq * seq * embed
    assert layer.params == 4 * embed * embed + 4 * embed


# --- pooling -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pool", "kernel"),
    [
        (nn.MaxPool2d(3, 2), 9),
        (nn.MaxPool2d(3, 2, ceil_mode=True), 9),
        (nn.MaxPool2d(2, 2, padding=1, ceil_mode=True), 4),
        (nn.AvgPool2d(3, 2, padding=1, ceil_mode=True), 9),
        (nn.AvgPool2d((2, 3)), 6),
        (nn.MaxPool1d(3, 2, ceil_mode=True), 3),
    ],
)
def test_window_pooling(pool: nn.Module, kernel: int) -> None:
    shape = (1, 8, 10) if isinstance(pool, nn.MaxPool1d) else (1, 8, 10, 11)
    out = pool(torch.randn(shape))
    (layer,) = _both(lambda: pool, shape).layers
    assert layer.macs == 0
    assert layer.output_shapes == (tuple(out.shape),)
    per_window = kernel - 1 if "Max" in type(pool).__name__ else kernel
    assert layer.flops_pooling == out.numel() * per_window
    assert layer.category == "pooling"


@pytest.mark.parametrize("pool", [nn.AdaptiveAvgPool2d((3, 3)), nn.AdaptiveAvgPool2d(1), nn.AdaptiveMaxPool2d((2, 4))])
def test_adaptive_pooling(pool: nn.Module) -> None:
    shape = (2, 8, 7, 9)
    out = pool(torch.randn(shape))
    (layer,) = _both(lambda: pool, shape).layers
    kind = "max" if "Max" in type(pool).__name__ else "avg"
    assert layer.op == ("AdaptiveMaxPool" if kind == "max" else "AdaptiveAvgPool")
    assert layer.output_shapes == (tuple(out.shape),)
    assert layer.flops_pooling == f.adaptive_pool_flops(shape, tuple(out.shape), kind)
    assert layer.flops_elementwise == 0


# --- functional ops, naming, extra FLOPs --------------------------------------------------------------------


class _Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.conv(x))
        return self.act(x + y)


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = _Block()
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        z = torch.cat([y, F.relu(x)], dim=1)
        z = self.bn(z)
        return z * 2 + 1


def test_functional_rows_and_names() -> None:
    table = _both(_Net, (1, 4, 6, 6))
    names = [(lay.name, lay.op, lay.kind, lay.module) for lay in table]
    assert names == [
        ("block.conv", "Conv", "Conv2d", "block"),
        ("block.act", "Relu", "ReLU", "block"),
        ("block.add", "Add", "aten.add", "block"),
        ("block.act#2", "Relu", "ReLU", "block"),
        ("relu", "Relu", "aten.relu", ""),
        ("concat", "Concat", "aten.cat", ""),
        ("bn", "BatchNorm", "BatchNorm2d", ""),
        ("mul", "Mul", "aten.mul", ""),
        ("add", "Add", "aten.add", ""),
    ]
    rows = {lay.name: lay for lay in table}
    assert rows["block.add"].flops_elementwise == 4 * 36
    assert rows["block.add"].input_shapes == ((1, 4, 6, 6), (1, 4, 6, 6))
    assert rows["relu"].flops_activation == 4 * 36
    assert rows["concat"].output_shapes == ((1, 8, 6, 6),)
    assert rows["concat"].extra_flops == 0
    assert rows["bn"].flops_norm == 2 * 8 * 36 and rows["bn"].macs == 0
    assert rows["bn"].weight_bytes == 4 * 4 * 8  # weight, bias, running mean and variance
    assert rows["bn"].params == 16
    assert table.params == sum(p.numel() for p in _Net().parameters())
    assert not table.unsupported_ops


def test_extra_flops_of_norms_and_activations() -> None:
    model = nn.Sequential(
        nn.LayerNorm(16), nn.GELU(), nn.Hardswish(), nn.SiLU(), nn.Softmax(-1), nn.GroupNorm(3, 6), nn.Sigmoid()
    )
    table = _run(model[:5], (2, 3, 16))
    ln, gelu, hswish, silu, softmax = table.layers
    n = 2 * 3 * 16
    assert (ln.op, ln.flops_norm) == ("LayerNorm", 5 * n)
    assert (gelu.op, gelu.flops_activation) == ("Gelu", n)
    assert (hswish.op, hswish.flops_activation) == ("HardSwish", n)
    assert (silu.op, silu.flops_activation) == ("Silu", n)
    assert (softmax.op, softmax.flops_activation) == ("Softmax", 6 * (3 * 16 - 1))
    gn, sigmoid = _run(model[5:], (2, 6, 4, 4)).layers
    assert (gn.op, gn.flops_norm) == ("GroupNorm", 5 * 2 * 6 * 16)
    assert (sigmoid.op, sigmoid.flops_activation) == ("Sigmoid", 2 * 6 * 16)


def test_shared_weights_counted_once() -> None:
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(8, 8)
            self.b = nn.Linear(8, 8)
            self.b.weight = self.a.weight

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.b(self.a(x))

    table = _run(Tied(), (1, 8))
    assert [lay.params for lay in table] == [72, 72]
    assert table.params == 64 + 8 + 8


def test_unknown_leaf_takes_op_of_its_work() -> None:
    class Scale(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(4, 4))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x @ self.w

    class Permute(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.permute(1, 0)

    table = _run(nn.Sequential(Scale(), Permute(), nn.Identity()), (3, 4))
    assert [(lay.op, lay.kind) for lay in table] == [
        ("MatMul", "Scale"),
        ("Transpose", "Permute"),
        ("Identity", "Identity"),
    ]
    assert table.layers[0].macs == 3 * 4 * 4


def test_unsupported_op_is_reported_not_zeroed() -> None:
    class Sorts(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.sort(x, dim=-1).values + 1

    with pytest.warns(UnsupportedOpWarning, match=r"aten\.sort"):
        table = _run(Sorts(), (2, 5))
    assert table.unsupported_ops == ("aten.sort",)
    assert table["Sorts"].unsupported == ("aten.sort",)
    assert table.to_dict()["unsupported_ops"] == ["aten.sort"]


def test_meta_failure_falls_back_to_cpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "datadep_net.py").write_text(
        textwrap.dedent(
            """
            import torch
            from torch import nn

            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 8, 3)

                def forward(self, x):
                    y = self.conv(x)
                    if y.sum() > -1e30:  # data-dependent: impossible on the meta device
                        y = y + 1
                    return y

            def build():
                return Net()
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "datadep_net", raising=False)
    table = synergy.analyze("datadep_net:build", [(1, 3, 10, 10)])
    assert table.meta["device"] == "cpu"
    assert table["conv"].macs == 8 * 8 * 8 * 3 * 9
    assert [lay.name for lay in table] == ["conv", "reducesum", "gt", "add"]


# --- MODEL specs -------------------------------------------------------------------------------------------


def test_callable_spec_from_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_nets.py").write_text(
        textwrap.dedent(
            """
            from torch import nn

            def small():
                return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))

            class Declared(nn.Module):
                input_shape = (1, 3, 8, 8)

                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 5, 1)

                def forward(self, x):
                    return self.conv(x)

            instance = nn.Linear(3, 2)
            not_callable = 42

            def not_a_module():
                return "hello"

            def broken():
                raise RuntimeError("no weights here")
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "my_nets", raising=False)
    table = synergy.analyze("my_nets:Declared")
    assert table.input_shapes == ((1, 3, 8, 8),)
    assert table["conv"].macs == 5 * 64 * 3
    table = synergy.analyze("my_nets:instance", [(4, 3)])
    assert table.macs == 4 * 3 * 2 and table.meta["device"] == "cpu"
    with pytest.raises(ModelSpecError, match="not a callable"):
        synergy.analyze("my_nets:not_callable")
    with pytest.raises(ModelSpecError, match=r"returned a str, not a torch\.nn\.Module"):
        synergy.analyze("my_nets:not_a_module")
    with pytest.raises(ModelSpecError, match="no weights here"):
        synergy.analyze("my_nets:broken")
    with pytest.raises(ModelSpecError, match="did you mean small"):
        synergy.analyze("my_nets:smal")
    with pytest.raises(ModelSpecError, match="no module named 'no_such_module_xyz'"):
        synergy.analyze("no_such_module_xyz:build")


def test_import_error_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad_syntax_net.py").write_text("def build(:\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelSpecError, match="SyntaxError") as info:
        synergy.analyze("bad_syntax_net:build")
    assert "\n" not in str(info.value)


def test_unknown_torchvision_name_lists_close_matches() -> None:
    with pytest.raises(ModelSpecError, match=r"unknown torchvision model 'resnet19'.*resnet18"):
        synergy.analyze("torchvision:resnet19")


def test_nb201_without_builder_is_a_spec_error() -> None:
    if importlib.util.find_spec("synergy.graph.nb201") is not None:
        pytest.skip("the NAS-Bench-201 builder is installed")
    with pytest.raises(ModelSpecError, match="NAS-Bench-201"):
        synergy.analyze("nb201:|nor_conv_3x3~0|")


@pytest.mark.parametrize(
    ("shape", "words"),
    [
        ((1, 3, 2, 2), r"1,3,2,2 .*2x2 input to layer conv1 is smaller than that layer's 7x7 window"),
        ((1, 4, 224, 224), "layer conv1 .*expects 3 input channels"),
        ((3, 224, 224), "3,224,224"),
        ((1, 3, 224), "1,3,224"),
    ],
)
def test_impossible_shape_is_input_shape_error(shape: tuple[int, ...], words: str) -> None:
    with pytest.raises(InputShapeError, match=words) as info:
        synergy.analyze("torchvision:resnet18", [shape])
    message = str(info.value)
    assert "\n" not in message
    assert "1,3,224,224" in message  # what the model expects


def test_wrong_image_size_for_vit() -> None:
    with pytest.raises(InputShapeError, match="Wrong image height"):
        synergy.analyze("torchvision:vit_b_32", [(1, 3, 160, 160)])


def test_other_input_size_is_fine() -> None:
    table = synergy.analyze("torchvision:resnet18", [(2, 3, 160, 128)])
    assert table.input_shapes == ((2, 3, 160, 128),)
    assert table["conv1"].output_shapes == ((2, 64, 80, 64),)


def test_unexpected_failure_is_a_graph_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from synergy.graph import torch_frontend

    def explode(*args: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(torch_frontend, "_table", explode)
    with pytest.raises(GraphError, match="analysis of torchvision:alexnet failed: KeyError"):
        synergy.analyze("torchvision:alexnet")


def test_registered_handler_counts_a_new_op(monkeypatch: pytest.MonkeyPatch) -> None:
    from synergy.graph import torch_ops

    class Sorts(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.sort(x, dim=-1).values

    monkeypatch.setattr(torch_ops, "HANDLERS", dict(torch_ops.HANDLERS))
    monkeypatch.setattr("synergy.graph.torch_frontend.HANDLERS", torch_ops.HANDLERS)

    @torch_ops.register_op("aten.sort")
    def _sort(args: object, kwargs: object, out: object) -> torch_ops.OpCost:
        return torch_ops.OpCost(elementwise=7)

    table = _run(Sorts(), (2, 5))
    assert not table.unsupported_ops
    assert table.layers[0].flops_elementwise == 7


def test_failing_handler_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    from synergy.graph import torch_ops

    def broken(args: object, kwargs: object, out: object) -> torch_ops.OpCost:
        raise ZeroDivisionError("oops")

    handlers = dict(torch_ops.HANDLERS, **{"aten.addmm": broken})
    monkeypatch.setattr("synergy.graph.torch_frontend.HANDLERS", handlers)
    with pytest.warns(UnsupportedOpWarning, match=r"aten\.addmm .*handler failed: ZeroDivisionError: oops"):
        table = _run(nn.Linear(4, 3), (2, 4))
    assert table.unsupported_ops == ("aten.addmm",)


def test_wrong_number_of_inputs() -> None:
    with pytest.raises(InputShapeError, match="positional argument"):
        synergy.analyze("torchvision:alexnet", [(1, 3, 224, 224), (1, 3, 224, 224)])


def test_small_maps_deep_inside_are_fine() -> None:
    # a CIFAR-style stage: 3x3 convolutions on a 2x2 map after downsampling are a design, not an error
    model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=4, padding=1), nn.Conv2d(8, 8, 3, padding=1))
    table = _run(model, (1, 3, 8, 8))
    assert table.layers[1].input_shapes == ((1, 8, 2, 2),)
    with pytest.raises(InputShapeError, match="smaller than that layer's 3x3 window"):
        _run(model, (1, 3, 2, 2))
