"""An accuracy harness: a network whose layers announce themselves, and a power function that hears them.

:class:`AnnounceBoard` is a block of shared memory (``multiprocessing.shared_memory``) holding a log of
``(t_ns, state)`` entries: the state is the index of the layer that is running, :data:`OVERHEAD` inside an
inference between layers, or :data:`IDLE`. The network (:func:`announcing_model`) writes an entry when
each layer starts and ends; its layers sleep for their duration, so they leave the CPU to the sensor writer
and the sampler. :class:`AnnouncedPower` is a picklable power function of monotonic seconds for
:class:`~synergy.testing.sysfs.SysfsWriter`: in the writer's process it attaches to the board and returns
the known power of the state in force at the asked time, and integrates it exactly from the time-stamped
entries (:meth:`AnnouncedPower.energy_j`), so fake sysfs files (RAPL counters, INA3221 rails) carry exactly
the energy of the layers that ran, and the truth of any window is :meth:`AnnounceBoard.energy_j` over it.
Both processes stamp with ``CLOCK_MONOTONIC``, which is system-wide.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field
from multiprocessing import shared_memory
from typing import Any

import numpy as np
import numpy.typing as npt

from synergy.clock import now_ns

__all__ = ["IDLE", "OVERHEAD", "AnnounceBoard", "AnnouncedPower", "announcing_model"]

#: State of the gaps between layers inside an inference.
OVERHEAD = -1
#: State outside inferences.
IDLE = -2
_HEADER = 8


class AnnounceBoard:
    """A shared log of state changes on the monotonic clock, written by one process and read by others.

    Args:
        capacity: maximum number of entries.
        name: attach to an existing board of that name instead of creating one.
    """

    def __init__(self, capacity: int = 1 << 20, name: str | None = None) -> None:
        size = _HEADER + 16 * capacity
        if name is None:
            self._shm = shared_memory.SharedMemory(create=True, size=size)
            self.owner = True
        else:
            # A spawned process shares its parent's resource tracker, so attaching registers nothing new
            # and only the owner frees the block.
            self._shm = shared_memory.SharedMemory(name=name)
            self.owner = False
            capacity = (self._shm.size - _HEADER) // 16
        self.capacity = capacity
        self._hint = 0
        buf = self._shm.buf
        self._count = np.ndarray((1,), dtype=np.int64, buffer=buf, offset=0)
        self._t = np.ndarray((capacity,), dtype=np.int64, buffer=buf, offset=_HEADER)
        self._state = np.ndarray((capacity,), dtype=np.int64, buffer=buf, offset=_HEADER + 8 * capacity)
        if self.owner:
            self._count[0] = 0
            self.announce(IDLE)

    @property
    def name(self) -> str:
        """The shared-memory name other processes attach with."""
        return str(self._shm.name)

    def announce(self, state: int) -> None:
        """Record that ``state`` starts now (single writer; an entry is complete before it is counted)."""
        i = int(self._count[0])
        if i >= self.capacity:
            raise RuntimeError(f"the announce board is full ({self.capacity} entries); make a larger one")
        self._t[i] = now_ns()
        self._state[i] = state
        self._count[0] = i + 1

    @property
    def count(self) -> int:
        """Number of entries so far (grows by one with every announcement)."""
        return int(self._count[0])

    def entry(self, i: int) -> tuple[int, int]:
        """Entry ``i`` as ``(t_ns, state)`` (``i`` below :attr:`count`)."""
        return int(self._t[i]), int(self._state[i])

    def log(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Copies of the entries so far: ``(t_ns, state)``."""
        n = int(self._count[0])
        return self._t[:n].copy(), self._state[:n].copy()

    def state_at(self, t_ns: int) -> int:
        """The state in force at ``t_ns`` (fast for increasing times: a sensor writer asks in order)."""
        n = int(self._count[0])
        k = self._hint
        if k >= n or self._t[k] > t_ns:
            k = max(int(np.searchsorted(self._t[:n], t_ns, side="right")) - 1, 0)
        else:
            while k + 1 < n and self._t[k + 1] <= t_ns:
                k += 1
        self._hint = k
        return int(self._state[k])

    def energy_j(
        self, t0_ns: npt.ArrayLike, t1_ns: npt.ArrayLike, power_w: dict[int, float]
    ) -> npt.NDArray[np.float64]:
        """True energy over each window ``[t0, t1]`` when state ``s`` draws ``power_w[s]`` watts."""
        t, state = self.log()
        p = np.asarray([power_w[int(s)] for s in state])
        cumulative = np.concatenate([[0.0], np.cumsum(p[:-1] * np.diff(t) * 1e-9)])

        def at(x: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
            k = np.clip(np.searchsorted(t, x, side="right") - 1, 0, len(t) - 1)
            return np.asarray(cumulative[k] + p[k] * (x - t[k]) * 1e-9)

        return at(np.asarray(t1_ns, dtype=np.int64)) - at(np.asarray(t0_ns, dtype=np.int64))

    def close(self) -> None:
        """Detach; the owner also frees the memory. Idempotent."""
        if self._shm is None:
            return
        del self._count, self._t, self._state
        self._shm.close()
        if self.owner:
            self._shm.unlink()
        self._shm = None  # type: ignore[assignment]

    def __enter__(self) -> AnnounceBoard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class AnnouncedPower:
    """Power of the announced state at a ``time.monotonic()`` time: picklable, attaches lazily.

    Attributes:
        board_name: the :class:`AnnounceBoard` to read.
        layer_power_w: power of each layer state, W.
        overhead_w: power of :data:`OVERHEAD`, W.
        idle_w: power of :data:`IDLE`, W.
    """

    board_name: str
    layer_power_w: tuple[float, ...]
    overhead_w: float
    idle_w: float
    _board: AnnounceBoard | None = field(default=None, init=False, repr=False, compare=False)
    _t_ns: list[int] = field(default_factory=list, init=False, repr=False, compare=False)
    _p_w: list[float] = field(default_factory=list, init=False, repr=False, compare=False)
    _cum_j: list[float] = field(default_factory=list, init=False, repr=False, compare=False)

    def powers(self) -> dict[int, float]:
        """State → watts."""
        out = {i: p for i, p in enumerate(self.layer_power_w)}
        out[OVERHEAD] = self.overhead_w
        out[IDLE] = self.idle_w
        return out

    def _attach(self) -> AnnounceBoard:
        if self._board is None:
            self._board = AnnounceBoard(name=self.board_name)
        return self._board

    def _watts(self, state: int) -> float:
        if state == IDLE:
            return self.idle_w
        if state == OVERHEAD:
            return self.overhead_w
        return self.layer_power_w[state]

    def __call__(self, t_s: float) -> float:
        return self._watts(self._attach().state_at(round(t_s * 1e9)))

    def version(self) -> int:
        """Number of announcements so far: a value computed ahead of time is exact while it is unchanged."""
        return self._attach().count

    def cumulative_j(self, t_ns: int) -> float:
        """Exact energy from the board's first entry to ``t_ns`` (the latest state is assumed to go on).

        Computed from the time-stamped entries (integer ns), as :meth:`AnnounceBoard.energy_j` computes
        the truth; the running sums are kept, so a writer asking every millisecond does O(new entries).
        """
        board = self._attach()
        n = board.count
        cum = self._cum_j
        if not cum:
            self._t_ns.append(board.entry(0)[0])
            self._p_w.append(self._watts(board.entry(0)[1]))
            cum.append(0.0)
        for i in range(len(cum), n):
            t_i, state = board.entry(i)
            cum.append(cum[-1] + self._p_w[-1] * (t_i - self._t_ns[-1]) * 1e-9)
            self._t_ns.append(t_i)
            self._p_w.append(self._watts(state))
        k = bisect.bisect_right(self._t_ns, t_ns) - 1
        if k < 0:
            return self._p_w[0] * (t_ns - self._t_ns[0]) * 1e-9
        return cum[k] + self._p_w[k] * (t_ns - self._t_ns[k]) * 1e-9

    def energy_j(self, t0_s: float, t1_s: float) -> float:
        """Exact energy over ``[t0_s, t1_s]`` (monotonic seconds), J."""
        return self.cumulative_j(round(t1_s * 1e9)) - self.cumulative_j(round(t0_s * 1e9))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_board"] = None
        state["_t_ns"], state["_p_w"], state["_cum_j"] = [], [], []
        return state


def announcing_model(board: AnnounceBoard, duration_s: list[float], busy_below_s: float = 0.0) -> Any:
    """A ``torch.nn.Module`` of layers ``layer0``, ``layer1``, … that announce themselves and wait.

    Each layer announces its index, waits its duration and announces :data:`OVERHEAD`; the network
    announces :data:`OVERHEAD` on entry and :data:`IDLE` on exit. A layer shorter than ``busy_below_s``
    busy-waits (precise, but holds the interpreter lock between switch intervals); a longer one sleeps,
    leaving the CPU to the sensor writer and the sampler.
    """
    import torch

    class _Layer(torch.nn.Module):
        def __init__(self, index: int, seconds: float) -> None:
            super().__init__()
            self.index = index
            self.seconds = seconds

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            board.announce(self.index)
            if self.seconds < busy_below_s:
                end = now_ns() + int(self.seconds * 1e9)
                while now_ns() < end:
                    pass
            else:
                time.sleep(self.seconds)
            board.announce(OVERHEAD)
            return x

    class _Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            for i, seconds in enumerate(duration_s):
                self.add_module(f"layer{i}", _Layer(i, seconds))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            board.announce(OVERHEAD)
            for layer in self.children():
                x = layer(x)
            board.announce(IDLE)
            return x

    return _Net()
