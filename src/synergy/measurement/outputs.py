"""The output directory: owned through a manifest, written atomically, and never more than that.

A directory written by ``measure`` carries :data:`MANIFEST`, the list of every file it wrote, recorded
*before* each file is written. With ``force``, a directory is reused only when it is empty or carries a
manifest, and only the files the manifest lists are removed (so the previous run's ``samples.parquet``
never survives beside a new ``run.json``); nothing else in it is touched. Every file is written through
:mod:`synergy.atomic`: a full disk or a read-only folder leaves the old file or none, never half of one,
and is reported as one :class:`~synergy.errors.OutputWriteError`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from synergy.atomic import atomic_path
from synergy.errors import OutputExistsError, OutputWriteError
from synergy.results.jsonio import dumps_json

__all__ = ["MANIFEST", "OutputDir", "check_output", "default_output_dir"]

#: The manifest of a directory synergy wrote.
MANIFEST = ".synergy-manifest.json"

#: A name the manifest may list: a file in the directory or in one sub-folder of it, no traversal.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)?$")


def default_output_dir(model: str) -> Path:
    """``results/<model>-<YYYYmmdd-HHMMSS>`` under the current directory."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(model).stem if model.endswith(".onnx") else model).strip("-")
    return Path("results") / f"{slug or 'model'}-{time.strftime('%Y%m%d-%H%M%S')}"


def _manifest_names(out: Path) -> list[str] | None:
    """The files the manifest of ``out`` lists (``None`` without a readable manifest)."""
    path = out / MANIFEST
    if not path.is_file() or path.is_symlink():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        return None
    return [f for f in files if isinstance(f, str) and _SAFE_NAME.match(f) and ".." not in f.split("/")]


def _writable_ancestor(out: Path) -> None:
    folder = out if out.exists() else out.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputWriteError(f"cannot create {out}: {folder} is not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputWriteError(f"cannot write into {folder}: permission denied or a read-only file system")


def check_output(out: Path, force: bool) -> None:
    """Refuse an output path before anything is opened.

    Raises:
        OutputExistsError: ``out`` is a file; it exists and ``force`` is false; or ``force`` is true but the
            directory holds files synergy did not write (no manifest) and is not empty.
        OutputWriteError: no directory can be created there.
    """
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"output path {out} is a file: choose a directory with -o")
    if out.exists() and not force:
        raise OutputExistsError(f"output directory {out} exists: choose another with -o, or add --force to overwrite")
    if out.exists() and _manifest_names(out) is None and any(out.iterdir()):
        raise OutputExistsError(
            f"output directory {out} holds files synergy did not write, and --force replaces only its own "
            "results: choose another directory with -o"
        )
    _writable_ancestor(out)


def _write_error(path: Path, exc: OSError) -> OutputWriteError:
    return OutputWriteError(f"cannot write {path}: {exc.strerror or exc}; the files already on disk are kept")


class OutputDir:
    """A claimed output directory: every file goes through :meth:`write` and into the manifest."""

    def __init__(self, path: Path, names: list[str]) -> None:
        self.path = path
        self.names = names

    @classmethod
    def claim(cls, out: Path, force: bool) -> OutputDir:
        """Create ``out`` (or, with ``force``, empty it of the files its manifest lists) and own it.

        Raises:
            OutputExistsError, OutputWriteError: see :func:`check_output`; the directory cannot be made.
        """
        check_output(out, force)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _write_error(out, exc) from exc
        for name in _manifest_names(out) or []:
            target = out / name
            if target.is_file() and not target.is_symlink():
                target.unlink()
            if "/" in name and target.parent.is_dir() and not any(target.parent.iterdir()):
                target.parent.rmdir()
        claimed = cls(out, [])
        claimed._save_manifest()
        return claimed

    def _save_manifest(self) -> None:
        data = {"format": "synergy-output", "format_version": 1, "writer": "synergy measure", "files": self.names}
        try:
            with atomic_path(self.path / MANIFEST) as tmp:
                tmp.write_text(dumps_json(data), encoding="utf-8")
        except OSError as exc:
            raise _write_error(self.path / MANIFEST, exc) from exc

    def write(self, name: str, writer: Callable[[Path], object]) -> Path:
        """Write ``name`` atomically by calling ``writer`` with a temporary path; record it first.

        Raises:
            OutputWriteError: the file could not be written (the previous one, if any, is kept).
        """
        if name not in self.names:
            self.names.append(name)
            self._save_manifest()
        target = self.path / name
        try:
            with atomic_path(target) as tmp:
                writer(tmp)
        except OSError as exc:
            raise _write_error(target, exc) from exc
        return target

    def write_text(self, name: str, text: str) -> Path:
        """Write UTF-8 text (see :meth:`write`)."""
        return self.write(name, lambda tmp: tmp.write_text(text, encoding="utf-8"))

    def copy(self, name: str, source: Path) -> Path:
        """Copy ``source`` in as ``name`` (see :meth:`write`)."""
        return self.write(name, lambda tmp: shutil.copyfile(source, tmp))
