"""``synergy study`` from the command line: summary, refusal, resume, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from synergy.cli import main
from synergy.study import StudyResult


def test_resume_of_a_finished_study_prints_the_evaluation(
    small_study: StudyResult, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["study", "--resume", "-o", str(small_study.out_dir)]) == 0
    captured = capsys.readouterr()
    assert "4 of 4 networks already measured" in captured.err
    assert "leave-one-network-out evaluation" in captured.out and "best per layer:" in captured.out
    assert "not energy" in captured.out and f"report: {small_study.out_dir / 'report.html'}" in captured.out


def test_existing_directory_is_one_line_exit_2(small_study: StudyResult, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["study", "small", "--sensor", "none", "-o", str(small_study.out_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: study directory") and "--resume" in err and err.count("\n") == 1


def test_resume_with_other_runs_is_refused(small_study: StudyResult, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["study", "--resume", "--runs", "7", "-o", str(small_study.out_dir)]) == 2
    assert "runs 3 (given 7)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["study", "no-such-zoo"], "neither a built-in zoo"),
        (["study", "small", "--runs", "1", "--sensor", "none"], "--runs must be at least 2"),
        (["study", "small", "--sensor", "rapl", "--sysfs-root", "{tmp}"], "rapl"),
        (["study", "--resume"], "no study"),
        (["study", "small", "--idle-s", "-1", "--sensor", "none"], "--idle-s -1"),
        (["study", "small", "--idle-s", "nan", "--sensor", "none"], "--idle-s nan"),
        (["study", "small", "--idle-s", "inf", "--sensor", "none"], "--idle-s inf"),
        (["study", "small", "--seed", "-1", "--sensor", "none"], "--seed -1"),
    ],
)
def test_bad_input(argv: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "-o" not in argv:
        argv += ["-o", str(tmp_path / "study")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and fragment in err and err.count("\n") == 1
    assert not (tmp_path / "study").exists()


def test_resume_and_force_exclude_each_other(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["study", "--resume", "--force", "-o", str(tmp_path)])
    assert exc.value.code == 2
    assert "not allowed with" in capsys.readouterr().err
