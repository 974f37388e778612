"""Build small ONNX files for the ONNX frontend's tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

Dims = Sequence[int | str]


def single_node_model(
    path: Path,
    op_type: str,
    inputs: dict[str, Dims],
    initializers: dict[str, Sequence[int]] | None = None,
    outputs: Sequence[str] = ("y",),
    opset: int = 20,
    domain: str = "",
    node_name: str = "node",
    **attrs: object,
) -> Path:
    """A model of one node: graph inputs ``inputs`` (float32), float32 random ``initializers``."""
    initializers = initializers or {}
    rng = np.random.default_rng(0)
    tensors = [
        numpy_helper.from_array(rng.standard_normal(tuple(shape)).astype(np.float32), name)
        for name, shape in initializers.items()
    ]
    node = helper.make_node(
        op_type, [*inputs, *initializers], list(outputs), name=node_name, domain=domain or None, **attrs
    )
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, list(dims)) for name, dims in inputs.items()],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs],
        initializer=tensors,
    )
    opsets = [helper.make_opsetid("", opset)]
    if domain:
        opsets.append(helper.make_opsetid(domain, 1))
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = min(model.ir_version, 10)
    onnx.save(model, path)
    return path


def ort_output_shapes(path: Path, shapes: Sequence[Sequence[int]]) -> list[tuple[int, ...]]:
    """Run the model once in ONNX Runtime on zeros of ``shapes``; the real output shapes."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {
        meta.name: np.zeros(tuple(shape), dtype=np.float32)
        for meta, shape in zip(session.get_inputs(), shapes, strict=True)
    }
    return [tuple(out.shape) for out in session.run(None, feeds)]
