"""ONNX op type → counting handler registry.

A handler receives a :class:`NodeView` (the node, the shapes and dtypes of its inputs and outputs, its
attributes, and the values of small constant inputs) and returns a :class:`Cost`: the canonical op name,
the MACs (torchvision/Caffe convention, see ``docs/conventions.md``) and the extra FLOPs by class. The
arithmetic itself lives in :mod:`synergy.graph.formulas`, shared with the PyTorch frontend.

Op types fall in three groups:

* ops with a handler (:func:`handler_for`);
* known zero-cost ops (:data:`ZERO_COST`): data movement and shape metadata (Reshape, Concat, Shape,
  Gather, Cast...), counted as 0 on purpose;
* everything else: no formula. The frontend lists those in ``unsupported_ops`` and warns, never
  counting them as a silent zero.

Users can add formulas with :func:`register_op`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx

from synergy.graph import formulas as f

__all__ = [
    "ELEMENTWISE_OPS",
    "FLOAT_TYPES",
    "ZERO_COST",
    "Cost",
    "NodeView",
    "ShapeUnknownError",
    "TensorInfo",
    "canonical_op",
    "handler_for",
    "op_key",
    "register_op",
]


class ShapeUnknownError(Exception):
    """A handler needed a shape (or dimension) that shape inference could not determine."""


@dataclass(frozen=True)
class TensorInfo:
    """What the analysis knows about one tensor of the graph.

    Attributes:
        name: the tensor (value) name.
        shape: dims (``-1`` for a dimension left symbolic), or ``None`` when even the rank is unknown.
        itemsize: bytes per element.
        elem_type: the ONNX ``TensorProto.DataType`` value (0 when unknown).
        constant: an initializer, a ``Constant`` output, or computed from constants only.
    """

    name: str
    shape: tuple[int, ...] | None
    itemsize: int
    elem_type: int = 0
    constant: bool = False

    @property
    def known(self) -> bool:
        """Whether every dimension is known."""
        return self.shape is not None and all(d >= 0 for d in self.shape)

    @property
    def numel(self) -> int:
        """Number of elements (0 when the shape is not fully known)."""
        return f.numel(self.shape) if self.known and self.shape is not None else 0

    @property
    def nbytes(self) -> int:
        """Size in bytes (0 when the shape is not fully known)."""
        return self.numel * self.itemsize

    @property
    def is_float(self) -> bool:
        """Whether the elements are floating point (weights), not integers (shapes, indices)."""
        return self.elem_type in FLOAT_TYPES


FLOAT_TYPES: frozenset[int] = frozenset(
    getattr(onnx.TensorProto, name)
    for name in (
        "FLOAT",
        "DOUBLE",
        "FLOAT16",
        "BFLOAT16",
        "FLOAT8E4M3FN",
        "FLOAT8E4M3FNUZ",
        "FLOAT8E5M2",
        "FLOAT8E5M2FNUZ",
        "FLOAT4E2M1",
    )
    if hasattr(onnx.TensorProto, name)
)


@dataclass(frozen=True)
class NodeView:
    """A node as the handlers see it.

    Attributes:
        node: the ONNX node.
        inputs: one entry per input position (``None`` for an omitted optional input).
        outputs: one entry per output position (``None`` for an omitted optional output).
        attrs: attribute name → Python value.
        constants: tensor name → values, for the small constants of the graph.
        opset: the model's default-domain opset.
    """

    node: onnx.NodeProto
    inputs: tuple[TensorInfo | None, ...]
    outputs: tuple[TensorInfo | None, ...]
    attrs: Mapping[str, Any]
    constants: Mapping[str, np.ndarray] = field(default_factory=dict)
    opset: int = 18

    def has_input(self, index: int) -> bool:
        """Whether input ``index`` is given."""
        return index < len(self.inputs) and self.inputs[index] is not None

    def input_shape(self, index: int = 0) -> tuple[int, ...]:
        """The fully known shape of input ``index``.

        Raises:
            ShapeUnknownError: the input is absent or its shape is not fully known.
        """
        return _known_shape(self.inputs, index, self.node, "input")

    def output_shape(self, index: int = 0) -> tuple[int, ...]:
        """The fully known shape of output ``index``.

        Raises:
            ShapeUnknownError: the output is absent or its shape is not fully known.
        """
        return _known_shape(self.outputs, index, self.node, "output")

    def value(self, index: int) -> np.ndarray | None:
        """The values of constant input ``index`` when it is a small constant, else ``None``."""
        if not self.has_input(index):
            return None
        info = self.inputs[index]
        return None if info is None else self.constants.get(info.name)

    def attr(self, name: str, default: Any = None) -> Any:
        """Attribute ``name``, or ``default``."""
        return self.attrs.get(name, default)


def _known_shape(infos: Sequence[TensorInfo | None], index: int, node: onnx.NodeProto, what: str) -> tuple[int, ...]:
    info = infos[index] if index < len(infos) else None
    if info is None or info.shape is None or not info.known:
        raise ShapeUnknownError(f"{what} {index} of {node.op_type} node {node.name!r} has no known shape")
    return info.shape


@dataclass
class Cost:
    """What one node costs.

    Attributes:
        op: canonical op name (``Conv``, ``Linear``, ``Relu6``...); ``None`` keeps the default mapping.
        macs: multiply-accumulates.
        norm: extra FLOPs of normalisation.
        activation: extra FLOPs of activations.
        pooling: extra FLOPs of pooling and reductions.
        elementwise: extra FLOPs of elementwise arithmetic (bias adds included).
    """

    op: str | None = None
    macs: int = 0
    norm: int = 0
    activation: int = 0
    pooling: int = 0
    elementwise: int = 0


Handler = Callable[[NodeView], Cost]

#: (domain, op_type) → handler. The default domain is ``""``.
_HANDLERS: dict[tuple[str, str], Handler] = {}

#: op_type → canonical name, where they differ.
_CANONICAL: dict[tuple[str, str], str] = {
    ("", "Gemm"): "Linear",
    ("", "BatchNormalization"): "BatchNorm",
    ("", "LayerNormalization"): "LayerNorm",
    ("", "GroupNormalization"): "GroupNorm",
    ("", "InstanceNormalization"): "InstanceNorm",
    ("", "LRN"): "LocalResponseNorm",
    ("", "Resize"): "Upsample",
    ("", "Upsample"): "Upsample",
    ("", "Swish"): "Silu",
    ("", "Einsum"): "MatMul",
    ("", "MatMulInteger"): "MatMul",
    ("", "QLinearMatMul"): "MatMul",
    ("", "ConvInteger"): "Conv",
    ("", "QLinearConv"): "Conv",
    ("com.microsoft", "FusedConv"): "Conv",
    ("com.microsoft", "FusedGemm"): "Linear",
    ("com.microsoft", "FusedMatMul"): "MatMul",
    ("com.microsoft", "MultiHeadAttention"): "Attention",
}

#: Known zero-cost op types of the default domain: data movement, shape metadata, constants.
ZERO_COST: frozenset[str] = frozenset(
    {
        "Identity",
        "Constant",
        "ConstantOfShape",
        "Shape",
        "Size",
        "Reshape",
        "Flatten",
        "Transpose",
        "Squeeze",
        "Unsqueeze",
        "Concat",
        "Split",
        "SplitToSequence",
        "ConcatFromSequence",
        "SequenceAt",
        "SequenceConstruct",
        "SequenceEmpty",
        "SequenceInsert",
        "SequenceErase",
        "SequenceLength",
        "Slice",
        "Gather",
        "GatherElements",
        "GatherND",
        "Scatter",
        "ScatterElements",
        "ScatterND",
        "Expand",
        "Tile",
        "Pad",
        "Cast",
        "CastLike",
        "Dropout",
        "DepthToSpace",
        "SpaceToDepth",
        "Range",
        "EyeLike",
        "OneHot",
        "NonZero",
        "Compress",
        "ReverseSequence",
        "Trilu",
        "Optional",
        "OptionalGetElement",
        "OptionalHasElement",
        "Col2Im",
    }
)


def op_key(node: onnx.NodeProto) -> str:
    """The op's name as listed in ``unsupported_ops``: ``op_type``, domain-qualified outside ONNX's own."""
    domain = node.domain if node.domain not in ("", "ai.onnx") else ""
    return f"{domain}.{node.op_type}" if domain else node.op_type


def _domain(node: onnx.NodeProto) -> str:
    return "" if node.domain in ("", "ai.onnx") else node.domain


def canonical_op(node: onnx.NodeProto) -> str:
    """Canonical op name of a node (``Gemm`` → ``Linear``, ``BatchNormalization`` → ``BatchNorm``...)."""
    return _CANONICAL.get((_domain(node), node.op_type), node.op_type)


def handler_for(node: onnx.NodeProto) -> Handler | None:
    """The node's handler, :func:`zero_cost` for a known zero-cost op, or ``None`` (no formula)."""
    domain = _domain(node)
    handler = _HANDLERS.get((domain, node.op_type))
    if handler is None and domain == "" and node.op_type in ZERO_COST:
        return zero_cost
    return handler


