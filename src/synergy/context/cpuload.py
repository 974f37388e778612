"""CPU utilisation from ``/proc/stat``, the measured process's own share, and the top CPU consumers.

Utilisation is a fraction 0..1 computed between two consecutive reads of the tick counters:

* ``cpu_util``: the whole machine (busy ticks of every CPU over all ticks);
* ``cpu<N>_util``: one CPU;
* ``self_cpu_util``: the measured process (``/proc/<pid>/stat`` utime + stime, every thread), as a fraction of
  the whole machine, so it is on the same scale as ``cpu_util``;
* ``other_cpu_util``: ``cpu_util − self_cpu_util`` (clipped at 0): everything else that ran. A sampler that
  runs in its own process counts here too; it is small next to a busy neighbour.

The counters tick at USER_HZ (100 Hz on Linux), so a value over less than a few ticks is coarse; a read with
no tick elapsed is a gap.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synergy.clock import now_ns
from synergy.context.base import Channel, ChannelNote, probe_file, read_text
from synergy.context.parsers import CpuTimes, ProcessStat, parse_loadavg, parse_proc_stat, parse_process_stat
from synergy.errors import ChannelReadError
from synergy.sensors.base import Reading

__all__ = [
    "CpuUtilChannel",
    "ProcessLoad",
    "clock_ticks_per_s",
    "discover_cpu_util",
    "read_loadavg",
    "read_processes",
    "top_processes",
]


def clock_ticks_per_s() -> int:
    """USER_HZ: the unit of ``/proc/stat`` and ``/proc/<pid>/stat`` counters (100 on Linux)."""
    try:
        return int(os.sysconf("SC_CLK_TCK"))
    except (AttributeError, ValueError, OSError):
        return 100


#: Clock ticks per utilisation sample: utilisation is computed over windows of this many ticks.
UTILISATION_WINDOW_TICKS = 5


class CpuUtilChannel(Channel):
    """CPU utilisation per core and in total, and the measured process's share (see the module docstring).

    The counters are read once at construction, so the first :meth:`read` already gives the utilisation since
    then. Pickling keeps the measured ``pid``, so a sampler in another process still watches the right one.

    Args:
        root: filesystem root (``/`` on a real machine).
        pid: the measured process; default: the process that builds the channel. None disables the self rails.
        track_self: whether to add ``self_cpu_util`` and ``other_cpu_util``.
    """

    name = "cpu_util"

    def __init__(self, root: Path = Path("/"), pid: int | None = None, *, track_self: bool = True) -> None:
        self._stat_path = root / "proc" / "stat"
        self.pid = os.getpid() if pid is None else pid
        self._pid_path = root / "proc" / str(self.pid) / "stat"
        first = parse_proc_stat(read_text(self._stat_path))
        self._cpus = sorted((k for k in first if k != "cpu"), key=lambda k: int(k[3:]))
        self._track_self = track_self and probe_file(self._pid_path).ok
        rails = ["cpu_util", *(f"{k}_util" for k in self._cpus)]
        if self._track_self:
            rails += ["self_cpu_util", "other_cpu_util"]
        self.rails = tuple(rails)
        # /proc/stat advances in clock ticks (10 ms at USER_HZ=100), but a utilisation over one tick is
        # mostly quantisation noise: ask to be polled over windows of several ticks.
        self.update_period_s = UTILISATION_WINDOW_TICKS / clock_ticks_per_s()
        self._previous: dict[str, CpuTimes] | None = first
        self._previous_self: int | None = self._self_ticks()

    @property
    def tracks_self(self) -> bool:
        """True when the self/other rails are present."""
        return self._track_self

    def _self_ticks(self) -> int | None:
        if not self._track_self:
            return None
        try:
            return parse_process_stat(read_text(self._pid_path)).cpu_ticks
        except ChannelReadError:
            return None

    def read(self) -> Reading:
        """Utilisation since the previous read; a rail with no elapsed tick (or garbage) is a NaN gap."""
        start = now_ns()
        try:
            current: dict[str, CpuTimes] | None = parse_proc_stat(read_text(self._stat_path))
        except ChannelReadError:
            current = None
        self_ticks = self._self_ticks()
        end = now_ns()
        previous, previous_self = self._previous, self._previous_self
        if current is None or previous is None:
            self._previous = current
            raise ChannelReadError(f"cpu_util: {self._stat_path} unreadable or garbage")
        if current["cpu"].total_ticks <= previous["cpu"].total_ticks:
            # No tick elapsed: keep the baseline so the next read covers a longer interval.
            raise ChannelReadError("cpu_util: no clock tick since the previous read")
        self._previous = current
        if self_ticks is not None:
            self._previous_self = self_ticks
        values = [_fraction(previous.get(k), current.get(k)) for k in ["cpu", *self._cpus]]
        if self._track_self:
            total = values[0]
            own = math.nan
            old, new = previous.get("cpu"), current.get("cpu")
            if self_ticks is not None and previous_self is not None and old is not None and new is not None:
                elapsed = new.total_ticks - old.total_ticks
                if elapsed > 0 and self_ticks >= previous_self:
                    own = min(1.0, (self_ticks - previous_self) / elapsed)
            values += [own, max(0.0, total - own) if not math.isnan(own) else math.nan]
        return Reading(t_ns=(start + end) // 2, values=tuple(values))

    def sources(self) -> dict[str, str]:
        """Rail → file path."""
        result = {rail: str(self._stat_path) for rail in self.rails}
        if self._track_self:
            result["self_cpu_util"] = str(self._pid_path)
            result["other_cpu_util"] = f"{self._stat_path} − {self._pid_path}"
        return result

    def describe(self) -> dict[str, Any]:
        """As :meth:`Channel.describe`, plus the measured pid."""
        return {**super().describe(), "pid": self.pid if self._track_self else None}


def _fraction(old: CpuTimes | None, new: CpuTimes | None) -> float:
    if old is None or new is None:
        return math.nan
    elapsed = new.total_ticks - old.total_ticks
    busy = new.busy_ticks - old.busy_ticks
    if elapsed <= 0 or busy < 0:
        return math.nan
    return min(1.0, busy / elapsed)


def discover_cpu_util(
    root: Path = Path("/"), pid: int | None = None
) -> tuple[CpuUtilChannel | None, list[ChannelNote]]:
    """The utilisation channel, or None and a note when ``proc/stat`` is missing or garbage."""
    notes: list[ChannelNote] = []
    try:
        channel = CpuUtilChannel(root, pid)
    except ChannelReadError as exc:
        return None, [ChannelNote("cpu_util", str(exc), str(root / "proc" / "stat"))]
    if not channel.tracks_self:
        notes.append(
            ChannelNote(
                "cpu_util",
                f"proc/{channel.pid}/stat is not readable: self_cpu_util and other_cpu_util are not recorded",
                str(root / "proc" / str(channel.pid) / "stat"),
            )
        )
    return channel, notes


def read_loadavg(root: Path = Path("/")) -> tuple[float, float, float] | None:
    """The 1, 5 and 15 minute load averages, or None when ``proc/loadavg`` is missing or garbage."""
    try:
        return parse_loadavg(read_text(root / "proc" / "loadavg"))
    except ChannelReadError:
        return None


def read_processes(root: Path = Path("/")) -> dict[int, ProcessStat]:
    """Every process under ``root/proc`` whose ``stat`` parses (processes that exit meanwhile are skipped)."""
    result: dict[int, ProcessStat] = {}
    proc = root / "proc"
    if not proc.is_dir():
        return result
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = parse_process_stat(read_text(entry / "stat"))
        except ChannelReadError:
            continue
        result[stat.pid] = stat
    return result


@dataclass(frozen=True)
class ProcessLoad:
    """A process's recent CPU use: ``busy_cores`` is CPU seconds per second (1.0 = one whole core)."""

    pid: int
    name: str
    busy_cores: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"pid": self.pid, "name": self.name, "busy_cores": self.busy_cores}


def top_processes(
    root: Path = Path("/"),
    *,
    interval_s: float = 0.5,
    limit: int = 5,
    exclude: frozenset[int] = frozenset(),
    sleep: Callable[[float], None] = time.sleep,
) -> list[ProcessLoad]:
    """The processes that used the most CPU over the next ``interval_s`` seconds (those above zero only).

    Args:
        root: filesystem root.
        interval_s: how long to watch, seconds.
        limit: at most this many processes.
        exclude: pids to leave out (the caller itself, typically).
        sleep: how to wait (injected by tests, which change the fake tree meanwhile).
    """
    ticks_per_s = clock_ticks_per_s()
    before = read_processes(root)
    t0 = time.monotonic()
    sleep(interval_s)
    elapsed_s = max(time.monotonic() - t0, interval_s, 1e-9)
    after = read_processes(root)
    loads = []
    for pid, stat in after.items():
        if pid in exclude or pid not in before:
            continue
        ticks = stat.cpu_ticks - before[pid].cpu_ticks
        if ticks > 0:
            loads.append(ProcessLoad(pid=pid, name=stat.comm, busy_cores=ticks / ticks_per_s / elapsed_s))
    loads.sort(key=lambda load: (-load.busy_cores, load.pid))
    return loads[:limit]
