"""Helpers for the context tests: a small synchronous recorder that runs beside a writer."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence

from synergy.context import Channel, Timeline
from synergy.errors import ChannelReadError
from synergy.sensors import Reading
from synergy.testing.context import ContextWriter

#: A pid no real process has in the fake trees: the neighbour that burns CPU.
NEIGHBOUR_PID = 4242


def record_during(channels: Sequence[Channel], writer: ContextWriter, *, poll_s: float = 0.002) -> list[Timeline]:
    """Read every channel before the writer starts, while it runs, and once after it is done.

    The first and last reads are deterministic (initial and final state); the ones in between catch whatever
    the writer did meanwhile. Gaps (ChannelReadError) are left out, as a sampler would.
    """
    readings: list[list[Reading]] = [[] for _ in channels]

    def read_all() -> None:
        for store, channel in zip(readings, channels, strict=True):
            with contextlib.suppress(ChannelReadError):
                store.append(channel.read())

    read_all()
    with writer:
        while not writer.done.is_set():
            read_all()
            time.sleep(poll_s)
    read_all()
    return [Timeline.from_readings(c.rails, r) for c, r in zip(channels, readings, strict=True)]


def span_of(timelines: Sequence[Timeline]) -> tuple[int, int]:
    """One span covering every sample of the timelines."""
    starts = [int(t.t_ns[0]) for t in timelines if len(t)]
    ends = [int(t.t_ns[-1]) for t in timelines if len(t)]
    return min(starts), max(ends)
