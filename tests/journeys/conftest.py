"""Journeys across commands: a small PyTorch network as a ``module:callable`` in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

#: A network with a plain and a depthwise convolution (16 channels: the depthwise one is recognised from
#: its MACs), an activation, a pooling layer and a classifier.
NET_SOURCE = """
import torch


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 16, 3, padding=1)
        self.dw = torch.nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.relu = torch.nn.ReLU()
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.relu(self.dw(self.conv(x)))), 1))


def build() -> torch.nn.Module:
    return Net()


def broken() -> torch.nn.Module:
    raise RuntimeError("the weights are missing")
"""

#: The input shape of :data:`NET_SOURCE`.
SHAPE = "1,3,16,16"


@pytest.fixture
def net_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """``journey_net:build``, importable from the current directory (a fresh temporary one)."""
    (tmp_path / "journey_net.py").write_text(NET_SOURCE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "journey_net:build"


def quick(*extra: str) -> list[str]:
    """Options of a short measurement."""
    return ["--runs", "6", "--warmup", "1", "--idle-s", "0", "--no-counters", "--no-context", *extra]
