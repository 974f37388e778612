"""Signals during a measurement: SIGTERM and SIGHUP end it as Ctrl-C does (the completed runs are written,
``status: partial``), and while the results are being written every signal waits until they are."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["Interrupted", "interrupts", "signals_deferred"]

_ENDING = (signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A measurement ended by a signal; ``signum`` is the signal (the command exits with 128 + ``signum``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def interrupts() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Interrupted` (a ``KeyboardInterrupt``) inside the block."""
    if not _main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in _ENDING}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


@contextmanager
def signals_deferred(pending: list[int]) -> Iterator[None]:
    """Inside the block SIGINT, SIGTERM and SIGHUP are only recorded in ``pending`` (no exception interrupts
    a write); the caller decides what to do with them after the block."""
    if not _main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, *_ENDING)}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
