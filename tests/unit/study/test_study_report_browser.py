"""The study report in a real headless browser (Debian's Chromium): every image must load, offline."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from synergy.study import StudyResult

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("chromium is not installed (apt-get install chromium)")


def _browse(report: Path, profile: Path, *args: str) -> str:
    command = [_chromium(), *_FLAGS, f"--user-data-dir={profile}", *args, report.resolve().as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_every_image_loads_in_chromium(small_study: StudyResult, tmp_path: Path) -> None:
    assert small_study.report is not None
    dom = _browse(small_study.report, tmp_path / "profile", "--dump-dom")
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None, dom[:500]
    total = re.search(r'data-images-total="(\d+)"', body.group(0))
    loaded = re.search(r'data-images-loaded="(\d+)"', body.group(0))
    assert total is not None and loaded is not None, "the page script did not run"
    n_pngs = len(list((small_study.out_dir / "img").glob("*.png")))
    assert int(total.group(1)) == n_pngs > 0
    assert int(loaded.group(1)) == int(total.group(1))


def test_report_renders_to_a_screenshot(small_study: StudyResult, tmp_path: Path) -> None:
    assert small_study.report is not None
    shot = tmp_path / "report.png"
    _browse(small_study.report, tmp_path / "profile", "--window-size=1200,1600", f"--screenshot={shot}")
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
