"""NAS-Bench-201 networks built as they are deployed: the ``nb201:ARCH_STR`` MODEL spec.

The network is NAS-Bench-201's "tiny" network: a 3x3 conv + BN stem; three stages of ``cells`` identical
cells at ``channels``, ``2·channels`` and ``4·channels``; between stages a residual reduction block
(ReLU-conv3x3/2-BN, ReLU-conv3x3-BN, shortcut 2x2 average pool + 1x1 conv, summed); then BN, ReLU,
global average pooling and a linear classifier. A cell has three nodes after its input; node ``j`` sums
``op(node_i)`` over the edges ``op~i`` listed for it in the arch string, e.g.
``|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|``.

As deployed, every edge is computed, even when its result cannot reach the output, and ``none`` edges
multiply their input by zero. Edge ops: ``nor_conv_3x3`` and ``nor_conv_1x1`` are ReLU-Conv-BN (stride 1),
``avg_pool_3x3`` is a 3x3 average pool (stride 1, padding 1, padding not counted), ``skip_connect`` is the
identity, ``none`` is ``x * 0``.

Spec text: ``ARCH_STR`` optionally followed by comma-separated options ``key=value``:
``classes`` (default 100, at most 100000), ``channels`` (stem width C, default 16, at most 1024) and
``cells`` (cells per stage N, default 5, at most 64), e.g.
``nb201:|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|none~2|,classes=10``.
The default input is ``1x3x32x32``; any ``N×C×H×W`` input with ``H, W ≥ 4`` works, and the stem takes the
input's channel count (``1x1x32x32`` builds a one-channel stem).

Module names: ``stem.conv``, ``stem.bn``, ``cells.K`` (``K`` counts cells and reduction blocks in order),
``cells.K.edges.I->J.{relu,conv,bn,pool,zero,skip}`` inside a cell, ``cells.K.conv_a``, ``cells.K.conv_b``,
``cells.K.shortcut.{pool,conv}`` in a reduction block, ``lastact.bn``, ``lastact.relu``, ``gap``,
``classifier``.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from synergy.errors import InputShapeError, ModelSpecError

__all__ = ["EDGE_OPS", "NB201Cell", "NB201Network", "build_nb201", "parse_arch"]

#: Edge operations of the NAS-Bench-201 search space.
EDGE_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")

#: Default input of the deployed networks (CIFAR).
DEFAULT_INPUT: tuple[int, ...] = (1, 3, 32, 32)

_EDGE = re.compile(r"^([a-z_0-9]+)~(\d+)$")
_OPTIONS = {"classes": 100, "channels": 16, "cells": 5}
#: Upper bounds of the options: far above any network of the benchmark, low enough to build in seconds.
LIMITS = {"classes": 100_000, "channels": 1024, "cells": 64}

Arch = tuple[tuple[tuple[str, int], ...], ...]


def parse_arch(arch: str) -> Arch:
    """Parse a NAS-Bench-201 arch string into, per node, its ``(op, input node)`` edges.

    Args:
        arch: e.g. ``|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|none~1|none~2|``.

    Returns:
        One tuple of edges per node after the input, node ``j`` (1-based) having edges from nodes ``< j``.

    Raises:
        ModelSpecError: the string is malformed, names an unknown op or an input node out of range.
    """
    text = arch.strip()
    hint = "give a NAS-Bench-201 cell like |nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|avg_pool_3x3~2|"
    if not text:
        raise ModelSpecError(f"nb201: the arch string is empty: {hint}")
    nodes: list[tuple[tuple[str, int], ...]] = []
    for j, part in enumerate(text.split("+"), start=1):
        part = part.strip()
        if not (part.startswith("|") and part.endswith("|")) or len(part) < 3:
            raise ModelSpecError(f"nb201: node {j} of {arch!r} is not enclosed in '|': {hint}")
        edges: list[tuple[str, int]] = []
        for item in part[1:-1].split("|"):
            match = _EDGE.match(item.strip())
            if not match:
                raise ModelSpecError(f"nb201: edge {item!r} of {arch!r} is not OP~INPUT: {hint}")
            op, src = match.group(1), int(match.group(2))
            if op not in EDGE_OPS:
                raise ModelSpecError(f"nb201: unknown edge op {op!r} in {arch!r}: use one of {', '.join(EDGE_OPS)}")
            if src >= j:
                raise ModelSpecError(f"nb201: edge {item!r} of node {j} reads node {src}, which is not before it")
            edges.append((op, src))
        nodes.append(tuple(edges))
    return tuple(nodes)


def _parse_text(text: str) -> tuple[Arch, dict[str, int]]:
    arch_text, *option_parts = text.split(",")
    options = dict(_OPTIONS)
    for part in option_parts:
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in options:
            raise ModelSpecError(
                f"nb201: option {part!r} is not understood: use {', '.join(f'{k}=INT' for k in _OPTIONS)}"
            )
        value = value.strip()
        if not value.isascii() or not value.isdigit() or (len(value) <= 12 and int(value) < 1):
            raise ModelSpecError(f"nb201: option {key}={value!r} must be a positive integer")
        if len(value) > 12 or int(value) > LIMITS[key]:
            raise ModelSpecError(
                f"nb201: option {key}={value[:12]} is above the bound of {LIMITS[key]} "
                f"(the benchmark's networks use {key}={_OPTIONS[key]}): give a smaller value"
            )
        options[key] = int(value)
    return parse_arch(arch_text), options


class ReLUConvBN(nn.Module):
    """ReLU → Conv (no bias) → BatchNorm, NAS-Bench-201's conv edge."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(self.relu(x)))  # type: ignore[no-any-return]


