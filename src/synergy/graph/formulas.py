"""Counting formulas shared by every frontend (see ``docs/conventions.md``).

Each function takes plain shapes (tuples of ints) and attributes, so the PyTorch dispatch-level counter and
the ONNX node counter apply literally the same arithmetic. MACs follow the torchvision/Caffe convention:
one multiply-add counted once; bias, normalisation, activation, pooling and elementwise work count 0 MACs
and are returned as extra FLOPs by class instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = [
    "ACTIVATION_FLOPS_PER_ELEMENT",
    "NORM_FLOPS_PER_ELEMENT",
    "UPSAMPLE_FLOPS_PER_OUTPUT",
    "activation_flops",
    "adaptive_pool_flops",
    "attention_extra_flops",
    "attention_macs",
    "batch_norm_flops",
    "conv_macs",
    "conv_output_size",
    "conv_transpose_macs",
    "dtype_bytes",
    "elementwise_flops",
    "matmul_macs",
    "norm_flops",
    "numel",
    "pool_flops",
    "pool_output_size",
    "reduction_flops",
    "softmax_flops",
    "upsample_flops",
]

Shape = Sequence[int]

_DTYPE_BYTES = {
    "float32": 4,
    "float": 4,
    "float64": 8,
    "double": 8,
    "float16": 2,
    "half": 2,
    "bfloat16": 2,
    "int64": 8,
    "long": 8,
    "int32": 4,
    "int": 4,
    "int16": 2,
    "int8": 1,
    "uint8": 1,
    "bool": 1,
    "float8_e4m3fn": 1,
    "float8_e5m2": 1,
    "complex64": 8,
    "complex128": 16,
}


def dtype_bytes(dtype: str) -> int:
    """Bytes per element of a dtype given by name (``float32``, ``torch.float16``, ``int64``...)."""
    name = dtype.rsplit(".", 1)[-1].lower()
    return _DTYPE_BYTES.get(name, 4)


def numel(shape: Shape) -> int:
    """Number of elements of a tensor of ``shape`` (1 for a scalar)."""
    return math.prod(int(d) for d in shape)


def conv_output_size(
    size: int,
    kernel: int,
    stride: int = 1,
    pad_begin: int = 0,
    pad_end: int | None = None,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output length of a convolution or pooling window along one axis.

    ``⌊(size + pads − dilation·(kernel−1) − 1)/stride⌋ + 1``, or with ``ceil_mode`` the ceiling, where the
    last window must start inside the input or left padding (PyTorch's rule).
    """
    pad_end = pad_begin if pad_end is None else pad_end
    span = size + pad_begin + pad_end - dilation * (kernel - 1) - 1
    if ceil_mode:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= size + pad_begin:
            out -= 1
        return out
    return span // stride + 1


pool_output_size = conv_output_size


def conv_macs(output_shape: Shape, weight_shape: Shape) -> int:
    """MACs of a (grouped, dilated, strided) convolution of any rank.

    ``numel(output) · Cin/g · k1 · k2 ...`` where ``weight_shape = [Cout, Cin/g, k1, k2, ...]``.
    """
    return numel(output_shape) * numel(weight_shape[1:])


def conv_transpose_macs(input_shape: Shape, weight_shape: Shape) -> int:
    """MACs of a transposed convolution, input-centric: ``numel(input) · Cout/g · k1 · k2 ...``.

    ``weight_shape = [Cin, Cout/g, k1, k2, ...]``.
    """
    return numel(input_shape) * numel(weight_shape[1:])


def matmul_macs(output_shape: Shape, inner: int) -> int:
    """MACs of a (broadcast, batched) matrix product: ``numel(output) · K``."""
    return numel(output_shape) * int(inner)


def attention_macs(query_shape: Shape, key_shape: Shape, value_shape: Shape) -> int:
    """MACs of scaled dot-product attention: ``B·H·Sq·Sk·D`` (QKᵀ) + ``B·H·Sq·Sk·Dv`` (AV).

    Shapes are ``[..., Sq, D]``, ``[..., Sk, D]`` and ``[..., Sk, Dv]``; leading dims broadcast.
    """
    batch = numel(query_shape[:-2])
    sq, d = int(query_shape[-2]), int(query_shape[-1])
    sk, dv = int(key_shape[-2]), int(value_shape[-1])
    return batch * sq * sk * d + batch * sq * sk * dv


def pool_flops(output_shape: Shape, kernel: Shape, kind: str) -> int:
    """Extra FLOPs of a fixed-window pooling.

    ``max``: ``numel(out)·(k−1)`` compares; ``avg``: ``numel(out)·k`` (k−1 adds and one divide), where
    ``k`` is the window's element count.
    """
    window = numel(kernel)
    if kind == "max":
        return numel(output_shape) * max(window - 1, 0)
    return numel(output_shape) * window


