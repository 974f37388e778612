"""Shape chains ONNX inference cannot follow, incomplete totals, and what counts as a parameter."""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
import torchvision
from onnx import TensorProto, helper, numpy_helper
from torch import nn
from torch.nn import functional as F  # noqa: N812

from synergy.cli import main
from synergy.errors import UnsupportedOpWarning
from synergy.graph.analysis import analyze
from synergy.graph.layers import LayerTable
from synergy.graph.onnx_frontend import analyze_onnx_file

#: torchvision's shufflenet_v2_x1_0 at 1×3×224×224 (FlopCounterMode total / 2; the PyTorch frontend agrees).
SHUFFLENET_MACS = 144_907_992


def _export(model: nn.Module, x: torch.Tensor, path: Path, dynamo: bool = False) -> Path:
    # Without no_grad: under it, nn.MultiheadAttention takes a fast path the TorchScript exporter refuses.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (x,), str(path), dynamo=dynamo)
    return path


@pytest.fixture(scope="module")
def shufflenet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = torchvision.models.shufflenet_v2_x1_0(weights=None)
    return _export(model, torch.randn(1, 3, 224, 224), tmp_path_factory.mktemp("shuffle") / "shufflenet.onnx")


def test_torchscript_shufflenet_has_every_mac_of_the_pytorch_path(shufflenet: Path) -> None:
    # torch.chunk exports as Shape → Gather → Add → Div → Mul → Slice; inference stops at the Div.
    assert analyze("torchvision:shufflenet_v2_x1_0", ((1, 3, 224, 224),)).macs == (SHUFFLENET_MACS)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnsupportedOpWarning)
        table = analyze_onnx_file(shufflenet)
    assert table.macs == SHUFFLENET_MACS
    assert not table.incomplete
    assert table.layers_without_shapes == ()
    conv = [layer for layer in table if layer.op == "Conv"]
    assert len(conv) == 56 and all(layer.output_shapes for layer in conv)
    assert any("shape chains" in note for note in table.meta["notes"])


def test_shufflenet_json_says_the_totals_are_complete(shufflenet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(shufflenet), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["macs"] == SHUFFLENET_MACS
    assert data["incomplete"] is False
    assert data["layers_without_shapes"] == []


def _unshaped_conv(path: Path) -> Path:
    """x → an op ONNX cannot infer → Conv: the Conv's input shape stays unknown."""
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    nodes = [
        helper.make_node("Mystery", ["x"], ["h"], name="/mystery", domain="example.custom"),
        helper.make_node("Conv", ["h", "w"], ["y"], name="/conv/Conv"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[w],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("example.custom", 1)]
    onnx.save(helper.make_model(graph, opset_imports=opsets), path)
    return path


def test_a_layer_without_shapes_makes_the_totals_incomplete(tmp_path: Path) -> None:
    with pytest.warns(UnsupportedOpWarning):
        table = analyze_onnx_file(_unshaped_conv(tmp_path / "m.onnx"))
    assert table.incomplete
    assert table.layers_without_shapes == ("/conv/Conv",)
    data = table.to_dict()
    assert data["incomplete"] is True
    assert data["layers_without_shapes"] == ["/conv/Conv"]
    again = LayerTable.from_dict(json.loads(table.to_json()))
    assert again.layers_without_shapes == ("/conv/Conv",) and again.incomplete


def test_shape_chain_division_truncates_toward_zero(tmp_path: Path) -> None:
    # -6 / 4 is -1 in ONNX (C truncation), not -2 (floor): the reshape gives (1, 1, 24), not (1, 2, 12).
    consts = {
        "four": np.array([4], np.int64),
        "minus_one": np.array([-1], np.int64),
        "zero": np.array([0], np.int64),
        "one": np.array([1], np.int64),
    }
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "one"], ["c"], axis=0),
        helper.make_node("Neg", ["c"], ["neg"]),
        helper.make_node("Div", ["neg", "four"], ["q"]),
        helper.make_node("Neg", ["q"], ["pos"]),
        helper.make_node("Concat", ["one", "pos", "minus_one"], ["shape"], axis=0),
        helper.make_node("Reshape", ["x", "shape"], ["r"]),
        helper.make_node("Slice", ["r", "zero", "pos", "one"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(v, k) for k, v in consts.items()],
    )
    path = tmp_path / "chain.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    table = analyze_onnx_file(path)
    assert table["Slice_7"].output_shapes == ((1, 1, 24),)
    assert not table.incomplete


