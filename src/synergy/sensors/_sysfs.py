"""Reading sysfs and procfs files, with every failure translated once into :mod:`synergy.errors`.

Every sensor backend and every context channel reads through :func:`read_bytes` (via :func:`read_text`,
:func:`read_int`, :func:`try_read_text` or :func:`synergy.context.base.read_text`), so a file's failure
means the same thing everywhere, and no read can hang or allocate without bound:

* only regular files are read (sysfs attributes and procfs entries are regular files): a FIFO, socket,
  device node or directory standing where an attribute should be is refused without blocking (the file
  is opened with ``O_NONBLOCK`` and checked with ``fstat`` before any read);
* at most ``max_bytes`` are read (a sysfs attribute is at most one page; procfs files are read up to
  :data:`PROC_MAX_BYTES`); a longer file is an error, not a truncated value;

* the file (or its device) is gone (``ENOENT``, ``ENODEV``, ``ENXIO``) → :class:`SensorUnavailable`;
* this user may not read it (``EACCES``, ``EPERM``) → :class:`SensorPermissionError`;
* any other failure (``ENODATA`` from a disabled INA3221 channel, ``EAGAIN``, ``EIO`` from a busy I2C
  bus) or a value that does not parse (empty, half-written, garbage) → :class:`SensorReadError`, a gap.

Files are opened for every read rather than kept open: sysfs re-reads are cheap (a few µs), and it keeps
the readers correct on fake trees whose writer replaces files atomically.
"""

from __future__ import annotations

import errno
import math
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from synergy.errors import SensorPermissionError, SensorReadError, SensorUnavailable

__all__ = [
    "ATTRIBUTE_MAX_BYTES",
    "DEVICE_TREE_MODEL_PATHS",
    "PROC_MAX_BYTES",
    "NotRegularFile",
    "check_reading",
    "device_tree_model",
    "display_path",
    "read_bytes",
    "read_int",
    "read_text",
    "select_rails",
    "try_read_text",
]

#: The most a sysfs attribute holds: one page.
ATTRIBUTE_MAX_BYTES = 4096
#: The most read of a procfs or configuration file (``/proc/cpuinfo`` of a large machine, nvpmodel.conf).
PROC_MAX_BYTES = 1 << 20

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


class NotRegularFile(OSError):
    """A path that is not a regular file (a FIFO, socket, device or directory) or that is too long."""


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def read_bytes(path: Path, max_bytes: int = ATTRIBUTE_MAX_BYTES) -> bytes:
    """The content of one regular file, at most ``max_bytes`` long, without ever blocking on the open.

    Raises:
        NotRegularFile: the path is a FIFO, socket, device or directory, or holds more than ``max_bytes``.
        OSError: the open or the read failed (``errno`` tells why).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(errno.EINVAL, f"is {_kind(mode)}, not a regular file", str(path))
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = os.read(fd, min(65536, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise NotRegularFile(errno.EFBIG, f"holds more than {max_bytes} bytes", str(path))
    finally:
        os.close(fd)
    return b"".join(chunks)


def read_text(path: Path, root: Path = Path("/"), max_bytes: int = ATTRIBUTE_MAX_BYTES) -> str:
    """The stripped text content of one sysfs file.

    Args:
        path: the file (already under ``root``).
        root: the root that replaces ``/``; only used to word messages.
        max_bytes: the most the file may hold.

    Raises:
        SensorUnavailable: the file or its device is gone.
        SensorPermissionError: this user may not read the file.
        SensorReadError: any other read failure, or a path that is not a regular file.
    """
    try:
        data = read_bytes(path, max_bytes)
    except NotRegularFile as exc:
        raise SensorReadError(f"{display_path(path, root)} {exc.strerror}") from exc
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


def try_read_text(path: Path, max_bytes: int = ATTRIBUTE_MAX_BYTES) -> str | None:
    """The stripped content of a file, or ``None`` when it cannot be read for any reason (probing)."""
    try:
        return read_bytes(path, max_bytes).decode("ascii", errors="replace").strip()
    except OSError:
        return None


def check_reading(value: float, low: float, high: float, what: str) -> float:
    """``value`` when it is finite and within ``[low, high]``; else a read error naming ``what``.

    A negative power, a counter below zero, a rail at gigawatts or a NaN is not data but a read fault.

    Raises:
        SensorReadError: the value is not finite or outside the physical range.
    """
    if not math.isfinite(value):
        raise SensorReadError(f"{what} reads {value!r}, not a finite number")
    if not low <= value <= high:
        raise SensorReadError(f"{what} reads {value:.6g}, outside the physically possible [{low:.6g}, {high:.6g}]")
    return value


#: Where the board model is published: the procfs link and the firmware node it points to (jtop reads the latter).
DEVICE_TREE_MODEL_PATHS = ("proc/device-tree/model", "sys/firmware/devicetree/base/model")


def device_tree_model(root: Path = Path("/")) -> str | None:
    """The board model from ``/proc/device-tree/model`` or ``/sys/firmware/devicetree/base/model`` under
    ``root`` (NUL stripped), or ``None`` when neither holds one."""
    for relative in DEVICE_TREE_MODEL_PATHS:
        text = try_read_text(root / relative)
        model = text.replace("\x00", "").strip() if text else ""
        if model:
            return model
    return None
