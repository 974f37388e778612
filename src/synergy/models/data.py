"""Layers assigned to target units: the input every additive model takes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synergy.graph.layers import LayerTable
from synergy.models.features import frame_from_rows, layer_rows

__all__ = ["LayerData"]


@dataclass(frozen=True)
class LayerData:
    """Layers of one or more networks, each assigned to a target unit.

    Attributes:
        frame: one row per layer: the columns of :func:`~synergy.models.features.layer_frame` plus
            ``unit`` (index of the target unit the layer adds to) and ``network`` (index into ``networks``).
        n_units: number of target units (networks at network level, layers at layer level).
        groups: network index of every unit (for grouped cross-validation).
        networks: network names.
        units: unit names.
        level: ``network`` or ``layer``.
    """

    frame: pd.DataFrame
    n_units: int
    groups: np.ndarray
    networks: tuple[str, ...]
    units: tuple[str, ...]
    level: str = "network"

    def __len__(self) -> int:
        return self.n_units

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_units, n_layers)``; lets scikit-learn's splitters size the data."""
        return (self.n_units, len(self.frame))

    def subset(self, indices: Sequence[int] | np.ndarray) -> LayerData:
        """The data restricted to the given units (renumbered in the given order)."""
        idx = np.asarray(indices, dtype=int)
        remap = np.full(self.n_units, -1, dtype=int)
        remap[idx] = np.arange(len(idx))
        unit = remap[self.frame["unit"].to_numpy()]
        keep = unit >= 0
        frame = self.frame.loc[keep].copy()
        frame["unit"] = unit[keep]
        frame = frame.sort_values("unit", kind="stable").reset_index(drop=True)
        return LayerData(
            frame, len(idx), self.groups[idx], self.networks, tuple(self.units[i] for i in idx), self.level
        )

    @classmethod
    def from_tables(cls, tables: Sequence[LayerTable], names: Sequence[str] | None = None) -> LayerData:
        """Network-level data: every layer of table ``i`` adds to unit ``i``."""
        names = list(names) if names is not None else [t.model for t in tables]
        cache: dict[int, list[tuple[Any, ...]]] = {}
        rows: list[tuple[Any, ...]] = []
        units: list[int] = []
        for i, table in enumerate(tables):
            block = cache.get(id(table))
            if block is None:
                block = cache[id(table)] = layer_rows(table)
            rows.extend(block)
            units.extend([i] * len(block))
        frame = frame_from_rows(rows)
        frame["unit"] = np.asarray(units, dtype=int)
        frame["network"] = np.asarray(units, dtype=int)
        return cls(frame, len(tables), np.arange(len(tables)), tuple(names), tuple(names), "network")

    @classmethod
    def from_frames(cls, frames: Sequence[pd.DataFrame], names: Sequence[str]) -> LayerData:
        """Network-level data from layer frames (measured runs or layer tables): every layer of frame ``i``
        adds to unit ``i``. Columns some frames lack (counters) are NaN in the others."""
        if len(frames) != len(names):
            raise ValueError(f"{len(frames)} layer frames for {len(names)} names")
        parts = []
        for i, frame in enumerate(frames):
            part = frame.drop(columns=[c for c in ("unit", "network") if c in frame.columns])
            part["unit"] = i
            part["network"] = i
            parts.append(part)
        if parts:
            frame = pd.concat(parts, ignore_index=True)
        else:
            frame = frame_from_rows([])
            frame["unit"] = frame["network"] = np.zeros(0, dtype=int)
        frame["unit"] = frame["unit"].astype(int)
        frame["network"] = frame["network"].astype(int)
        return cls(frame, len(frames), np.arange(len(frames)), tuple(names), tuple(names), "network")
