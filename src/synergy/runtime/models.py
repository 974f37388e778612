"""Build the network a MODEL spec names, with random weights (measuring needs no trained weights).

``torchvision:NAME`` is built as its default weights define it (``weights=None``: nothing is downloaded);
``package.module:callable`` is imported from the current directory or ``PYTHONPATH``. For ONNX Runtime a
PyTorch model is exported to ONNX once with the TorchScript exporter (fast, stable node names such as
``/layer1/layer1.0/conv1/Conv``) and the file is cached.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from synergy.atomic import atomic_path
from synergy.errors import InputShapeError, ModelSpecError
from synergy.graph.spec import ModelSpec

__all__ = ["build_torch_model", "default_input_shape", "export_onnx"]

Shape = tuple[int, ...]


def default_input_shape(spec: ModelSpec) -> Shape:
    """The input a torchvision model is evaluated at: ``1×3×crop×crop`` (crop from its default weights)."""
    if spec.kind == "torchvision":
        import torchvision

        try:
            weights = torchvision.models.get_model_weights(spec.target).DEFAULT
        except (ValueError, KeyError) as exc:
            raise ModelSpecError(
                f"torchvision has no model {spec.target!r}: see torchvision.models.list_models()"
            ) from exc
        crop = int(getattr(weights.transforms, "keywords", {}).get("crop_size", 224))
        return (1, 3, crop, crop)
    raise InputShapeError(f"{spec.text} has no default input shape: give --input-shape N,C,H,W")


def build_torch_model(spec: ModelSpec) -> Any:
    """The ``torch.nn.Module`` a ``torchvision:`` or ``module:callable`` spec names, in eval mode.

    Raises:
        ModelSpecError: the name is unknown, the import fails, or the callable returns no module.
    """
    import torch
    import torchvision

    if spec.kind == "torchvision":
        if spec.target not in torchvision.models.list_models():
            raise ModelSpecError(f"torchvision has no model {spec.target!r}: see torchvision.models.list_models()")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = torchvision.models.get_model(spec.target, weights=None)
    elif spec.kind == "callable":
        module_name, attr = spec.target.split(":", 1)
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            obj: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
            model = obj()
        except (ImportError, AttributeError) as exc:
            raise ModelSpecError(f"cannot load {spec.text}: {exc}") from exc
        if not isinstance(model, torch.nn.Module):
            raise ModelSpecError(f"{spec.text} returned {type(model).__name__}, not a torch.nn.Module")
    else:
        raise ModelSpecError(f"{spec.text} is not a PyTorch model: use a torchvision:NAME or module:callable spec")
    return model.eval()


def export_onnx(spec: ModelSpec, input_shape: Shape, path: Path) -> Path:
    """Export a PyTorch MODEL to ONNX at ``path`` (reused when it exists), opset 17, input ``input``.

    Raises:
        ModelSpecError: the model cannot be built or exported.
    """
    if path.exists():
        return path
    import torch

    model = build_torch_model(spec)
    example = torch.randn(*input_shape)
    try:
        with atomic_path(path) as tmp, warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (example,),
                str(tmp),
                dynamo=False,
                opset_version=17,
                input_names=["input"],
                output_names=["output"],
            )
    except Exception as exc:  # the exporter raises many unrelated types
        raise ModelSpecError(f"cannot export {spec.text} to ONNX: {exc}") from exc
    return path