def register_op(op_type: str, handler: Handler, domain: str = "") -> None:
    """Add (or replace) the counting handler of an op type.

    Args:
        op_type: the ONNX ``op_type``.
        handler: a callable taking a :class:`NodeView` and returning a :class:`Cost`.
        domain: the op's domain (``""`` for ONNX's own, ``com.microsoft``...).
    """
    _HANDLERS[(domain, op_type)] = handler


def _register(*op_types: str, domain: str = "") -> Callable[[Handler], Handler]:
    def decorate(handler: Handler) -> Handler:
        for op_type in op_types:
            register_op(op_type, handler, domain)
        return handler

    return decorate


def zero_cost(view: NodeView) -> Cost:
    """Data movement and shape metadata: no arithmetic."""
    return Cost()


def _out_numel(view: NodeView) -> int:
    return f.numel(view.output_shape(0))


# --- convolution, linear algebra, attention ---------------------------------------------------------


def _with_activation(view: NodeView, cost: Cost) -> Cost:
    """Fused activation of com.microsoft Fused* ops, counted as the activation alone would be."""
    if view.attr("activation"):
        cost.activation += f.activation_flops(view.output_shape(0))
    return cost


@_register("Conv")
def _conv(view: NodeView) -> Cost:
    """Bias adds are not counted, as in the PyTorch frontend (torchvision convention)."""
    return Cost(macs=f.conv_macs(view.output_shape(0), view.input_shape(1)))


