"""Board names, task keys and the campaign's paths: names are data, and every path stays inside the campaign.

A board name is the only name a user gives that becomes a folder and a queue; it is checked, never
rewritten (two different names must never land in one folder). Network names come from the zoo, which
already reduces them to ``[A-Za-z0-9_.-]``; :func:`inside` checks every path built from them anyway.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synergy.errors import UsageError

__all__ = ["TaskKey", "board_record_key", "check_board", "inside", "parse_boards", "queue_name", "task_key"]

_BOARD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
_NETWORK = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")

#: Prefix of every queue and task id the fleet uses on the broker.
PREFIX = "synergy-fleet"


def check_board(name: str) -> str:
    """``name`` if it is a valid board name (letters, digits, ``-``, ``_``; at most 63), else ``UsageError``."""
    if not _BOARD.fullmatch(name):
        raise UsageError(
            f"board name {name!r} is not valid: use letters, digits, '-' and '_' (at most 63, starting with a "
            "letter or digit)"
        )
    return name


def check_network(name: str) -> str:
    """``name`` if it is a safe network folder name, else ``UsageError``."""
    if not _NETWORK.fullmatch(name) or name in (".", ".."):
        raise UsageError(f"network name {name!r} cannot be a folder name: rename it in the zoo")
    return name


def parse_boards(text: str) -> tuple[str, ...]:
    """``a,b,c`` as board names, each valid and given once."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise UsageError("no board given: list the boards as a,b,c")
    for name in names:
        check_board(name)
    if len(set(names)) != len(names):
        raise UsageError(f"a board is listed twice in {text!r}: list each board once")
    return names


def queue_name(board: str) -> str:
    """The broker queue only ``board``'s worker consumes."""
    return f"{PREFIX}.{check_board(board)}"


def board_record_key(board: str) -> str:
    """The broker key holding the capabilities ``board``'s worker last reported."""
    return f"{PREFIX}.board.{board}"


def inside(root: Path, *parts: str) -> Path:
    """``root / parts...``, refused (``UsageError``) unless it stays inside ``root``."""
    path = root.joinpath(*parts)
    base = root.resolve()
    resolved = path.resolve()
    if resolved != base and base not in resolved.parents:
        raise UsageError(f"{'/'.join(parts)!r} would leave {root}: names are never paths")
    return path


@dataclass(frozen=True)
class TaskKey:
    """One measurement of a campaign: a network on a board, one repeat.

    Attributes:
        id: the deterministic key (also the broker's task id): a hash of :attr:`fields`.
        board: the board's name.
        network: the network's name in the zoo.
        repeat: 1-based repeat number.
        fields: everything the measurement depends on (model, input shape, board, runtime, sensor
            settings, the board's synergy version, the repeat, the measurement settings).
    """

    id: str
    board: str
    network: str
    repeat: int
    fields: dict[str, Any]

    @property
    def label(self) -> str:
        """``board/network/rN`` for messages."""
        return f"{self.board}/{self.network}/r{self.repeat}"


def task_key(fields: dict[str, Any]) -> TaskKey:
    """The key of a measurement (the same fields always give the same id, in any order)."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    return TaskKey(
        f"{PREFIX}-{digest}", str(fields["board"]), str(fields["network"]), int(fields["repeat"]), dict(fields)
    )
