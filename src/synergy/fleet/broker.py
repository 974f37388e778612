"""What the coordinator reads and writes on the broker: the application, board records, queues, results.

Everything goes through one :class:`Broker` so the Redis details (key names, the transport's queue and
unacknowledged-message layout) live in one place.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from synergy.errors import FleetError
from synergy.fleet.app import CAPABILITIES_COMMAND, MEASURE_TASK, make_app
from synergy.fleet.names import board_record_key, queue_name

__all__ = ["Broker"]


class Broker:
    """The coordinator's connection to a fleet's broker and result backend.

    Raises:
        FleetError: the broker cannot be reached (on construction).
    """

    def __init__(self, url: str, backend: str | None = None) -> None:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            from synergy.errors import UsageError

            raise UsageError(f"broker {url!r} is not a Redis URL: give redis://HOST:PORT/DB")
        self.url = url
        self.app = make_app(url, backend)
        try:
            self.client = self.app.backend.client
            self.client.ping()
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=5)
        except Exception as exc:  # redis and kombu raise their own errors: translated once, here
            raise FleetError(f"the broker {url} cannot be reached ({exc}): start it, or check the URL") from exc

    def ask(self, boards: Iterable[str], timeout_s: float) -> dict[str, dict[str, Any]]:
        """Capabilities of every board whose worker answers within ``timeout_s`` (an idle worker answers at
        once; one that is measuring answers only between tasks)."""
        names = {f"synergy@{b}": b for b in boards}
        replies = self.app.control.broadcast(
            CAPABILITIES_COMMAND, destination=list(names), reply=True, timeout=timeout_s
        )
        found: dict[str, dict[str, Any]] = {}
        for reply in replies or []:
            for host, caps in reply.items():
                if host in names and isinstance(caps, dict) and caps.get("board") == names[host]:
                    found[names[host]] = caps
        return found

    def board_record(self, board: str) -> dict[str, Any] | None:
        """The capabilities ``board``'s worker published when it last started, or ``None``."""
        raw = self.client.get(board_record_key(board))
        if raw is None:
            return None
        try:
            record = json.loads(raw)
        except ValueError:
            return None
        return record if isinstance(record, dict) and record.get("board") == board else None

    def boards_seen(self) -> dict[str, dict[str, Any]]:
        """Every board a worker has announced on this broker."""
        seen = {}
        for raw_key in self.client.scan_iter(match=board_record_key("*"), count=500):
            board = (raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)).rsplit(".board.", 1)[-1]
            record = self.board_record(board)
            if record is not None:
                seen[board] = record
        return seen

    def queued(self, board: str) -> tuple[set[str], set[str]]:
        """Task ids waiting in ``board``'s queue, and those taken by its worker and not acknowledged."""
        queue = queue_name(board)
        waiting, taken = set(), set()
        for raw in self.client.lrange(queue, 0, -1):
            task_id = _task_id(raw)
            if task_id:
                waiting.add(task_id)
        for raw in self.client.hvals("unacked"):
            try:
                message, _exchange, routing_key = json.loads(raw)
            except (ValueError, TypeError):
                continue
            if routing_key == queue:
                task_id = _task_id(json.dumps(message))
                if task_id:
                    taken.add(task_id)
        return waiting, taken

    def enqueue(self, board: str, task_id: str, request: dict[str, Any]) -> None:
        """Send one measurement to ``board``'s queue, by name, with JSON arguments."""
        self.app.send_task(MEASURE_TASK, args=[request], task_id=task_id, queue=queue_name(board))

    def results(self, task_ids: list[str]) -> dict[str, tuple[str, Any]]:
        """``{task_id: (state, result)}`` for the tasks the backend knows (``STARTED``, ``SUCCESS``, ...)."""
        backend = self.app.backend
        found: dict[str, tuple[str, Any]] = {}
        for start in range(0, len(task_ids), 500):
            chunk = task_ids[start : start + 500]
            raws = self.client.mget([backend.get_key_for_task(t) for t in chunk])
            for task_id, raw in zip(chunk, raws, strict=True):
                if raw is None:
                    continue
                try:
                    meta = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(meta, dict) and isinstance(meta.get("status"), str):
                    found[task_id] = (meta["status"], meta.get("result"))
        return found

    def forget(self, task_id: str) -> None:
        """Drop a collected result from the backend."""
        self.app.backend.forget(task_id)

    def wait(self, seconds: float) -> None:
        """Sleep between polls (one place, so tests can see the pace)."""
        time.sleep(seconds)


def _task_id(raw: Any) -> str | None:
    try:
        message = json.loads(raw)
    except (ValueError, TypeError):
        return None
    headers = message.get("headers") if isinstance(message, dict) else None
    task_id = headers.get("id") if isinstance(headers, dict) else None
    return task_id if isinstance(task_id, str) else None
