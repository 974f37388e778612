"""NAS-Bench-201 layer tables by composition equal the analysed ones, layer for layer."""

from __future__ import annotations

import pytest

from synergy.graph.analysis import analyze
from synergy.models.nb201_tables import NB201Tables, uniform_arch

ARCHS = (
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
    "|none~0|+|avg_pool_3x3~0|skip_connect~1|+|nor_conv_1x1~0|nor_conv_3x3~1|none~2|",
)


@pytest.mark.parametrize(("options", "shapes"), [("", None), (",classes=18", ((1, 1, 52, 16),))])
def test_composed_tables_equal_analysed_ones(options: str, shapes: tuple[tuple[int, ...], ...] | None) -> None:
    builder = NB201Tables(options, shapes)
    for arch in ARCHS:
        composed = builder.table(arch)
        analysed = analyze(builder.spec(arch), shapes)
        assert composed.model == analysed.model
        assert composed.input_shapes == analysed.input_shapes
        assert composed.params == analysed.params
        assert composed.layers == analysed.layers


def test_uniform_arch_and_bad_arch() -> None:
    assert uniform_arch("none") == "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    with pytest.raises(ValueError, match="no known op on edge"):
        NB201Tables().table("|nor_conv_3x3~0|+|nor_conv_3x3~0|bogus~1|+|none~0|none~1|none~2|")
