"""Every node test model of the ONNX conformance suite: analysis never crashes, and shapes are right.

The ``onnx`` package generates about 1,900 small models, one or a few nodes each, covering every standard
op, with reference inputs and outputs. For each of them, the analysis pins the inputs to the reference
shapes. It must then give a table, or refuse the model with a one-line usage error (sequence and optional
inputs are not tensors), and never raise anything else. For the ops that carry MACs, the output shapes
must equal the reference outputs' shapes.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest

from synergy.errors import UsageError
from synergy.graph.onnx_frontend import analyze_onnx_file

#: Ops whose MACs depend on the shapes inferred for them.
_SHAPE_CHECKED = {"Conv", "ConvTranspose", "Gemm", "MatMul", "Einsum", "Attention", "MaxPool", "AveragePool"}


@pytest.mark.slow
def test_conformance_node_models(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from onnx.backend.test.case.node import collect_testcases

        cases = collect_testcases(None)
    assert len(cases) > 1000
    analysed = refused = checked = 0
    for case in cases:
        path = tmp_path / f"{case.name}.onnx"
        onnx.save(case.model, path)
        inputs, outputs = case.data_sets[0] if case.data_sets else ([], [])
        initializers = {t.name for t in case.model.graph.initializer}
        real_inputs = [vi for vi in case.model.graph.input if vi.name not in initializers]
        shapes = None
        if inputs and len(inputs) == len(real_inputs) and all(isinstance(x, np.ndarray) for x in inputs):
            shapes = tuple(tuple(int(d) for d in x.shape) for x in inputs)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                table = analyze_onnx_file(path, shapes)
        except UsageError:
            refused += 1
            continue
        analysed += 1
        nodes = case.model.graph.node
        if len(nodes) == 1 and nodes[0].op_type in _SHAPE_CHECKED and table.layers:
            layer = table.layers[0]
            expected = tuple(tuple(int(d) for d in y.shape) for y in outputs if isinstance(y, np.ndarray))
            assert layer.output_shapes[: len(expected)] == expected, case.name
            assert layer.unsupported == (), case.name
            checked += 1
    assert analysed > 1800 and refused < 40
    assert checked > 100


_LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"


@pytest.mark.parametrize(
    ("file", "macs", "params"),
    [
        # Caffe2-converted models (IR 3, opset 9, initializers listed as graph inputs, BatchNorm kept as
        # its own node). MACs and parameters equal torchvision's for the same architectures.
        ("light_resnet50.onnx", 4_089_184_256, 25_557_032),
        ("light_vgg19.onnx", 19_632_062_464, 143_667_240),
        ("light_squeezenet.onnx", 349_151_936, 1_235_496),
        ("light_densenet121.onnx", 2_834_161_664, None),
    ],
)
def test_third_party_models(file: str, macs: int, params: int | None) -> None:
    path = _LIGHT / file
    if not path.is_file():
        pytest.skip(f"{file} is not shipped with this onnx build")
    table = analyze_onnx_file(path)
    assert table.input_shapes == ((1, 3, 224, 224),)
    assert table.unsupported_ops == ()
    assert table.macs == macs
    if params is not None:
        assert table.params == params
