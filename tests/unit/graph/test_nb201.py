"""NAS-Bench-201 networks as deployed: structure, options, inputs, errors."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from synergy.errors import InputShapeError, ModelSpecError
from synergy.graph.nb201 import EDGE_OPS, build_nb201, parse_arch

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def test_parse_arch() -> None:
    nodes = parse_arch(ARCH)
    assert nodes == (
        (("nor_conv_3x3", 0),),
        (("nor_conv_3x3", 0), ("avg_pool_3x3", 1)),
        (("skip_connect", 0), ("nor_conv_1x1", 1), ("none", 2)),
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("nor_conv_3x3~0", "enclosed"),
        ("|conv~0|", "unknown edge op"),
        ("|nor_conv_3x3~1|", "not before it"),
        ("|nor_conv_3x3|", "OP~INPUT"),
        (ARCH + ",classes=0", "positive integer"),
        (ARCH + ",colour=3", "not understood"),
    ],
)
def test_bad_specs(text: str, fragment: str) -> None:
    with pytest.raises(ModelSpecError, match=fragment):
        build_nb201(text)


def test_structure_and_names() -> None:
    net, shapes = build_nb201(ARCH)
    assert shapes == ((1, 3, 32, 32),)
    names = dict(net.named_modules())
    assert "stem.conv" in names and "stem.bn" in names
    assert "cells.0.edges.0->1.conv" in names
    assert "cells.0.edges.2->3" in names  # the none edge is a module: it is computed
    assert type(names["cells.0.edges.2->3"]).__name__ == "Zero"
    assert "cells.5.conv_a.conv" in names and "cells.5.shortcut.conv" in names
    assert "cells.11.conv_b.bn" in names
    assert len(net.cells) == 17
    pool = names["cells.0.edges.1->2.pool"]
    assert isinstance(pool, torch.nn.AvgPool2d) and pool.count_include_pad is False
    out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 100)


def test_parameters_of_the_skeleton() -> None:
    net, _ = build_nb201(ALL_NONE)
    # stem, two reduction blocks, last BN and the classifier: the cells hold no parameters
    stem = 3 * 16 * 9 + 2 * 16
    red1 = 16 * 32 * 9 + 64 + 32 * 32 * 9 + 64 + 16 * 32
    red2 = 32 * 64 * 9 + 128 + 64 * 64 * 9 + 128 + 32 * 64
    head = 2 * 64 + 64 * 100 + 100
    assert sum(p.numel() for p in net.parameters()) == stem + red1 + red2 + head


def test_none_edge_multiplies_by_zero() -> None:
    net, _ = build_nb201(ALL_NONE)
    cell = net.cells[0]
    x = torch.randn(1, 16, 8, 8)
    assert torch.equal(cell(x), torch.zeros_like(x))


def test_options_and_one_channel_input() -> None:
    net, shapes = build_nb201(ARCH + ",classes=10,channels=8,cells=2", ((1, 1, 64, 48),))
    assert shapes == ((1, 1, 64, 48),)
    assert net.stem.conv.in_channels == 1
    assert net.classifier.out_features == 10
    assert len(net.cells) == 2 * 3 + 2
    assert net(torch.randn(1, 1, 64, 48)).shape == (1, 10)


@pytest.mark.parametrize("shapes", [((1, 3, 2, 32),), ((1, 3, 32),), ((1, 3, 32, 32), (1, 3, 32, 32))])
def test_bad_inputs(shapes: tuple[tuple[int, ...], ...]) -> None:
    with pytest.raises(InputShapeError):
        build_nb201(ARCH, shapes)


@settings(max_examples=8, deadline=None)
@given(st.lists(st.sampled_from(EDGE_OPS), min_size=6, max_size=6))
def test_any_cell_parses_and_builds(ops: list[str]) -> None:
    arch = f"|{ops[0]}~0|+|{ops[1]}~0|{ops[2]}~1|+|{ops[3]}~0|{ops[4]}~1|{ops[5]}~2|"
    assert [op for node in parse_arch(arch) for op, _ in node] == ops
    net, _ = build_nb201(arch, ((1, 3, 8, 8),))
    assert sum(1 for _ in net.cells[0].edges) == 6