@_register("FusedConv", domain="com.microsoft")
def _fused_conv(view: NodeView) -> Cost:
    cost = _conv(view)
    if view.has_input(3):  # the fused residual Add ("Z")
        cost.elementwise += f.elementwise_flops(view.output_shape(0))
    return _with_activation(view, cost)


@_register("ConvInteger")
def _conv_integer(view: NodeView) -> Cost:
    return Cost(macs=f.conv_macs(view.output_shape(0), view.input_shape(1)))


@_register("QLinearConv")
def _qlinear_conv(view: NodeView) -> Cost:
    return Cost(macs=f.conv_macs(view.output_shape(0), view.input_shape(3)))


@_register("ConvTranspose")
def _conv_transpose(view: NodeView) -> Cost:
    return Cost(macs=f.conv_transpose_macs(view.input_shape(0), view.input_shape(1)))


def _gemm_cost(view: NodeView) -> Cost:
    """``M·N·K`` with ``transA``; the ``β·C`` add is not counted, as PyTorch's ``addmm``."""
    a = view.input_shape(0)
    inner = a[0] if view.attr("transA", 0) else a[-1]
    return Cost(macs=f.matmul_macs(view.output_shape(0), inner))


_register("Gemm")(_gemm_cost)


@_register("FusedGemm", domain="com.microsoft")
def _fused_gemm(view: NodeView) -> Cost:
    return _with_activation(view, _gemm_cost(view))


def _matmul_inner(a: tuple[int, ...], transposed: bool = False) -> int:
    if len(a) >= 2 and transposed:
        return a[-2]
    return a[-1]


@_register("MatMul", "MatMulInteger")
def _matmul(view: NodeView) -> Cost:
    return Cost(macs=f.matmul_macs(view.output_shape(0), _matmul_inner(view.input_shape(0))))


@_register("QLinearMatMul")
def _qlinear_matmul(view: NodeView) -> Cost:
    return Cost(macs=f.matmul_macs(view.output_shape(0), _matmul_inner(view.input_shape(0))))


@_register("FusedMatMul", domain="com.microsoft")
def _fused_matmul(view: NodeView) -> Cost:
    a = view.input_shape(0)
    return Cost(macs=f.matmul_macs(view.output_shape(0), _matmul_inner(a, bool(view.attr("transA", 0)))))


@_register("Einsum")
def _einsum(view: NodeView) -> Cost:
    equation = view.attr("equation")
    equation = equation.decode() if isinstance(equation, bytes) else str(equation)
    shapes = [view.input_shape(i) for i in range(len(view.inputs)) if view.has_input(i)]
    macs, extra = einsum_cost(equation, shapes)
    return Cost(macs=macs, elementwise=extra)


