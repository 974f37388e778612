"""Former entry points of the runtimes' model building, kept as thin aliases of :mod:`synergy.graph.resolve`.

New code resolves a model once with :func:`synergy.graph.resolve.resolve_model` and uses the
:class:`~synergy.graph.resolve.ResolvedModel` (``build_torch``, ``input_shapes``, ``onnx_file``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synergy.graph.resolve import resolve_model
from synergy.graph.spec import ModelSpec

__all__ = ["build_torch_model", "default_input_shape", "export_onnx"]

Shape = tuple[int, ...]


def default_input_shape(spec: ModelSpec) -> Shape:
    """The model's first default input shape (see :meth:`ResolvedModel.default_input_shapes`).

    Raises:
        ModelSpecError: the model cannot be resolved.
        InputShapeError: an ONNX model with a dynamic input.
    """
    return resolve_model(spec.text).input_shapes()[0]


def build_torch_model(spec: ModelSpec) -> Any:
    """The ``torch.nn.Module`` a PyTorch MODEL spec names, in eval mode, with random weights.

    Raises:
        ModelSpecError: an ONNX spec, an unknown name, a failed import, or a callable that raises.
    """
    return resolve_model(spec.text).build_torch()


def export_onnx(spec: ModelSpec, input_shape: Shape, path: Path) -> Path:
    """Export a PyTorch MODEL to ONNX at ``path``, always anew (a file already there is never reused).

    Raises:
        ModelSpecError: the model cannot be built or exported.
        InputShapeError: the shape does not fit the model, or cannot fit in memory.
    """
    return resolve_model(spec.text).export_onnx((tuple(input_shape),), Path(path))
