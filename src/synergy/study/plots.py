"""The study's figures (matplotlib, Agg backend, PNG): shares by layer type and target against MACs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synergy.atomic import atomic_path
from synergy.study.collect import BREAKDOWN

__all__ = ["plot_network_predictions", "plot_shares", "plot_target_vs_macs"]

_COLOURS = {"conv": "#3b6fb6", "pooling": "#e69f00", "fc": "#009e73", "other": "#999999"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _log_axes(ax: Any) -> None:
    """Log scales labelled at decades only (minor labels overlap on short ranges)."""
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())


def plot_shares(networks: pd.DataFrame, overall: dict[str, float], label: str, path: Path) -> Path:
    """Stacked bars: each network's share of the target by layer type, and all networks together."""
    plt = _pyplot()
    names = [*networks["network"].astype(str), "all networks"]
    fig, ax = plt.subplots(figsize=(8.0, 0.32 * len(names) + 1.3))
    left = np.zeros(len(names))
    for kind in BREAKDOWN:
        values = np.array([*networks[f"{kind}_share"].fillna(0.0), overall.get(f"{kind}_share", 0.0)]) * 100
        ax.barh(names, values, left=left, color=_COLOURS[kind], label=kind, height=0.7)
        left += values
    ax.axvspan(77, 82, color="k", alpha=0.08, lw=0)
    ax.set_xlim(0, 100)
    ax.invert_yaxis()
    ax.set_xlabel(f"share of {label} [%]  (grey band: the paper's 77–82 % for conv)")
    ax.legend(ncol=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path


def plot_target_vs_macs(
    networks: pd.DataFrame, layers: pd.DataFrame, target: str, label: str, unit: str, path: Path
) -> Path:
    """Two log-log panels: network totals against MACs (labelled), and every layer by type."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 4.2))
    x = networks["macs"].to_numpy(dtype=float)
    y = networks["target_total"].to_numpy(dtype=float)
    left.scatter(x, y, s=18, color="#3b6fb6")
    for name, xi, yi in zip(networks["network"], x, y, strict=True):
        left.annotate(str(name), (xi, yi), fontsize=7, xytext=(3, 2), textcoords="offset points")
    positive = (x > 0) & (y > 0)
    if positive.sum() >= 2:
        slope, intercept = np.polyfit(np.log(x[positive]), np.log(y[positive]), 1)
        grid = np.geomspace(x[positive].min(), x[positive].max(), 20)
        left.plot(grid, np.exp(intercept) * grid**slope, "k--", lw=0.7, label=f"power law, exponent {slope:.2f}")
        left.legend(fontsize=7, frameon=False)
    _log_axes(left)
    left.set_xlabel("MACs per inference")
    left.set_ylabel(f"{label} per inference [{unit}]")
    left.set_title("networks", fontsize=9)
    kinds = [c if c in BREAKDOWN[:3] else "other" for c in layers["category"]]
    values = pd.to_numeric(layers[target], errors="coerce").to_numpy(dtype=float)
    macs = layers["macs"].to_numpy(dtype=float)
    for kind in BREAKDOWN:
        mask = np.array([k == kind for k in kinds]) & np.isfinite(values) & (values > 0)
        if kind == "conv" or kind == "fc":
            mask &= macs > 0
            right.scatter(macs[mask], values[mask], s=5, alpha=0.5, color=_COLOURS[kind], label=kind, linewidths=0)
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("MACs of the layer")
    right.set_ylabel(f"{label} of the layer [{unit}]")
    right.set_title("conv and fc layers", fontsize=9)
    right.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path


def plot_network_predictions(
    evaluations: Sequence[Any], names: Sequence[str], label: str, unit: str, path: Path
) -> Path:
    """Predicted against measured network totals, one panel per model, every network labelled."""
    plt = _pyplot()
    n = len(evaluations)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.9 * rows), squeeze=False)
    for ax, ev in zip(axes.flat, evaluations, strict=False):
        y, p = np.asarray(ev.measured, float), np.asarray(ev.predicted, float)
        ok = (y > 0) & (p > 0)
        if not ok.any():  # nothing to draw on log axes: say so in the panel
            ax.text(0.5, 0.5, "no network with a positive\nmeasured and predicted value", ha="center",
                    va="center", fontsize=8, transform=ax.transAxes)  # fmt: skip
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{ev.model}", fontsize=9)
            continue
        lo, hi = float(min(y[ok].min(), p[ok].min())) / 1.3, float(max(y[ok].max(), p[ok].max())) * 1.3
        grid = np.array([lo, hi])
        ax.fill_between(grid, grid * 0.9, grid * 1.1, color="k", alpha=0.08, lw=0)
        ax.plot(grid, grid, "k-", lw=0.8)
        ax.scatter(y[ok], p[ok], s=22, color="#3b6fb6", zorder=3)
        for name, yi, pi in zip(names, y, p, strict=True):
            if yi > 0 and pi > 0:
                ax.annotate(str(name), (yi, pi), fontsize=6.5, xytext=(3, 2), textcoords="offset points")
        _log_axes(ax)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_xlabel(f"measured {label} [{unit}]", fontsize=8)
        ax.set_ylabel(f"predicted {label} [{unit}]", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_title(f"{ev.model}: {100 * ev.scores['mean_err']:.1f} % mean error", fontsize=9)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(f"{label} per network (sum of predicted layers), leave one network out; band: ±10 %", fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path
