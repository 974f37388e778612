"""The ONNX frontend: one layer per node of any ONNX file.

The file is read without its weights' values (:mod:`synergy.graph.onnx_graph`), every tensor's shape is
inferred with data propagation after ``--input-shape`` pins the inputs' dynamic dimensions, and each
node is counted by its op type's handler (:mod:`synergy.graph.onnx_ops`) with the formulas the PyTorch
frontend uses (:mod:`synergy.graph.formulas`).

Rows:

* one per node, in graph order, named by ``node.name`` (``<op_type>_<index>`` when the name is empty);
* nodes that compute on constants only (``Constant``, an ``Identity`` of an initializer, shape arithmetic
  on static shapes...) get no row: every runtime folds them before the first inference;
* ``module`` is the enclosing PyTorch module when the exporter recorded it: the TorchScript exporter
  encodes the module path in the node name (``/layer1/layer1.0/conv1/Conv``; each component relative to
  the nearest enclosing module that is not a container), the dynamo exporter in the
  ``pkg.torch.onnx.name_scopes`` metadata. The innermost scope is the leaf module that ran the op
  (``layer1.0.conv1``); ``module`` is its parent (``layer1.0``), as in the PyTorch frontend. When the
  innermost scope holds other scopes (an ``Add`` written in ``layer1.0``'s ``forward``), it is the
  module itself. Otherwise ``module`` is ``""``.

Parameters are the floating-point constant tensors (rank ≥ 1) a node reads; BatchNormalization's running
mean and variance are buffers and not counted, but their bytes are. A one-element constant is a scalar
(an attention scale, an epsilon), not a parameter, unless a node that is not elementwise reads it as it
is (PReLU's single slope). A constant computed from one learned tensor (a class token expanded to the
batch) is that tensor, counted at its own size. The table's ``params`` counts each tensor once, however
many nodes share it. Exporters fold BatchNorm into the preceding convolution, so an ONNX model usually
has fewer parameters than its PyTorch source (BN's ``2C`` are gone, a conv bias of ``C`` may appear).

Totals that leave out work say so: ``LayerTable.incomplete`` is true when an op has no formula or a
layer's shapes could not be inferred (``layers_without_shapes``).
"""

from __future__ import annotations

import ast
import warnings
from collections import defaultdict
from pathlib import Path

import onnx

from synergy.errors import UnsupportedOpWarning
from synergy.graph.layers import Layer, LayerTable
from synergy.graph.onnx_graph import InferredGraph, infer_graph, load_model
from synergy.graph.onnx_ops import (
    ELEMENTWISE_OPS,
    Cost,
    NodeView,
    ShapeUnknownError,
    TensorInfo,
    canonical_op,
    handler_for,
    op_key,
)
from synergy.graph.spec import ModelSpec

__all__ = ["analyze_onnx", "analyze_onnx_file"]

#: Input positions that hold buffers, not parameters (bytes counted, parameters not).
_BUFFER_INPUTS: dict[str, frozenset[int]] = {"BatchNormalization": frozenset({3, 4})}

#: Ops that pass their first input through unchanged in content: a constant keeps its identity.
_ALIASING = frozenset({"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Cast", "CastLike"})

#: Ops never folded even when their inputs are constant.
_NONDETERMINISTIC = frozenset({"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial"})

_SCOPES_KEY = "pkg.torch.onnx.name_scopes"


def analyze_onnx(spec: ModelSpec, shapes: tuple[tuple[int, ...], ...] | None) -> LayerTable:
    """Analyse an ONNX file layer by layer (one layer per node).

    Args:
        spec: a MODEL spec of kind ``onnx``.
        shapes: ``--input-shape``: one shape per graph input (initializers excluded), in order; pins the
            inputs' dynamic dimensions. ``None`` keeps the model's own static shapes.

    Returns:
        The layer table.

    Raises:
        ModelSpecError: the file is missing, empty, truncated or not an ONNX model.
        InputShapeError: ``shapes`` does not fit the model, or a dimension stays dynamic.
    """
    return analyze_onnx_file(spec.target, shapes, model_name=spec.text)


def analyze_onnx_file(
    path: str | Path, shapes: tuple[tuple[int, ...], ...] | None = None, model_name: str | None = None
) -> LayerTable:
    """Analyse the ONNX file at ``path`` (see :func:`analyze_onnx`)."""
    model = load_model(path)
    inferred = infer_graph(model, path, shapes)
    meta = {
        "opset": inferred.opset,
        "ir_version": int(model.ir_version),
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "stored_params": inferred.stored_params,
    }
    if inferred.notes:
        meta["notes"] = list(inferred.notes)
    return _Counter(inferred, str(model_name if model_name is not None else path), meta).run()


