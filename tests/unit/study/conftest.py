"""A small study measured once for the study tests (the small zoo, few runs, no sensor)."""

from __future__ import annotations

from pathlib import Path

import pytest

from synergy.study import StudyOptions, StudyResult, run_study
from synergy.zoo import SMALL


@pytest.fixture(scope="session")
def small_study(tmp_path_factory: pytest.TempPathFactory) -> StudyResult:
    """The small zoo end to end on ONNX Runtime (what CI runs): 3 runs per network."""
    out: Path = tmp_path_factory.mktemp("study") / "small"
    options = StudyOptions(zoo=SMALL, zoo_name="small", sensor="none", runs=3, warmup=1, idle_s=0.0)
    return run_study(options, out)
