"""How well can anything predict the Raspberry Pi 5 measurements? A flexible upper bound.

    python scripts/noise_floor.py [--data ../shared/data/rpi5-nb201]

A NAS-Bench-201 network is fully described by the op on each of its cell's six edges. For each framework,
two flexible models get exactly that and are cross-validated (5 folds) on all 6,466 networks — 65 times
the 80 training networks of the small-data protocol — on energy and, for comparison, on latency:

- ``gbm``: gradient-boosted trees on the six edge ops as categorical inputs (log target);
- ``pairs``: ridge regression on every pair of edges' ops, one-hot (375 indicators; all pairwise
  interactions, linear target).

Whatever error the better of the two leaves is measurement noise (or effects of the measurement order),
not model form: no predictor from network structure can do much better on single measurements. The
script also reports how the energy residuals of the boosted model correlate along the benchmark's index
(lag-1 and lag-100 autocorrelation, and the spread a running median over 51 neighbours explains) — drift
in measurement order shows up there. Broken rows (energy below a quarter of the 1st percentile) are left
out and counted.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import kendalltau
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold, cross_val_predict

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def edge_ops(arch_strs: pd.Series) -> np.ndarray:
    """The op index on each of the six edges, one row per network."""
    return np.array([[OPS.index(op) for op in re.findall(r"([a-z_0-9]+)~\d", arch)] for arch in arch_strs])


def pair_indicators(ops: np.ndarray) -> np.ndarray:
    """One-hot indicators of the ops on every pair of edges (15 pairs × 25 combinations)."""
    n = len(OPS)
    eye = np.eye(n * n)
    return np.hstack([eye[ops[:, i] * n + ops[:, j]] for i in range(6) for j in range(i + 1, 6)])


def predictions(ops: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Cross-validated predictions of both flexible models."""
    folds = KFold(5, shuffle=True, random_state=0)
    gbm = HistGradientBoostingRegressor(max_iter=300, categorical_features=list(range(6)), random_state=0)
    ridge = RidgeCV(alphas=np.logspace(-2, 3, 15))
    return {
        "gbm": np.exp(cross_val_predict(gbm, ops, np.log(y), cv=folds)),
        "pairs": cross_val_predict(ridge, pair_indicators(ops), y, cv=folds),
    }


def autocorr(x: np.ndarray, lag: int) -> float:
    return float(np.corrcoef(x[:-lag], x[lag:])[0, 1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("--data", type=Path, default=root.parent / "shared" / "data" / "rpi5-nb201")
    args = parser.parse_args()
    frame = pd.read_csv(args.data / "measurements.csv")
    scores = []
    drift = []
    for framework in ("onnx", "torchmobile", "litert"):
        rows = frame[frame["framework"] == framework].sort_values("arch_idx").reset_index(drop=True)
        keep = rows["energy_mj"] >= 0.25 * rows["energy_mj"].quantile(0.01)
        rows = rows[keep].reset_index(drop=True)
        ops = edge_ops(rows["arch_str"])
        for target in ("energy_mj", "lat_ms_median"):
            y = rows[target].to_numpy(dtype=float)
            for model, p in predictions(ops, y).items():
                e = np.abs(p / y - 1)
                scores.append(
                    f"| {framework} | {target} | {model} | {len(y)} | {int((~keep).sum())} | {100 * e.mean():.2f} "
                    f"| {100 * np.median(e):.2f} | {100 * np.mean(e <= 0.1):.1f} | {kendalltau(p, y)[0]:.3f} |"
                )
                if target == "energy_mj" and model == "gbm":
                    resid = np.log(y / p)
                    smooth = pd.Series(resid).rolling(51, center=True, min_periods=10).median().to_numpy()
                    drift.append(
                        f"| {framework} | {100 * resid.std():.1f} | {autocorr(resid, 1):.2f} | "
                        f"{autocorr(resid, 100):.2f} | {100 * smooth.std():.1f} | {100 * (resid - smooth).std():.1f} |"
                    )
    print("| framework | target | model | networks | dropped | mean_err_% | median_err_% | within_10_% | kendall_tau |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(scores))
    print()
    print("Energy residuals of `gbm` along the benchmark's index (log ratio, %):")
    print()
    print("| framework | std_% | lag1_autocorr | lag100_autocorr | running_median_std_% | left_std_% |")
    print("|---|---|---|---|---|---|")
    print("\n".join(drift))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
