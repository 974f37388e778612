"""The one clock every timestamp in SyNERGY is taken on.

All alignment between layer marks and sensor readings uses ``CLOCK_MONOTONIC`` in integer nanoseconds
(:func:`now_ns`). Wall time is recorded once per result (:func:`wall_offset_ns`) to date it, never to
align anything.
"""

from __future__ import annotations

import time

__all__ = ["now_ns", "unix_time_s", "wall_offset_ns"]

#: Monotonic nanoseconds (CLOCK_MONOTONIC): the clock of every mark and every sensor reading.
now_ns = time.monotonic_ns


def wall_offset_ns() -> int:
    """Wall-clock minus monotonic time, in ns: add it to a monotonic stamp to get Unix-epoch ns."""
    before = time.monotonic_ns()
    wall = time.time_ns()
    after = time.monotonic_ns()
    return wall - (before + after) // 2


def unix_time_s() -> float:
    """Wall-clock time, Unix seconds: only to date a result (when it started or ended), never to time it."""
    return time.time_ns() / 1e9
