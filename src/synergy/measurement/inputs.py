"""The values a measurement feeds its model: the user's own batches, or one random input of the model's shapes.

``inputs`` of :func:`synergy.measure` is read by one rule:

- a tensor (or a numpy array) is one batch;
- a list or a tuple of tensors is a list of batches of a model with one input;
- any other iterable (a ``DataLoader``, a generator) yields the batches; a batch that is itself a tuple or
  a list (the ``(x, y)`` of a labelled data set) is fed its first element.

At most ``limit`` batches are taken (one per measured run is enough: the runs cycle through them, run *i*
takes batch *i* mod *n*). Every batch must have the shape of the first: one shape is what the layers'
features describe. The batches are checked here, before a sensor is opened or anything is written.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from synergy.errors import InputShapeError, UsageError

__all__ = ["GivenInputs", "given_inputs", "input_record"]

Shapes = tuple[tuple[int, ...], ...]


def _text(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape)) or "a scalar"


@dataclass(frozen=True)
class GivenInputs:
    """The user's batches of a model with one input, all of one shape.

    Attributes:
        batches: one array per batch, in the order given.
    """

    batches: tuple[npt.NDArray[Any], ...]

    @property
    def shapes(self) -> Shapes:
        """The model's input shapes (one input)."""
        return (tuple(int(d) for d in self.batches[0].shape),)

    def arrays(self) -> list[list[npt.NDArray[Any]]]:
        """Every batch as the list of a runtime's inputs (:meth:`synergy.runtime.base.Runtime.set_input`)."""
        return [[batch] for batch in self.batches]

    def example(self) -> Any:
        """The first batch as a ``torch.Tensor`` (the example an in-memory module is analysed with)."""
        import torch

        return torch.from_numpy(np.array(self.batches[0]))


def _array(value: Any, index: int) -> npt.NDArray[Any]:
    if isinstance(value, tuple | list) and value:
        value = value[0]  # (x, y): the input, not its label
    if callable(getattr(value, "detach", None)):  # a torch.Tensor
        tensor = value.detach().cpu()
        try:
            return np.asarray(tensor.numpy())
        except TypeError:  # bfloat16 and other types numpy lacks
            return np.asarray(tensor.float().numpy())
    if isinstance(value, np.ndarray):
        return value
    raise UsageError(f"batch {index + 1} of the inputs is a {type(value).__name__}: give tensors or numpy arrays")


def _batches(inputs: Any) -> Iterable[Any]:
    if isinstance(inputs, np.ndarray) or callable(getattr(inputs, "detach", None)):
        return [inputs]
    if isinstance(inputs, str | bytes | dict) or not isinstance(inputs, Iterable):
        raise UsageError(
            f"the inputs are a {type(inputs).__name__}: give a tensor, a list of tensors (one per batch) or an "
            "iterable of batches such as a DataLoader"
        )
    return inputs


def given_inputs(inputs: Any, limit: int) -> GivenInputs:
    """The user's batches (see the module docstring), at most ``limit`` of them, checked.

    Raises:
        UsageError: no batch, or a batch that is not a tensor.
        InputShapeError: a batch of another shape than the first, or a scalar.
    """
    arrays = [_array(value, i) for i, value in enumerate(itertools.islice(_batches(inputs), max(limit, 1)))]
    if not arrays:
        raise UsageError("the inputs hold no batch: give at least one tensor")
    expected = tuple(arrays[0].shape)
    if not expected:
        raise InputShapeError("the inputs are scalars: give tensors with a batch dimension, such as 1x3x224x224")
    for i, array in enumerate(arrays[1:], start=2):
        if tuple(array.shape) != expected:
            raise InputShapeError(
                f"batch {i} of the inputs has shape {_text(array.shape)} but batch 1 has {_text(expected)} "
                f"(expected {_text(expected)}, got {_text(array.shape)}): give batches of one shape"
            )
    return GivenInputs(tuple(arrays))


def input_record(given: GivenInputs | None, shapes: Shapes | None) -> dict[str, Any]:
    """The ``inputs`` block of ``run.json``: where the values came from, how many batches, their shapes."""
    if given is not None:
        return {"source": "given", "batches": len(given.batches), "shapes": [list(s) for s in given.shapes]}
    return {"source": "random", "batches": 1, "shapes": [list(s) for s in shapes] if shapes else None}
