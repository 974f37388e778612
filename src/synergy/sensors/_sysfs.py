"""Reading sysfs attribute files, with every failure translated once into :mod:`synergy.errors`.

Every sysfs backend reads through :func:`read_text` / :func:`read_int`, so a file's failure means the
same thing everywhere:

* the file (or its device) is gone (``ENOENT``, ``ENODEV``, ``ENXIO``) → :class:`SensorUnavailable`;
* this user may not read it (``EACCES``, ``EPERM``) → :class:`SensorPermissionError`;
* any other failure (``ENODATA`` from a disabled INA3221 channel, ``EAGAIN``, ``EIO`` from a busy I2C
  bus) or a value that does not parse (empty, half-written, garbage) → :class:`SensorReadError`, a gap.

Files are opened for every read rather than kept open: sysfs re-reads are cheap (a few µs), and it keeps
the readers correct on fake trees whose writer replaces files atomically.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from synergy.errors import SensorPermissionError, SensorReadError, SensorUnavailable

__all__ = ["display_path", "read_int", "read_text", "select_rails", "try_read_text"]

_GONE = {errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.ENOTDIR}
_DENIED = {errno.EACCES, errno.EPERM}


class _HasRail(Protocol):
    @property
    def rail(self) -> str: ...


_R = TypeVar("_R", bound=_HasRail)


def select_rails(found: Sequence[_R], rails: Sequence[str] | None, what: str) -> list[_R]:
    """The discovered items named by ``rails`` in that order (all of them when ``rails`` is ``None``).

    Args:
        found: discovered rails, zones, GPUs or supplies, each with a ``rail`` name.
        rails: the names the user chose, or ``None``.
        what: how the error names them (``RAPL rail(s)``, ``AMD GPU(s)``, ...).

    Raises:
        SensorUnavailable: a chosen name was not found; the message lists what is available.
    """
    if rails is None:
        return list(found)
    by_rail = {item.rail: item for item in found}
    missing = [rail for rail in rails if rail not in by_rail]
    if missing:
        raise SensorUnavailable(f"{what} {', '.join(missing)} not found; available: {', '.join(by_rail)}")
    return [by_rail[rail] for rail in rails]


def display_path(path: Path, root: Path) -> str:
    """``path`` as the user thinks of it: relative to ``root`` and shown from ``/``."""
    try:
        return "/" + str(path.relative_to(root)).lstrip("/")
    except ValueError:
        return str(path)


def read_text(path: Path, root: Path = Path("/")) -> str:
    """The stripped text content of one sysfs file.

    Args:
        path: the file (already under ``root``).
        root: the root that replaces ``/``; only used to word messages.

    Raises:
        SensorUnavailable: the file or its device is gone.
        SensorPermissionError: this user may not read the file.
        SensorReadError: any other read failure.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            data = os.read(fd, 4096)
        finally:
            os.close(fd)
    except OSError as exc:
        where = display_path(path, root)
        if exc.errno in _GONE:
            raise SensorUnavailable(f"{where} has vanished ({os.strerror(exc.errno or 0)})") from exc
        if exc.errno in _DENIED:
            raise SensorPermissionError(f"{where} is not readable by this user") from exc
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise SensorReadError(f"cannot read {where}: {reason}") from exc
    return data.decode("ascii", errors="replace").strip()


def read_int(path: Path, root: Path = Path("/")) -> int:
    """One integer from a sysfs file (``123``, ``-5``, or ``123 ms``: the leading number is taken).

    Raises:
        SensorReadError: the file is empty, half-written or does not hold an integer (plus the
            errors of :func:`read_text`).
    """
    text = read_text(path, root)
    token = text.split()[0] if text else ""
    try:
        return int(token)
    except ValueError:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise SensorReadError(f"{display_path(path, root)} holds {shown!r}, not an integer") from None


def try_read_text(path: Path) -> str | None:
    """The stripped content of a file, or ``None`` when it cannot be read for any reason (probing)."""
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
