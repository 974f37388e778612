"""What :func:`synergy.measure` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synergy.alignment.attribute import Attribution
from synergy.context import Finding, SystemContext

__all__ = ["MeasureResult"]

#: Breakdown of the paper: every category outside conv, pooling and fc counts as other.
_BREAKDOWN = {"conv": "conv", "pooling": "pooling", "fc": "fc"}


@dataclass
class MeasureResult:
    """What :func:`~synergy.measurement.measure` produced.

    Attributes:
        out_dir: the output directory.
        layers: the ``layers.csv`` table.
        run: the ``run.json`` content.
        attribution: the fit, or ``None`` without energy.
        energy_unavailable: why there is no energy (``None`` when there is).
        partial: the measurement was interrupted; the files hold the runs completed.
        warnings: things the user should know (printed once by the CLI).
        findings: the checks of the measurement conditions, each with its remedy (printed by the CLI).
        context_before: the machine state before the runs (``summary_line()`` for the printed summary).
    """

    out_dir: Path
    layers: pd.DataFrame
    run: dict[str, Any]
    attribution: Attribution | None
    energy_unavailable: str | None
    partial: bool = False
    warnings: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    context_before: SystemContext | None = None

    def breakdown(self) -> pd.DataFrame:
        """Shares by layer type (conv / pooling / fc / other) of time, energy and MACs, as the paper reports."""
        frame = self.layers.copy()
        frame["type"] = [_BREAKDOWN.get(c, "other") for c in frame["category"]]
        columns = {"duration_s": "time_share", "macs": "macs_share"}
        if "energy_j" in frame and frame["energy_j"].notna().any():
            columns["energy_j"] = "energy_share"
        grouped = frame.groupby("type")[list(columns)].sum()
        grouped = grouped.reindex([t for t in ("conv", "pooling", "fc", "other") if t in grouped.index])
        out = pd.DataFrame({"type": grouped.index, "layers": frame.groupby("type").size()[grouped.index].values})
        for source, share in columns.items():
            values = grouped[source].to_numpy(dtype=float)
            total = float(values.sum())
            out[source] = values
            out[share] = values / total if total else np.nan
        return out.reset_index(drop=True)
