"""Fault injection on a study directory: names from files that are paths, ``--force`` over other people's
files, two processes on one study, a kill -9 and a resume, damaged stored networks.

Every test asserts the two things a user relies on: nothing already measured is lost, and nothing synergy
did not write is touched.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from study_helpers import TWO, quick

from synergy.cli import main
from synergy.errors import OutputExistsError, UsageError
from synergy.study import StudyResult, load_options, run_study
from synergy.study.files import LOCK_NAME, StudyLock, safe_name
from synergy.zoo import ZooEntry


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (the lock file aside) and its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != LOCK_NAME
    }


def _one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    return lines[0]


def _copy(study: StudyResult, to: Path) -> Path:
    shutil.copytree(study.out_dir, to)
    return to


def _victim(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "thesis.tex").write_text("years of work")
    return folder


def _rename_network(out: Path, old: str, new: str, status: str = "failed") -> None:
    state = json.loads((out / "study.json").read_text())
    for entry in state["options"]["zoo"]:
        if entry["name"] == old:
            entry["name"] = new
    record = state["networks"].pop(old)
    record["status"] = status
    state["networks"][new] = record
    (out / "study.json").write_text(json.dumps(state))


# --- names from files are data, never paths -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../../victim", "/tmp/victim", "..", ".", "a/b", "-rf", ".partial-x", "nul", ""])
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(UsageError, match="not a safe folder name"):
        safe_name(name)


@pytest.mark.parametrize("name", ["resnet18", "all_cnn_c", "mobilenet_v2-2", "model.v1", "_private"])
def test_zoo_names_are_safe(name: str) -> None:
    assert safe_name(name) == name


def test_resume_of_a_study_naming_a_network_outside_it_deletes_nothing(
    small_study: StudyResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _copy(small_study, tmp_path / "a" / "b" / "study")
    victim = _victim(tmp_path / "a" / "victim")  # what networks/../../../victim points at
    _rename_network(out, "nin", "../../../victim")
    before = _snapshot(out)
    error = _one_line_exit_2(["study", "--resume", "-o", str(out)], capsys)
    assert "'../../../victim' is not a safe folder name" in error
    assert (victim / "thesis.tex").read_text() == "years of work"
    assert _snapshot(out) == before  # nothing measured lost, nothing written


def test_a_zoo_entry_whose_name_is_a_path_leaves_no_directory(tmp_path: Path) -> None:
    victim = _victim(tmp_path / "victim")
    with pytest.raises(UsageError, match="not a safe folder name"):
        run_study(quick((ZooEntry("../victim", "synergy.zoo.cifar:nin", (1, 3, 32, 32)),)), tmp_path / "study")
    assert not (tmp_path / "study").exists() and (victim / "thesis.tex").is_file()


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="twice"):
        run_study(quick((TWO[0], ZooEntry(TWO[0].name.upper(), TWO[1].model, TWO[1].input_shape))), tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_a_linked_network_folder_is_unlinked_never_followed(tmp_path: Path) -> None:
    out = tmp_path / "study"
    first, second = TWO
    run_study(quick((first, ZooEntry(second.name, "torchvision:no_such_net", (1, 3, 32, 32)))), out)
    victim = _victim(tmp_path / "victim")
    (out / "networks" / second.name).symlink_to(victim, target_is_directory=True)
    kept = _snapshot(out / "networks" / first.name)
    state = json.loads((out / "study.json").read_text())
    state["options"]["zoo"][1]["model"] = second.model  # the failed network, now measurable
    (out / "study.json").write_text(json.dumps(state))
    result = run_study(quick((first, ZooEntry(second.name, second.model, (1, 3, 32, 32)))), out, resume=True)
    assert result.state["status"] == "complete"
    assert (victim / "thesis.tex").read_text() == "years of work"
    assert (out / "networks" / second.name).is_dir() and not (out / "networks" / second.name).is_symlink()
    assert _snapshot(out / "networks" / first.name) == kept


@pytest.mark.parametrize("linked", ["networks", "img", "report.html"])
def test_a_linked_study_folder_or_file_is_refused(small_study: StudyResult, tmp_path: Path, linked: str) -> None:
    out = _copy(small_study, tmp_path / "study")
    elsewhere = tmp_path / "elsewhere"
    shutil.move(out / linked, elsewhere)
    (out / linked).symlink_to(elsewhere)
    (elsewhere / "thesis.tex").write_text("years of work") if elsewhere.is_dir() else None
    before = _snapshot(elsewhere) if elsewhere.is_dir() else elsewhere.read_bytes()
    for resume, force in ((True, False), (False, True)):
        with pytest.raises(UsageError, match="symbolic link"):
            run_study(load_options(out), out, resume=resume, force=force)
    assert (_snapshot(elsewhere) if elsewhere.is_dir() else elsewhere.read_bytes()) == before


# --- --force replaces a study and nothing else ----------------------------------------------------------------


def test_force_refuses_a_directory_synergy_did_not_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "photos"
    for name in ("img/holiday.png", "networks/notes.txt", "report.html", "layers.csv"):
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(f"mine: {name}")
    before = _snapshot(out)
    error = _one_line_exit_2(["study", "small", "--sensor", "none", "--force", "-o", str(out)], capsys)
    assert "did not write" in error
    assert _snapshot(out) == before and not (out / LOCK_NAME).exists()


def test_force_refuses_an_unreadable_study_json(tmp_path: Path) -> None:
    out = tmp_path / "study"
    out.mkdir()
    (out / "study.json").write_text("{ not json")
    (out / "data.csv").write_text("mine")
    with pytest.raises(OutputExistsError, match="nothing was removed"):
        run_study(quick(), out, force=True)
    assert (out / "data.csv").read_text() == "mine" and (out / "study.json").read_text() == "{ not json"


# --- one study at a time ------------------------------------------------------------------------------------------

_HOLD_LOCK = """
import sys
from pathlib import Path
from synergy.study.files import StudyLock
with StudyLock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_a_second_process_on_a_running_study_is_refused_and_changes_nothing(
    small_study: StudyResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _copy(small_study, tmp_path / "study")
    before = _snapshot(out)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        error = _one_line_exit_2(["study", "--resume", "-o", str(out)], capsys)
        assert "in use by another synergy study" in error and f"process {holder.pid}" in error
        with pytest.raises(OutputExistsError, match="in use"):
            run_study(quick(), out, force=True)
    finally:
        holder.communicate("\n", timeout=60)
    assert _snapshot(out) == before
    with StudyLock(out):  # released with its process
        pass


# --- kill -9 and resume ------------------------------------------------------------------------------------------


def test_kill_9_mid_study_then_resume_loses_nothing_measured(tmp_path: Path) -> None:
    zoo = tmp_path / "zoo.txt"
    zoo.write_text("".join(f"{e.model} {','.join(map(str, e.input_shape or ()))}\n" for e in TWO))
    out = tmp_path / "study"
    argv = [sys.executable, "-m", "synergy", "study", str(zoo), "--sensor", "none", "--runs", "2", "--warmup", "0"]
    argv += ["--idle-s", "2", "-o", str(out)]  # each network idles 2 s first: the kill lands in the second one
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    first = out / "networks" / "all_cnn_c" / "run.json"
    deadline = time.monotonic() + 600
    while not first.is_file() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert first.is_file()
    kept = _snapshot(out / "networks" / "all_cnn_c")
    assert main(["study", "--resume", "-o", str(out)]) == 0
    assert json.loads((out / "study.json").read_text())["status"] == "complete"
    assert _snapshot(out / "networks" / "all_cnn_c") == kept  # the network measured before the kill is kept as is
    assert not list((out / "networks").glob(".partial-*"))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_mid_study_stores_a_partial_study_and_exits_128_plus_n(tmp_path: Path, signum: int) -> None:
    zoo = tmp_path / "zoo.txt"
    zoo.write_text("".join(f"{e.model} {','.join(map(str, e.input_shape or ()))}\n" for e in TWO))
    out = tmp_path / "study"
    argv = [sys.executable, "-m", "synergy", "study", str(zoo), "--sensor", "none", "--runs", "2", "--warmup", "0"]
    argv += ["--idle-s", "2", "-o", str(out)]  # the signal lands in the second network's idle
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    first = out / "networks" / "all_cnn_c" / "run.json"
    deadline = time.monotonic() + 600
    while not first.is_file() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signum, err
    assert "Traceback" not in err and "--resume" in err
    state = json.loads((out / "study.json").read_text())
    assert state["status"] == "partial" and state["networks"]["all_cnn_c"]["status"] == "done"
    kept = _snapshot(out / "networks" / "all_cnn_c")
    assert main(["study", "--resume", "-o", str(out)]) == 0
    assert _snapshot(out / "networks" / "all_cnn_c") == kept


# --- damaged stored networks and bad settings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    ["", "garbage\n\x00\x01", "name,op\nconv,Conv\n", 'layer,duration_s_std\n"unterminated\n'],
    ids=["empty", "binary", "foreign-columns", "bad-quoting"],
)
def test_a_damaged_layers_csv_in_a_finished_study_is_one_line_and_writes_nothing(
    small_study: StudyResult, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    out = _copy(small_study, tmp_path / "study")
    (out / "networks" / "nin" / "layers.csv").write_text(damage)
    before = _snapshot(out)
    error = _one_line_exit_2(["study", "--resume", "-o", str(out)], capsys)
    assert "'nin'" in error and "damaged" in error
    assert _snapshot(out) == before


def test_a_damaged_study_json_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "study"
    out.mkdir()
    (out / "study.json").write_text(json.dumps({"format_version": 1, "options": {"zoo": "nope"}}))
    before = _snapshot(out)
    error = _one_line_exit_2(["study", "--resume", "-o", str(out)], capsys)
    assert "damaged" in error and _snapshot(out) == before


@pytest.mark.parametrize(
    ("setting", "fragment"), [({"idle_s": -1.0}, "--idle-s -1"), ({"idle_s": float("nan")}, "--idle-s nan")]
)
def test_bad_settings_leave_no_directory(tmp_path: Path, setting: dict[str, float], fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        run_study(quick(**setting), tmp_path / "study")
    assert not (tmp_path / "study").exists()
