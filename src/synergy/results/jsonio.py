"""The one JSON encoder of result files: NaN and infinities become ``null`` (JSON has no NaN), numpy
scalars and arrays become numbers and lists, paths become strings; every write is atomic."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from synergy.atomic import write_text_atomic

__all__ = ["clean_json", "dumps_json", "read_json", "write_json"]


def clean_json(value: Any) -> Any:
    """``value`` with every part JSON can hold: non-finite floats → ``None``, numpy → Python, paths → text.

    Raises:
        TypeError: a value JSON cannot represent (an object, a set).
    """
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return clean_json(value.tolist())
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, str | int):
        return value
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def dumps_json(data: Any) -> str:
    """Indented JSON text of ``data`` (cleaned by :func:`clean_json`), ending in a newline."""
    return json.dumps(clean_json(data), indent=2, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as JSON to ``path`` atomically; returns the path."""
    return write_text_atomic(path, dumps_json(data))


def read_json(path: str | os.PathLike[str], *, limit_bytes: int = 64 << 20) -> dict[str, Any]:
    """Read a JSON object from a regular file of at most ``limit_bytes``.

    Raises:
        ValueError: the file is not a regular file, too large, not JSON, or holds something else than an object.
        OSError: it cannot be read.
    """
    target = Path(path)
    if not target.is_file():
        raise ValueError(f"{target} is not a regular file")
    if target.stat().st_size > limit_bytes:
        raise ValueError(f"{target} is larger than {limit_bytes} bytes")
    data = json.loads(target.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{target} does not hold a JSON object")
    return data
