"""A Python module named by a data file: it leaves a mark when imported, so a test sees whether it ran."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

#: ``evil.py``: writes ``evil-ran`` into the current directory when imported, and builds a small network.
EVIL_SOURCE = """
from pathlib import Path

import torch

Path("evil-ran").write_text("imported")


def build() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten())


build.input_shape = (1, 3, 8, 8)
"""


def plant_evil(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``evil.py`` in ``folder``, made the current directory, not yet imported; returns the mark's path."""
    (folder / "evil.py").write_text(EVIL_SOURCE)
    monkeypatch.chdir(folder)
    monkeypatch.delitem(sys.modules, "evil", raising=False)
    return folder / "evil-ran"
