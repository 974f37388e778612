"""Reading and writing the study directory's files; every write is atomic (:mod:`synergy.atomic`).

Names read from files (a network's name in ``study.json`` or a zoo) are data, never paths: a name becomes a
folder only when :func:`safe_name` accepts it, and every path removed is checked to lie inside the study
(:func:`remove_inside`). A :class:`StudyLock` keeps a second process out of a study directory.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from types import TracebackType

import pandas as pd

from synergy.atomic import write_bytes_atomic
from synergy.results.jsonio import read_json, write_json

__all__ = [
    "LOCK_NAME",
    "StudyLock",
    "read_json",
    "remove_inside",
    "safe_name",
    "write_bytes",
    "write_csv",
    "write_json",
    "write_text",
]

#: The lock file of a study directory (kept: removing a lock file another process holds would let a third in).
LOCK_NAME = ".synergy-study.lock"

#: A name that is one plain folder name on every file system: letters, digits, ``_``, ``-``, ``.``; no
#: leading ``.`` or ``-``; at most 100 characters.
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")

#: Names Windows reserves (a folder of that name cannot be created there).
_RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))})


def safe_name(name: str, what: str = "network name") -> str:
    """``name`` if it is safe as a single folder name, else a ``UsageError``.

    Raises:
        UsageError: the name holds a path separator, ``..``, a leading dot, control characters, or anything
            but letters, digits, ``_``, ``-`` and ``.`` (a file from elsewhere cannot make the study write or
            delete outside itself).
    """
    from synergy.errors import UsageError

    if not _SAFE_NAME.fullmatch(name) or name.split(".")[0].lower() in _RESERVED:
        raise UsageError(
            f"{what} {name!r} is not a safe folder name (letters, digits, '_', '-' and '.' only, not starting "
            "with '.' or '-', at most 100 characters): rename it"
        )
    return name


def _inside(root: Path, path: Path) -> bool:
    """Whether ``path`` (its parent resolved, the last component itself not followed) lies inside ``root``."""
    resolved_root = root.resolve()
    parent = path.parent.resolve()
    return parent == resolved_root or resolved_root in parent.parents


def remove_inside(root: Path, path: Path) -> None:
    """Remove the file or folder ``path``, which must lie inside ``root``; a symbolic link is removed, never
    followed.

    Raises:
        UsageError: ``path`` is outside ``root`` (through ``..`` or a linked folder).
    """
    from synergy.errors import UsageError

    if not _inside(root, path):
        raise UsageError(f"refusing to remove {path}: it is outside the study directory {root}")
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


class StudyLock:
    """An exclusive lock on a study directory, held while a study writes it (``fcntl.flock``; released by the
    kernel when the process ends, however it ends).

    Raises (on enter):
        OutputExistsError: another process holds the lock.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> StudyLock:
        from synergy.errors import OutputExistsError

        try:
            import fcntl
        except ImportError:  # no flock (Windows): studies are not guarded against each other there
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise OutputExistsError(
                f"study directory {self.path.parent} is in use by another synergy study (process {holder}): "
                "wait for it to finish, or choose another -o"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock
            self._fd = None


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (readers see the old file or the new one, never half of it)."""
    write_bytes_atomic(path, data)


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically."""
    write_bytes(path, text.encode())


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """Write a CSV atomically."""
    write_text(path, frame.to_csv(index=False))
