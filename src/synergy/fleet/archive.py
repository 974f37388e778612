"""A result directory on the wire: packed by the board, checked and unpacked by the coordinator.

The archive is a gzip'd tar of regular files (no links, devices or absolute names), carried base64 in
the task's JSON result with its SHA-256. Unpacking trusts nothing: every member must be a plain file or
folder whose name stays inside the destination, and the sizes are bounded.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

from synergy.errors import FleetError

__all__ = ["MAX_ARCHIVE_BYTES", "pack_dir", "unpack"]

#: The largest archive (compressed) a result may carry, and the most it may unpack to.
MAX_ARCHIVE_BYTES = 256 * 1024 * 1024
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
MAX_MEMBERS = 10_000


def pack_dir(folder: Path) -> dict[str, Any]:
    """``{"archive_b64", "archive_sha256", "archive_bytes"}`` of every regular file under ``folder``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                continue
            info = tar.gettarinfo(str(path), arcname=path.relative_to(folder).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if path.is_file():
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    data = buffer.getvalue()
    if len(data) > MAX_ARCHIVE_BYTES:
        raise FleetError(f"the result is {len(data)} bytes packed, over the {MAX_ARCHIVE_BYTES}-byte limit")
    return {
        "archive_b64": base64.b64encode(data).decode("ascii"),
        "archive_sha256": hashlib.sha256(data).hexdigest(),
        "archive_bytes": len(data),
    }


def _member_path(dest: Path, name: str) -> Path:
    pure = PurePosixPath(name)
    if pure.is_absolute() or not pure.parts or any(p in ("..", "") for p in pure.parts) or "\\" in name:
        raise FleetError(f"the result archive holds {name!r}, a name outside its folder: refused")
    return dest.joinpath(*pure.parts)


def unpack(result: dict[str, Any], dest: Path) -> None:
    """Check and unpack a result's archive into the new folder ``dest``.

    Raises:
        FleetError: a missing or corrupt archive, a checksum mismatch, a member that is not a plain file
            or folder, a name leaving ``dest``, or too much data.
    """
    text = result.get("archive_b64")
    if not isinstance(text, str) or len(text) > MAX_ARCHIVE_BYTES * 4 // 3 + 4:
        raise FleetError("the result carries no archive, or one over the size limit")
    try:
        data = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise FleetError(f"the result's archive is not base64 ({exc})") from exc
    if hashlib.sha256(data).hexdigest() != result.get("archive_sha256"):
        raise FleetError("the result's archive does not match its checksum: refused")
    dest.mkdir(parents=True)
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            members = tar.getmembers()
            if len(members) > MAX_MEMBERS:
                raise FleetError(f"the result archive holds {len(members)} members, over {MAX_MEMBERS}")
            for member in members:
                path = _member_path(dest, member.name)
                if member.isdir():
                    path.mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isfile():
                    raise FleetError(f"the result archive holds {member.name!r}, not a plain file: refused")
                total += member.size
                if total > MAX_UNPACKED_BYTES:
                    raise FleetError(f"the result archive unpacks to over {MAX_UNPACKED_BYTES} bytes: refused")
                source = tar.extractfile(member)
                if source is None:
                    raise FleetError(f"the result archive's {member.name!r} cannot be read")
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                with os.fdopen(fd, "wb") as out:
                    out.write(source.read())
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise FleetError(f"the result's archive cannot be unpacked ({exc})") from exc
