"""``analyze``: turn any MODEL spec into a :class:`~synergy.layers.LayerTable`."""

from __future__ import annotations

from collections.abc import Sequence

from synergy.graph.spec import parse_model_spec
from synergy.layers import LayerTable

__all__ = ["analyze"]


def analyze(model: str, input_shape: Sequence[Sequence[int]] | None = None) -> LayerTable:
    """Analyse a network layer by layer without running it on real data.

    Args:
        model: a MODEL spec: ``path.onnx``, ``torchvision:NAME``, ``nb201:ARCH_STR`` or
            ``package.module:callable``.
        input_shape: shapes of the network's inputs; defaults to the model's own (torchvision: the
            weights' evaluation crop; ONNX: the graph's static input shapes).

    Returns:
        The layer table, in execution order.

    Raises:
        ModelSpecError: the spec cannot be resolved or loaded.
        InputShapeError: the shape is malformed or the model cannot accept it.
    """
    spec = parse_model_spec(model)
    shapes = tuple(tuple(int(d) for d in s) for s in input_shape) if input_shape is not None else None
    if spec.kind == "onnx":
        from synergy.graph.onnx_frontend import analyze_onnx

        table: LayerTable = analyze_onnx(spec, shapes)
        return table
    from synergy.graph.torch_frontend import analyze_torch

    table = analyze_torch(spec, shapes)
    return table
