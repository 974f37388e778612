from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from synergy.graph import formulas as f


def test_resnet18_conv1_worked_example() -> None:
    assert f.conv_macs((1, 64, 112, 112), (64, 3, 7, 7)) == 118_013_952


def test_conv_transpose_is_input_centric() -> None:
    assert f.conv_transpose_macs((1, 8, 4, 4), (8, 3, 3, 3)) == 8 * 16 * 3 * 9


def test_attention() -> None:
    assert f.attention_macs((2, 4, 10, 16), (2, 4, 12, 16), (2, 4, 12, 8)) == 2 * 4 * 10 * 12 * (16 + 8)


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(1, 40),
    kernel=st.integers(1, 5),
    stride=st.integers(1, 4),
    pad=st.integers(0, 2),
    ceil=st.booleans(),
)
def test_pool_output_size_matches_torch(size: int, kernel: int, stride: int, pad: int, ceil: bool) -> None:
    if pad * 2 > kernel or kernel > size + 2 * pad:
        return
    x = torch.zeros(1, 1, size, size)
    out = torch.nn.functional.max_pool2d(x, kernel, stride, pad, ceil_mode=ceil)
    assert f.pool_output_size(size, kernel, stride, pad, ceil_mode=ceil) == out.shape[-1]


def test_adaptive_avg_pool_global() -> None:
    assert f.adaptive_pool_flops((1, 512, 7, 7), (1, 512, 1, 1), "avg") == 512 * 49 + 512


def test_dtype_bytes() -> None:
    assert f.dtype_bytes("torch.float16") == 2
    assert f.dtype_bytes("float32") == 4


def test_extra_flop_formulas() -> None:
    assert f.elementwise_flops((2, 3, 4)) == 24
    assert f.activation_flops((2, 3, 4)) == 24
    assert f.batch_norm_flops((1, 8, 2, 2)) == 64
    assert f.batch_norm_flops((1, 8, 2, 2), affine=False) == 32
    assert f.norm_flops((1, 8, 2, 2)) == 5 * 32
    assert f.softmax_flops((2, 10), -1) == 2 * 29
    assert f.softmax_flops((4, 3, 5), 1) == 20 * 8
    assert f.reduction_flops((1, 8, 7, 7), (1, 8, 1, 1), mean=True) == 8 * 49 + 8
    assert f.upsample_flops((1, 2, 4, 4), "bilinear") == 4 * 32
    assert f.upsample_flops((1, 2, 4, 4), "nearest") == 0


def test_attention_extra_flops() -> None:
    # one scale per score plus a softmax over each query's keys
    assert f.attention_extra_flops((2, 4, 10, 16), (2, 4, 12, 16)) == 2 * 4 * 10 * (12 + 3 * 12 - 1)


@settings(max_examples=50, deadline=None)
@given(rows=st.integers(1, 6), n=st.integers(1, 9))
def test_softmax_flops_is_3n_minus_1_per_row(rows: int, n: int) -> None:
    assert f.softmax_flops((rows, n)) == rows * (3 * n - 1)