def adaptive_pool_flops(input_shape: Shape, output_shape: Shape, kind: str) -> int:
    """Extra FLOPs of adaptive pooling over the trailing spatial dims.

    Output cell ``i`` along an axis of input length ``L`` and output length ``O`` spans
    ``⌈(i+1)L/O⌉ − ⌊iL/O⌋`` inputs. ``avg`` counts every input element added plus one divide per output;
    ``max`` counts ``window − 1`` compares per output.
    """
    spatial = len(output_shape) - 2 if len(output_shape) > 2 else len(output_shape) - 1
    spatial = max(spatial, 1)
    lead = numel(output_shape[:-spatial])
    total_window = 1
    for length, out in zip(input_shape[-spatial:], output_shape[-spatial:], strict=True):
        axis_sum = sum(-(-((i + 1) * length) // out) - (i * length) // out for i in range(out))
        total_window *= axis_sum
    outputs = numel(output_shape)
    if kind == "max":
        return lead * total_window - outputs
    return lead * total_window + outputs


#: Extra FLOPs per element of an activation (ReLU: one compare; SiLU, GELU...: one, DeepSpeed's convention).
ACTIVATION_FLOPS_PER_ELEMENT = 1

#: Extra FLOPs per element of LayerNorm, GroupNorm, InstanceNorm and batch statistics (fvcore, DeepSpeed).
NORM_FLOPS_PER_ELEMENT = 5

#: Extra FLOPs per output element of an interpolation, by mode (fvcore and onnx-tool: bilinear 4).
UPSAMPLE_FLOPS_PER_OUTPUT: dict[str, int] = {
    "nearest": 0,
    "linear": 2,
    "bilinear": 4,
    "trilinear": 8,
    "bicubic": 16,
}


def elementwise_flops(output_shape: Shape, per_element: int = 1) -> int:
    """Extra FLOPs of an elementwise op (add, sub, mul, div, ...): ``per_element · numel(output)``."""
    return per_element * numel(output_shape)


def activation_flops(output_shape: Shape) -> int:
    """Extra FLOPs of an activation: ``ACTIVATION_FLOPS_PER_ELEMENT · numel(output)``."""
    return ACTIVATION_FLOPS_PER_ELEMENT * numel(output_shape)


def batch_norm_flops(input_shape: Shape, affine: bool = True) -> int:
    """Extra FLOPs of inference batch normalisation: 2 per element if affine, else 1 (fvcore, DeepSpeed).

    Its MACs are 0 under the torchvision convention (exporters fold it into the preceding convolution).
    """
    return (2 if affine else 1) * numel(input_shape)


def norm_flops(input_shape: Shape) -> int:
    """Extra FLOPs of a normalisation that computes statistics (LayerNorm, GroupNorm, InstanceNorm).

    ``NORM_FLOPS_PER_ELEMENT · numel(input)``.
    """
    return NORM_FLOPS_PER_ELEMENT * numel(input_shape)


def softmax_flops(input_shape: Shape, axis: int = -1) -> int:
    """Extra FLOPs of a softmax along ``axis``: ``exp``, sum and divide, ``3n − 1`` per row of ``n``."""
    if not input_shape:
        return 0
    n = int(input_shape[axis])
    rows = numel(input_shape) // n if n else 0
    return rows * max(3 * n - 1, 0)


def attention_extra_flops(query_shape: Shape, key_shape: Shape) -> int:
    """Extra FLOPs of scaled dot-product attention: one scale per score plus the softmax over the keys.

    Shapes are ``[..., Sq, D]`` and ``[..., Sk, D]``; leading dims broadcast.
    """
    scores = (*query_shape[:-2], int(query_shape[-2]), int(key_shape[-2]))
    return numel(scores) + softmax_flops(scores, -1)


def reduction_flops(input_shape: Shape, output_shape: Shape, mean: bool = False) -> int:
    """Extra FLOPs of a reduction (sum, mean, amax...): one per input element, plus a divide per output for mean."""
    return numel(input_shape) + (numel(output_shape) if mean else 0)


def upsample_flops(output_shape: Shape, mode: str) -> int:
    """Extra FLOPs of an interpolation: ``UPSAMPLE_FLOPS_PER_OUTPUT[mode] · numel(output)`` (nearest: 0)."""
    return UPSAMPLE_FLOPS_PER_OUTPUT.get(mode, 0) * numel(output_shape)
