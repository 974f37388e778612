"""Loading an ONNX file and inferring the shape of every tensor, without touching the weights' values.

Counting needs the weights' shapes, never their values. So the file is read without its external data,
and shape inference runs on a light copy of the graph in which every large constant (initializer or
``Constant`` node) is replaced by a typed graph input. Small constants (shape vectors, axes, clip bounds)
keep their values, so data propagation still resolves ``Shape → Gather → Reshape`` chains. The light copy
is small even for models over 2 GB, so ``infer_shapes`` works on it in memory. Chains that data
propagation cannot follow (the ``Div`` of ``torch.chunk``) are evaluated on the pinned input shape
(:mod:`synergy.graph.onnx_shape_chain`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnx.inliner
from google.protobuf.message import DecodeError
from onnx import numpy_helper

from synergy.errors import InputShapeError, ModelSpecError
from synergy.graph.onnx_ops import FLOAT_TYPES, TensorInfo
from synergy.graph.onnx_shape_chain import resolve_shape_chains
from synergy.graph.onnx_wire import WireFormatError, read_model_skeleton

__all__ = ["InferredGraph", "infer_graph", "load_model"]

#: Constants up to this many elements keep their values (shape vectors, axes, scalars).
SMALL_CONSTANT_ELEMENTS = 1024

#: Files above this size are read without the bytes of their large initializers.
_SKELETON_ABOVE_BYTES = 8 * 1024 * 1024

_INPUT_SHAPE_HINT = "pass --input-shape with concrete sizes"


def load_model(path: str | Path) -> onnx.ModelProto:
    """Read an ONNX file, leaving external weight data on disk.

    Raises:
        ModelSpecError: the file is missing, a directory, empty, truncated or not an ONNX model.
    """
    path = Path(path)
    if not path.exists():
        raise ModelSpecError(f"model file {path} does not exist: check the path")
    if path.is_dir():
        raise ModelSpecError(f"model {path} is a directory: give an .onnx file")
    try:
        size = path.stat().st_size
        if size == 0:
            raise ModelSpecError(f"model file {path} is empty: export the model again")
        big = size > _SKELETON_ABOVE_BYTES
        data = read_model_skeleton(path, SMALL_CONSTANT_ELEMENTS) if big else path.read_bytes()
    except OSError as exc:
        raise ModelSpecError(f"cannot read model file {path}: {exc.strerror or exc}; check its permissions") from exc
    except WireFormatError as exc:
        raise ModelSpecError(f"{path} is not a valid ONNX file (truncated or corrupt): export the model again") from exc
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise ModelSpecError(f"{path} is not a valid ONNX file (truncated or corrupt): export the model again") from exc
    if model.ir_version <= 0 or not model.HasField("graph") or len(model.graph.node) == 0:
        raise ModelSpecError(f"{path} is not an ONNX model (no graph found): give a .onnx file exported from a model")
    if not model.opset_import:
        raise ModelSpecError(f"{path} has no opset (the file may be truncated): export the model again")
    return model


@dataclass
class InferredGraph:
    """A graph with every tensor's shape.

    Attributes:
        graph: the graph shape inference ran on (light copy, local functions inlined, shapes inferred).
        nodes: the nodes to analyse, in order (as in the file, local functions inlined).
        tensors: tensor name → what is known about it.
        constants: tensor name → values, for the small constants.
        constant_names: names of every constant tensor (initializers and ``Constant`` outputs).
        inputs: names of the graph's real inputs (initializers excluded), in order.
        input_shapes: their shapes after pinning.
        opset: the default-domain opset.
    """

    graph: onnx.GraphProto
    nodes: list[onnx.NodeProto]
    tensors: dict[str, TensorInfo]
    constants: dict[str, np.ndarray]
    constant_names: set[str]
    inputs: tuple[str, ...]
    input_shapes: tuple[tuple[int, ...], ...]
    opset: int
    stored_params: int = 0
    notes: list[str] = field(default_factory=list)


_ITEMSIZE: dict[int, int] = {}


def itemsize(elem_type: int) -> int:
    """Bytes per element of an ONNX ``TensorProto.DataType`` (0 for strings and unknown types)."""
    if elem_type not in _ITEMSIZE:
        try:
            _ITEMSIZE[elem_type] = int(onnx.helper.tensor_dtype_to_np_dtype(elem_type).itemsize)
        except (KeyError, TypeError, ValueError):
            _ITEMSIZE[elem_type] = 0
        if elem_type == onnx.TensorProto.STRING:
            _ITEMSIZE[elem_type] = 0
    return _ITEMSIZE[elem_type]


def _dims_text(dims: Sequence[int | str]) -> str:
    return "×".join(str(d) for d in dims)


def _shape_dims(type_proto: onnx.TypeProto) -> list[int | str] | None:
    """Dims of a tensor type: ints, symbolic names, ``?`` for anonymous; ``None`` without a shape."""
    if type_proto.WhichOneof("value") != "tensor_type" or not type_proto.tensor_type.HasField("shape"):
        return None
    dims: list[int | str] = []
    for dim in type_proto.tensor_type.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(int(dim.dim_value))
        else:
            dims.append(dim.dim_param or "?")
    return dims


def _is_static(type_proto: onnx.TypeProto) -> bool:
    dims = _shape_dims(type_proto)
    return dims is not None and all(isinstance(d, int) for d in dims)


def _tensor_elements(tensor: onnx.TensorProto) -> int:
    n = 1
    for d in tensor.dims:
        n *= int(d)
    return n


def _constant_tensor(node: onnx.NodeProto) -> onnx.TensorProto | None:
    """The value of a ``Constant`` node as a tensor (``None`` for sparse or unusual forms)."""
    for attr in node.attribute:
        if attr.name == "value" and attr.HasField("t"):
            tensor: onnx.TensorProto = attr.t
            return tensor
        if attr.name in ("value_float", "value_int", "value_floats", "value_ints"):
            value = onnx.helper.get_attribute_value(attr)
            dtype = np.float32 if "float" in attr.name else np.int64
            return numpy_helper.from_array(np.asarray(value, dtype=dtype), node.output[0])
    return None


def _light_copy(model: onnx.ModelProto, base_dir: Path) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """The model with its large constants turned into typed graph inputs, and the small ones' values."""
    graph = model.graph
    light = onnx.ModelProto()
    light.ir_version = model.ir_version
    light.opset_import.extend(model.opset_import)
    light.functions.extend(model.functions)
    lg = light.graph
    lg.name = graph.name
    lg.input.extend(graph.input)
    lg.output.extend(graph.output)
    # Keep only static value_info: symbolic entries would pin inference to the export's symbols.
    lg.value_info.extend(vi for vi in graph.value_info if _is_static(vi.type))
    declared = {vi.name for vi in graph.input}
    values: dict[str, np.ndarray] = {}

    def as_input(name: str, elem_type: int, dims: Sequence[int]) -> None:
        if name not in declared:
            lg.input.append(onnx.helper.make_tensor_value_info(name, elem_type, list(dims)))
            declared.add(name)

    for tensor in graph.initializer:
        if _needs_values(tensor):
            try:
                array = numpy_helper.to_array(tensor, base_dir=str(base_dir))
            except Exception as exc:  # onnx raises ValidationError, OSError, ValueError...
                raise ModelSpecError(
                    f"cannot read the external data of tensor {tensor.name!r}: keep the model's data files "
                    f"beside it ({_first_line(exc)})"
                ) from exc
            values[tensor.name] = array
            if tensor.data_location == onnx.TensorProto.EXTERNAL:
                lg.initializer.append(numpy_helper.from_array(array, tensor.name))
            else:
                lg.initializer.append(tensor)
        else:
            as_input(tensor.name, tensor.data_type, tensor.dims)
    for node in graph.node:
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx") and len(node.output) == 1:
            tensor = _constant_tensor(node)
            if tensor is not None and _tensor_elements(tensor) > SMALL_CONSTANT_ELEMENTS:
                as_input(node.output[0], tensor.data_type, tensor.dims)
                continue
            if tensor is not None and tensor.data_location != onnx.TensorProto.EXTERNAL:
                values[node.output[0]] = numpy_helper.to_array(tensor)
        lg.node.append(node)
    return light, values


