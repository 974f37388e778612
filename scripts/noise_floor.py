"""How well can anything predict the Raspberry Pi 5 measurements? A flexible upper bound.

    python scripts/noise_floor.py [--data ../shared/data/rpi5-nb201]

For each framework, a gradient-boosted tree model gets the six edge ops of every cell as categorical
inputs (all there is to know about a NAS-Bench-201 network) and is cross-validated (5 folds) on all 6,466
networks, on the log of energy and, for comparison, of latency. Whatever error remains is measurement
noise (or effects of the measurement order), not model form: no predictor from network structure can do
much better on single measurements. Broken rows (energy below a quarter of the 1st percentile) are left
out and counted.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import KFold, cross_val_predict

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("--data", type=Path, default=root.parent / "shared" / "data" / "rpi5-nb201")
    args = parser.parse_args()
    frame = pd.read_csv(args.data / "measurements.csv")
    print("| framework | target | networks | dropped | mean_err_% | median_err_% | within_10_% |")
    print("|---|---|---|---|---|---|---|")
    for framework in ("onnx", "torchmobile", "litert"):
        rows = frame[frame["framework"] == framework].reset_index(drop=True)
        keep = rows["energy_mj"] >= 0.25 * rows["energy_mj"].quantile(0.01)
        rows = rows[keep].reset_index(drop=True)
        X = np.array([[OPS.index(o) for o in re.findall(r"([a-z_0-9]+)~\d", a)] for a in rows["arch_str"]])
        for target in ("energy_mj", "lat_ms_median"):
            y = rows[target].to_numpy(dtype=float)
            model = HistGradientBoostingRegressor(max_iter=300, categorical_features=list(range(6)), random_state=0)
            folds = KFold(5, shuffle=True, random_state=0)
            p = np.exp(cross_val_predict(model, X, np.log(y), cv=folds))
            e = np.abs(p / y - 1)
            print(
                f"| {framework} | {target} | {len(y)} | {int((~keep).sum())} | {100 * e.mean():.2f} | "
                f"{100 * np.median(e):.2f} | {100 * np.mean(e <= 0.1):.1f} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
