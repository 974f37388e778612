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
