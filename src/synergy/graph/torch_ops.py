"""Aten op → cost handler registry of the PyTorch frontend.

Every op the dispatch-level counter sees is looked up by its overload packet name (``aten.convolution``,
``aten.add``...). An op is one of:

- *counted*: a handler in :data:`HANDLERS` turns its argument and output shapes into an :class:`OpCost`
  with the formulas of :mod:`synergy.graph.formulas` (the same ones the ONNX frontend applies);
- *free*: listed in :data:`FREE_OPS`: data movement or views that do no arithmetic (reshape, permute,
  cat, copies, padding, indexing, nearest upsampling, eval-mode dropout);
- *hidden*: listed in :data:`HIDDEN_OPS`: tensor factories and metadata queries (``empty``, ``arange``,
  ``detach``...) that neither read an activation nor do work; they get no row and are not listed;
- *unsupported*: anything else. Its work is unknown, so it is reported (never silently counted as 0).

Users can extend the registry with :func:`register_op`, like fvcore's handler table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from synergy.graph import formulas as f

__all__ = [
    "CANONICAL_OPS",
    "FREE_OPS",
    "HANDLERS",
    "HIDDEN_OPS",
    "OpCost",
    "OpHandler",
    "canonical_op",
    "register_op",
]


@dataclass(slots=True)
class OpCost:
    """Work of one op: MACs (torchvision convention) and extra FLOPs by class."""

    macs: int = 0
    norm: int = 0
    activation: int = 0
    pooling: int = 0
    elementwise: int = 0

    @property
    def extra(self) -> int:
        """Sum of the extra FLOPs of every class."""
        return self.norm + self.activation + self.pooling + self.elementwise


#: ``handler(args, kwargs, out) -> OpCost``: args and out as the dispatcher passes them.
OpHandler = Callable[[Sequence[Any], dict[str, Any], Any], OpCost]

#: Counting handlers, by aten overload packet name.
HANDLERS: dict[str, OpHandler] = {}


def register_op(*names: str) -> Callable[[OpHandler], OpHandler]:
    """Register a handler for aten ops given by packet name (``"aten.my_op"``); returns the handler.

    Example::

        @register_op("aten.my_op")
        def _my_op(args, kwargs, out):
            return OpCost(elementwise=formulas.numel(out.shape))
    """

    def decorate(handler: OpHandler) -> OpHandler:
        for name in names:
            HANDLERS[name if name.startswith("aten.") or "." in name else f"aten.{name}"] = handler
        return handler

    return decorate


def _shape(t: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in t.shape)


def _tensors(value: Any) -> Iterator[Any]:
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _tensors(item)


def _out(out: Any) -> tuple[int, ...]:
    for t in _tensors(out):
        return _shape(t)
    return ()


def _arg(args: Sequence[Any], kwargs: dict[str, Any], index: int, name: str, default: Any = None) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _ints(value: Any, rank: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * rank
    items = tuple(int(v) for v in value)
    if len(items) == 1 and rank > 1:
        return items * rank
    return items


# --- MACs ---------------------------------------------------------------------------------------------


@register_op("aten.convolution", "aten._convolution", "aten.convolution_overrideable")
def _convolution(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    x, w = args[0], args[1]
    if bool(_arg(args, kwargs, 6, "transposed", False)):
        return OpCost(macs=f.conv_transpose_macs(_shape(x), _shape(w)))
    return OpCost(macs=f.conv_macs(_out(out), _shape(w)))


@register_op("aten.conv1d", "aten.conv2d", "aten.conv3d")
def _conv_nd(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    return OpCost(macs=f.conv_macs(_out(out), _shape(args[1])))


@register_op("aten.conv_transpose1d", "aten.conv_transpose2d", "aten.conv_transpose3d")
def _conv_transpose_nd(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    return OpCost(macs=f.conv_transpose_macs(_shape(args[0]), _shape(args[1])))


@register_op("aten.mm", "aten.bmm", "aten.matmul", "aten.mv", "aten.dot", "aten.vdot")
def _mm(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    return OpCost(macs=f.matmul_macs(_out(out), _shape(args[0])[-1]))


@register_op("aten.addmm", "aten.baddbmm", "aten.addmv", "aten.addbmm")
def _addmm(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    a = _shape(args[1])
    if len(a) == 3 and len(_out(out)) == 2:  # addbmm sums over the batch
        return OpCost(macs=f.numel(a) * _shape(args[2])[-1])
    return OpCost(macs=f.matmul_macs(_out(out), a[-1]))


@register_op("aten.linear")
def _linear(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    return OpCost(macs=f.matmul_macs(_out(out), _shape(args[1])[-1]))


@register_op(
    "aten.scaled_dot_product_attention",
    "aten._scaled_dot_product_attention_math",
    "aten._scaled_dot_product_flash_attention_for_cpu",
    "aten._scaled_dot_product_flash_attention",
    "aten._scaled_dot_product_efficient_attention",
    "aten._scaled_dot_product_cudnn_attention",
    "aten._scaled_dot_product_fused_attention_overrideable",
)
def _sdpa(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    q, k, v = _shape(args[0]), _shape(args[1]), _shape(args[2])
    return OpCost(macs=f.attention_macs(q, k, v), elementwise=f.attention_extra_flops(q, k))


@register_op("aten._native_multi_head_attention")
def _native_mha(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    query, key, value = _shape(args[0]), _shape(args[1]), _shape(args[2])
    embed, heads = int(args[3]), int(args[4])
    head_dim = embed // heads
    batch = query[:-2]
    q = (*batch, heads, query[-2], head_dim)
    k = (*key[:-2], heads, key[-2], head_dim)
    v = (*value[:-2], heads, value[-2], head_dim)
    projections = (f.numel(query[:-1]) * 2 + f.numel(key[:-1]) + f.numel(value[:-1])) * embed * embed
    return OpCost(macs=projections + f.attention_macs(q, k, v), elementwise=f.attention_extra_flops(q, k))


# --- normalisation ------------------------------------------------------------------------------------


@register_op("aten._native_batch_norm_legit_no_training")
def _bn_inference(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    return OpCost(norm=f.batch_norm_flops(_shape(args[0]), affine=args[1] is not None))


@register_op("aten.native_batch_norm", "aten._native_batch_norm_legit", "aten.batch_norm")
def _bn(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # native_batch_norm(input, weight, bias, mean, var, training, ...); the no_stats overload has no
    # mean/var and always computes statistics.
    training = args[5] if len(args) > 5 and isinstance(args[5], bool) else True
    if len(args) > 3 and isinstance(args[3], bool):
        training = True
    if training:
        return OpCost(norm=f.norm_flops(_shape(args[0])))
    return OpCost(norm=f.batch_norm_flops(_shape(args[0]), affine=args[1] is not None))


@register_op(
    "aten.native_layer_norm",
    "aten.layer_norm",
    "aten.native_group_norm",
    "aten.group_norm",
    "aten.instance_norm",
    "aten._fused_rms_norm",
    "aten.rms_norm",
)
def _norm(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    return OpCost(norm=f.norm_flops(_shape(args[0])))


# --- activations ----------------------------------------------------------------------------------------

_ACTIVATION_OPS = (
    "relu",
    "relu_",
    "relu6",
    "hardtanh",
    "hardtanh_",
    "leaky_relu",
    "leaky_relu_",
    "sigmoid",
    "sigmoid_",
    "tanh",
    "tanh_",
    "silu",
    "silu_",
    "gelu",
    "gelu_",
    "hardswish",
    "hardswish_",
    "hardsigmoid",
    "hardsigmoid_",
    "elu",
    "elu_",
    "selu",
    "selu_",
    "celu",
    "celu_",
    "mish",
    "mish_",
    "softplus",
    "prelu",
    "_prelu_kernel",
    "rrelu",
    "threshold",
    "threshold_",
    "clamp",
    "clamp_",
    "clamp_min",
    "clamp_min_",
    "clamp_max",
    "clamp_max_",
    "log_sigmoid_forward",
    "glu",
    "softshrink",
    "hardshrink",
)


@register_op(*(f"aten.{name}" for name in _ACTIVATION_OPS))
def _activation(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    return OpCost(activation=f.activation_flops(_out(out)))


@register_op("aten._softmax", "aten.softmax", "aten._log_softmax", "aten.log_softmax", "aten._safe_softmax")
def _softmax(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    shape = _shape(args[0])
    dim = int(_arg(args, kwargs, 1, "dim", -1))
    return OpCost(activation=f.softmax_flops(shape, dim))


# --- pooling ------------------------------------------------------------------------------------------


def _window_pool(kind: str) -> OpHandler:
    def handler(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
        x = _shape(args[0])
        rank = 3 if "3d" in kind else 1 if "1d" in kind else 2
        rank = min(rank, max(len(x) - 1, 1))
        kernel = _ints(_arg(args, kwargs, 1, "kernel_size", 1), rank)
        return OpCost(pooling=f.pool_flops(_out(out), kernel, "max" if kind.startswith("max") else "avg"))

    return handler


for _name in (
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_pool1d_with_indices",
    "max_pool2d_with_indices",
    "max_pool3d_with_indices",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
):
    HANDLERS[f"aten.{_name}"] = _window_pool(_name)


def _adaptive(kind: str) -> OpHandler:
    def handler(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
        return OpCost(pooling=f.adaptive_pool_flops(_shape(args[0]), _out(out), kind))

    return handler


for _name in ("adaptive_avg_pool1d", "adaptive_avg_pool2d", "_adaptive_avg_pool2d", "_adaptive_avg_pool3d"):
    HANDLERS[f"aten.{_name}"] = _adaptive("avg")
for _name in ("adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d"):
    HANDLERS[f"aten.{_name}"] = _adaptive("max")


# --- elementwise and reductions -------------------------------------------------------------------------

_ELEMENTWISE_OPS = (
    "add",
    "add_",
    "sub",
    "sub_",
    "rsub",
    "mul",
    "mul_",
    "div",
    "div_",
    "true_divide",
    "floor_divide",
    "remainder",
    "fmod",
    "neg",
    "abs",
    "pow",
    "pow_",
    "sqrt",
    "rsqrt",
    "exp",
    "exp_",
    "log",
    "log2",
    "log1p",
    "expm1",
    "reciprocal",
    "maximum",
    "minimum",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "sign",
    "floor",
    "ceil",
    "round",
    "trunc",
    "erf",
    "erfinv",
    "sin",
    "cos",
    "logical_and",
    "logical_or",
    "logical_not",
    "bitwise_and",
    "bitwise_or",
    "bitwise_not",
    "square",
)


@register_op(*(f"aten.{name}" for name in _ELEMENTWISE_OPS))
def _elementwise(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    return OpCost(elementwise=f.elementwise_flops(_out(out)))


@register_op("aten.addcmul", "aten.addcmul_", "aten.addcdiv", "aten.addcdiv_", "aten.lerp", "aten.lerp_")
def _elementwise2(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    return OpCost(elementwise=f.elementwise_flops(_out(out), 2))


@register_op(
    "aten.sum",
    "aten.amax",
    "aten.amin",
    "aten.max",
    "aten.min",
    "aten.argmax",
    "aten.argmin",
    "aten.prod",
    "aten.cumsum",
    "aten.logsumexp",
    "aten.any",
    "aten.all",
)
def _reduction(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    return OpCost(elementwise=f.reduction_flops(_shape(args[0]), _out(out)))


@register_op("aten.mean")
def _mean(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    return OpCost(elementwise=f.reduction_flops(_shape(args[0]), _out(out), mean=True))


@register_op("aten.var", "aten.std", "aten.var_mean", "aten.std_mean", "aten.linalg_vector_norm", "aten.norm")
def _moment(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    return OpCost(elementwise=2 * f.reduction_flops(_shape(args[0]), _out(out), mean=True))


def _upsample(mode: str) -> OpHandler:
    def handler(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
        return OpCost(elementwise=f.upsample_flops(_out(out), mode))

    return handler


for _name, _mode in (
    ("upsample_linear1d", "linear"),
    ("upsample_bilinear2d", "bilinear"),
    ("_upsample_bilinear2d_aa", "bilinear"),
    ("upsample_trilinear3d", "trilinear"),
    ("upsample_bicubic2d", "bicubic"),
    ("_upsample_bicubic2d_aa", "bicubic"),
):
    HANDLERS[f"aten.{_name}"] = _upsample(_mode)


#: Ops that move or view data without arithmetic: 0 MACs and 0 extra FLOPs, on purpose.
FREE_OPS: frozenset[str] = frozenset(
    f"aten.{name}"
    for name in (
        "view",
        "_unsafe_view",
        "reshape",
        "view_as",
        "expand",
        "expand_as",
        "permute",
        "transpose",
        "transpose_",
        "t",
        "t_",
        "unsqueeze",
        "unsqueeze_",
        "squeeze",
        "squeeze_",
        "flatten",
        "unflatten",
        "movedim",
        "select",
        "slice",
        "narrow",
        "split",
        "split_with_sizes",
        "unsafe_split",
        "unbind",
        "chunk",
        "as_strided",
        "as_strided_",
        "unfold",
        "diagonal",
        "clone",
        "contiguous",
        "_to_copy",
        "to",
        "copy",
        "copy_",
        "_copy_from",
        "_copy_from_and_resize",
        "cat",
        "stack",
        "index",
        "_unsafe_index",
        "index_select",
        "gather",
        "take",
        "index_put",
        "index_put_",
        "_index_put_impl_",
        "scatter",
        "scatter_",
        "masked_fill",
        "masked_fill_",
        "where",
        "tril",
        "triu",
        "tril_",
        "triu_",
        "constant_pad_nd",
        "pad",
        "reflection_pad1d",
        "reflection_pad2d",
        "reflection_pad3d",
        "replication_pad1d",
        "replication_pad2d",
        "replication_pad3d",
        "_pad_circular",
        "roll",
        "flip",
        "repeat",
        "tile",
        "repeat_interleave",
        "channel_shuffle",
        "native_channel_shuffle",
        "pixel_shuffle",
        "pixel_unshuffle",
        "dropout",
        "feature_dropout",
        "alpha_dropout",
        "feature_alpha_dropout",
        "upsample_nearest1d",
        "upsample_nearest2d",
        "upsample_nearest3d",
        "_upsample_nearest_exact1d",
        "_upsample_nearest_exact2d",
        "_upsample_nearest_exact3d",
        "embedding",
        "fill",
        "fill_",
        "zero_",
        "masked_select",
        "nonzero",
        "type_as",
        "lift_fresh_copy",
        "im2col",
        "col2im",
    )
)

#: Tensor factories and metadata queries: no activation read, no work; no row and not listed.
HIDDEN_OPS: frozenset[str] = frozenset(
    f"aten.{name}"
    for name in (
        "empty",
        "empty_like",
        "empty_strided",
        "empty_permuted",
        "new_empty",
        "new_empty_strided",
        "zeros",
        "zeros_like",
        "new_zeros",
        "ones",
        "ones_like",
        "new_ones",
        "full",
        "full_like",
        "new_full",
        "arange",
        "linspace",
        "logspace",
        "eye",
        "scalar_tensor",
        "rand",
        "rand_like",
        "randn",
        "randn_like",
        "randint",
        "randperm",
        "normal_",
        "uniform_",
        "bernoulli",
        "bernoulli_",
        "detach",
        "detach_",
        "alias",
        "lift_fresh",
        "lift",
        "_local_scalar_dense",
        "item",
        "sym_size",
        "sym_stride",
        "sym_numel",
        "sym_storage_offset",
        "is_nonzero",
        "_assert_async",
        "_assert_tensor_metadata",
        "_functional_assert_async",
        "resize_",
        "set_",
        "_has_compatible_shallow_copy_type",
        "record_stream",
        "_resize_output_",
        "equal",
        "allclose",
        "is_same_size",
    )
)

#: Canonical op type of an aten op, for rows that are not a known module (functional ops, unknown leaves).
CANONICAL_OPS: dict[str, str] = {
    "convolution": "Conv",
    "_convolution": "Conv",
    "convolution_overrideable": "Conv",
    "conv1d": "Conv",
    "conv2d": "Conv",
    "conv3d": "Conv",
    "conv_transpose1d": "ConvTranspose",
    "conv_transpose2d": "ConvTranspose",
    "conv_transpose3d": "ConvTranspose",
    "addmm": "Linear",
    "linear": "Linear",
    "mm": "MatMul",
    "bmm": "MatMul",
    "baddbmm": "MatMul",
    "addbmm": "MatMul",
    "matmul": "MatMul",
    "mv": "MatMul",
    "addmv": "MatMul",
    "dot": "MatMul",
    "vdot": "MatMul",
    "scaled_dot_product_attention": "Attention",
    "_scaled_dot_product_attention_math": "Attention",
    "_scaled_dot_product_flash_attention_for_cpu": "Attention",
    "_scaled_dot_product_flash_attention": "Attention",
    "_scaled_dot_product_efficient_attention": "Attention",
    "_scaled_dot_product_cudnn_attention": "Attention",
    "_scaled_dot_product_fused_attention_overrideable": "Attention",
    "_native_multi_head_attention": "Attention",
    "native_batch_norm": "BatchNorm",
    "_native_batch_norm_legit": "BatchNorm",
    "_native_batch_norm_legit_no_training": "BatchNorm",
    "batch_norm": "BatchNorm",
    "native_layer_norm": "LayerNorm",
    "layer_norm": "LayerNorm",
    "native_group_norm": "GroupNorm",
    "group_norm": "GroupNorm",
    "instance_norm": "InstanceNorm",
    "_fused_rms_norm": "RMSNorm",
    "rms_norm": "RMSNorm",
    "relu": "Relu",
    "relu_": "Relu",
    "relu6": "Relu6",
    "leaky_relu": "LeakyRelu",
    "leaky_relu_": "LeakyRelu",
    "sigmoid": "Sigmoid",
    "sigmoid_": "Sigmoid",
    "tanh": "Tanh",
    "tanh_": "Tanh",
    "silu": "Silu",
    "silu_": "Silu",
    "gelu": "Gelu",
    "gelu_": "Gelu",
    "hardswish": "HardSwish",
    "hardswish_": "HardSwish",
    "hardsigmoid": "HardSigmoid",
    "hardsigmoid_": "HardSigmoid",
    "elu": "Elu",
    "elu_": "Elu",
    "selu": "Selu",
    "selu_": "Selu",
    "mish": "Mish",
    "mish_": "Mish",
    "softplus": "Softplus",
    "prelu": "PRelu",
    "_prelu_kernel": "PRelu",
    "clamp": "Clip",
    "clamp_": "Clip",
    "clamp_min": "Clip",
    "clamp_min_": "Clip",
    "clamp_max": "Clip",
    "clamp_max_": "Clip",
    "threshold": "Relu",
    "_softmax": "Softmax",
    "softmax": "Softmax",
    "_safe_softmax": "Softmax",
    "_log_softmax": "LogSoftmax",
    "log_softmax": "LogSoftmax",
    "max_pool1d": "MaxPool",
    "max_pool2d": "MaxPool",
    "max_pool3d": "MaxPool",
    "max_pool1d_with_indices": "MaxPool",
    "max_pool2d_with_indices": "MaxPool",
    "max_pool3d_with_indices": "MaxPool",
    "avg_pool1d": "AveragePool",
    "avg_pool2d": "AveragePool",
    "avg_pool3d": "AveragePool",
    "adaptive_avg_pool1d": "AdaptiveAvgPool",
    "adaptive_avg_pool2d": "AdaptiveAvgPool",
    "_adaptive_avg_pool2d": "AdaptiveAvgPool",
    "_adaptive_avg_pool3d": "AdaptiveAvgPool",
    "adaptive_max_pool1d": "AdaptiveMaxPool",
    "adaptive_max_pool2d": "AdaptiveMaxPool",
    "adaptive_max_pool3d": "AdaptiveMaxPool",
    "add": "Add",
    "add_": "Add",
    "sub": "Sub",
    "sub_": "Sub",
    "rsub": "Sub",
    "mul": "Mul",
    "mul_": "Mul",
    "div": "Div",
    "div_": "Div",
    "true_divide": "Div",
    "mean": "ReduceMean",
    "sum": "ReduceSum",
    "amax": "ReduceMax",
    "max": "ReduceMax",
    "amin": "ReduceMin",
    "min": "ReduceMin",
    "cat": "Concat",
    "stack": "Concat",
    "view": "Reshape",
    "_unsafe_view": "Reshape",
    "reshape": "Reshape",
    "view_as": "Reshape",
    "flatten": "Flatten",
    "unflatten": "Reshape",
    "unsqueeze": "Unsqueeze",
    "unsqueeze_": "Unsqueeze",
    "squeeze": "Squeeze",
    "squeeze_": "Squeeze",
    "permute": "Transpose",
    "transpose": "Transpose",
    "transpose_": "Transpose",
    "t": "Transpose",
    "movedim": "Transpose",
    "expand": "Expand",
    "expand_as": "Expand",
    "select": "Slice",
    "slice": "Slice",
    "narrow": "Slice",
    "split": "Split",
    "split_with_sizes": "Split",
    "unsafe_split": "Split",
    "unbind": "Split",
    "chunk": "Split",
    "clone": "Identity",
    "contiguous": "Identity",
    "_to_copy": "Cast",
    "to": "Cast",
    "copy_": "Identity",
    "constant_pad_nd": "Pad",
    "pad": "Pad",
    "reflection_pad1d": "Pad",
    "reflection_pad2d": "Pad",
    "reflection_pad3d": "Pad",
    "replication_pad1d": "Pad",
    "replication_pad2d": "Pad",
    "replication_pad3d": "Pad",
    "_pad_circular": "Pad",
    "dropout": "Dropout",
    "feature_dropout": "Dropout",
    "index": "Gather",
    "_unsafe_index": "Gather",
    "index_select": "Gather",
    "gather": "Gather",
    "embedding": "Gather",
    "channel_shuffle": "ChannelShuffle",
    "native_channel_shuffle": "ChannelShuffle",
    "pixel_shuffle": "DepthToSpace",
    "pixel_unshuffle": "SpaceToDepth",
    "upsample_nearest1d": "Upsample",
    "upsample_nearest2d": "Upsample",
    "upsample_nearest3d": "Upsample",
    "_upsample_nearest_exact1d": "Upsample",
    "_upsample_nearest_exact2d": "Upsample",
    "_upsample_nearest_exact3d": "Upsample",
    "upsample_linear1d": "Upsample",
    "upsample_bilinear2d": "Upsample",
    "_upsample_bilinear2d_aa": "Upsample",
    "upsample_trilinear3d": "Upsample",
    "upsample_bicubic2d": "Upsample",
    "_upsample_bicubic2d_aa": "Upsample",
}


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"_+", name.strip("_")) if part)


def canonical_op(packet: str, args: Sequence[Any] = ()) -> str:
    """Canonical op type of an aten op given by packet name (``aten.add`` → ``Add``).

    ``aten.convolution`` with ``transposed=True`` is ``ConvTranspose``; ``hardtanh`` clamping to
    ``[0, 6]`` is ``Relu6`` (else ``Clip``). Ops not in :data:`CANONICAL_OPS` get their name in CamelCase.
    """
    name = packet.split(".", 1)[-1]
    if name in ("convolution", "_convolution", "convolution_overrideable") and len(args) > 6 and args[6] is True:
        return "ConvTranspose"
    if name in ("hardtanh", "hardtanh_"):
        low = args[1] if len(args) > 1 else -1.0
        high = args[2] if len(args) > 2 else 1.0
        return "Relu6" if (low, high) == (0.0, 6.0) else "Clip"
    return CANONICAL_OPS.get(name) or _camel(name)
