"""Shape chains that ONNX shape inference leaves unknown, evaluated on the known input shape.

Data propagation in ``onnx.shape_inference`` follows ``Shape → Gather → Concat → Reshape`` but stops at
arithmetic it does not implement: the TorchScript exporter writes ``torch.chunk`` as
``Shape → Gather → Add → Div → Mul → Slice``, and the ``Slice`` (and everything after it) gets no shape.
Once the inputs are pinned every such chain is a function of static shapes, so it is evaluated here with
numpy, node by node in graph order; each evaluated node is replaced, in the light copy only, by a
``Constant`` holding its value, and inference runs again. The rounds repeat while they resolve more
tensors (a ``Shape`` of a tensor resolved in one round is evaluated in the next).

Only small computations on small constants and static shapes are evaluated (shape vectors, axes,
sizes, scales): at most :data:`MAX_ELEMENTS` elements per tensor, and no op outside :data:`_EVALUATORS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

__all__ = ["resolve_shape_chains", "unknown_outputs"]

#: Largest tensor evaluated (elements).
MAX_ELEMENTS = 1024

#: Rounds of evaluation and inference at most (each resolves at least one more tensor).
MAX_ROUNDS = 8

Values = list[np.ndarray]
Evaluator = Callable[[onnx.NodeProto, list[np.ndarray | None], dict[str, Any], int], Values | None]


def _static_shapes(model: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    """Tensor name → shape, for every tensor inference gave a fully static shape."""
    out: dict[str, tuple[int, ...]] = {}
    graph = model.graph
    for vi in [*graph.input, *graph.value_info, *graph.output]:
        if vi.type.WhichOneof("value") != "tensor_type" or not vi.type.tensor_type.HasField("shape"):
            continue
        dims = vi.type.tensor_type.shape.dim
        if all(d.HasField("dim_value") and d.dim_value >= 0 for d in dims):
            out[vi.name] = tuple(int(d.dim_value) for d in dims)
    for tensor in graph.initializer:
        out[tensor.name] = tuple(int(d) for d in tensor.dims)
    return out


def unknown_outputs(model: onnx.ModelProto) -> set[str]:
    """Outputs of the default-domain nodes that inference left without a static shape."""
    shapes = _static_shapes(model)
    return {
        name
        for node in model.graph.node
        if node.domain in ("", "ai.onnx") and node.op_type != "Constant"
        for name in node.output
        if name and name not in shapes
    }


def resolve_shape_chains(
    light: onnx.ModelProto,
    inferred: onnx.ModelProto,
    values: dict[str, np.ndarray],
    infer: Callable[[onnx.ModelProto], onnx.ModelProto],
) -> tuple[onnx.ModelProto, int]:
    """Evaluate the shape chains inference left unknown and infer again, until nothing more resolves.

    Args:
        light: the light copy inference ran on (not modified).
        inferred: its inferred form.
        values: the small constants' values (initializers and ``Constant`` outputs).
        infer: shape inference (raises on failure).

    Returns:
        The best inferred model and the number of tensors that got a static shape this way (0: ``inferred``
        itself).
    """
    unknown = unknown_outputs(inferred)
    if not unknown:
        return inferred, 0
    opset = next((o.version for o in light.opset_import if o.domain in ("", "ai.onnx")), 0)
    first = len(unknown)
    current = light
    for _ in range(MAX_ROUNDS):
        folded = _fold(current, _static_shapes(inferred), values, opset)
        if folded is None:
            break
        try:
            candidate = infer(folded)
        except Exception:  # onnx raises InferenceError, ValidationError...: keep what inference gave
            break
        left = unknown_outputs(candidate)
        if len(left) >= len(unknown):
            break
        current, inferred, unknown = folded, candidate, left
        if not unknown:
            break
    return inferred, first - len(unknown)


def _fold(
    model: onnx.ModelProto, shapes: dict[str, tuple[int, ...]], values: dict[str, np.ndarray], opset: int
) -> onnx.ModelProto | None:
    """A copy of ``model`` whose evaluable shape nodes are ``Constant`` nodes; ``None`` when none is new."""
    known: dict[str, np.ndarray] = dict(values)
    replaced: list[onnx.NodeProto] = []
    changed = False
    for node in model.graph.node:
        value = _evaluate(node, known, shapes, opset)
        if value is None or len(value) != len(node.output):
            replaced.append(node)
            continue
        for name, array in zip(node.output, value, strict=True):
            known[name] = array
        if node.op_type == "Constant":
            replaced.append(node)
            continue
        changed = True
        for name, array in zip(node.output, value, strict=True):
            if name:
                tensor = numpy_helper.from_array(np.asarray(array), name)
                replaced.append(onnx.helper.make_node("Constant", [], [name], name=f"{node.name}_folded", value=tensor))
    if not changed:
        return None
    out = onnx.ModelProto()
    out.CopyFrom(model)
    del out.graph.node[:]
    out.graph.node.extend(replaced)
    return out


def _evaluate(
    node: onnx.NodeProto, known: dict[str, np.ndarray], shapes: dict[str, tuple[int, ...]], opset: int
) -> Values | None:
    """The values of a node's outputs when every input it reads is known, else ``None``."""
    if node.domain not in ("", "ai.onnx"):
        return None
    if node.op_type == "Constant":
        return [known[node.output[0]]] if node.output and node.output[0] in known else None
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    if node.op_type == "Shape":
        shape = shapes.get(node.input[0])
        if shape is None:
            return None
        start, end = int(attrs.get("start", 0)), attrs.get("end")
        return [np.asarray(shape[start:end] if end is not None else shape[start:], dtype=np.int64)]
    if node.op_type == "Size":
        shape = shapes.get(node.input[0])
        return None if shape is None else [np.asarray(int(np.prod(shape, dtype=np.int64)), dtype=np.int64)]
    evaluator = _EVALUATORS.get(node.op_type)
    if evaluator is None:
        return None
    inputs: list[np.ndarray | None] = []
    for name in node.input:
        if not name:
            inputs.append(None)
        elif name in known:
            inputs.append(known[name])
        else:
            return None
    try:
        with np.errstate(all="raise"):
            out = evaluator(node, inputs, attrs, opset)
    except (ArithmeticError, FloatingPointError, IndexError, KeyError, TypeError, ValueError):
        return None
    if out is None or any(a.size > MAX_ELEMENTS for a in out):
        return None
    return out


