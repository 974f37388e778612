"""Writing fake sysfs files as the kernel shows them: atomic replacement, links, hwmon directories."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def write_atomic(path: Path, text: str, mode: int | None = None) -> None:
    """Replace ``path``'s content atomically (temporary file in the same directory, then rename).

    Args:
        path: the file.
        text: its new content (a newline is appended, as sysfs prints values).
        mode: permission bits; default: the existing file's, else 0o444.
    """
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o444
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, (text + "\n").encode() if text else b"")
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _put(path: Path, value: object, mode: int = 0o444) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, str(value), mode)
    return path


def _link(link: Path, target: Path) -> None:
    """A relative symlink ``link`` → ``target`` (both under the same root), like the kernel's."""
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(os.path.relpath(target, link.parent))


def _uevent(directory: Path) -> None:
    _put(directory / "uevent", "", 0o644)
    (directory / "power").mkdir(parents=True, exist_ok=True)


def _next_hwmon(root: Path) -> int:
    """The next free hwmon index under ``root`` (indices are not stable on real machines either)."""
    used = [int(p.name[5:]) for p in (root / "sys/class/hwmon").glob("hwmon*") if p.name[5:].isdigit()]
    return max(used, default=0) + 1


def _hwmon_dir(root: Path, device_dir: Path, name: str) -> Path:
    existing = sorted((device_dir / "hwmon").glob("hwmon*"))
    if existing:  # built again over the same root: one hwmon per device, as on a real machine
        return existing[0]
    index = _next_hwmon(root)
    directory = device_dir / "hwmon" / f"hwmon{index}"
    directory.mkdir(parents=True, exist_ok=True)
    _put(directory / "name", name)
    _uevent(directory)
    _link(directory / "device", device_dir)
    _link(root / "sys/class/hwmon" / f"hwmon{index}", directory)
    _link(directory / "subsystem", root / "sys/class/hwmon")
    return directory
