"""The study's choice of target."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synergy.study.runner import _choose_target


def _layers(energy: bool, cpu: bool) -> pd.DataFrame:
    frame = pd.DataFrame({"network": ["a", "a", "b"], "duration_s_median": [1e-3, 2e-3, 3e-3]})
    frame["energy_j"] = [1e-2, 2e-2, 3e-2] if energy else np.nan
    if cpu:
        frame["cpu_time_s"] = [9e-4, 1.9e-3, 2.8e-3]
    return frame


def _runs(energy: bool) -> dict[str, dict[str, Any]]:
    reason = None if energy else "no power sensor is usable"
    return {"a": {"energy_unavailable": reason}, "b": {"energy_unavailable": reason}}


def test_energy_first() -> None:
    assert _choose_target(_layers(True, True), _runs(True), "auto") == ("energy_j", None, [])
    target, why, _ = _choose_target(_layers(True, True), _runs(True), "time")
    assert target == "duration_s_median" and why == "--target time was asked"


def test_without_energy_on_cpu_time_then_wall_time() -> None:
    target, why, notes = _choose_target(_layers(False, True), _runs(False), "auto")
    assert (target, why, notes) == ("cpu_time_s", "no power sensor is usable", [])
    target, _, notes = _choose_target(_layers(False, False), _runs(False), "auto")
    assert target == "duration_s_median" and notes == []
    target, _, notes = _choose_target(_layers(False, False), _runs(False), "cpu-time")
    assert target == "duration_s_median" and "torch runtime" in notes[0]
    target, _, notes = _choose_target(_layers(False, True), _runs(False), "energy")
    assert target == "cpu_time_s" and "--target energy" in notes[0]


def test_partial_energy_is_not_energy() -> None:
    layers = _layers(True, False)
    layers.loc[2, "energy_j"] = np.nan
    target, why, _ = _choose_target(layers, {"a": {}, "b": {}}, "auto")
    assert target == "duration_s_median" and why is not None
