"""How well do the Raspberry Pi 5 presets carry over to another input size? CIFAR-100 → NinaPro.

    PYTHONPATH=src python scripts/preset_transfer.py [--data ../shared/data/rpi5-nb201] [--networks N]

The presets are fitted on CIFAR-100 networks (``1x3x32x32``, 100 classes; 2,000 of them, see
``scripts/build_presets.py``). ``measurements-ninapro.csv`` has the same networks deployed on NinaPro
(``1x1x52x16`` inputs, 18 classes). For every framework the script predicts, with the shipped preset and
without fitting anything, the networks the preset was *not* trained on, at both inputs, and prints one
Markdown row per framework: mean relative error, share within ±10 %, Kendall τ and the median bias
(prediction / measured − 1), on CIFAR-100 (in domain) and on NinaPro (transfer). Rows whose energy lies
below a quarter of the framework's 1st percentile (broken measurements) are left out on either side.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from synergy.models.data import LayerData
from synergy.models.evaluate import metrics
from synergy.models.nb201_tables import NB201Tables
from synergy.models.predictor import load_predictor

ROOT = Path(__file__).resolve().parents[1]
PRESETS = {"onnx": "rpi5-onnxruntime", "torchmobile": "rpi5-torchmobile", "litert": "rpi5-litert"}
#: NinaPro as deployed: one-channel 52x16 EMG windows, 18 classes.
NINAPRO = NB201Tables(",classes=18", ((1, 1, 52, 16),))
#: Networks the presets are fitted on (the first of the seeded order scripts/build_presets.py uses).
TRAINED = 2000


def held_out(archs: list[str], trained: int = TRAINED) -> list[str]:
    """The networks outside the presets' training set, in the benchmark's sorted order."""
    order = np.random.default_rng(0).permutation(len(archs))
    seen = {archs[i] for i in order[:trained]}
    return [a for a in archs if a not in seen]


def _energy(frame: pd.DataFrame, framework: str, archs: list[str]) -> np.ndarray:
    rows = frame[frame["framework"] == framework].set_index("arch_str")
    y = rows.loc[archs, "energy_mj"].to_numpy(dtype=float) * 1e-3
    floor = 0.25 * float(np.quantile(rows["energy_mj"], 0.01)) * 1e-3
    return np.where(y >= floor, y, np.nan)


def transfer_table(data: Path, networks: int = 0, presets: Path | None = None) -> pd.DataFrame:
    """One row per framework: the preset's scores on held-out CIFAR-100 networks and on NinaPro.

    Args:
        data: the folder with ``measurements.csv`` and ``measurements-ninapro.csv``.
        networks: evaluate a seeded random subset of the held-out networks (0: all of them).
        presets: a folder of preset files to evaluate instead of the shipped ones.
    """
    cifar = pd.read_csv(data / "measurements.csv")
    ninapro = pd.read_csv(data / "measurements-ninapro.csv")
    archs = held_out(sorted(set(cifar["arch_str"])))
    if networks:
        pick = np.random.default_rng(1).permutation(len(archs))[:networks]
        archs = sorted(archs[i] for i in pick)
    inputs = {
        "cifar": LayerData.from_tables(NB201Tables().tables(archs), archs),
        "ninapro": LayerData.from_tables(NINAPRO.tables(archs), archs),
    }
    rows = []
    for framework, name in PRESETS.items():
        predictor = load_predictor(presets / f"{name}.json" if presets else name)
        row: dict[str, object] = {"framework": framework, "preset": name}
        for label, frame in (("cifar", cifar), ("ninapro", ninapro)):
            y = _energy(frame, framework, archs)
            with warnings.catch_warnings():
                # NinaPro leaves the training range (smaller inputs): that is the point of the check
                warnings.simplefilter("ignore")
                p = np.array([r.total for r in predictor.predict_layer_data(inputs[label], archs, warn=False)])
            ok = np.isfinite(y)
            s = metrics(y[ok], p[ok])
            row[f"{label}_networks"] = int(ok.sum())
            row[f"{label}_mean_err_%"] = 100 * s["mean_err"]
            row[f"{label}_within_10_%"] = 100 * s["within_10"]
            row[f"{label}_kendall_tau"] = s["kendall_tau"]
            row[f"{label}_bias_%"] = 100 * float(np.median(p[ok] / y[ok] - 1))
        rows.append(row)
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """The table as Markdown, errors with 2 decimals, τ with 3."""
    head = (
        "| framework | preset | networks | CIFAR-100 mean_err_% | within_10_% | kendall_tau | bias_% "
        "| NinaPro mean_err_% | within_10_% | kendall_tau | bias_% |"
    )
    lines = [head, "|" + "---|" * 11]
    for r in table.to_dict("records"):
        cells = [r["framework"], f"`{r['preset']}`", str(r["ninapro_networks"])]
        for side in ("cifar", "ninapro"):
            cells += [
                f"{r[f'{side}_mean_err_%']:.2f}",
                f"{r[f'{side}_within_10_%']:.1f}",
                f"{r[f'{side}_kendall_tau']:.3f}",
                f"{r[f'{side}_bias_%']:+.1f}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "rpi5-nb201")
    parser.add_argument("--networks", type=int, default=0, help="seeded subset of the held-out networks (0: all)")
    parser.add_argument("--presets", type=Path, default=None, help="folder of preset files (default: shipped)")
    args = parser.parse_args(argv)
    for name in ("measurements.csv", "measurements-ninapro.csv"):
        if not (args.data / name).is_file():
            print(f"error: {args.data / name} not found: pass --data", file=sys.stderr)
            return 2
    print(markdown(transfer_table(args.data, args.networks, args.presets)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