def _arr(x: np.ndarray | None) -> np.ndarray:
    if x is None:
        raise ValueError("missing input")
    return x


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer):
        quotient = np.abs(a) // np.abs(b)  # ONNX integer division truncates toward zero
        return np.asarray(np.sign(a) * np.sign(b) * quotient, dtype=np.result_type(a, b))
    return np.asarray(a / b)


_BINARY: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "Div": _div,
    "Equal": np.equal,
    "Less": np.less,
    "Greater": np.greater,
    "LessOrEqual": np.less_equal,
    "GreaterOrEqual": np.greater_equal,
    "And": np.logical_and,
    "Or": np.logical_or,
}
_UNARY: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "Identity": np.asarray,
    "Neg": np.negative,
    "Abs": np.abs,
    "Floor": np.floor,
    "Ceil": np.ceil,
    "Sqrt": np.sqrt,
    "Not": np.logical_not,
}


def _binary(node: onnx.NodeProto, x: list[np.ndarray | None], attrs: dict[str, Any], opset: int) -> Values:
    a, b = _arr(x[0]), _arr(x[1])
    out = np.asarray(_BINARY[node.op_type](a, b))
    return [out.astype(np.result_type(a, b), copy=False) if node.op_type in ("Add", "Sub", "Mul", "Div") else out]


def _unary(node: onnx.NodeProto, x: list[np.ndarray | None], attrs: dict[str, Any], opset: int) -> Values:
    a = _arr(x[0])
    out = np.asarray(_UNARY[node.op_type](a))
    return [out.astype(a.dtype, copy=False) if node.op_type != "Not" else out]


def _variadic(node: onnx.NodeProto, x: list[np.ndarray | None], attrs: dict[str, Any], opset: int) -> Values:
    arrays = [_arr(a) for a in x]
    fn = np.minimum if node.op_type == "Min" else np.maximum
    out = arrays[0]
    for a in arrays[1:]:
        out = fn(out, a)
    return [np.asarray(out)]


def _cast(node: onnx.NodeProto, x: list[np.ndarray | None], attrs: dict[str, Any], opset: int) -> Values:
    return [_arr(x[0]).astype(onnx.helper.tensor_dtype_to_np_dtype(int(attrs["to"])))]


def _axes(x: list[np.ndarray | None], attrs: dict[str, Any], opset: int, since: int) -> list[int] | None:
    if opset >= since:
        return [int(a) for a in _arr(x[1]).reshape(-1)] if len(x) > 1 and x[1] is not None else None
    return [int(a) for a in attrs["axes"]] if "axes" in attrs else None


def _unsqueeze(node: onnx.NodeProto, x: list[np.ndarray | None], attrs: dict[str, Any], opset: int) -> Values:
    data = _arr(x[0])
    axes = _axes(x, attrs, opset, 13)
    if axes is None:
        raise ValueError("Unsqueeze without axes")
    rank = data.ndim + len(axes)
    out = data
    for axis in sorted(a % rank for a in axes):
        out = np.expand_dims(out, axis)
    return [out]


