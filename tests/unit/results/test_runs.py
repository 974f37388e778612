"""run.json is checked on read, upgraded in memory, and runs that differ are not merged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synergy.errors import IncomparableRunsError, ResultFormatError
from synergy.results import check_comparable, read_run_json
from synergy.results.schema import RUN_FORMAT_VERSION


def _write(path: Path, record: object) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "run.json").write_text(json.dumps(record) if not isinstance(record, str) else record)
    return path


def test_version_1_is_upgraded_in_memory(tmp_path: Path) -> None:
    run = _write(tmp_path / "old", {"format_version": 1, "energy_j": 0.5, "status": "complete"})
    record = read_run_json(run)
    assert record["inference_energy_j"] == 0.5 and "energy_j" not in record
    assert record["format_version"] == RUN_FORMAT_VERSION
    assert json.loads((run / "run.json").read_text())["format_version"] == 1  # the file is not rewritten


@pytest.mark.parametrize(
    ("record", "words"),
    [
        ({"format_version": RUN_FORMAT_VERSION + 1}, "newer than this SyNERGY reads"),
        ({"status": "complete"}, "no valid format_version"),
        ({"format_version": "2"}, "no valid format_version"),
        ({"format_version": True}, "no valid format_version"),
        ({"format_version": 0}, "no valid format_version"),
        ("{not json", "not a readable run description"),
        ([1, 2], "not a readable run description"),
    ],
    ids=["newer", "none", "text", "bool", "zero", "broken", "a-list"],
)
def test_a_run_json_it_cannot_read_is_refused(tmp_path: Path, record: object, words: str) -> None:
    run = _write(tmp_path / "run", record)
    with pytest.raises(ResultFormatError, match=words):
        read_run_json(run)


def _run(sensor: str = "rapl", runtime: str = "torch", machine: str = "x86_64") -> dict[str, object]:
    return {
        "format_version": RUN_FORMAT_VERSION,
        "sensor": {"name": sensor},
        "runtime": {"name": runtime},
        "system": {"machine": machine, "cpu_model": "a CPU"},
    }


def test_runs_of_one_sensor_runtime_and_machine_merge() -> None:
    check_comparable({"a": _run(), "b": _run(), "c": _run()})
    check_comparable({"only": _run(sensor="jetson")})


@pytest.mark.parametrize(
    ("other", "words"),
    [
        (_run(sensor="jetson"), "sensor is 'rapl' in a but 'jetson' in b"),
        (_run(runtime="onnxruntime"), "runtime is 'torch' in a but 'onnxruntime' in b"),
        (_run(machine="aarch64"), "machine is 'x86_64' in a but 'aarch64' in b"),
    ],
    ids=["sensor", "runtime", "machine"],
)
def test_runs_that_differ_are_not_merged(other: dict[str, object], words: str) -> None:
    with pytest.raises(IncomparableRunsError, match=words):
        check_comparable({"a": _run(), "b": other})


def test_every_difference_is_named() -> None:
    with pytest.raises(IncomparableRunsError) as info:
        check_comparable({"a": _run(), "b": _run(sensor="nvml", machine="aarch64")})
    assert "sensor" in str(info.value) and "machine" in str(info.value)
