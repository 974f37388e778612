"""Layers assigned to target units: the input every additive model takes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synergy.layers import LayerTable
from synergy.models.features import layer_frame

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
        frames = []
        cache: dict[int, pd.DataFrame] = {}
        for i, table in enumerate(tables):
            base = cache.get(id(table))
            if base is None:
                base = cache[id(table)] = layer_frame(table)
            frame = base.copy()
            frame["unit"] = i
            frame["network"] = i
            frames.append(frame)
        frame = pd.concat(frames, ignore_index=True) if frames else layer_frame(LayerTable("", (), (), 0))
        if not frames:
            frame["unit"] = pd.Series(dtype=int)
            frame["network"] = pd.Series(dtype=int)
        return cls(frame, len(tables), np.arange(len(tables)), tuple(names), tuple(names), "network")
