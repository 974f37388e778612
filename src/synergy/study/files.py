"""Reading and writing the study directory's files; every write is atomic (:mod:`synergy.atomic`)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synergy.atomic import write_bytes_atomic

__all__ = ["read_json", "write_bytes", "write_csv", "write_json", "write_text"]


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (readers see the old file or the new one, never half of it)."""
    write_bytes_atomic(path, data)


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically."""
    write_bytes(path, text.encode())


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically; NaN and infinities become ``null``."""
    write_text(path, json.dumps(_clean(data), indent=2) + "\n")


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON object (``ValueError`` when the file holds something else)."""
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return data


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """Write a CSV atomically."""
    write_text(path, frame.to_csv(index=False))
