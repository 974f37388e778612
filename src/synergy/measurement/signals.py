"""Signals during a measurement: SIGTERM and SIGHUP end it as Ctrl-C does (the completed runs are written,
``status: partial``, and the command exits with 128 + the signal's number). Only the first signal
interrupts: any later one, and every signal while the results are being written, waits until they are."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ["Interrupted", "SignalGuard"]

_HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A measurement ended by a signal; ``signum`` is the signal (the command exits with 128 + ``signum``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class SignalGuard:
    """Turns SIGINT, SIGTERM and SIGHUP into one :class:`Interrupted` while armed, and records the rest.

    Use as a context manager around a whole measurement; :meth:`deferred` around the writing of results.
    Outside the main thread (where Python cannot install handlers) it does nothing.
    """

    def __init__(self) -> None:
        self.pending: list[int] = []
        self.fired: int | None = None
        self._armed = True
        self._previous: dict[int, Any] = {}

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self._armed and self.fired is None:
            self.fired = signum
            raise Interrupted(signum)
        self.pending.append(signum)

    def __enter__(self) -> SignalGuard:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handler) for s in _HANDLED}
        return self

    def __exit__(self, *exc: object) -> None:
        for s, old in self._previous.items():
            signal.signal(s, old)
        self._previous = {}

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Inside the block signals are only recorded (no exception interrupts a write)."""
        armed, self._armed = self._armed, False
        try:
            yield
        finally:
            self._armed = armed

    def raise_pending(self) -> None:
        """Raise :class:`Interrupted` for a signal that arrived while deferred (and none interrupted before)."""
        if self.fired is None and self.pending:
            self.fired = self.pending[0]
            raise Interrupted(self.fired)
