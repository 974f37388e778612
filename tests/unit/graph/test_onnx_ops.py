"""Single-node ONNX graphs: shapes against ONNX Runtime, counts against hand-computed formulas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_builders import ort_output_shapes, single_node_model

from synergy.errors import InputShapeError, UnsupportedOpWarning
from synergy.graph.layers import Layer
from synergy.graph.onnx_frontend import analyze_onnx_file
from synergy.graph.onnx_ops import einsum_cost


def _only(path: Path, shapes: tuple[tuple[int, ...], ...] | None = None) -> Layer:
    table = analyze_onnx_file(path, shapes)
    assert len(table) == 1
    return table.layers[0]


def _check_against_ort(path: Path, layer: Layer, shapes: list[tuple[int, ...]]) -> None:
    assert list(layer.output_shapes[:1]) == ort_output_shapes(path, shapes)[:1]


@pytest.mark.parametrize(
    ("x", "w", "attrs", "out_hw"),
    [
        # group 2, dilation 2, stride 2, asymmetric pads: H=(17+2-4-1)//2+1=8, W=(19+4-4-1)//2+1=10
        (
            (1, 4, 17, 19),
            (6, 2, 3, 3),
            {"group": 2, "dilations": [2, 2], "strides": [2, 2], "pads": [1, 2, 1, 2]},
            (8, 10),
        ),
        ((1, 3, 15, 15), (8, 3, 3, 3), {"strides": [2, 2], "auto_pad": "SAME_UPPER"}, (8, 8)),
        ((1, 3, 15, 16), (8, 3, 4, 4), {"strides": [2, 2], "auto_pad": "SAME_LOWER"}, (8, 8)),
        ((1, 3, 15, 15), (8, 3, 3, 3), {"auto_pad": "VALID"}, (13, 13)),
        # depthwise: group = Cin, multiplier 2
        ((2, 8, 10, 10), (16, 1, 3, 3), {"group": 8, "pads": [1, 1, 1, 1]}, (10, 10)),
    ],
)
def test_conv(
    tmp_path: Path, x: tuple[int, ...], w: tuple[int, ...], attrs: dict[str, object], out_hw: tuple[int, int]
) -> None:
    path = single_node_model(tmp_path / "conv.onnx", "Conv", {"x": x}, {"w": w, "b": (w[0],)}, **attrs)
    layer = _only(path)
    out = (x[0], w[0], *out_hw)
    assert layer.output_shapes == (out,)
    _check_against_ort(path, layer, [x])
    assert layer.op == "Conv" and layer.kind == "Conv"
    assert layer.macs == int(np.prod(out)) * w[1] * w[2] * w[3]
    assert layer.params == int(np.prod(w)) + w[0]
    assert layer.weight_bytes == 4 * layer.params
    assert layer.input_bytes == 4 * int(np.prod(x))
    assert layer.output_bytes == 4 * int(np.prod(out))
    assert layer.flops_elementwise == 0  # bias adds are not counted, as in the PyTorch frontend
    assert layer.input_shapes == (x,)


def test_conv_transpose_groups_output_padding(tmp_path: Path) -> None:
    x, w = (1, 4, 5, 5), (4, 3, 3, 3)  # Cin 4, groups 2 → Cout 6
    path = single_node_model(
        tmp_path / "ct.onnx",
        "ConvTranspose",
        {"x": x},
        {"w": w, "b": (6,)},
        group=2,
        strides=[2, 2],
        output_padding=[1, 1],
    )
    layer = _only(path)
    assert layer.output_shapes == ((1, 6, 12, 12),)  # (5-1)·2 + 3 + 1
    _check_against_ort(path, layer, [x])
    assert layer.macs == 100 * 3 * 9  # input-centric: numel(X)·Cout/g·k·k
    assert layer.params == 4 * 3 * 9 + 6
    assert layer.op == "ConvTranspose"


def test_gemm_transposes_and_bias(tmp_path: Path) -> None:
    path = single_node_model(
        tmp_path / "gemm.onnx", "Gemm", {"a": (5, 3)}, {"b": (4, 5), "c": (4,)}, transA=1, transB=1
    )
    layer = _only(path)
    assert layer.output_shapes == ((3, 4),)
    _check_against_ort(path, layer, [(5, 3)])
    assert (layer.op, layer.kind) == ("Linear", "Gemm")
    assert layer.macs == 3 * 4 * 5
    assert layer.params == 24
    assert layer.flops_elementwise == 0  # the β·C add, like PyTorch's addmm bias, is not counted


@pytest.mark.parametrize(
    ("a", "b", "out", "inner"),
    [
        ((2, 1, 5, 7), (3, 7, 6), (2, 3, 5, 6), 7),  # 4-D × 3-D broadcast
        ((4, 5, 7), (7, 6), (4, 5, 6), 7),  # a linear layer on 3-D input
        ((7,), (4, 7, 6), (4, 6), 7),  # 1-D × batched
    ],
)
def test_matmul_broadcast(
    tmp_path: Path, a: tuple[int, ...], b: tuple[int, ...], out: tuple[int, ...], inner: int
) -> None:
    path = single_node_model(tmp_path / "mm.onnx", "MatMul", {"a": a, "b": b})
    layer = _only(path)
    assert layer.output_shapes == (out,)
    _check_against_ort(path, layer, [a, b])
    assert layer.macs == int(np.prod(out)) * inner
    assert layer.params == 0


def test_matmul_with_weight_is_a_parameterised_layer(tmp_path: Path) -> None:
    path = single_node_model(tmp_path / "mm.onnx", "MatMul", {"a": (2, 9, 7)}, {"w": (7, 5)})
    layer = _only(path)
    assert layer.macs == 2 * 9 * 5 * 7
    assert layer.params == 35
    assert layer.input_shapes == ((2, 9, 7),)


@pytest.mark.parametrize(
    ("op_type", "attrs", "out_hw", "flops_per_output"),
    [
        ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}, (5, 5), 8),
        ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2]}, (4, 4), 8),
        ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}, (5, 5), 9),
        ("AveragePool", {"kernel_shape": [2, 2], "strides": [2, 2], "pads": [1, 1, 1, 1]}, (6, 6), 4),
    ],
)
def test_pooling(
    tmp_path: Path, op_type: str, attrs: dict[str, object], out_hw: tuple[int, int], flops_per_output: int
) -> None:
    x = (1, 2, 10, 10)
    path = single_node_model(tmp_path / "pool.onnx", op_type, {"x": x}, **attrs)
    layer = _only(path)
    assert layer.output_shapes == ((1, 2, *out_hw),)
    _check_against_ort(path, layer, [x])
    assert layer.op == op_type and layer.category == "pooling"
    assert layer.macs == 0
    assert layer.flops_pooling == 2 * out_hw[0] * out_hw[1] * flops_per_output


def test_global_average_pool(tmp_path: Path) -> None:
    path = single_node_model(tmp_path / "gap.onnx", "GlobalAveragePool", {"x": (1, 4, 7, 7)})
    layer = _only(path)
    assert layer.output_shapes == ((1, 4, 1, 1),)
    assert layer.flops_pooling == 4 * 49 + 4  # adds plus one divide per output, as adaptive_avg_pool2d


def test_reduce_mean_over_space_counts_like_global_average_pool(tmp_path: Path) -> None:
    path = tmp_path / "rm.onnx"
    axes = numpy_helper.from_array(np.array([-1, -2], dtype=np.int64), "axes")
    node = helper.make_node("ReduceMean", ["x", "axes"], ["y"], name="mean", keepdims=1)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 7, 7])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[axes],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    layer = _only(path)
    assert layer.output_shapes == ((1, 4, 1, 1),)
    assert layer.flops_pooling == 4 * 49 + 4
    assert layer.weight_bytes == 0 and layer.params == 0  # the int64 axes are not weights


def test_standalone_batch_norm(tmp_path: Path) -> None:
    x = (1, 4, 5, 5)
    path = single_node_model(
        tmp_path / "bn.onnx",
        "BatchNormalization",
        {"x": x},
        {"scale": (4,), "bias": (4,), "mean": (4,), "var": (4,)},
    )
    layer = _only(path)
    assert (layer.op, layer.kind, layer.category) == ("BatchNorm", "BatchNormalization", "norm")
    assert layer.macs == 0  # torchvision convention: only conv/linear/matmul/attention are MACs
    assert layer.flops_norm == 2 * 100  # x·a_c + b_c: one multiply-add per element
    assert layer.params == 8  # scale and bias; the running statistics are buffers
    assert layer.weight_bytes == 16 * 4  # but all four are read


def test_clip_zero_six_is_relu6(tmp_path: Path) -> None:
    path = tmp_path / "clip.onnx"
    node = helper.make_node("Clip", ["x", "lo", "hi"], ["y"], name="clip")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[
            numpy_helper.from_array(np.array(0.0, dtype=np.float32), "lo"),
            numpy_helper.from_array(np.array(6.0, dtype=np.float32), "hi"),
        ],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    layer = _only(path)
    assert (layer.op, layer.kind, layer.category) == ("Relu6", "Clip", "activation")
    assert layer.flops_activation == 8
    assert layer.params == 0  # scalar bounds are not parameters


def test_einsum(tmp_path: Path) -> None:
    path = single_node_model(tmp_path / "e.onnx", "Einsum", {"a": (2, 3, 5), "b": (2, 5, 4)}, equation="bij,bjk->bik")
    layer = _only(path)
    assert (layer.op, layer.kind) == ("MatMul", "Einsum")
    assert layer.macs == 2 * 3 * 5 * 4


def test_einsum_cost_forms() -> None:
    assert einsum_cost("...ij,...jk->...ik", [(7, 2, 3), (7, 3, 4)]) == (7 * 2 * 3 * 4, 0)
    assert einsum_cost("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]) == (2 * 3 * 4 + 2 * 4 * 5, 0)
    assert einsum_cost("ii->i", [(3, 3)])[0] == 0
    assert einsum_cost("ij->", [(3, 4)]) == (0, 11)


def test_attention_opset_23(tmp_path: Path) -> None:
    q, k, v = (2, 4, 10, 16), (2, 4, 12, 16), (2, 4, 12, 8)
    path = single_node_model(tmp_path / "att.onnx", "Attention", {"q": q, "k": k, "v": v}, opset=23)
    layer = _only(path)
    assert layer.op == "Attention" and layer.category == "fc"
    assert layer.output_shapes[0] == (2, 4, 10, 8)
    assert layer.macs == 2 * 4 * 10 * 12 * (16 + 8)


def test_attention_3d_inputs_with_heads(tmp_path: Path) -> None:
    q, k, v = (2, 10, 64), (2, 12, 64), (2, 12, 64)
    path = single_node_model(
        tmp_path / "att.onnx", "Attention", {"q": q, "k": k, "v": v}, opset=23, q_num_heads=4, kv_num_heads=4
    )
    layer = _only(path)
    assert layer.macs == 2 * 4 * 10 * 12 * (16 + 16)


def test_lstm(tmp_path: Path) -> None:
    seq, batch, inp, hidden = 5, 2, 3, 4
    path = single_node_model(
        tmp_path / "lstm.onnx",
        "LSTM",
        {"x": (seq, batch, inp)},
        {"w": (1, 4 * hidden, inp), "r": (1, 4 * hidden, hidden)},
        outputs=("y",),
        hidden_size=hidden,
    )
    layer = _only(path)
    assert layer.macs == seq * batch * 4 * hidden * (inp + hidden)
    assert layer.params == 4 * hidden * (inp + hidden)


def test_dynamic_batch_needs_and_takes_input_shape(tmp_path: Path) -> None:
    path = single_node_model(tmp_path / "dyn.onnx", "Conv", {"x": ("N", 3, 8, 8)}, {"w": (4, 3, 3, 3)})
    with pytest.raises(InputShapeError, match=r"'x' has dynamic dimensions \(N×3×8×8\).*--input-shape 1,3,8,8"):
        analyze_onnx_file(path)
    one = _only(path, ((1, 3, 8, 8),))
    three = _only(path, ((3, 3, 8, 8),))
    assert one.output_shapes == ((1, 4, 6, 6),)
    assert three.macs == 3 * one.macs == 3 * 4 * 36 * 27
    table = analyze_onnx_file(path, ((3, 3, 8, 8),))
    assert table.input_shapes == ((3, 3, 8, 8),)


def test_pinning_a_static_dimension_differently_is_refused(tmp_path: Path) -> None:
    path = single_node_model(tmp_path / "s.onnx", "Relu", {"x": (1, 3, 8, 8)})
    with pytest.raises(InputShapeError, match="dimension 2 is fixed at 8"):
        analyze_onnx_file(path, ((1, 3, 9, 8),))
    assert _only(path, ((1, 3, 8, 8),)).output_shapes == ((1, 3, 8, 8),)


def test_too_small_input_is_refused(tmp_path: Path) -> None:
    path = single_node_model(tmp_path / "c.onnx", "Conv", {"x": (1, 3, "H", "W")}, {"w": (4, 3, 7, 7)}, strides=[2, 2])
    with pytest.raises(InputShapeError, match=r"too small for the model: the window of node 'node' \(Conv\)"):
        analyze_onnx_file(path, ((1, 3, 2, 2),))


def test_op_without_formula_is_listed_and_warned(tmp_path: Path) -> None:
    path = tmp_path / "topk.onnx"
    k = numpy_helper.from_array(np.array([3], dtype=np.int64), "k")
    node = helper.make_node("TopK", ["x", "k"], ["values", "indices"])  # no name: one is generated
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 10])],
        [
            helper.make_tensor_value_info("values", TensorProto.FLOAT, None),
            helper.make_tensor_value_info("indices", TensorProto.INT64, None),
        ],
        initializer=[k],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]), path)
    with pytest.warns(UnsupportedOpWarning, match="no counting formula for ONNX op TopK"):
        table = analyze_onnx_file(path)
    assert table.unsupported_ops == ("TopK",)
    layer = table.layers[0]
    assert layer.name == "TopK_0"
    assert layer.unsupported == ("TopK",)
    assert layer.output_shapes == ((2, 3), (2, 3))
    assert layer.output_bytes == 2 * 3 * 4 + 2 * 3 * 8  # float32 values, int64 indices


def test_custom_domain_op_is_listed(tmp_path: Path) -> None:
    path = single_node_model(tmp_path / "custom.onnx", "Mystery", {"x": (1, 4)}, domain="com.example")
    with pytest.warns(UnsupportedOpWarning, match="com.example.Mystery"):
        table = analyze_onnx_file(path)
    assert table.unsupported_ops == ("com.example.Mystery",)


def test_zero_cost_ops_are_not_unsupported(tmp_path: Path) -> None:
    path = single_node_model(tmp_path / "t.onnx", "Transpose", {"x": (2, 3, 4)}, perm=[2, 0, 1])
    layer = _only(path)
    assert layer.op == "Transpose" and layer.unsupported == ()
    assert layer.output_shapes == ((4, 2, 3),)
    assert layer.input_bytes == layer.output_bytes == 96


def _two_conv_graph(path: Path, weight_from_constant: bool) -> Path:
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((3, 3, 3, 3)).astype(np.float32), "w")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["h"], name="conv_a", pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["h", "w"], ["y"], name="conv_b", pads=[1, 1, 1, 1]),
    ]
    initializers = [w]
    if weight_from_constant:
        nodes.insert(0, helper.make_node("Constant", [], ["w"], name="const", value=w))
        initializers = []
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=initializers,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]), path)
    return path


@pytest.mark.parametrize("from_constant", [False, True])
def test_shared_weights_count_once(tmp_path: Path, from_constant: bool) -> None:
    table = analyze_onnx_file(_two_conv_graph(tmp_path / "shared.onnx", from_constant))
    assert [layer.name for layer in table] == ["conv_a", "conv_b"]  # the Constant node gets no row
    assert [layer.params for layer in table] == [81, 81]
    assert table.params == 81
    assert table.macs == 2 * 3 * 36 * 27


def test_identity_of_an_initializer_is_folded(tmp_path: Path) -> None:
    path = tmp_path / "alias.onnx"
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("Identity", ["b0"], ["b1"], name="Identity_0"),
        helper.make_node("Conv", ["x", "w", "b1"], ["y"], name="conv"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[
            numpy_helper.from_array(rng.standard_normal((2, 3, 1, 1)).astype(np.float32), "w"),
            numpy_helper.from_array(np.zeros(2, dtype=np.float32), "b0"),
        ],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]), path)
    table = analyze_onnx_file(path)
    assert [layer.name for layer in table] == ["conv"]
    assert table["conv"].params == 8
    assert table.params == 8
    assert table["conv"].input_shapes == ((1, 3, 6, 6),)


def test_external_data_is_not_needed_for_weights(tmp_path: Path) -> None:
    path = _two_conv_graph(tmp_path / "ext.onnx", weight_from_constant=False)
    model = onnx.load(path)
    onnx.save(
        model, path, save_as_external_data=True, all_tensors_to_one_file=True, location="ext.data", size_threshold=0
    )
    (tmp_path / "ext.data").unlink()  # the weights' bytes are never read
    assert analyze_onnx_file(path).macs == 2 * 3 * 36 * 27


def test_attention_with_a_key_value_cache(tmp_path: Path) -> None:
    q, k, v = (1, 2, 1, 8), (1, 2, 1, 8), (1, 2, 1, 8)  # one new token
    past = (1, 2, 5, 8)  # five cached ones
    path = tmp_path / "att.onnx"
    node = helper.make_node(
        "Attention", ["q", "k", "v", "", "past_k", "past_v"], ["y", "present_k", "present_v"], name="attention"
    )
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s))
            for n, s in [("q", q), ("k", k), ("v", v), ("past_k", past), ("past_v", past)]
        ],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("y", "present_k", "present_v")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)]), path)
    layer = _only(path)
    assert layer.output_shapes[1] == (1, 2, 6, 8)
    assert layer.macs == 1 * 2 * 1 * 6 * (8 + 8)
