"""Per-layer features of the energy models, defined once.

Every model reads layers through :func:`layer_frame`: one row per layer with the columns of
:data:`FEATURES` (numbers), the layer's ``name``, canonical ``op``, ``category`` and ``op_key``. The op key
refines ``op`` where the cost per unit of work differs: convolutions are keyed by kernel size and by
whether they are depthwise (``Conv3x3``, ``Conv1x1``, ``DWConv3x3``), everything else by its op type.

Features (all per inference of one layer):

================  =====================================================================================
``macs``          multiply-accumulates (torchvision/Caffe convention)
``params``        parameters the layer executes
``weight_bytes``  bytes of weights and biases read
``input_bytes``   bytes of activation inputs read
``output_bytes``  bytes of outputs written
``bytes_moved``   ``weight_bytes + input_bytes + output_bytes``
``output_elems``  elements written
``extra_flops``   normalisation, activation, pooling and elementwise FLOPs (not in ``macs``)
``kernel_area``   ``kh·kw`` of a convolution (0 for other layers), derived from MACs and shapes
================  =====================================================================================
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from synergy.graph.layers import Layer, LayerTable, op_category

__all__ = [
    "FEATURES",
    "FEATURE_DOCS",
    "LABELS",
    "frame_from_rows",
    "kernel_area",
    "layer_frame",
    "layer_rows",
    "op_key",
    "rows_frame",
]

#: Feature name → one-line definition (the names are the columns of :func:`layer_frame`).
FEATURE_DOCS: dict[str, str] = {
    "macs": "multiply-accumulates of the layer (torchvision/Caffe convention)",
    "params": "parameters the layer executes",
    "weight_bytes": "bytes of weights and biases read",
    "input_bytes": "bytes of activation inputs read",
    "output_bytes": "bytes of outputs written",
    "bytes_moved": "weight_bytes + input_bytes + output_bytes",
    "output_elems": "elements written",
    "extra_flops": "normalisation, activation, pooling and elementwise FLOPs",
    "kernel_area": "kh*kw of a convolution, 0 for other layers",
}

#: Numeric feature columns, in order.
FEATURES: tuple[str, ...] = tuple(FEATURE_DOCS)

#: Non-numeric columns of a layer frame.
LABELS: tuple[str, ...] = ("name", "op", "category", "op_key")


def _channels(shapes: Iterable[Iterable[int]]) -> int:
    for shape in shapes:
        dims = list(shape)
        if len(dims) >= 2:
            return int(dims[1])
    return 0


def _conv_geometry(macs: int, out_elems: int, in_channels: int) -> tuple[int, bool]:
    """``(kernel_area, depthwise)`` of a convolution from its MACs, output elements and input channels."""
    if macs <= 0 or out_elems <= 0:
        return 0, False
    per_output = macs / out_elems  # (Cin / groups) · kh · kw
    if in_channels > 0 and per_output % in_channels == 0:
        return int(per_output // in_channels), False
    if in_channels > 1 and per_output == int(per_output) and per_output < in_channels:
        area = int(per_output)
        return area, area != in_channels and math.isqrt(area) ** 2 == area
    return round(per_output), False


def kernel_area(layer: Layer) -> int:
    """``kh·kw`` of a convolution layer (0 for every other op)."""
    if layer.category != "conv":
        return 0
    return _conv_geometry(layer.macs, layer.output_elements, _channels(layer.input_shapes))[0]


def op_key(op: str, area: int, depthwise: bool = False) -> str:
    """The op key of a layer: ``op`` refined by kernel size (and depthwise) for convolutions."""
    if op != "Conv" or area <= 0:
        return op
    side = math.isqrt(area)
    kernel = f"{side}x{side}" if side * side == area else f"k{area}"
    return f"{'DW' if depthwise else ''}Conv{kernel}"


@functools.lru_cache(maxsize=1 << 16)
def _layer_values(layer: Layer) -> tuple[Any, ...]:
    """Labels and features of one layer, in :data:`LABELS` + :data:`FEATURES` order (memoised: networks
    share many identical layers)."""
    out_elems = layer.output_elements
    category = op_category(layer.op)
    area, depthwise = 0, False
    if category == "conv":
        area, depthwise = _conv_geometry(layer.macs, out_elems, _channels(layer.input_shapes))
    weight, inp, outp = layer.weight_bytes, layer.input_bytes, layer.output_bytes
    return (
        layer.name,
        layer.op,
        category,
        op_key(layer.op, area, depthwise),
        float(layer.macs),
        float(layer.params),
        float(weight),
        float(inp),
        float(outp),
        float(weight + inp + outp),
        float(out_elems),
        float(layer.flops_norm + layer.flops_activation + layer.flops_pooling + layer.flops_elementwise),
        float(area),
    )


def layer_rows(table: LayerTable) -> list[tuple[Any, ...]]:
    """The rows of :func:`layer_frame` as tuples (:data:`LABELS` then :data:`FEATURES`)."""
    return [_layer_values(layer) for layer in table.layers]


def frame_from_rows(rows: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    """A layer frame from :func:`layer_rows` output (labels kept as plain Python strings)."""
    columns: dict[str, Any] = {}
    transposed = list(zip(*rows, strict=True)) if rows else [()] * (len(LABELS) + len(FEATURES))
    for i, name in enumerate(LABELS):
        columns[name] = pd.Series(np.array(transposed[i], dtype=object), dtype=object)
    for j, name in enumerate(FEATURES):
        columns[name] = np.asarray(transposed[len(LABELS) + j], dtype=float)
    return pd.DataFrame(columns)


def layer_frame(table: LayerTable) -> pd.DataFrame:
    """One row per layer of ``table``: labels (:data:`LABELS`) and features (:data:`FEATURES`)."""
    return frame_from_rows(layer_rows(table))


def rows_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A layer frame from plain rows (e.g. a ``layers.csv`` without a model to analyse).

    Each row needs ``name`` and ``op``; features it lacks are derived where possible (``bytes_moved`` from
    the byte counts) and are 0 otherwise.
    """
    out = []
    for row in rows:
        op = str(row.get("op", ""))
        values = {name: float(row.get(name, 0.0) or 0.0) for name in FEATURES}
        if "bytes_moved" not in row:
            values["bytes_moved"] = values["weight_bytes"] + values["input_bytes"] + values["output_bytes"]
        for name, value in values.items():
            if not np.isfinite(value):
                values[name] = 0.0
        area = int(values["kernel_area"])
        out.append(
            {
                "name": str(row.get("name", "")),
                "op": op,
                "category": op_category(op),
                "op_key": op_key(op, area),
                **values,
            }
        )
    return frame_from_rows([tuple(row[c] for c in (*LABELS, *FEATURES)) for row in out])