class _Attention(nn.Module):
    """timm's ViT attention: a Python-float scale, fused scaled-dot-product attention."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        return self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, c))


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.norm1, self.attn, self.norm2 = nn.LayerNorm(dim), _Attention(dim, heads), nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TinyViT(nn.Module):
    """A timm-style ViT (class token, learned position embedding), small enough to export in a second."""

    def __init__(self, image: int = 32, patch: int = 8, dim: int = 48, depth: int = 2, heads: int = 3) -> None:
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (image // patch) ** 2 + 1, dim))
        self.blocks = nn.Sequential(*[_Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1) + self.pos_embed
        return self.head(self.norm(self.blocks(x))[:, 0])


def _trained_like(model: nn.Module) -> nn.Module:
    """Distinct values in every tensor (the exporter merges identical initializers, as fresh LayerNorms are)."""
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.1)
    return model


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_vit_params_are_its_learned_tensors(tmp_path: Path, dynamo: bool) -> None:
    model = _trained_like(TinyViT())
    path = _export(model, torch.randn(1, 3, 32, 32), tmp_path / "vit.onnx", dynamo=dynamo)
    table = analyze_onnx_file(path)
    assert table.params == sum(p.numel() for p in model.parameters())
    assert not table.incomplete


def test_a_single_slope_prelu_is_a_parameter(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.PReLU(num_parameters=1))
    path = _export(_trained_like(model), torch.randn(1, 3, 8, 8), tmp_path / "prelu.onnx")
    assert analyze_onnx_file(path).params == 4 * 27 + 4 + 1


@pytest.mark.slow
def test_torchvision_vit_b_16_counts_its_class_token(tmp_path: Path) -> None:
    model = _trained_like(torchvision.models.vit_b_16(weights=None))
    path = _export(model, torch.randn(1, 3, 224, 224), tmp_path / "vit_b_16.onnx")
    assert analyze_onnx_file(path).params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("op", "inputs", "attrs", "expected"),
    [
        ("Range", [np.array(0), np.array(7), np.array(2)], {}, [0, 2, 4, 6]),
        ("Where", [np.array([True, False]), np.array([1, 2]), np.array([3, 4])], {}, [1, 4]),
        ("Squeeze", [np.array([[5]]), np.array([0])], {}, [5]),
        ("Unsqueeze", [np.array([5, 6]), np.array([0])], {}, [[5, 6]]),
        ("Concat", [np.array([1]), np.array([2, 3])], {"axis": 0}, [1, 2, 3]),
        ("Slice", [np.array([1, 2, 3, 4]), np.array([-3]), np.array([100]), np.array([0])], {}, [2, 3, 4]),
        ("Div", [np.array([7, -7]), np.array([2, 2])], {}, [3, -3]),
        ("Cast", [np.array([1.9])], {"to": TensorProto.INT64}, [1]),
        ("Max", [np.array([1, 5]), np.array([4, 2])], {}, [4, 5]),
    ],
)
def test_shape_chain_ops_evaluate_as_onnx_defines_them(
    op: str, inputs: list[np.ndarray], attrs: dict[str, object], expected: list[object]
) -> None:
    from synergy.graph.onnx_shape_chain import _evaluate

    names = [f"in{i}" for i in range(len(inputs))]
    node = helper.make_node(op, names, ["out"], **attrs)
    (value,) = _evaluate(node, dict(zip(names, inputs, strict=True)), {}, 17) or [None]
    assert value is not None and value.tolist() == expected


def test_a_shape_chain_too_large_to_evaluate_is_left_alone() -> None:
    from synergy.graph.onnx_shape_chain import MAX_ELEMENTS, _evaluate

    node = helper.make_node("ConstantOfShape", ["shape"], ["out"])
    assert _evaluate(node, {"shape": np.array([MAX_ELEMENTS + 1])}, {}, 17) is None