class Pool(nn.Module):
    """3x3 average pool, stride 1, padding 1, padding not counted."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x)  # type: ignore[no-any-return]


class Zero(nn.Module):
    """The ``none`` edge as deployed: ``x * 0`` (computed, not skipped)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


class Skip(nn.Module):
    """The ``skip_connect`` edge: the identity."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _edge(op: str, channels: int) -> nn.Module:
    if op == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, 1)
    if op == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, 0)
    if op == "avg_pool_3x3":
        return Pool()
    if op == "skip_connect":
        return Skip()
    return Zero()


class NB201Cell(nn.Module):
    """A searched cell: node ``j`` is the sum of its edges' outputs; the last node is the cell's output."""

    def __init__(self, arch: Arch, channels: int) -> None:
        super().__init__()
        self.arch = arch
        self.edges = nn.ModuleDict()
        for j, node in enumerate(arch, start=1):
            for op, i in node:
                self.edges[f"{i}->{j}"] = _edge(op, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j, node in enumerate(self.arch, start=1):
            total: torch.Tensor | None = None
            for _, i in node:
                out = self.edges[f"{i}->{j}"](nodes[i])
                total = out if total is None else total + out
            assert total is not None
            nodes.append(total)
        return nodes[-1]


class ReductionBlock(nn.Module):
    """Residual reduction block between stages (halves H and W, doubles the channels)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Sequential()
        self.shortcut.add_module("pool", nn.AvgPool2d(2, stride=2, padding=0))
        self.shortcut.add_module("conv", nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)  # type: ignore[no-any-return]


class NB201Network(nn.Module):
    """NAS-Bench-201's tiny network for one cell.

    Args:
        arch: the parsed cell (see :func:`parse_arch`).
        in_channels: channels of the input image (the stem's input).
        channels: the first stage's width ``C`` (the stages run at ``C``, ``2C``, ``4C``).
        cells: cells per stage ``N``.
        classes: outputs of the classifier.
    """

    def __init__(self, arch: Arch, in_channels: int = 3, channels: int = 16, cells: int = 5, classes: int = 100):
        super().__init__()
        self.stem = nn.Sequential()
        self.stem.add_module("conv", nn.Conv2d(in_channels, channels, 3, padding=1, bias=False))
        self.stem.add_module("bn", nn.BatchNorm2d(channels))
        blocks: list[nn.Module] = []
        width = channels
        for stage in range(3):
            if stage > 0:
                blocks.append(ReductionBlock(width, width * 2))
                width *= 2
            blocks.extend(NB201Cell(arch, width) for _ in range(cells))
        self.cells = nn.ModuleList(blocks)
        self.lastact = nn.Sequential()
        self.lastact.add_module("bn", nn.BatchNorm2d(width))
        self.lastact.add_module("relu", nn.ReLU(inplace=False))
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.cells:
            x = block(x)
        x = self.gap(self.lastact(x))
        return self.classifier(torch.flatten(x, 1))  # type: ignore[no-any-return]


def build_nb201(
    text: str, input_shapes: tuple[tuple[int, ...], ...] | None = None
) -> tuple[nn.Module, tuple[tuple[int, ...], ...]]:
    """Build the deployed NAS-Bench-201 network of an ``nb201:`` spec.

    Args:
        text: everything after ``nb201:``: the arch string, optionally followed by ``,classes=K``,
            ``,channels=C`` and ``,cells=N``.
        input_shapes: the input to use (one ``N×C×H×W`` shape); default ``1x3x32x32``. The stem takes the
            input's channel count.

    Returns:
        The network in eval mode, and the input shapes to feed it.

    Raises:
        ModelSpecError: a malformed arch string or option.
        InputShapeError: not exactly one 4-D input, or a spatial size below 4.
    """
    arch, options = _parse_text(text)
    shape = nb201_input_shapes(text, input_shapes)[0]
    net = NB201Network(arch, shape[1], options["channels"], options["cells"], options["classes"])
    net.eval()
    return net, (shape,)


def nb201_input_shapes(
    text: str, input_shapes: tuple[tuple[int, ...], ...] | None = None
) -> tuple[tuple[int, int, int, int]]:
    """The input an ``nb201:`` spec is fed, checked, without building the network.

    Args:
        text: everything after ``nb201:`` (validated too).
        input_shapes: the requested input; default ``1x3x32x32``.

    Raises:
        ModelSpecError: a malformed arch string or option.
        InputShapeError: not exactly one 4-D input, or a spatial size below 4.
    """
    _parse_text(text)
    shapes = input_shapes if input_shapes is not None else (DEFAULT_INPUT,)
    if len(shapes) != 1 or len(shapes[0]) != 4:
        raise InputShapeError(
            f"nb201 networks take one N,C,H,W input, got {';'.join(','.join(map(str, s)) for s in shapes)!r}: "
            "give e.g. --input-shape 1,3,32,32"
        )
    n, c, h, w = (int(d) for d in shapes[0])
    if h < 4 or w < 4:
        raise InputShapeError(f"nb201 input {n}x{c}x{h}x{w} is too small: the two reductions need H and W ≥ 4")
    return ((n, c, h, w),)
