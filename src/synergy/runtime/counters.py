"""Hardware and software event counters of the calling thread, through ``perf_event_open(2)``.

Opened with ``ctypes`` (no dependency): one file descriptor per event, counting the calling thread and the
threads it creates afterwards (``inherit``), user and kernel. Events the kernel or the PMU does not offer
(no hardware counters in a VM, ``perf_event_paranoid`` too high, an ARM event on x86) are skipped and their
reasons kept, never fatal: ``task-clock`` (software) works wherever ``perf_event_open`` does.

Default events: ``task-clock`` (ns), ``instructions``, ``cycles``, ``cache-misses`` (generic hardware
events; x86 and ARM) and, on ARM, ``ase_spec`` (Advanced SIMD operations speculatively executed, raw
0x74) and ``bus_access`` (raw 0x19).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import platform
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_EVENTS", "CounterEvent", "PerfCounters"]

_TYPE_HARDWARE, _TYPE_SOFTWARE, _TYPE_RAW = 0, 1, 4
_IOC_ENABLE, _IOC_DISABLE = 0x2400, 0x2401
_SYSCALL = {"x86_64": 298, "aarch64": 241, "arm64": 241, "i386": 336, "i686": 336, "armv7l": 364}
_FLAG_DISABLED, _FLAG_INHERIT = 1 << 0, 1 << 1


@dataclass(frozen=True)
class CounterEvent:
    """One countable event.

    Attributes:
        name: column name (``task_clock_ns``, ``instructions``...).
        type: ``perf_event_attr.type`` (0 hardware, 1 software, 4 raw).
        config: ``perf_event_attr.config``.
        arch: machine names it exists on (empty: all).
    """

    name: str
    type: int
    config: int
    arch: tuple[str, ...] = ()


DEFAULT_EVENTS: tuple[CounterEvent, ...] = (
    CounterEvent("task_clock_ns", _TYPE_SOFTWARE, 1),
    CounterEvent("instructions", _TYPE_HARDWARE, 1),
    CounterEvent("cycles", _TYPE_HARDWARE, 0),
    CounterEvent("cache_misses", _TYPE_HARDWARE, 3),
    CounterEvent("ase_spec", _TYPE_RAW, 0x74, ("aarch64", "arm64")),
    CounterEvent("bus_access", _TYPE_RAW, 0x19, ("aarch64", "arm64")),
)


class _Attr(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_uint32),
        ("size", ctypes.c_uint32),
        ("config", ctypes.c_uint64),
        ("sample_period", ctypes.c_uint64),
        ("sample_type", ctypes.c_uint64),
        ("read_format", ctypes.c_uint64),
        ("flags", ctypes.c_uint64),
        ("rest", ctypes.c_uint8 * 80),
    ]


def _reason(err: int) -> str:
    return {
        errno.ENOENT: "the PMU does not offer this event",
        errno.EOPNOTSUPP: "the PMU does not offer this event",
        errno.EACCES: "not permitted (lower /proc/sys/kernel/perf_event_paranoid or grant CAP_PERFMON)",
        errno.EPERM: "not permitted (lower /proc/sys/kernel/perf_event_paranoid or grant CAP_PERFMON)",
        errno.ENOSYS: "perf_event_open is not available in this kernel",
        errno.EINVAL: "the kernel rejected the event",
        errno.ENODEV: "no PMU for this event on this CPU",
    }.get(err, os.strerror(err))


class PerfCounters:
    """Counters of the calling thread (and threads it creates afterwards), read as cumulative values.

    Args:
        events: the events to try; those the machine lacks are listed in :attr:`unsupported`.

    Example::

        counters = PerfCounters()
        before = counters.read()
        work()
        delta = counters.delta(before, counters.read())
    """

    def __init__(self, events: tuple[CounterEvent, ...] = DEFAULT_EVENTS) -> None:
        self.unsupported: dict[str, str] = {}
        self._fds: list[int] = []
        self.names: tuple[str, ...] = ()
        machine = platform.machine()
        number = _SYSCALL.get(machine)
        names = []
        if number is None:
            self.unsupported = {e.name: f"perf_event_open is not known on {machine}" for e in events}
            return
        libc = ctypes.CDLL(None, use_errno=True)
        for event in events:
            if event.arch and machine not in event.arch:
                self.unsupported[event.name] = f"a {'/'.join(event.arch)} event; this CPU is {machine}"
                continue
            attr = _Attr()
            attr.type = event.type
            attr.size = ctypes.sizeof(_Attr)
            attr.config = event.config
            attr.flags = _FLAG_DISABLED | _FLAG_INHERIT
            fd = libc.syscall(number, ctypes.byref(attr), 0, -1, -1, 0)
            if fd < 0:
                self.unsupported[event.name] = _reason(ctypes.get_errno())
                continue
            try:
                fcntl.ioctl(fd, _IOC_ENABLE, 0)
            except OSError as exc:
                os.close(fd)
                self.unsupported[event.name] = _reason(exc.errno or 0)
                continue
            self._fds.append(fd)
            names.append(event.name)
        self.names = tuple(names)

    def read(self) -> tuple[int, ...]:
        """Current cumulative value of every supported event, in :attr:`names` order."""
        return tuple(int.from_bytes(os.read(fd, 8), "little") for fd in self._fds)

    @staticmethod
    def delta(before: tuple[int, ...], after: tuple[int, ...]) -> tuple[int, ...]:
        """Per-event difference of two reads."""
        return tuple(b - a for a, b in zip(before, after, strict=True))

    def describe(self) -> dict[str, Any]:
        """Events counted and, for the others, why not."""
        return {"events": list(self.names), "unsupported": dict(self.unsupported)}

    def close(self) -> None:
        """Close every descriptor. Idempotent."""
        for fd in self._fds:
            with contextlib.suppress(OSError):
                fcntl.ioctl(fd, _IOC_DISABLE, 0)
            os.close(fd)
        self._fds = []

    def __enter__(self) -> PerfCounters:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
