"""Layer tables of many NAS-Bench-201 networks from five analysed ones.

Every ``nb201:`` network of one input shape and option set has the same stem, reduction blocks, node sums
and head; only the layers of each cell edge depend on the edge's op, and they do not depend on the other
edges. :class:`NB201Tables` therefore analyses the five *uniform* networks (every edge ``none``, every edge
``skip_connect``, ...) once and builds any network's table by taking each edge's layers from the uniform
network of its op. The result equals :func:`synergy.analyze` of the network, layer for layer (a test
checks it), at a few milliseconds a network instead of a tenth of a second: what fitting and evaluating
on thousands of networks of the public Raspberry Pi 5 data needs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from synergy.graph.layers import Layer, LayerTable

__all__ = ["NB201Tables", "uniform_arch"]

_EDGE_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
_EDGE_NAME = re.compile(r"^cells\.\d+\.edges\.(\d+)->(\d+)(?:\.|$)")
_EDGE_TOKEN = re.compile(r"([a-z_0-9]+)~(\d+)")


def uniform_arch(op: str) -> str:
    """The arch string whose six edges all carry ``op``."""
    return f"|{op}~0|+|{op}~0|{op}~1|+|{op}~0|{op}~1|{op}~2|"


def _edge_ops(arch: str) -> dict[tuple[int, int], str]:
    """``(input node, node) → op`` of every edge of an arch string."""
    out: dict[tuple[int, int], str] = {}
    for node, part in enumerate(arch.strip().strip("|").split("|+|"), start=1):
        for op, src in _EDGE_TOKEN.findall(part):
            out[(int(src), node)] = op
    return out


def _blocks(table: LayerTable) -> list[tuple[tuple[int, int] | None, list[Layer]]]:
    """The layers of ``table`` in order, in runs of one cell edge (keyed ``(i, j)``) or of other layers
    (keyed ``None``)."""
    out: list[tuple[tuple[int, int] | None, list[Layer]]] = []
    last: str | None = None
    for layer in table.layers:
        match = _EDGE_NAME.match(layer.name)
        owner = match.group(0).rstrip(".") if match else None
        if out and owner == last:
            out[-1][1].append(layer)
            continue
        edge = (int(match.group(1)), int(match.group(2))) if match else None
        out.append((edge, [layer]))
        last = owner
    return out


@dataclass
class NB201Tables:
    """Builds ``nb201:`` layer tables of one input shape and option set by composition.

    Attributes:
        options: the spec's options after the arch string (``",classes=18"``), or ``""``.
        input_shapes: the input shapes (``None``: the default ``1x3x32x32``).
    """

    options: str = ""
    input_shapes: tuple[tuple[int, ...], ...] | None = None
    _uniform: dict[str, LayerTable] = field(default_factory=dict, repr=False)

    def spec(self, arch: str) -> str:
        """The MODEL spec of ``arch`` with these options."""
        return f"nb201:{arch}{self.options}"

    def _load(self) -> None:
        if self._uniform:
            return
        from synergy.graph.tablecache import analyze_many

        tables = analyze_many([(self.spec(uniform_arch(op)), self.input_shapes) for op in _EDGE_OPS], workers=1)
        self._uniform = dict(zip(_EDGE_OPS, tables, strict=True))

    def table(self, arch: str) -> LayerTable:
        """The layer table of ``arch`` (as :func:`synergy.analyze` gives it)."""
        self._load()
        ops = _edge_ops(arch)
        template = self._uniform[_EDGE_OPS[0]]
        pieces = {op: _blocks(t) for op, t in self._uniform.items()}
        layers: list[Layer] = []
        params = 0
        for index, (edge, block) in enumerate(pieces[_EDGE_OPS[0]]):
            if edge is None:
                chosen = block
            else:
                op = ops.get(edge)
                if op is None or op not in pieces:
                    raise ValueError(f"{arch!r} has no known op on edge {edge[0]}->{edge[1]}")
                other_edge, chosen = pieces[op][index]
                if other_edge != edge:
                    raise ValueError("the uniform networks' layers do not line up")
            layers.extend(chosen)
            params += sum(layer.params for layer in chosen)
        return replace(template, model=self.spec(arch), layers=tuple(layers), params=params)

    def tables(self, archs: Sequence[str]) -> list[LayerTable]:
        """:meth:`table` of every arch."""
        return [self.table(a) for a in archs]
