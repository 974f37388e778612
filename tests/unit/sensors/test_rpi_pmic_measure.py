"""A measurement on the fake Raspberry Pi 5: per-layer energy against the fake's truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from synergy.measurement import MeasureOptions, measure
from synergy.testing.announce import AnnounceBoard, AnnouncedPower
from synergy.testing.sysfs import SysfsWriter
from synergy.testing.vcgencmd import build_rpi5, idle_rails_w

#: Layers long against the PMIC's 20 ms update period, each at its own power (VDD_CORE, W).
DURATIONS_S = (0.12, 0.08, 0.16)
POWERS_W = (4.0, 1.5, 2.5)
OVERHEAD_W, IDLE_W = 1.0, 0.6


def test_measure_on_the_fake_pi_gives_each_layer_within_2_percent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "pi5"
    tree = build_rpi5(root, update_period_s=0.02)
    with AnnounceBoard() as board:
        (tmp_path / "pi_net.py").write_text(
            "from synergy.testing.announce import AnnounceBoard, announcing_model\n\n\n"
            "def build():\n"
            f"    return announcing_model(AnnounceBoard(name={board.name!r}), {list(DURATIONS_S)!r})\n"
        )
        monkeypatch.syspath_prepend(str(tmp_path))
        power = AnnouncedPower(board.name, POWERS_W, overhead_w=OVERHEAD_W, idle_w=IDLE_W)
        options = MeasureOptions(
            model="pi_net:build", runtime="torch", sensor="rpi-pmic", sysfs_root=root, input_shape=((1, 4),),
            runs=12, warmup=1, idle_s=0.5, pause_s=(0.02, 0.06), counters=False, context=False,
        )  # fmt: skip
        with SysfsWriter(tree, {"VDD_CORE": power}):
            result = measure(options, tmp_path / "run")
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["sensor"]["name"] == "rpi-pmic" and run["sensor"]["read_cost_s"] > 0
    layers = result.layers
    assert list(layers["layer"]) == ["layer0", "layer1", "layer2"]
    # The truth: each layer's VDD_CORE power plus the other rails' constant draw, over its own duration.
    truth = (np.asarray(POWERS_W) + idle_rails_w()) * layers["duration_s"].to_numpy()
    error = np.abs(layers["energy_j"].to_numpy() / truth - 1)
    assert (error < 0.02).all(), f"relative errors {error.round(4).tolist()}"
