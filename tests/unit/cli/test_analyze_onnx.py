"""``synergy analyze`` on ONNX files: output, and one-line errors with exit 2 for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from synergy.cli import main


def _conv_model(path: Path, x_dims: list[int | str], weight: tuple[int, ...] = (8, 3, 3, 3)) -> Path:
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal(weight).astype(np.float32), "w")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["h"], name="/conv/Conv", strides=[2, 2]),
        helper.make_node("Relu", ["h"], ["y"], name="/relu/Relu"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_dims)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[w],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]), path)
    return path


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse rejects malformed options before the command runs
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in captured.err
    return lines[0]


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _conv_model(tmp_path / "m.onnx", [1, 3, 9, 9])
    assert main(["analyze", str(path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["macs"] == 8 * 4 * 4 * 27
    assert data["totals"]["params"] == 8 * 27
    assert [layer["name"] for layer in data["layers"]] == ["/conv/Conv", "/relu/Relu"]
    assert [layer["module"] for layer in data["layers"]] == ["", ""]
    assert data["unsupported_ops"] == []
    assert data["frontend"] == "onnx"


def test_table_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _conv_model(tmp_path / "m.onnx", [1, 3, 9, 9])
    assert main(["analyze", str(path)]) == 0
    out = capsys.readouterr().out
    assert "/conv/Conv" in out and "total: 3,456 MACs, 216 params" in out


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _error(capsys, ["analyze", str(tmp_path / "nope.onnx")])
    assert "does not exist" in line


def test_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "model.onnx"
    folder.mkdir()
    assert "is a directory" in _error(capsys, ["analyze", str(folder)])


def test_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    assert "is empty" in _error(capsys, ["analyze", str(path)])


def test_random_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "random.onnx"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    line = _error(capsys, ["analyze", str(path)])
    assert "not a valid ONNX file" in line or "not an ONNX model" in line


@pytest.mark.parametrize("weight", [(8, 3, 3, 3), (1024, 1024, 3, 1)], ids=["small", "over-8MB"])
def test_truncated_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], weight: tuple[int, ...]) -> None:
    path = _conv_model(tmp_path / "m.onnx", [1, 3, 9, 9], weight=weight)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    line = _error(capsys, ["analyze", str(path)])
    assert "truncated" in line and "export the model again" in line


def test_malformed_input_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _conv_model(tmp_path / "m.onnx", ["N", 3, "H", "W"])
    assert "malformed" in _error(capsys, ["analyze", str(path), "--input-shape", "1,3,a"])


def test_dynamic_dims_need_input_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _conv_model(tmp_path / "m.onnx", ["N", 3, "H", "W"])
    line = _error(capsys, ["analyze", str(path)])
    assert "dynamic dimensions (N×3×H×W)" in line and "--input-shape 1,3,224,224" in line


@pytest.mark.parametrize(
    ("x_dims", "shape", "expected"),
    [
        ([1, 3, 224, 224], "1,3,2,2", "dimension 2 is fixed at 224"),
        (["N", 3, "H", "W"], "1,3,2,2", "too small for the model"),
        (["N", 3, "H", "W"], "1,3,9", "has rank 3 but model input 'x' has rank 4"),
        (["N", 3, "H", "W"], "1,3,9,9;1,3,9,9", "the model has 1 input(s) ('x') but --input-shape gives 2"),
    ],
)
def test_impossible_input_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], x_dims: list[int | str], shape: str, expected: str
) -> None:
    path = _conv_model(tmp_path / "m.onnx", x_dims)
    assert expected in _error(capsys, ["analyze", str(path), "--input-shape", shape])


def test_pinned_dynamic_dims(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _conv_model(tmp_path / "m.onnx", ["N", 3, "H", "W"])
    assert main(["analyze", str(path), "--input-shape", "2,3,9,9", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["input_shapes"] == [[2, 3, 9, 9]]
    assert data["totals"]["macs"] == 2 * 8 * 4 * 4 * 27


def _topk_model(path: Path) -> Path:
    """A one-node model of TopK, an op without a counting formula."""
    k = numpy_helper.from_array(np.array([3], dtype=np.int64), "k")
    node = helper.make_node("TopK", ["x", "k"], ["values", "indices"], name="top")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 10])],
        [helper.make_tensor_value_info("values", TensorProto.FLOAT, None)],
        initializer=[k],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]), path)
    return path


def test_unsupported_op_is_warned_on_one_line_and_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _topk_model(tmp_path / "topk.onnx")
    assert main(["analyze", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "warning: no counting formula for ONNX op TopK (1 node(s): 'top'): its MACs are unknown, not 0; "
        "it is listed in unsupported_ops"
    ]
    assert any("unsupported ops" in line and "TopK" in line for line in captured.out.splitlines())


def test_missing_external_data_that_is_needed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shape = numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "shape")
    node = helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[shape],
    )
    path = tmp_path / "m.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    onnx.save(model, path, save_as_external_data=True, location="m.data", size_threshold=0)
    (tmp_path / "m.data").unlink()  # the shape vector's values are needed for inference
    line = _error(capsys, ["analyze", str(path)])
    assert "cannot read the external data of tensor 'shape'" in line


def test_strict_exits_1_when_the_totals_are_incomplete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _topk_model(tmp_path / "topk.onnx")
    assert main(["analyze", str(path), "--strict"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == "error: the totals are incomplete: ops without a formula: TopK (--strict)"
    assert main(["analyze", str(_conv_model(tmp_path / "conv.onnx", [1, 3, 8, 8])), "--strict"]) == 0