def _needs_values(tensor: onnx.TensorProto) -> bool:
    """Whether a tensor's values are worth reading: small integer tensors (shapes, axes), scalars, and small
    tensors already inside the file. Weight vectors kept in external data are left on disk."""
    elements = _tensor_elements(tensor)
    if elements > SMALL_CONSTANT_ELEMENTS:
        return False
    if tensor.data_location != onnx.TensorProto.EXTERNAL:
        return True
    return tensor.data_type not in FLOAT_TYPES or elements <= 16


def _prepare(
    model: onnx.ModelProto, base_dir: Path
) -> tuple[onnx.ModelProto, dict[str, np.ndarray], list[onnx.NodeProto]]:
    """The light copy to run inference on, the small constants' values, and the nodes to analyse.

    Local functions are inlined. Contributed ops that ONNX cannot infer but whose output shape is a
    standard op's (``com.microsoft`` ``FusedConv`` is a Conv) are swapped for that op in the light copy
    only, so the shapes of everything downstream resolve.
    """
    light, values = _light_copy(model, base_dir)
    if light.functions:
        light = onnx.inliner.inline_local_functions(light)
    nodes = [_copy(node) for node in light.graph.node]
    for node in light.graph.node:
        proxy = _shape_proxy(node)
        if proxy is not None:
            node.CopyFrom(proxy)
    return light, values, nodes