class _Counter:
    """Walks the graph once, folding constants and counting every other node."""

    def __init__(self, inferred: InferredGraph, model_name: str, meta: dict[str, object]) -> None:
        self.g = inferred
        self.model_name = model_name
        self.meta = meta
        self.constants = set(inferred.constant_names)
        self.roots: dict[str, str] = {}
        self.param_sizes: dict[str, int] = {}
        self.unsupported: dict[str, list[str]] = defaultdict(list)
        self.shape_unknown: dict[str, list[str]] = defaultdict(list)
        self.uncountable: dict[str, list[str]] = defaultdict(list)

    def root(self, name: str) -> str:
        """The constant a tensor aliases (itself for anything else)."""
        return self.roots.get(name, name)

    def info(self, name: str) -> TensorInfo | None:
        if not name:
            return None
        info = self.g.tensors.get(name)
        constant = name in self.constants
        if info is None:
            return TensorInfo(name, None, 0, 0, constant)
        if info.constant != constant:
            return TensorInfo(info.name, info.shape, info.itemsize, info.elem_type, constant)
        return info

    def fold(self, node: onnx.NodeProto) -> bool:
        """Mark the outputs of a constant-only node as constants; whether the node was folded."""
        if node.op_type in _NONDETERMINISTIC or _has_subgraph(node):
            return False
        present = [name for name in node.input if name]
        # CastLike reads only the dtype of its second input: its value is constant when the first is.
        values_read = present[:1] if node.op_type == "CastLike" else present
        if node.op_type != "Constant" and (not values_read or not all(n in self.constants for n in values_read)):
            return False
        self.constants.update(o for o in node.output if o)
        # A constant derived from one floating-point constant (an Expand, Reshape, Slice... of a learned
        # tensor, such as a ViT's class token) is that tensor: counted once, at its own size.
        floats = [n for n in values_read if (i := self.info(n)) is not None and i.is_float]
        source = present[0] if node.op_type in _ALIASING and present else floats[0] if len(floats) == 1 else None
        if source is not None:
            for output in node.output:
                if output:
                    self.roots[output] = self.root(source)
        return True

    def run(self) -> LayerTable:
        nodes = self.g.nodes
        names = _layer_names(nodes)
        scopes = [_scope(node) for node in nodes]
        modules = _modules(scopes)
        layers: list[Layer] = []
        for index, node in enumerate(nodes):
            if self.fold(node):
                continue
            layers.append(self.layer(node, names[index], modules[index]))
        self.warn()
        unsupported = tuple(sorted(set(self.unsupported) | set(self.shape_unknown) | set(self.uncountable)))
        unshaped = {name for names in self.shape_unknown.values() for name in names}
        return LayerTable(
            model=self.model_name,
            input_shapes=self.g.input_shapes,
            layers=tuple(layers),
            params=sum(self.param_sizes.values()),
            unsupported_ops=unsupported,
            frontend="onnx",
            meta=self.meta,
            layers_without_shapes=tuple(layer.name for layer in layers if layer.name in unshaped),
        )

    def layer(self, node: onnx.NodeProto, name: str, module: str) -> Layer:
        inputs = tuple(self.info(n) for n in node.input)
        outputs = tuple(self.info(n) for n in node.output)
        key = op_key(node)
        handler = handler_for(node)
        cost: Cost | None = None
        unsupported: tuple[str, ...] = ()
        if handler is None:
            self.unsupported[key].append(name)
            unsupported = (key,)
        else:
            view = NodeView(node, inputs, outputs, _attributes(node), self.g.constants, self.g.opset)
            try:
                cost = handler(view)
            except ShapeUnknownError:
                self.shape_unknown[key].append(name)
                unsupported = (key,)
            except (ArithmeticError, IndexError, KeyError, TypeError, ValueError) as exc:
                # A node the formula cannot read (unusual attributes, ranks): listed, never a crash.
                self.uncountable[key].append(f"{name}: {type(exc).__name__}: {exc}")
                unsupported = (key,)
        buffers = _BUFFER_INPUTS.get(node.op_type, frozenset())
        params = weight_bytes = input_bytes = 0
        input_shapes: list[tuple[int, ...]] = []
        for position, info in enumerate(inputs):
            if info is None:
                continue
            if not info.constant:
                input_bytes += info.nbytes
                if info.shape is not None:
                    input_shapes.append(info.shape)
                continue
            if not info.is_float or not info.shape:
                continue
            weight_bytes += info.nbytes
            root = self.root(info.name)
            source = self.g.tensors.get(root)
            size = source.numel if source is not None and source.shape is not None else info.numel
            scalar = size <= 1 and (node.op_type in ELEMENTWISE_OPS or root != info.name)
            if position in buffers or scalar:
                continue  # a buffer, or a scalar (an attention scale, an epsilon, a broadcast zero)
            params += size
            self.param_sizes[root] = size
        output_shapes = tuple(o.shape for o in outputs if o is not None and o.shape is not None)
        cost = cost or Cost()
        return Layer(
            name=name,
            op=cost.op or canonical_op(node),
            kind=node.op_type,
            module=module,
            input_shapes=tuple(input_shapes),
            output_shapes=output_shapes,
            macs=int(cost.macs),
            params=params,
            weight_bytes=weight_bytes,
            input_bytes=input_bytes,
            output_bytes=sum(o.nbytes for o in outputs if o is not None),
            flops_norm=int(cost.norm),
            flops_activation=int(cost.activation),
            flops_pooling=int(cost.pooling),
            flops_elementwise=int(cost.elementwise),
            ops=(key,),
            unsupported=unsupported,
        )

    def warn(self) -> None:
        for key, nodes in sorted(self.unsupported.items()):
            warnings.warn(
                f"no counting formula for ONNX op {key} ({_examples(nodes)}): its MACs are unknown, not 0; "
                "it is listed in unsupported_ops",
                UnsupportedOpWarning,
                stacklevel=4,
            )
        for key, nodes in sorted(self.shape_unknown.items()):
            warnings.warn(
                f"shapes of {key} node(s) could not be inferred ({_examples(nodes)}): their MACs are unknown, "
                "not 0; listed in unsupported_ops (check --input-shape)",
                UnsupportedOpWarning,
                stacklevel=4,
            )
        for key, problems in sorted(self.uncountable.items()):
            warnings.warn(
                f"{key} node(s) could not be counted ({_examples(problems)}): their MACs are unknown, not 0; "
                "listed in unsupported_ops",
                UnsupportedOpWarning,
                stacklevel=4,
            )