def einsum_cost(equation: str, shapes: Sequence[Sequence[int]]) -> tuple[int, int]:
    """MACs of an Einsum contracted pairwise, left to right.

    A pairwise product costs the product of the sizes of every index either operand carries (one
    multiply-add per combination). A single operand is a sum (or a copy): no MACs, and its additions are
    returned as extra FLOPs.

    Returns:
        ``(macs, extra_flops)``.
    """
    spec = equation.replace(" ", "")
    lhs, _, rhs = spec.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ShapeUnknownError(f"Einsum {equation!r} names {len(terms)} operands, got {len(shapes)}")
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in spec]
    ell_rank = max((len(s) - (len(t) - 3) for t, s in zip(terms, shapes, strict=True) if "..." in t), default=0)
    ell = "".join(spare[:ell_rank])
    sizes: dict[str, int] = {}
    operands: list[str] = []
    for term, shape in zip(terms, shapes, strict=True):
        if "..." in term:
            own = len(shape) - (len(term) - 3)
            term = term.replace("...", ell[ell_rank - own :] if own else "")
        if len(term) != len(shape):
            raise ShapeUnknownError(f"Einsum {equation!r}: operand {term!r} does not match shape {tuple(shape)}")
        for letter, dim in zip(term, shape, strict=True):
            sizes[letter] = max(sizes.get(letter, 1), int(dim))
        operands.append(term)
    if "->" in spec:
        output = rhs.replace("...", ell)
    else:
        counts = {c: lhs.count(c) for c in set(lhs.replace(",", "").replace(".", ""))}
        output = ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    if len(operands) == 1:
        total = f.numel([sizes[c] for c in operands[0]])
        return 0, max(total - f.numel([sizes[c] for c in output]), 0)
    macs = 0
    current = operands[0]
    for position in range(1, len(operands)):
        other = operands[position]
        later = set(output).union(*operands[position + 1 :])
        letters = dict.fromkeys(current + other)
        macs += f.numel([sizes[c] for c in letters])
        current = "".join(c for c in letters if c in later)
    return macs, 0


