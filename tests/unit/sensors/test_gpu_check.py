"""benchmarks/gpu_check.py: without CUDA or NVML it says what is missing and exits 0."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from synergy.errors import SensorUnavailable

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "gpu_check.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_a_gpu_the_script_exits_cleanly_with_the_reason() -> None:
    if _load().missing_requirement() is None:
        pytest.skip("this machine has CUDA and NVML: run benchmarks/gpu_check.py itself")
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("gpu_check: skipped: ") and done.stdout.count("\n") == 1


def test_cuda_without_nvml_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    import synergy.sensors.nvml as nvml

    def refuse(*args: object, **kwargs: object) -> None:
        raise SensorUnavailable("nvidia-ml-py is not installed: pip install 'synergy-nn[nvml]'")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(nvml, "NvmlSensor", refuse)
    assert _load().missing_requirement() == (
        "NVML energy counter unusable: nvidia-ml-py is not installed: pip install 'synergy-nn[nvml]'"
    )