def _copy(node: onnx.NodeProto) -> onnx.NodeProto:
    out = onnx.NodeProto()
    out.CopyFrom(node)
    return out


#: Attributes a shape proxy keeps, per contributed op.
_PROXY_ATTRS: dict[str, tuple[str, frozenset[str], int]] = {
    "FusedConv": ("Conv", frozenset({"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}), 3),
    "FusedGemm": ("Gemm", frozenset({"alpha", "beta", "transA", "transB"}), 3),
    "FusedMatMul": ("MatMul", frozenset(), 2),
}
_SAME_SHAPE = frozenset({"Gelu", "FastGelu", "BiasGelu", "QuickGelu", "BiasAdd"})


def _shape_proxy(node: onnx.NodeProto) -> onnx.NodeProto | None:
    """A standard node with the same output shape as a ``com.microsoft`` node, or ``None``."""
    if node.domain != "com.microsoft":
        return None
    if node.op_type in _SAME_SHAPE and node.input and node.output:
        return onnx.helper.make_node("Identity", [node.input[0]], [node.output[0]], name=node.name)
    if node.op_type not in _PROXY_ATTRS:
        return None
    op_type, keep, inputs = _PROXY_ATTRS[node.op_type]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    if node.op_type == "FusedMatMul" and any(attrs.get(k) for k in ("transA", "transB", "transBatchA", "transBatchB")):
        return None
    kept = {k: v for k, v in attrs.items() if k in keep}
    return onnx.helper.make_node(op_type, list(node.input[:inputs]), list(node.output[:1]), name=node.name, **kept)


def _real_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    initializers = {t.name for t in model.graph.initializer}
    return [vi for vi in model.graph.input if vi.name not in initializers]


def _pin_inputs(
    light: onnx.ModelProto, inputs: list[onnx.ValueInfoProto], shapes: tuple[tuple[int, ...], ...] | None
) -> tuple[tuple[int, ...], ...]:
    """Give every real graph input concrete dims, from ``shapes`` or the model itself.

    Raises:
        InputShapeError: wrong number of shapes, wrong rank, a conflict with a static dimension, or a
            dimension left dynamic.
    """
    by_name = {vi.name: vi for vi in light.graph.input}
    names = ", ".join(repr(vi.name) for vi in inputs)
    if shapes is not None and len(shapes) != len(inputs):
        raise InputShapeError(
            f"the model has {len(inputs)} input(s) ({names}) but --input-shape gives {len(shapes)} shape(s): "
            "give one shape per input, separated by ';'"
        )
    pinned: list[tuple[int, ...]] = []
    for position, original in enumerate(inputs):
        vi = by_name[original.name]
        if vi.type.WhichOneof("value") != "tensor_type":
            raise ModelSpecError(
                f"model input {vi.name!r} is not a tensor: only tensor inputs can be analysed; export the "
                "model with tensor inputs"
            )
        dims = _shape_dims(vi.type)
        given = shapes[position] if shapes is not None else None
        if given is None:
            if dims is None or not all(isinstance(d, int) for d in dims):
                shown = _dims_text(dims) if dims is not None else "unknown"
                example = _example_shape(dims)
                raise InputShapeError(
                    f"model input {vi.name!r} has dynamic dimensions ({shown}): {_INPUT_SHAPE_HINT}, "
                    f"e.g. --input-shape {example}"
                )
            pinned.append(tuple(int(d) for d in dims))
            continue
        if dims is not None and len(dims) != len(given):
            raise InputShapeError(
                f"--input-shape {','.join(map(str, given))} has rank {len(given)} but model input {vi.name!r} has "
                f"rank {len(dims)} ({_dims_text(dims)}): give {len(dims)} dimensions"
            )
        if dims is not None:
            for axis, (have, want) in enumerate(zip(dims, given, strict=True)):
                if isinstance(have, int) and have != want:
                    raise InputShapeError(
                        f"--input-shape {','.join(map(str, given))} conflicts with model input {vi.name!r}, "
                        f"whose dimension {axis} is fixed at {have} ({_dims_text(dims)}): give a matching shape, "
                        "or export the model with that dimension dynamic"
                    )
        shape_proto = vi.type.tensor_type.shape
        shape_proto.Clear()
        for size in given:
            shape_proto.dim.add().dim_value = int(size)
        pinned.append(tuple(given))
    return tuple(pinned)


def _example_shape(dims: list[int | str] | None) -> str:
    """An ``--input-shape`` suggestion: static dims kept, a dynamic batch 1, other dynamic dims 224."""
    if not dims:
        return "1,3,224,224"
    return ",".join(str(d) if isinstance(d, int) else "1" if axis == 0 else "224" for axis, d in enumerate(dims))


def _run_inference(light: onnx.ModelProto, strict: bool) -> onnx.ModelProto:
    return onnx.shape_inference.infer_shapes(light, check_type=False, strict_mode=strict, data_prop=True)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _shape_of(type_proto: onnx.TypeProto) -> tuple[int, ...] | None:
    dims = _shape_dims(type_proto)
    if dims is None:
        return None
    return tuple(d if isinstance(d, int) and d >= 0 else -1 for d in dims)


def infer_graph(
    model: onnx.ModelProto, path: str | Path, shapes: tuple[tuple[int, ...], ...] | None = None
) -> InferredGraph:
    """Pin the inputs and infer the shape of every tensor.

    Args:
        model: the loaded model (external data left on disk).
        path: the model file (external data is looked up beside it).
        shapes: ``--input-shape``: one shape per real graph input, in order; ``None`` keeps the model's.

    Raises:
        InputShapeError: the shapes do not fit the model's inputs, or the model cannot accept them.
        ModelSpecError: the model's inputs are not tensors, or its external data is missing.
    """
    base_dir = Path(path).resolve().parent
    light, values, nodes = _prepare(model, base_dir)
    inputs = _real_inputs(model)
    pinned = _pin_inputs(light, inputs, shapes)
    notes: list[str] = []
    if shapes is not None:
        # Declared output shapes belong to the export's own input shape: let inference recompute them.
        for output in light.graph.output:
            if output.type.WhichOneof("value") == "tensor_type":
                output.type.tensor_type.ClearField("shape")
    try:
        inferred = _run_inference(light, strict=True)
    except Exception as exc:  # onnx raises InferenceError, ValidationError, RuntimeError...
        if shapes is not None and _infers_without_pinning(model, base_dir):
            raise InputShapeError(
                f"--input-shape {_shapes_text(shapes)} does not fit the model ({_first_line(exc)}): give a shape the "
                "model accepts"
            ) from exc
        notes.append(f"strict shape inference failed, shapes are partial: {_first_line(exc)}")
        try:
            inferred = _run_inference(light, strict=False)
        except Exception as exc2:  # the model is beyond onnx's inference: analyse what is declared
            notes.append(f"shape inference failed: {_first_line(exc2)}")
            inferred = light
    inferred, resolved = resolve_shape_chains(light, inferred, values, lambda m: _run_inference(m, strict=False))
    if resolved:
        notes.append(f"{resolved} tensor shape(s) resolved by evaluating shape chains on the pinned input shape")
    tensors = _collect_tensors(model, inferred)
    if shapes is not None:
        _check_positive(inferred.graph, tensors, shapes)
    constant_names = {t.name for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            constant_names.update(node.output)
    stored = sum(_tensor_elements(t) for t in model.graph.initializer if t.data_type in FLOAT_TYPES and len(t.dims) > 0)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    return InferredGraph(
        graph=inferred.graph,
        nodes=nodes,
        tensors=tensors,
        constants=values,
        constant_names=constant_names,
        inputs=tuple(vi.name for vi in inputs),
        input_shapes=pinned,
        opset=int(opset),
        stored_params=stored,
        notes=notes,
    )


def _shapes_text(shapes: tuple[tuple[int, ...], ...]) -> str:
    return ";".join(",".join(map(str, s)) for s in shapes)


def _infers_without_pinning(model: onnx.ModelProto, base_dir: Path) -> bool:
    """Whether strict inference succeeds on the model's own input shapes (so a failure is the pin's fault)."""
    light, _, _ = _prepare(model, base_dir)
    try:
        _run_inference(light, strict=True)
    except Exception:
        return False
    return True


def _collect_tensors(model: onnx.ModelProto, inferred: onnx.ModelProto) -> dict[str, TensorInfo]:
    tensors: dict[str, TensorInfo] = {}
    graph = inferred.graph
    for vi in [*graph.input, *graph.value_info, *graph.output]:
        if vi.type.WhichOneof("value") != "tensor_type":
            tensors[vi.name] = TensorInfo(vi.name, None, 0)
            continue
        elem = int(vi.type.tensor_type.elem_type)
        tensors[vi.name] = TensorInfo(vi.name, _shape_of(vi.type), itemsize(elem), elem)
    for tensor in [*model.graph.initializer, *graph.initializer]:
        elem = int(tensor.data_type)
        shape = tuple(int(d) for d in tensor.dims)
        tensors[tensor.name] = TensorInfo(tensor.name, shape, itemsize(elem), elem, constant=True)
    for node in model.graph.node:
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx") and len(node.output) == 1:
            value = _constant_tensor(node)
            if value is not None:
                elem = int(value.data_type)
                shape = tuple(int(d) for d in value.dims)
                tensors[node.output[0]] = TensorInfo(node.output[0], shape, itemsize(elem), elem, constant=True)
    return tensors


_SPATIAL_OPS = frozenset(
    {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "ConvInteger", "QLinearConv", "FusedConv"}
)


def _window_exceeds_input(node: onnx.NodeProto, tensors: dict[str, TensorInfo]) -> bool:
    """Whether an explicitly padded conv or pooling window is larger than its padded input (ONNX shape
    inference rounds such outputs up to 1; runtimes refuse them)."""
    if node.op_type not in _SPATIAL_OPS or not node.input:
        return False
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", b"VALID", "NOTSET", "VALID"):
        return False
    x = tensors.get(node.input[0])
    if x is None or x.shape is None or len(x.shape) < 3:
        return False
    kernel = attrs.get("kernel_shape")
    if kernel is None and len(node.input) > 1 and node.op_type in ("Conv", "ConvInteger", "FusedConv"):
        w = tensors.get(node.input[1])
        kernel = list(w.shape[2:]) if w is not None and w.shape is not None else None
    if not kernel or node.op_type == "ConvTranspose":
        return False
    spatial = x.shape[2:]
    rank = len(spatial)
    pads = list(attrs.get("pads", [0] * 2 * rank)) if attrs.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET") else []
    pads = pads or [0] * 2 * rank
    dilations = list(attrs.get("dilations", [1] * rank))
    for axis in range(min(rank, len(kernel))):
        if spatial[axis] < 0:
            continue
        padded = spatial[axis] + pads[axis] + pads[axis + rank]
        if padded < dilations[axis] * (int(kernel[axis]) - 1) + 1:
            return True
    return False


def _check_positive(
    graph: onnx.GraphProto, tensors: dict[str, TensorInfo], shapes: tuple[tuple[int, ...], ...]
) -> None:
    """Reject a pinned input shape that gives a node a negative (or, for a window op, an empty) output.

    Raises:
        InputShapeError: naming the first such node.
    """
    declared = {vi.name: vi.type for vi in [*graph.value_info, *graph.output]}
    for node in graph.node:
        where = f"node {node.name or node.op_type!r} ({node.op_type})"
        if _window_exceeds_input(node, tensors):
            x = tensors[node.input[0]].shape or ()
            raise InputShapeError(
                f"--input-shape {_shapes_text(shapes)} is too small for the model: the window of {where} is larger "
                f"than its padded input {_dims_text(list(x))}; give a larger input"
            )
        for name in node.output:
            type_proto = declared.get(name)
            dims = _shape_dims(type_proto) if type_proto is not None else None
            if dims is None:
                continue
            sizes = [d for d in dims if isinstance(d, int)]
            if any(d < 0 for d in sizes) or (node.op_type in _SPATIAL_OPS and any(d == 0 for d in sizes)):
                raise InputShapeError(
                    f"--input-shape {_shapes_text(shapes)} is too small for the model: {where} would output "
                    f"{_dims_text(dims)}; give a larger input"
                )
