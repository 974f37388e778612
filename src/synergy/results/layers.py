"""``layers.csv`` written and read through the schema (:data:`~synergy.results.schema.LAYER_COLUMNS`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from synergy.atomic import atomic_path
from synergy.errors import ResultFormatError
from synergy.results.schema import (
    COUNTER_NAMES,
    FEATURE_COLUMNS,
    LAYER_COLUMNS,
    context_column_names,
)

__all__ = ["feature_frame", "has_features", "order_columns", "read_layers", "write_layers"]

#: The largest ``layers.csv`` read (a network has thousands of layers, not millions).
_LIMIT_BYTES = 256 << 20


def order_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the schema's columns first, in order, then context, counters and any other column."""
    known = [c.name for c in LAYER_COLUMNS] + list(context_column_names()) + list(COUNTER_NAMES)
    first = [c for c in known if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]


def write_layers(path: str | os.PathLike[str], frame: pd.DataFrame) -> Path:
    """Write ``layers.csv`` atomically, columns in schema order; returns the path."""
    with atomic_path(path) as tmp:
        order_columns(frame).to_csv(tmp, index=False)
    return Path(path)


def read_layers(path: str | os.PathLike[str]) -> pd.DataFrame:
    """``layers.csv`` (a run directory or the file), layer names and labels as text.

    Raises:
        ResultFormatError: missing, not a regular file, too large, unreadable, or without a ``layer`` column.
    """
    target = Path(path)
    if target.is_dir():
        target = target / "layers.csv"
    if not target.is_file():
        raise ResultFormatError(f"{target} is not a regular file: give a run directory from 'synergy measure'")
    if target.stat().st_size > _LIMIT_BYTES:
        raise ResultFormatError(f"{target} is larger than {_LIMIT_BYTES >> 20} MiB: it is not a layers.csv")
    labels = [c.name for c in LAYER_COLUMNS if c.kind == "label"]
    try:
        frame = pd.read_csv(target, dtype=dict.fromkeys(labels, str))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise ResultFormatError(f"{target} is not a readable CSV ({exc}): measure again") from exc
    if "layer" not in frame.columns:
        raise ResultFormatError(f"{target} has no 'layer' column: it was not written by 'synergy measure'")
    for column in labels:
        if column in frame.columns:
            frame[column] = frame[column].fillna("")
    return frame


def has_features(frame: pd.DataFrame) -> bool:
    """Whether a ``layers.csv`` carries every analysis feature (written by SyNERGY with run format 2)."""
    return all(c in frame.columns for c in (*FEATURE_COLUMNS.numeric, *FEATURE_COLUMNS.labels))


def feature_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The model features of a ``layers.csv`` (:data:`~synergy.models.features.LABELS` and ``FEATURES``).

    Raises:
        ResultFormatError: the table lacks feature columns (:func:`has_features` is false).
    """
    from synergy.models.features import FEATURES, LABELS, frame_from_rows

    missing = [c for c in (*FEATURE_COLUMNS.numeric, *FEATURE_COLUMNS.labels) if c not in frame.columns]
    if missing:
        raise ResultFormatError(f"layers.csv has no feature columns {', '.join(missing)}: measure again")
    numbers = {f: pd.to_numeric(frame[f], errors="coerce").fillna(0.0).to_numpy(dtype=float) for f in FEATURES}
    rows = []
    for i, record in enumerate(frame[["layer", "op", "category", "op_key"]].itertuples(index=False)):
        labels = (str(record[0]), str(record[1]), str(record[2]), str(record[3]) or str(record[1]))
        rows.append((*labels, *(float(numbers[f][i]) for f in FEATURES)))
    out = frame_from_rows(rows)
    assert list(out.columns) == [*LABELS, *FEATURES]
    out[list(FEATURES)] = out[list(FEATURES)].where(np.isfinite(out[list(FEATURES)]), 0.0)
    return out