def _examples(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:3])
    return f"{len(names)} node(s): {shown}{', ...' if len(names) > 3 else ''}"


def _has_subgraph(node: onnx.NodeProto) -> bool:
    return any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute)


def _attributes(node: onnx.NodeProto) -> dict[str, object]:
    out: dict[str, object] = {}
    for attr in node.attribute:
        if attr.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
            continue
        out[attr.name] = onnx.helper.get_attribute_value(attr)
    return out


def _layer_names(nodes: list[onnx.NodeProto]) -> list[str]:
    """``node.name``, or ``<op_type>_<index>`` when empty; later duplicates get ``_<index>`` appended."""
    seen: set[str] = set()
    names: list[str] = []
    for index, node in enumerate(nodes):
        name = node.name or f"{node.op_type}_{index}"
        if name in seen:
            name = f"{name}_{index}"
        seen.add(name)
        names.append(name)
    return names


def _scope(node: onnx.NodeProto) -> str | None:
    """The qualified name of the innermost module the exporter recorded for a node, or ``None``."""
    for prop in node.metadata_props:
        if prop.key == _SCOPES_KEY:
            try:
                scopes = ast.literal_eval(prop.value)
            except (ValueError, SyntaxError):
                return None
            if isinstance(scopes, list) and scopes:
                modules = [str(s) for s in scopes[1:-1]]
                return modules[-1] if modules else ""
            return None
    if not node.name.startswith("/"):
        return None
    # TorchScript names: each component is relative to the nearest enclosing module that is not a
    # container: ``/features/features.1/conv/conv.0/Conv`` is ``features.1.conv.0``.
    qualified = base = previous = ""
    for part in node.name.strip("/").split("/")[:-1]:
        if not (previous and part.startswith(previous + ".")):
            base = f"{qualified}." if qualified else ""
        qualified = base + part
        previous = part
    return qualified


def _modules(scopes: list[str | None]) -> list[str]:
    """Enclosing module per node: the parent of a leaf scope, the scope itself when it holds others."""
    known = {s for s in scopes if s}
    parents = {p for s in known for p in _prefixes(s)}
    out: list[str] = []
    for scope in scopes:
        if not scope:
            out.append("")
        elif scope in parents:
            out.append(scope)
        else:
            out.append(scope.rsplit(".", 1)[0] if "." in scope else "")
    return out


def _prefixes(scope: str) -> list[str]:
    parts = scope.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]
