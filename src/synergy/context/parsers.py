"""Pure parsers for the kernel files the context channels read.

Each parser takes the text of one file and returns numbers in SI-ish units (Hz, °C, ticks), or raises
:class:`~synergy.errors.ChannelReadError` when the text is garbage. None of them touches the filesystem,
so they are tested on generated text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from synergy.errors import ChannelReadError

__all__ = [
    "OFFLINE_MILLICELSIUS",
    "CpuTimes",
    "NvpmodelCatalogue",
    "ProcessStat",
    "TripPoint",
    "parse_cpu_list",
    "parse_frequency_list",
    "parse_hz",
    "parse_int",
    "parse_khz",
    "parse_loadavg",
    "parse_millicelsius",
    "parse_nvpmodel_conf",
    "parse_nvpmodel_status",
    "parse_proc_stat",
    "parse_process_stat",
    "parse_trip_points",
]

#: Temperature some Tegra zones report while their sensor is powered off (m°C); read as a gap.
OFFLINE_MILLICELSIUS = -256000

_INT = re.compile(r"[+-]?\d+")


def parse_int(text: str, *, what: str = "value") -> int:
    """One decimal integer, surrounding whitespace allowed.

    Raises:
        ChannelReadError: the text is not exactly one integer.
    """
    stripped = text.strip()
    if not _INT.fullmatch(stripped):
        raise ChannelReadError(f"{what}: expected an integer, got {stripped[:40]!r}")
    return int(stripped)


def parse_khz(text: str, *, what: str = "frequency") -> float:
    """A cpufreq value in kHz (``scaling_cur_freq``, ``cpuinfo_max_freq``, ...), returned in Hz.

    Raises:
        ChannelReadError: garbage, or a negative frequency.
    """
    khz = parse_int(text, what=what)
    if khz < 0:
        raise ChannelReadError(f"{what}: negative frequency {khz} kHz")
    return float(khz) * 1e3


def parse_hz(text: str, *, what: str = "frequency") -> float:
    """A devfreq or clock value already in Hz (``cur_freq``, bpmp ``rate``).

    Raises:
        ChannelReadError: garbage, or a negative frequency.
    """
    hz = parse_int(text, what=what)
    if hz < 0:
        raise ChannelReadError(f"{what}: negative frequency {hz} Hz")
    return float(hz)


def parse_millicelsius(text: str, *, what: str = "temperature") -> float:
    """A thermal-zone ``temp`` in m°C, returned in °C.

    Raises:
        ChannelReadError: garbage, the Tegra 'sensor offline' value -256000, or a value outside
            -273.15..1000 °C.
    """
    milli = parse_int(text, what=what)
    if milli == OFFLINE_MILLICELSIUS:
        raise ChannelReadError(f"{what}: sensor offline (-256 °C)")
    celsius = milli / 1000.0
    if not -273.15 <= celsius <= 1000.0:
        raise ChannelReadError(f"{what}: implausible temperature {celsius} °C")
    return celsius


def parse_frequency_list(text: str, *, scale: float = 1.0, what: str = "frequencies") -> tuple[float, ...]:
    """A whitespace-separated list of frequencies (``available_frequencies``, ``scaling_available_frequencies``).

    Args:
        text: the file's text.
        scale: multiply each value by this (1e3 for cpufreq kHz lists, 1 for devfreq Hz lists).
        what: name used in error messages.

    Raises:
        ChannelReadError: any token is not a non-negative integer.
    """
    values = []
    for token in text.split():
        if not token.isdigit():
            raise ChannelReadError(f"{what}: expected integers, got {token[:40]!r}")
        values.append(int(token) * scale)
    return tuple(sorted(values))


def parse_cpu_list(text: str) -> tuple[int, ...]:
    """A CPU list: ranges ``0-3,8-11`` (``online``, ``present``) or spaces ``0 1 2 3`` (``related_cpus``).

    Raises:
        ChannelReadError: a token is neither a number nor a range.
    """
    cpus: set[int] = set()
    for token in re.split(r"[,\s]+", text.strip()):
        if not token:
            continue
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", token)
        if match is None:
            raise ChannelReadError(f"cpu list: bad token {token[:40]!r}")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else first
        if last < first:
            raise ChannelReadError(f"cpu list: bad range {token!r}")
        cpus.update(range(first, last + 1))
    return tuple(sorted(cpus))


@dataclass(frozen=True)
class CpuTimes:
    """One ``cpu``/``cpuN`` line of ``/proc/stat``, in clock ticks (USER_HZ, usually 1/100 s).

    ``guest`` and ``guest_nice`` are already included in ``user`` and ``nice`` and are not added again.
    """

    user: int
    nice: int
    system: int
    idle: int
    iowait: int = 0
    irq: int = 0
    softirq: int = 0
    steal: int = 0

    @property
    def idle_ticks(self) -> int:
        """Ticks not running anything: idle + iowait."""
        return self.idle + self.iowait

    @property
    def busy_ticks(self) -> int:
        """Ticks running something: user, nice, system, irq, softirq and steal."""
        return self.user + self.nice + self.system + self.irq + self.softirq + self.steal

    @property
    def total_ticks(self) -> int:
        """Busy plus idle ticks."""
        return self.busy_ticks + self.idle_ticks


def parse_proc_stat(text: str) -> dict[str, CpuTimes]:
    """The ``cpu`` lines of ``/proc/stat``: ``{"cpu": total, "cpu0": …, "cpu1": …}``.

    Lines other than ``cpu…`` are ignored; a ``cpu`` line with fewer than four counters or a non-integer
    counter is garbage.

    Raises:
        ChannelReadError: no ``cpu`` line, or a malformed one.
    """
    result: dict[str, CpuTimes] = {}
    for line in text.splitlines():
        if not line.startswith("cpu"):
            continue
        fields = line.split()
        label = fields[0]
        if not re.fullmatch(r"cpu\d*", label):
            continue
        numbers = fields[1:]
        if len(numbers) < 4 or not all(n.isdigit() for n in numbers):
            raise ChannelReadError(f"/proc/stat: malformed line {line[:60]!r}")
        counters = [int(n) for n in numbers[:8]]
        result[label] = CpuTimes(*counters)
    if "cpu" not in result:
        raise ChannelReadError("/proc/stat: no 'cpu' line")
    return result


@dataclass(frozen=True)
class ProcessStat:
    """The fields of ``/proc/<pid>/stat`` the context needs; CPU times in clock ticks."""

    pid: int
    comm: str
    state: str
    utime: int
    stime: int

    @property
    def cpu_ticks(self) -> int:
        """User plus system ticks of every thread of the process."""
        return self.utime + self.stime


def parse_process_stat(text: str) -> ProcessStat:
    """One ``/proc/<pid>/stat`` line.

    The command name sits in parentheses and may itself hold spaces and parentheses, so it runs to the
    *last* ``)``.

    Raises:
        ChannelReadError: the line does not have the kernel's layout.
    """
    open_at = text.find("(")
    close_at = text.rfind(")")
    if open_at < 0 or close_at < open_at:
        raise ChannelReadError(f"/proc/<pid>/stat: no '(comm)' in {text[:60]!r}")
    pid_text = text[:open_at].strip()
    rest = text[close_at + 1 :].split()
    # After comm: state(3) ppid(4) pgrp(5) session(6) tty_nr(7) tpgid(8) flags(9) minflt(10) cminflt(11)
    # majflt(12) cmajflt(13) utime(14) stime(15): indices 0..12 of ``rest``.
    if not pid_text.isdigit() or len(rest) < 13 or not rest[11].isdigit() or not rest[12].isdigit():
        raise ChannelReadError(f"/proc/<pid>/stat: malformed line {text[:60]!r}")
    return ProcessStat(
        pid=int(pid_text),
        comm=text[open_at + 1 : close_at],
        state=rest[0],
        utime=int(rest[11]),
        stime=int(rest[12]),
    )


def parse_loadavg(text: str) -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages of ``/proc/loadavg``.

    Raises:
        ChannelReadError: fewer than three numbers.
    """
    fields = text.split()
    try:
        one, five, fifteen = (float(f) for f in fields[:3])
    except ValueError as exc:
        raise ChannelReadError(f"/proc/loadavg: malformed {text[:60]!r}") from exc
    return one, five, fifteen


