"""End to end through ``synergy.measure``: a Jetson rail at constant power never yields a confident number."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from synergy.alignment.plausibility import plausibility_findings
from synergy.measurement import MeasureOptions, measure
from synergy.testing.sysfs import Constant, SysfsWriter, build_jetson_hwmon


class _Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.relu = torch.nn.ReLU()
        self.fc = torch.nn.Linear(8 * 16 * 16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.relu(self.conv(x)), 1))


@pytest.fixture(scope="module")
def net_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "net.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(_Net().eval(), (torch.randn(1, 3, 16, 16),), str(path), dynamo=False, input_names=["input"])
    return path


def test_constant_jetson_rail_is_refused_not_reported_as_zero(net_onnx: Path, tmp_path: Path) -> None:
    """VDD_IN at 15 W on an INA3221 averaging over 430 ms: the runs cannot determine the layers."""
    root = tmp_path / "sys-root"
    tree = build_jetson_hwmon(root, "orin_nx")
    options = MeasureOptions(
        model=str(net_onnx),
        sensor="jetson",
        sysfs_root=root,
        runs=30,
        warmup=2,
        idle_s=0.0,
        pause_s=(0.0, 1e-3),
        counters=False,
        context=False,
    )
    with SysfsWriter(tree, {"VDD_IN": Constant(15.0)}, default=Constant(0.0)):
        result = measure(options, tmp_path / "out")
    run = result.run
    if result.attribution is None:
        reason = run["energy_unavailable"]
        assert "cannot determine the layers" in reason and "isolation mode" in reason, reason
        assert run["inference_energy_j"] is None
        assert result.layers["energy_j"].isna().all()
    else:  # whatever was given is right within its error bars, or NaN with a reason
        ok = result.attribution.determined
        power = result.attribution.power_w[ok]
        assert np.all(np.abs(power - 15.0) <= 4 * result.attribution.power_w_se[ok] + 0.5)
        assert all(result.attribution.reasons[i] for i in np.flatnonzero(~ok))
        assert not any(f.code == "layer-power-implausible" for f in plausibility_findings(result.attribution))