def _squeeze(node: onnx.NodeProto, x: list[np.ndarray | None], attrs: dict[str, Any], opset: int) -> Values:
    data = _arr(x[0])
    axes = _axes(x, attrs, opset, 13)
    return [np.squeeze(data, axis=tuple(a % data.ndim for a in axes) if axes is not None else None)]


def _gather(node: onnx.NodeProto, x: list[np.ndarray | None], attrs: dict[str, Any], opset: int) -> Values:
    return [np.take(_arr(x[0]), _arr(x[1]), axis=int(attrs.get("axis", 0)))]


def _concat(node: onnx.NodeProto, x: list[np.ndarray | None], attrs: dict[str, Any], opset: int) -> Values:
    return [np.concatenate([_arr(a) for a in x], axis=int(attrs["axis"]))]


def _slice(node: onnx.NodeProto, x: list[np.ndarray | None], attrs: dict[str, Any], opset: int) -> Values:
    data = _arr(x[0])
    if opset >= 10:
        starts, ends = _arr(x[1]).reshape(-1), _arr(x[2]).reshape(-1)
        axes = _arr(x[3]).reshape(-1) if len(x) > 3 and x[3] is not None else np.arange(len(starts))
        steps = _arr(x[4]).reshape(-1) if len(x) > 4 and x[4] is not None else np.ones(len(starts), dtype=np.int64)
    else:
        starts, ends = np.asarray(attrs["starts"]), np.asarray(attrs["ends"])
        axes = np.asarray(attrs.get("axes", range(len(starts))))
        steps = np.ones(len(starts), dtype=np.int64)
    index: list[slice] = [slice(None)] * data.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        index[int(axis) % data.ndim] = slice(int(start), int(end), int(step))
    return [data[tuple(index)]]


def _reshape(node: onnx.NodeProto, x: list[np.ndarray | None], attrs: dict[str, Any], opset: int) -> Values:
    data, shape = _arr(x[0]), [int(d) for d in _arr(x[1]).reshape(-1)]
    if not attrs.get("allowzero", 0):
        shape = [data.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return [data.reshape(shape)]


def _constant_of_shape(node: onnx.NodeProto, x: list[np.ndarray | None], attrs: dict[str, Any], opset: int) -> Values:
    shape = [int(d) for d in _arr(x[0]).reshape(-1)]
    if int(np.prod(shape, dtype=np.int64)) > MAX_ELEMENTS:
        raise ValueError("too large")
    fill = numpy_helper.to_array(attrs["value"]) if "value" in attrs else np.zeros(1, dtype=np.float32)
    return [np.full(shape, fill.reshape(-1)[0], dtype=fill.dtype)]


def _range(node: onnx.NodeProto, x: list[np.ndarray | None], attrs: dict[str, Any], opset: int) -> Values:
    start, limit, delta = (_arr(a).reshape(()) for a in x[:3])
    if abs((limit - start) / delta) > MAX_ELEMENTS:
        raise ValueError("too large")
    dtype = np.result_type(start, limit, delta)
    return [np.arange(start.item(), limit.item(), delta.item()).astype(dtype)]


def _where(node: onnx.NodeProto, x: list[np.ndarray | None], attrs: dict[str, Any], opset: int) -> Values:
    return [np.where(_arr(x[0]), _arr(x[1]), _arr(x[2]))]


def _expand(node: onnx.NodeProto, x: list[np.ndarray | None], attrs: dict[str, Any], opset: int) -> Values:
    data, shape = _arr(x[0]), [int(d) for d in _arr(x[1]).reshape(-1)]
    if int(np.prod(shape, dtype=np.int64)) > MAX_ELEMENTS:
        raise ValueError("too large")
    return [data * np.ones(shape, dtype=data.dtype)]


def _reduce_prod(node: onnx.NodeProto, x: list[np.ndarray | None], attrs: dict[str, Any], opset: int) -> Values:
    data = _arr(x[0])
    axes = _axes(x, attrs, opset, 18)
    keep = bool(attrs.get("keepdims", 1))
    return [np.asarray(np.prod(data, axis=tuple(axes) if axes else None, keepdims=keep), dtype=data.dtype)]


_EVALUATORS: dict[str, Evaluator] = {
    **dict.fromkeys(_BINARY, _binary),
    **dict.fromkeys(_UNARY, _unary),
    "Min": _variadic,
    "Max": _variadic,
    "Cast": _cast,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Gather": _gather,
    "Concat": _concat,
    "Slice": _slice,
    "Reshape": _reshape,
    "ConstantOfShape": _constant_of_shape,
    "Range": _range,
    "Where": _where,
    "Expand": _expand,
    "ReduceProd": _reduce_prod,
}