def _attention_shapes(
    q: tuple[int, ...], k: tuple[int, ...], v: tuple[int, ...], q_heads: int, kv_heads: int
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Bring 3-D ``[B, S, heads·D]`` attention inputs to 4-D ``[B, heads, S, D]``."""
    if len(q) == 4:
        return q, k, v
    if q_heads <= 0:
        raise ShapeUnknownError("3-D attention inputs need the number of heads")
    kv_heads = kv_heads or q_heads
    q4 = (q[0], q_heads, q[1], q[2] // q_heads)
    k4 = (k[0], kv_heads, k[1], k[2] // kv_heads)
    v4 = (v[0], kv_heads, v[1], v[2] // kv_heads)
    return q4, k4, v4


def _attention_cost(view: NodeView, q_heads: int, kv_heads: int) -> Cost:
    q, k, v = _attention_shapes(view.input_shape(0), view.input_shape(1), view.input_shape(2), q_heads, kv_heads)
    if view.node.op_type == "Attention" and view.has_input(4):  # past_key: the cache joins the keys
        past = view.input_shape(4)[-2]
        k = (*k[:-2], k[-2] + past, k[-1])
        v = (*v[:-2], v[-2] + past, v[-1])
    # Grouped-query attention: every query head reads a key/value head; count per query head.
    k = (*k[:-3], q[-3], k[-2], k[-1])
    v = (*v[:-3], q[-3], v[-2], v[-1])
    # Scale and softmax per score, reported as elementwise as the PyTorch frontend does for SDPA.
    return Cost(op="Attention", macs=f.attention_macs(q, k, v), elementwise=f.attention_extra_flops(q, k))


@_register("Attention")
def _attention(view: NodeView) -> Cost:
    return _attention_cost(view, int(view.attr("q_num_heads", 0)), int(view.attr("kv_num_heads", 0)))


@_register("MultiHeadAttention", domain="com.microsoft")
def _ms_multi_head_attention(view: NodeView) -> Cost:
    heads = int(view.attr("num_heads", 0))
    return _attention_cost(view, heads, heads)


def _recurrent(view: NodeView) -> Cost:
    """RNN/GRU/LSTM: per time step and batch row, one MAC per element of W and R (all directions)."""
    x = view.input_shape(0)
    w = view.input_shape(1)
    r = view.input_shape(2)
    steps, batch = (x[1], x[0]) if view.attr("layout", 0) else (x[0], x[1])
    cost = Cost(macs=steps * batch * (f.numel(w) + f.numel(r)))
    gates = w[0] * w[1]  # directions × gates·hidden
    cost.activation = steps * batch * gates
    if view.has_input(3):
        cost.elementwise = steps * batch * 2 * gates
    return cost


_register("RNN", "GRU", "LSTM")(_recurrent)


# --- normalisation -----------------------------------------------------------------------------------


@_register("BatchNormalization")
def _batch_norm(view: NodeView) -> Cost:
    """Inference BN is ``x·a_c + b_c``: 1 MAC per element, reported as 2 normalisation FLOPs (0 MACs)."""
    return Cost(norm=f.batch_norm_flops(view.input_shape(0), affine=True))


def _per_element(op_class: str, flops_per_element: int) -> Handler:
    def handler(view: NodeView) -> Cost:
        cost = Cost()
        setattr(cost, op_class, f.elementwise_flops(view.output_shape(0), flops_per_element))
        return cost

    return handler


_register("LayerNormalization", "GroupNormalization", "InstanceNormalization", "MeanVarianceNormalization")(
    _per_element("norm", f.NORM_FLOPS_PER_ELEMENT)
)
_register("LpNormalization")(_per_element("norm", 3))
_register("SkipLayerNormalization", "SimplifiedLayerNormalization", domain="com.microsoft")(
    _per_element("norm", f.NORM_FLOPS_PER_ELEMENT)
)


@_register("LRN")
def _lrn(view: NodeView) -> Cost:
    """Local response norm: a sum of ``size`` squares, then scale, shift, power and divide per element."""
    size = int(view.attr("size", 1))
    return Cost(norm=(2 * size + 3) * _out_numel(view))


# --- activations -------------------------------------------------------------------------------------

_ACTIVATIONS_1 = (
    "Relu",
    "LeakyRelu",
    "PRelu",
    "Sigmoid",
    "Tanh",
    "HardSigmoid",
    "HardSwish",
    "Elu",
    "Selu",
    "Celu",
    "Softplus",
    "Softsign",
    "ThresholdedRelu",
    "Mish",
    "Gelu",
    "Swish",
    "Erf",
    "Exp",
    "Shrink",
)
_register(*_ACTIVATIONS_1)(_per_element("activation", f.ACTIVATION_FLOPS_PER_ELEMENT))


@_register("Gelu", "FastGelu", "BiasGelu", "QuickGelu", domain="com.microsoft")
def _ms_gelu(view: NodeView) -> Cost:
    """ONNX Runtime's fused activations; ``QuickGelu`` with ``alpha = 1`` is SiLU (``x·sigmoid(x)``)."""
    alpha = float(view.attr("alpha", 1.702))
    op = "Silu" if view.node.op_type == "QuickGelu" and alpha == 1.0 else "Gelu"
    return Cost(op=op, activation=f.activation_flops(view.output_shape(0)))


@_register("Clip")
def _clip(view: NodeView) -> Cost:
    """Clip is an activation; ``Clip(0, 6)`` is ReLU6."""
    low, high = view.attr("min"), view.attr("max")
    low_value, high_value = view.value(1), view.value(2)
    if low_value is not None and low_value.size == 1:
        low = float(low_value.reshape(-1)[0])
    if high_value is not None and high_value.size == 1:
        high = float(high_value.reshape(-1)[0])
    op = "Relu6" if low == 0.0 and high == 6.0 else "Relu" if low == 0.0 and high is None else "Clip"
    return Cost(op=op, activation=f.activation_flops(view.output_shape(0)))


@_register("Softmax", "LogSoftmax", "Hardmax")
def _softmax(view: NodeView) -> Cost:
    """``exp``, sum and divide: ``3n − 1`` per row of ``n`` along ``axis``.

    Before opset 13 the input is coerced to 2-D at ``axis`` (default 1): a row is everything after it.
    """
    shape = view.output_shape(0)
    if view.opset >= 13:
        return Cost(activation=f.softmax_flops(shape, int(view.attr("axis", -1))))
    axis = int(view.attr("axis", 1)) % max(len(shape), 1)
    return Cost(activation=f.softmax_flops((f.numel(shape[:axis]), f.numel(shape[axis:])), -1))


# --- pooling and reductions --------------------------------------------------------------------------


@_register("MaxPool")
def _max_pool(view: NodeView) -> Cost:
    return Cost(pooling=f.pool_flops(view.output_shape(0), list(view.attr("kernel_shape", [1])), "max"))


@_register("AveragePool", "LpPool")
def _avg_pool(view: NodeView) -> Cost:
    return Cost(pooling=f.pool_flops(view.output_shape(0), list(view.attr("kernel_shape", [1])), "avg"))


@_register("GlobalAveragePool", "GlobalLpPool")
def _global_avg_pool(view: NodeView) -> Cost:
    return Cost(pooling=f.adaptive_pool_flops(view.input_shape(0), view.output_shape(0), "avg"))


@_register("GlobalMaxPool")
def _global_max_pool(view: NodeView) -> Cost:
    return Cost(pooling=f.adaptive_pool_flops(view.input_shape(0), view.output_shape(0), "max"))


@_register("MaxRoiPool", "RoiAlign")
def _roi_pool(view: NodeView) -> Cost:
    """One FLOP per input sample per output (the sampling grid is data-dependent; a floor estimate)."""
    return Cost(pooling=_out_numel(view))


@_register("ReduceMean", "ReduceL2", "ReduceLogSumExp", "ReduceLogSum")
def _reduce_mean(view: NodeView) -> Cost:
    """One FLOP per input element plus one divide (or root, log) per output, as global average pooling."""
    return Cost(pooling=f.reduction_flops(view.input_shape(0), view.output_shape(0), mean=True))


@_register("ReduceMax", "ReduceMin", "ReduceSum", "ReduceProd", "ReduceL1", "ReduceSumSquare", "ArgMax", "ArgMin")
def _reduce(view: NodeView) -> Cost:
    """One compare (or add, multiply) per input element, as the PyTorch frontend's reductions."""
    return Cost(pooling=f.reduction_flops(view.input_shape(0), view.output_shape(0)))


# --- elementwise -------------------------------------------------------------------------------------

_ELEMENTWISE_1 = (
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Sqrt",
    "Reciprocal",
    "Neg",
    "Abs",
    "Log",
    "Floor",
    "Ceil",
    "Round",
    "Sign",
    "Mod",
    "BitShift",
    "BitwiseAnd",
    "BitwiseOr",
    "BitwiseXor",
    "BitwiseNot",
    "And",
    "Or",
    "Xor",
    "Not",
    "Equal",
    "Less",
    "Greater",
    "LessOrEqual",
    "GreaterOrEqual",
    "Where",
    "Sin",
    "Cos",
    "Tan",
    "Asin",
    "Acos",
    "Atan",
    "Sinh",
    "Cosh",
    "Asinh",
    "Acosh",
    "Atanh",
    "IsNaN",
    "IsInf",
    "QuantizeLinear",
    "DequantizeLinear",
    "DynamicQuantizeLinear",
    "CumSum",
)
_register(*_ELEMENTWISE_1)(_per_element("elementwise", 1))

#: Elementwise ops: their one-element constant operands are scalars, not parameters.
ELEMENTWISE_OPS: frozenset[str] = frozenset({*_ELEMENTWISE_1, "Sum", "Max", "Min", "Mean", "Clip"})


@_register("Sum", "Max", "Min", "Mean")
def _variadic(view: NodeView) -> Cost:
    """Variadic elementwise ops: one FLOP per output element per extra operand (Mean: plus a divide)."""
    operands = sum(1 for i in range(len(view.inputs)) if view.has_input(i))
    per_element = max(operands - 1, 0) + (1 if view.node.op_type == "Mean" else 0)
    return Cost(elementwise=per_element * _out_numel(view))


@_register("Resize", "Upsample")
def _resize(view: NodeView) -> Cost:
    """Nearest is a copy (0); linear and cubic count as PyTorch's modes over the resized axes
    (``linear`` 1 axis, ``bilinear`` 2, ``trilinear`` 3; ``bicubic``)."""
    mode = view.attr("mode", "nearest")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    out = view.output_shape(0)
    resized = sum(1 for a, b in zip(view.input_shape(0), out, strict=False) if a != b) or max(len(out) - 2, 1)
    if mode == "linear":
        mode = {1: "linear", 2: "bilinear"}.get(resized, "trilinear")
    elif mode == "cubic":
        mode = "bicubic"
    return Cost(elementwise=f.upsample_flops(out, mode))
