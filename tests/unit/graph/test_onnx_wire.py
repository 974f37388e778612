"""Reading ONNX files without their weights' bytes: the skeleton keeps everything but large tensor data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from synergy.errors import ModelSpecError
from synergy.graph import onnx_graph
from synergy.graph.onnx_wire import WireFormatError, read_model_skeleton, strip_model_bytes

KEEP = 16


def _model(shapes: list[tuple[int, ...]], raw: bool, metadata: bool = True) -> onnx.ModelProto:
    tensors = []
    for index, shape in enumerate(shapes):
        values = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
        tensor = numpy_helper.from_array(values, f"w{index}")
        if not raw:
            tensor = helper.make_tensor(f"w{index}", TensorProto.FLOAT, list(shape), values.reshape(-1).tolist())
        tensors.append(tensor)
    nodes = [helper.make_node("Add", ["x", t.name], [f"y{i}"], name=f"add{i}") for i, t in enumerate(tensors)]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info(f"y{i}", TensorProto.FLOAT, None) for i in range(len(tensors))],
        initializer=tensors,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)], producer_name="test")
    if metadata:
        onnx.helper.set_model_props(model, {"key": "value"})
    return model


shapes_strategy = st.lists(st.lists(st.integers(1, 6), min_size=0, max_size=3).map(tuple), min_size=1, max_size=5)


@settings(max_examples=60, deadline=None)
@given(shapes=shapes_strategy, raw=st.booleans())
def test_skeleton_drops_only_large_tensor_data(shapes: list[tuple[int, ...]], raw: bool) -> None:
    model = _model(shapes, raw)
    skeleton = onnx.ModelProto()
    skeleton.ParseFromString(strip_model_bytes(model.SerializeToString(), KEEP))
    expected = onnx.ModelProto()
    expected.CopyFrom(model)
    for tensor in expected.graph.initializer:
        if int(np.prod(tensor.dims)) > KEEP:
            tensor.ClearField("raw_data")
            tensor.ClearField("float_data")
    assert skeleton == expected


def test_every_truncation_is_a_one_line_error(tmp_path: Path) -> None:
    # Without trailing metadata the opset is the last field, so every strict prefix is incomplete. (A cut
    # exactly between two trailing metadata fields would leave a valid model: protobuf has no framing.)
    data = _model([(4, 4), (2,), (3, 3, 3)], raw=True, metadata=False).SerializeToString()
    path = tmp_path / "m.onnx"
    default = onnx_graph._SKELETON_ABOVE_BYTES
    try:
        for cut in range(len(data)):
            path.write_bytes(data[:cut])
            for threshold in (0, 1 << 30):  # the skeleton reader, then the plain parser
                onnx_graph._SKELETON_ABOVE_BYTES = threshold
                with pytest.raises(ModelSpecError):
                    onnx_graph.load_model(path)
    finally:
        onnx_graph._SKELETON_ABOVE_BYTES = default
    path.write_bytes(data)
    assert len(onnx_graph.load_model(path).graph.node) == 3


def test_read_model_skeleton_from_file(tmp_path: Path) -> None:
    model = _model([(64, 64), (3,)], raw=True)
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    skeleton = onnx.ModelProto()
    skeleton.ParseFromString(read_model_skeleton(path, KEEP))
    big, small = skeleton.graph.initializer
    assert list(big.dims) == [64, 64] and big.raw_data == b""
    assert numpy_helper.to_array(small).tolist() == [0.0, 1.0, 2.0]


def test_garbage_is_a_wire_format_error() -> None:
    with pytest.raises(WireFormatError):
        strip_model_bytes(b"\x0f\xff\xff", KEEP)  # wire type 7
    with pytest.raises(WireFormatError):
        strip_model_bytes(b"\x3a\x10abc", KEEP)  # graph field longer than the data
