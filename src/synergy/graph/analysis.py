"""``analyze``: turn any model into a :class:`~synergy.graph.layers.LayerTable`."""

from __future__ import annotations

from typing import Any

from synergy.graph.layers import LayerTable
from synergy.graph.resolve import resolve_model

__all__ = ["analyze"]


def analyze(model: Any, input_shape: Any = None, *, origin: str | None = None, trust_code: bool = False) -> LayerTable:
    """Analyse a network layer by layer without running it on real data.

    Args:
        model: a MODEL spec (``str`` or path): ``path.onnx``, ``torchvision:NAME``, ``nb201:ARCH_STR`` or
            ``package.module:callable``; or an in-memory ``torch.nn.Module`` or ``onnx.ModelProto``.
        input_shape: shapes of the network's inputs (``[(1, 3, 224, 224)]``), or an example input (a tensor
            or a tuple of tensors); defaults to the model's own (torchvision: the weights' evaluation crop;
            a module: its ``input_shape`` attribute; ONNX: the graph's static input shapes).
        origin: where a spec was read from (a data file), in words; ``None`` when the caller gave it.
        trust_code: allow a ``module:callable`` spec read from a data file to be imported.

    Returns:
        The layer table, in execution order.

    Raises:
        ModelSpecError: the model cannot be resolved or loaded (``UntrustedCodeError``: code named by a
            data file that is not trusted).
        InputShapeError: the shape is malformed, the model cannot accept it, or it cannot fit in memory.
        GraphError: the analysis failed for another reason.
    """
    return resolve_model(model, input_shape, origin=origin, trust_code=trust_code).analyze(input_shape)
