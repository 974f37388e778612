"""Helpers for permission tests: run code as an unprivileged user, in a tree that user can traverse."""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

NOBODY = 65534


@pytest.fixture
def world_readable_dir() -> Iterator[Path]:
    """A directory every user can traverse (pytest's tmp_path is 0700 and would hide the files' modes)."""
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        yield Path(tmp)


def run_unprivileged(fn: Callable[[], Any]) -> tuple[str, Any]:
    """Run ``fn`` as an ordinary user; returns ``("", result)`` or ``(error class name, message)``.

    As root (CI, containers) the call runs in a forked child that drops to uid/gid 65534 first, so file
    modes are enforced by the kernel as for any user; otherwise it runs in this process.
    """

    def call() -> tuple[str, Any]:
        try:
            return "", fn()
        except Exception as exc:
            return type(exc).__name__, str(exc)

    if os.geteuid() != 0:
        return call()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.write(write_end, pickle.dumps(call()))
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    result: tuple[str, Any] = pickle.loads(data)
    return result


@pytest.fixture
def unprivileged() -> Callable[[Callable[[], Any]], tuple[str, Any]]:
    """:func:`run_unprivileged`, as a fixture."""
    return run_unprivileged
