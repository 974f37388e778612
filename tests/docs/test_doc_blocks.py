"""Every code block of README.md and docs/*.md runs, parses, or says why it cannot here.

- ```python blocks run as written, a document's blocks in order in one namespace (like a notebook), in a
  temporary working directory, each within :data:`BLOCK_LIMIT_S`.
- ```console / ```bash blocks: every ``synergy …`` command line is parsed by the real argument parser; a
  block marked ``<!-- test -->`` on the line above is run for real, in a temporary directory.
- ``<!-- skip-test: REASON -->`` on the line above a fence skips that block; a shell block with no
  ``synergy`` command must carry one.
- Output blocks (```text, ```json, bare fences) are not code: ``$ synergy …`` lines in them are parsed too.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from doc_blocks import (
    DOCS,
    ROOT,
    SHELL_LANGS,
    Block,
    blocks,
    command_lines,
    is_synopsis,
    synergy_argvs,
    synopsis_command,
)

from synergy.cli import build_parser

#: Seconds one python block may take (generous: tests must pass on 2 busy cores).
BLOCK_LIMIT_S = 120
#: Pages whose python blocks measure for real (tens of seconds on 2 busy cores): run by ``make test-all``.
SLOW_DOCS = {"measure.md", "study.md"}
#: Seconds a ``<!-- test -->`` console block may take.
CONSOLE_LIMIT_S = 180


def _lines(block: Block) -> list[str]:
    """The command lines of a block; in an output block, its prompted lines and its usage synopses."""
    lines = command_lines(block)
    if block.lang not in SHELL_LANGS:
        lines += [line for line in block.code.splitlines() if line.startswith("synergy ") and "[" in line]
    return lines


#: Blocks of pages this harness does not own that fail as written: (page, a line of the block) -> why.
PENDING: dict[tuple[str, str], str] = {
    ("monitor.md", "outputs = model(batch)"): "a fragment: model and batch are the reader's",
}


def _pending(block: Block) -> str | None:
    return next((why for (doc, line), why in PENDING.items() if block.doc.name == doc and line in block.code), None)


ALL = [block for doc in DOCS for block in blocks(doc)]
PYTHON_DOCS = sorted({b.doc for b in ALL if b.lang == "python" and b.skip is None}, key=lambda p: p.name)
SHELL = [b for b in ALL if b.lang in SHELL_LANGS]
OUTPUT_WITH_COMMANDS = [
    b
    for b in ALL
    if b.lang not in SHELL_LANGS | {"python"} and any(argv for line in _lines(b) for argv in synergy_argvs(line))
]
#: Parser errors about a value that only the example's machine has (a fake tree under /tmp, a results folder).
VALUE_CHECKS = ("is not a directory", "does not exist", "no such file", "not found")

RUNNER = r"""
import json, signal, sys, traceback
blocks = json.load(sys.stdin)
namespace = {"__name__": "__docs__"}
def _limit(signum, frame):
    raise TimeoutError("block took longer than its limit")
signal.signal(signal.SIGALRM, _limit)
for block in blocks:
    signal.alarm(block["limit_s"])
    try:
        exec(compile(block["code"], block["name"], "exec"), namespace)
    except BaseException:
        signal.alarm(0)
        sys.stderr.write(f"\n--- block {block['name']} failed ---\n")
        traceback.print_exc()
        sys.exit(1)
    signal.alarm(0)
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(ROOT / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("MPLBACKEND", "Agg")
    return env


def test_the_harness_finds_the_blocks() -> None:
    assert len(ALL) > 50 and PYTHON_DOCS and SHELL


def test_the_check_catches_a_stale_command(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- skip-test: needs a power sensor -->\n```console\n$ synergy measure m\n```\n\n"
        "```console\n$ PYTHONPATH=src synergy measure m --no-such-flag | tail -2\noutput\n"
        "$ python -m synergy frobnicate\n```\n",
        encoding="utf-8",
    )
    skipped, stale = blocks(page)
    assert skipped.skip == "needs a power sensor" and stale.skip is None
    argvs = [argv for line in command_lines(stale) for argv in synergy_argvs(line)]
    assert argvs == [["measure", "m", "--no-such-flag"], ["frobnicate"]]
    for argv in argvs:
        with pytest.raises(SystemExit) as exc, contextlib.redirect_stderr(io.StringIO()):
            build_parser().parse_args(argv)
        assert exc.value.code == 2


@pytest.mark.parametrize("block", [b for b in ALL if b.skip is not None], ids=lambda b: b.name)
def test_a_skipped_block_says_why(block: Block) -> None:
    assert len(block.skip or "") >= 8, f"{block.name}: give a reason in <!-- skip-test: REASON -->"


@pytest.mark.parametrize(
    "doc",
    [pytest.param(d, marks=pytest.mark.slow) if d.name in SLOW_DOCS else d for d in PYTHON_DOCS],
    ids=lambda p: p.name,
)
def test_python_blocks_run_as_written(doc: Path, tmp_path: Path) -> None:
    runnable = [b for b in blocks(doc) if b.lang == "python" and b.skip is None and _pending(b) is None]
    payload = json.dumps(
        [{"name": str(b.doc) + f":{b.line}", "code": b.code, "limit_s": BLOCK_LIMIT_S} for b in runnable]
    )
    done = subprocess.run(
        [sys.executable, "-c", RUNNER],
        input=payload,
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=BLOCK_LIMIT_S * len(runnable) + 60,
    )
    assert done.returncode == 0, done.stderr[-4000:]


@pytest.mark.parametrize("block", [*SHELL, *OUTPUT_WITH_COMMANDS], ids=lambda b: b.name)
def test_synergy_command_lines_parse(block: Block) -> None:
    if block.skip is not None:
        pytest.skip(block.skip)
    argvs = [argv for line in _lines(block) for argv in synergy_argvs(line)]
    if block.lang in SHELL_LANGS:
        assert argvs, f"{block.name}: no synergy command here: run it or mark it <!-- skip-test: REASON -->"
    for argv in argvs:
        if is_synopsis(argv):
            path, options = synopsis_command(argv)
            unknown = sorted(options - _options(path))
            assert not unknown, f"{block.name}: `synergy {' '.join(path)}` has no options {unknown}"
            continue
        message = io.StringIO()
        try:
            with contextlib.redirect_stderr(message):
                build_parser().parse_args(argv)
        except SystemExit as exc:
            value_check = any(words in message.getvalue() for words in VALUE_CHECKS)
            assert exc.code == 0 or value_check, f"{block.name}: `synergy {' '.join(argv)}`: {message.getvalue()}"


def _options(path: list[str]) -> set[str]:
    parser: argparse.ArgumentParser = build_parser()
    for word in path:
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is None:
            break
        parser = sub.choices[word]
    return {o for action in parser._actions for o in action.option_strings}


@pytest.mark.parametrize("block", [b for b in SHELL if b.run and b.skip is None], ids=lambda b: b.name)
def test_marked_console_blocks_run(block: Block, tmp_path: Path) -> None:
    for line in command_lines(block):
        done = subprocess.run(
            ["bash", "-c", line],
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=CONSOLE_LIMIT_S,
        )
        assert done.returncode == 0, f"{block.name}: `{line}` exited {done.returncode}: {done.stderr[-2000:]}"
