"""From finished measurements to the study's tables.

Each measured layer (a PyTorch leaf module, or an ONNX Runtime node that may hold several fused ONNX nodes)
has the features of the prediction models (:mod:`synergy.models.features`) in its ``layers.csv``, joined
once at measure time: the features of the analysis layers it contains, summed, with the op key of its
largest member. Nothing here analyses a network again. The study's target is the per-layer
energy when every network has it, otherwise the per-layer time (``duration_s_median``, the median over
runs), and it is named so everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synergy.models.features import FEATURES, LABELS, rows_frame
from synergy.results import schema
from synergy.results.layers import feature_frame, has_features, read_layers
from synergy.results.runs import inference_energy_j
from synergy.zoo import ZooEntry

__all__ = [
    "BREAKDOWN",
    "TARGETS",
    "TARGET_CHOICES",
    "TARGET_TEXT",
    "breakdown",
    "counter_columns",
    "layer_features",
    "median_durations",
    "network_row",
]

#: The paper's breakdown: every layer category outside conv, pooling and fc counts as other.
BREAKDOWN: tuple[str, ...] = ("conv", "pooling", "fc", "other")

#: Target column → (label, unit). Wall time is the per-layer median over the runs (a few preempted runs
#: inflate a mean, not a median); on-CPU time is the task-clock counter, which time spent waiting for the
#: CPU on a busy machine does not inflate at all.
TARGETS: dict[str, tuple[str, str]] = {
    "energy_j": ("energy", "J"),
    "cpu_time_s": ("on-CPU time", "s"),
    "duration_s_median": ("time", "s"),
}

#: How each target is named in sentences.
TARGET_TEXT: dict[str, str] = {
    "energy_j": "the per-layer energy (energy_j)",
    "cpu_time_s": "the per-layer on-CPU time (cpu_time_s: the task-clock counter, mean over runs)",
    "duration_s_median": "the per-layer wall time (duration_s_median: median over runs)",
}

#: ``--target`` choices.
TARGET_CHOICES: tuple[str, ...] = ("auto", "energy", "cpu-time", "time")


def counter_columns(layers: pd.DataFrame) -> list[str]:
    """The counter columns of a measured ``layers.csv`` that hold values (instructions, task-clock, ...):
    the perf events of the schema, never a context or feature column."""
    return [
        c
        for c in schema.counter_columns(layers.columns)
        if pd.api.types.is_numeric_dtype(layers[c]) and layers[c].notna().any()
    ]


def layer_features(run_dir: Path, entry: ZooEntry, runtime: str) -> tuple[pd.DataFrame, str | None]:
    """The model features of every measured layer of one network, as ``measure`` joined them.

    Args:
        run_dir: a finished ``synergy measure`` directory.
        entry: the network.
        runtime: the runtime it was measured with.

    Returns:
        One row per row of ``layers.csv``: :data:`~synergy.models.features.LABELS` and
        :data:`~synergy.models.features.FEATURES`; and a note when ``layers.csv`` predates the features
        (they then come from its own columns, missing ones 0).
    """
    measured = read_layers(run_dir)
    if has_features(measured):
        return feature_frame(measured), None
    records = [{str(k): v for k, v in r.items()} for r in measured.rename(columns={"layer": "name"}).to_dict("records")]
    note = f"{entry.name}: {runtime} layers.csv has no analysis features (an older run); features come from its columns"
    return rows_frame(records)[[*LABELS, *FEATURES]], note


def median_durations(run_dir: Path, layers: pd.DataFrame) -> np.ndarray:
    """Each measured layer's median time over the runs, s (from ``events.parquet``; a layer that ran
    twice in one run counts once, with the sum of its calls), in the order of ``layers``."""
    events = pd.read_parquet(run_dir / "events.parquet", columns=["run", "name", "duration_s"])
    per_run = events.pivot_table(index="name", columns="run", values="duration_s", aggfunc="sum", fill_value=0.0)
    median = per_run.median(axis=1)
    return np.asarray(median.reindex(layers["layer"].astype(str)).to_numpy(dtype=float))


def breakdown(layers: pd.DataFrame, target: str) -> dict[str, float]:
    """Shares of ``target`` and of MACs by layer type (conv / pooling / fc / other), as fractions."""
    kinds = [c if c in BREAKDOWN[:3] else "other" for c in layers["category"]]
    frame = pd.DataFrame({"type": kinds, "t": layers[target].to_numpy(dtype=float), "macs": layers["macs"]})
    sums = frame.groupby("type")[["t", "macs"]].sum()
    total_t, total_m = float(sums["t"].sum()), float(sums["macs"].sum())
    out: dict[str, float] = {}
    for kind in BREAKDOWN:
        t = float(sums["t"].get(kind, 0.0))
        m = float(sums["macs"].get(kind, 0.0))
        out[f"{kind}_share"] = t / total_t if total_t > 0 else float("nan")
        out[f"{kind}_macs_share"] = m / total_m if total_m > 0 else float("nan")
    return out


def network_row(entry: ZooEntry, layers: pd.DataFrame, run: dict[str, Any], target: str) -> dict[str, Any]:
    """One row of ``networks.csv``: totals of one network and its shares by layer type."""
    shape = entry.input_shape
    return {
        "network": entry.name,
        "model": entry.model,
        "paper": entry.paper,
        "input_shape": "x".join(map(str, shape)) if shape else "",
        "layers": len(layers),
        "macs": float(layers["macs"].sum()),
        "params": float(layers["params"].sum()),
        "inference_s": run.get("inference_s"),
        "layers_s": float(layers["duration_s"].sum()),
        "energy_j": inference_energy_j(run),
        "layers_energy_j": float(layers["energy_j"].sum()) if layers["energy_j"].notna().any() else float("nan"),
        "target_total": float(layers[target].sum()),
        "runs": run.get("runs"),
        "load_1m": ((run.get("system") or {}).get("load_average") or [float("nan")])[0],
        **breakdown(layers, target),
    }
