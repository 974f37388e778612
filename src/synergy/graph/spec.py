"""MODEL specs and input shapes: parsing and classification, shared by every command."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from synergy.errors import InputShapeError, ModelSpecError

__all__ = [
    "ModelSpec",
    "check_memory",
    "input_bytes",
    "memory_limit_bytes",
    "parse_input_shape",
    "parse_model_spec",
]

_DIM = re.compile(r"^\d+$")


def parse_input_shape(text: str) -> tuple[tuple[int, ...], ...]:
    """Parse ``--input-shape``: ``1,3,224,224`` (or ``1x3x224x224``); several inputs separated by ``;``.

    Raises:
        InputShapeError: empty, non-integer, zero or negative dimensions.
    """
    if not text or not text.strip():
        raise InputShapeError("--input-shape is empty: give dimensions like 1,3,224,224")
    shapes: list[tuple[int, ...]] = []
    for part in text.split(";"):
        dims = [d.strip() for d in re.split(r"[,x×]", part.strip()) if d.strip() != ""]
        if not dims or not all(_DIM.match(d) for d in dims):
            raise InputShapeError(
                f"--input-shape {text!r} is malformed: give positive integers separated by commas, e.g. 1,3,224,224"
            )
        shape = tuple(int(d) for d in dims)
        if any(d <= 0 for d in shape):
            raise InputShapeError(f"--input-shape {text!r} has a zero dimension: every dimension must be ≥ 1")
        shapes.append(shape)
    return tuple(shapes)


@dataclass(frozen=True)
class ModelSpec:
    """A classified MODEL spec.

    Attributes:
        text: the spec as given.
        kind: ``onnx`` (a file), ``torchvision`` (a zoo name), ``callable`` (``package.module:callable``)
            or ``nb201`` (a NAS-Bench-201 cell string).
        target: the path, zoo name, ``module:callable`` or cell string.
    """

    text: str
    kind: str
    target: str


_CALLABLE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def parse_model_spec(text: str) -> ModelSpec:
    """Classify a MODEL spec.

    Raises:
        ModelSpecError: the spec matches no known form, or names a file that does not exist.
    """
    text = text.strip()
    if not text:
        raise ModelSpecError("MODEL is empty: give a .onnx file, torchvision:NAME or package.module:callable")
    if text.startswith("torchvision:"):
        return ModelSpec(text, "torchvision", text.split(":", 1)[1])
    if text.startswith("nb201:"):
        return ModelSpec(text, "nb201", text.split(":", 1)[1])
    path = Path(text)
    if path.suffix.lower() == ".onnx" or path.exists():
        if not path.exists():
            raise ModelSpecError(f"model file {text} does not exist: check the path")
        if path.is_dir():
            raise ModelSpecError(f"model {text} is a directory: give an .onnx file")
        return ModelSpec(text, "onnx", str(path))
    if _CALLABLE.match(text):
        return ModelSpec(text, "callable", text)
    raise ModelSpecError(
        f"cannot understand MODEL {text!r}: give a .onnx file, torchvision:NAME, nb201:ARCH_STR or "
        "package.module:callable"
    )


#: Bytes of one element of the float32 inputs the runtimes and the analysis feed.
_FLOAT_BYTES = 4


def input_bytes(shapes: Sequence[Sequence[int]], itemsize: int = _FLOAT_BYTES) -> int:
    """Bytes of the input tensors of these shapes (float32 unless told)."""
    return sum(math.prod(int(d) for d in s) * itemsize for s in shapes)


def memory_limit_bytes() -> int:
    """The machine's physical memory, bytes (``0`` where the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def check_memory(needed_bytes: int, what: str, limit_bytes: int | None = None) -> None:
    """Refuse work whose memory estimate cannot fit in this machine's memory, before anything is allocated.

    Args:
        needed_bytes: the estimate.
        what: what needs it, in words (``input shape 1,3,100000,100000 of torchvision:resnet18``).
        limit_bytes: the memory there is; default :func:`memory_limit_bytes` (no check where it is unknown).

    Raises:
        InputShapeError: the estimate is above the limit.
    """
    limit = memory_limit_bytes() if limit_bytes is None else limit_bytes
    if limit > 0 and needed_bytes > limit:
        raise InputShapeError(
            f"{what} needs about {_gib(needed_bytes)} of memory, more than this machine's {_gib(limit)}: "
            "give a smaller input shape"
        )
