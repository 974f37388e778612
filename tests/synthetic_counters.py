"""Synthetic layer-level data with SyNERGY-style counters from known coefficients (no analysis needed).

Conv layers: ``ase_spec ≈ K_SIMD·MACs``, ``bus_access ≈ K_BUS·MACs`` (multiplicative noise, larger on the
bus as in SyNERGY), ``energy = A·ase_spec + B·bus_access + C`` exactly. Relu layers: a fixed cost plus a
cost per output byte; they carry counters too (SIMD per element, bus per cache line).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from synergy.models.data import LayerData
from synergy.models.features import rows_frame

#: Energy per SIMD operation, per bus access, per conv layer (J).
A, B, C = 2e-10, 5e-9, 3e-6
#: SIMD operations and bus accesses per MAC.
K_SIMD, K_BUS = 0.25, 0.004
#: Relu: fixed cost (J) and cost per output byte (J).
RELU_FIXED, RELU_PER_BYTE = 1e-6, 2e-10


def conv_energy(simd: np.ndarray, bus: np.ndarray) -> np.ndarray:
    """The true energy of conv layers with these counters."""
    return A * simd + B * bus + C


def network_rows(rng: np.random.Generator, simd_noise: float = 0.02, bus_noise: float = 0.1) -> pd.DataFrame:
    """The ``layers.csv`` rows of one random network (``layer``, ``op``, features, counters, ``energy_j``)."""
    rows = []
    for i in range(int(rng.integers(4, 9))):
        macs = float(rng.integers(100_000, 50_000_000))
        out_bytes = float(rng.integers(4_000, 400_000))
        simd = np.round(K_SIMD * macs * rng.lognormal(0, simd_noise))
        bus = np.round(K_BUS * macs * rng.lognormal(0, bus_noise))
        rows.append(
            {
                "layer": f"conv{i}",
                "op": "Conv",
                "macs": macs,
                "output_bytes": out_bytes,
                "bytes_moved": 2 * out_bytes,
                "ase_spec": simd,
                "bus_access": bus,
                "task_clock_ns": 1e9 * conv_energy(np.array(simd), np.array(bus)) / 2.0,
                "energy_j": float(conv_energy(np.array(simd), np.array(bus))),
            }
        )
        rows.append(
            {
                "layer": f"relu{i}",
                "op": "Relu",
                "macs": 0.0,
                "output_bytes": out_bytes,
                "bytes_moved": 2 * out_bytes,
                "ase_spec": np.round(out_bytes / 16),
                "bus_access": np.round(out_bytes / 32),
                "task_clock_ns": 1e9 * (RELU_FIXED + RELU_PER_BYTE * out_bytes) / 2.0,
                "energy_j": RELU_FIXED + RELU_PER_BYTE * out_bytes,
            }
        )
    return pd.DataFrame(rows)


def counter_data(n_networks: int = 8, seed: int = 0, **noise: float) -> tuple[LayerData, np.ndarray]:
    """Layer-level data of ``n_networks`` random networks and the energy of every layer."""
    rng = np.random.default_rng(seed)
    frames, targets = [], []
    offset = 0
    for net in range(n_networks):
        rows = network_rows(rng, **noise)
        frame = rows_frame(rows.rename(columns={"layer": "name"}).to_dict("records"))
        for column in ("ase_spec", "bus_access", "task_clock_ns"):
            frame[column] = rows[column].to_numpy(dtype=float)
        frame["unit"] = np.arange(len(frame)) + offset
        frame["network"] = net
        offset += len(frame)
        frames.append(frame)
        targets.append(rows["energy_j"].to_numpy(dtype=float))
    frame = pd.concat(frames, ignore_index=True)
    data = LayerData(
        frame,
        len(frame),
        frame["network"].to_numpy(),
        tuple(f"net{i}" for i in range(n_networks)),
        tuple(frame["name"]),
        "layer",
    )
    return data, np.concatenate(targets)


def write_runs(folder: Path, n_networks: int = 6, seed: int = 0, drop: tuple[str, ...] = ()) -> list[Path]:
    """Write ``n_networks`` run directories (``layers.csv``, and a ``run.json`` naming no model, so nothing
    is analysed), without the columns in ``drop``."""
    rng = np.random.default_rng(seed)
    runs = []
    for net in range(n_networks):
        run = folder / f"run{net}"
        run.mkdir(parents=True)
        network_rows(rng).drop(columns=list(drop)).to_csv(run / "layers.csv", index=False)
        (run / "run.json").write_text('{"format_version": 1, "status": "complete"}\n')
        runs.append(run)
    return runs