@dataclass(frozen=True)
class TripPoint:
    """A thermal trip point: ``type`` (active, passive, hot, critical) and temperature, °C."""

    index: int
    type: str
    temp_c: float

    @property
    def limits_performance(self) -> bool:
        """True for trips where the kernel throttles or shuts down (not ``active``: those start a fan)."""
        return self.type in {"passive", "hot", "critical"}


def parse_trip_points(files: Mapping[str, str]) -> tuple[TripPoint, ...]:
    """Trip points from a zone's ``trip_point_<N>_temp`` and ``trip_point_<N>_type`` file texts.

    Args:
        files: file name → text, for the files of one thermal zone (other names are ignored).

    Returns:
        The trip points with both a readable type and a plausible temperature, sorted by index. A trip whose
        temperature is garbage is left out (one bad trip never hides the others).
    """
    trips = []
    for name, text in files.items():
        match = re.fullmatch(r"trip_point_(\d+)_temp", name)
        if match is None:
            continue
        index = int(match.group(1))
        type_text = files.get(f"trip_point_{index}_type")
        if type_text is None:
            continue
        try:
            temp_c = parse_millicelsius(text, what=name)
        except ChannelReadError:
            continue
        kind = type_text.strip()
        if not kind:
            continue
        trips.append(TripPoint(index=index, type=kind, temp_c=temp_c))
    return tuple(sorted(trips, key=lambda trip: trip.index))


@dataclass(frozen=True)
class NvpmodelCatalogue:
    """The power modes of ``/etc/nvpmodel.conf``: id → name, and the boot default id (or None)."""

    modes: Mapping[int, str]
    default_id: int | None


def parse_nvpmodel_conf(text: str) -> NvpmodelCatalogue:
    """Power modes (``< POWER_MODEL ID=N NAME=… >``) and default (``< PM_CONFIG DEFAULT=N >``).

    Raises:
        ChannelReadError: the text defines no power mode.
    """
    modes: dict[int, str] = {}
    default_id: int | None = None
    for line in text.splitlines():
        model = re.match(r"\s*<\s*POWER_MODEL\s+ID=(\d+)\s+NAME=(\S+?)\s*>", line)
        if model is not None:
            modes[int(model.group(1))] = model.group(2)
            continue
        config = re.match(r"\s*<\s*PM_CONFIG\s+DEFAULT=(\d+)\s*>", line)
        if config is not None:
            default_id = int(config.group(1))
    if not modes:
        raise ChannelReadError("nvpmodel.conf: no '< POWER_MODEL ID=… NAME=… >' line")
    return NvpmodelCatalogue(modes=modes, default_id=default_id)


def parse_nvpmodel_status(text: str) -> int:
    """The current mode id from ``/var/lib/nvpmodel/status`` (``pmode:0002``, possibly more fields).

    Raises:
        ChannelReadError: no ``pmode:`` field.
    """
    match = re.search(r"pmode:(\d+)", text)
    if match is None:
        raise ChannelReadError(f"nvpmodel status: no 'pmode:' in {text[:60]!r}")
    return int(match.group(1))
