"""A study reads MODEL specs from a zoo file and from its study.json: code they name runs only when trusted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synergy.cli import main
from synergy.errors import UntrustedCodeError
from synergy.study import StudyOptions, load_options
from synergy.zoo import ZooEntry
from unit.code_from_data import plant_evil


@pytest.fixture
def evil_zoo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    plant_evil(tmp_path, monkeypatch)
    path = tmp_path / "zoo.txt"
    path.write_text("evil:build 1,3,8,8\n")
    return path


def test_a_zoo_file_naming_code_is_refused_with_the_hint(evil_zoo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = evil_zoo.parent / "study"
    assert main(["study", str(evil_zoo), "--sensor", "none", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert err.rstrip().endswith("(add --trust-code to allow it)")
    assert not out.exists() and not (evil_zoo.parent / "evil-ran").exists()


def test_a_study_file_naming_code_is_refused_unless_trusted(evil_zoo: Path) -> None:
    out = evil_zoo.parent / "study"
    out.mkdir()
    options = StudyOptions(zoo=(ZooEntry("evil", "evil:build", (1, 3, 8, 8)),), sensor="none")
    state = {"format_version": 1, "options": options.to_dict(), "networks": {"evil": "pending"}}
    (out / "study.json").write_text(json.dumps(state))
    with pytest.raises(UntrustedCodeError, match="study file"):
        load_options(out)
    trusted = load_options(out, trust_code=True)
    assert trusted.trust_code and trusted.zoo[0].model == "evil:build"
    assert "trust_code" not in trusted.to_dict()  # a permission of the invocation, not a setting
    assert not (evil_zoo.parent / "evil-ran").exists()  # reading the options imports nothing


def test_study_defaults_are_the_measurement_defaults() -> None:
    from synergy.measurement import MeasureOptions

    study, measure = StudyOptions(zoo=()), MeasureOptions(model="-")
    for name in ("sensor", "sysfs_root", "warmup", "threads", "idle_s", "seed"):
        assert getattr(study, name) == getattr(measure, name), name
