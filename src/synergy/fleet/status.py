"""``fleet_status``: boards seen on a broker, their queue depths, and a campaign's keys per board."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synergy.errors import UsageError
from synergy.fleet.broker import Broker
from synergy.study.files import read_json

__all__ = ["fleet_status"]


def fleet_status(broker: Broker, campaign: Path | None = None) -> list[dict[str, Any]]:
    """One row per board: when its worker announced itself, its versions, queued and running tasks, and,
    with ``campaign``, its keys done, pending (queued or not), failed and infeasible.

    Raises:
        UsageError: ``campaign`` holds no readable campaign.
    """
    seen = broker.boards_seen()
    counts: dict[str, dict[str, int]] = {}
    if campaign is not None:
        try:
            state = read_json(Path(campaign) / "campaign.json")
        except (OSError, ValueError) as exc:
            raise UsageError(f"{campaign} holds no readable campaign ({exc}): give a campaign directory") from exc
        for board in state.get("settings", {}).get("boards", []):
            counts[str(board)] = {"done": 0, "pending": 0, "failed": 0, "infeasible": 0}
        for record in (state.get("keys") or {}).values():
            board = str(record.get("board"))
            status = {"queued": "pending"}.get(str(record.get("status")), str(record.get("status")))
            if board in counts and status in counts[board]:
                counts[board][status] += 1
        settings = state.get("settings", {})
        per_board = len(settings.get("zoo", [])) * int(settings.get("repeats", 1))
        for board, board_counts in counts.items():
            if (state.get("boards", {}).get(board) or {}).get("capabilities") is None:
                board_counts["pending"] = per_board
    rows = []
    for board in sorted(set(seen) | set(counts)):
        record = seen.get(board) or {}
        waiting, taken = broker.queued(board)
        row: dict[str, Any] = {
            "board": board,
            "host": record.get("hostname"),
            "announced_unix_s": record.get("seen_unix_s"),
            "runtime": record.get("runtime"),
            "sensor": record.get("sensor_opened"),
            "python": record.get("python"),
            "synergy": record.get("synergy"),
            "queued": len(waiting),
            "running": len(taken),
        }
        if campaign is not None:
            row.update(counts.get(board, {"done": 0, "pending": 0, "failed": 0, "infeasible": 0}))
        rows.append(row)
    return rows
