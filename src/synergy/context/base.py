"""The context-channel interface: what a frequency, temperature or load reader looks like.

A channel has the same shape as a power sensor as far as a sampler is concerned: ``name``, ``rails``,
``update_period_s`` and ``read() -> Reading`` (:class:`synergy.sensors.Reading`, stamped with
:func:`synergy.clock.now_ns`), so a sampler polls channels beside power on the same clock.

Units are in every rail name:

* ``…_freq_hz`` / ``…_clock_hz``: frequency, Hz;
* ``…_temp_c``: temperature, degrees Celsius (the kernel's m°C divided by 1000; kelvin would be SI but nobody
  reads board temperatures in kelvin, and trip points are published in °C);
* ``…_util``: utilisation, a fraction 0..1;
* ``…_throttle_mask``: a bit mask (NVML clock-event reasons), stored exactly as a float.

A rail that cannot be read this time is NaN in the reading (a gap); when every rail of a read is a gap the
read raises :class:`~synergy.errors.ChannelReadError`. Channels never raise anything else from
:meth:`Channel.read` for bad data.
"""

from __future__ import annotations

import errno
import functools
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synergy.clock import now_ns
from synergy.errors import ChannelReadError
from synergy.sensors._sysfs import PROC_MAX_BYTES, NotRegularFile, read_bytes
from synergy.sensors.base import Reading

__all__ = [
    "Channel",
    "ChannelNote",
    "ChannelSet",
    "FileChannel",
    "FileProbe",
    "probe_file",
    "rail_unit",
    "read_rails",
    "read_text",
    "sanitize_rail",
]

_UNITS = (
    ("_freq_hz", "Hz"),
    ("_clock_hz", "Hz"),
    ("_temp_c", "°C"),
    ("_util", "fraction"),
    ("_throttle_mask", "bitmask"),
)


def rail_unit(rail: str) -> str:
    """The unit a rail name carries (``Hz``, ``°C``, ``fraction``, ``bitmask``), or ``""``."""
    for suffix, unit in _UNITS:
        if rail.endswith(suffix):
            return unit
    return ""


def sanitize_rail(text: str) -> str:
    """A rail-name stem from kernel text: lower case, every run of other characters becomes one ``_``."""
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in text.strip().lower())
    return "_".join(part for part in cleaned.split("_") if part) or "unnamed"


def read_text(path: Path, max_bytes: int = PROC_MAX_BYTES) -> str:
    """The text of a sysfs or procfs file, through the one guarded reader (:func:`synergy.sensors._sysfs.read_bytes`).

    Raises:
        ChannelReadError: the file is missing, unreadable, not a regular file, too long, or not text.
    """
    try:
        return read_bytes(path, max_bytes).decode("ascii", errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ChannelReadError(f"{path}: {reason}") from exc


@dataclass(frozen=True)
class FileProbe:
    """Whether a file can be used: ``ok``, or ``missing`` / ``denied`` / ``error`` with a reason."""

    status: str
    reason: str = ""

    @property
    def ok(self) -> bool:
        """True when the file was read."""
        return self.status == "ok"


def probe_file(path: Path) -> FileProbe:
    """Try to read a file once, telling a missing file from a permission problem from a device error."""
    try:
        read_bytes(path, PROC_MAX_BYTES)
    except NotRegularFile as exc:
        return FileProbe("error", f"{path} {exc.strerror}")
    except FileNotFoundError:
        return FileProbe("missing", f"{path} does not exist")
    except PermissionError:
        return FileProbe("denied", f"{path} is not readable by this user")
    except IsADirectoryError:
        return FileProbe("error", f"{path} is a directory")
    except OSError as exc:
        if exc.errno in (errno.ENODATA, errno.EINVAL, errno.EAGAIN, errno.EIO):
            # The file is there; this read failed (a disabled zone, a sleeping device): reads become gaps.
            return FileProbe("ok")
        return FileProbe("error", f"{path}: {exc.strerror or exc}")
    return FileProbe("ok")


@dataclass(frozen=True)
class ChannelNote:
    """Why a channel, or one of its files, is not sampled: collected at discovery, never printed by the library.

    Attributes:
        channel: the channel name (``cpu_freq``, ``gpu_freq``, ``thermal``, ...).
        reason: one line: what is missing and, when known, what would make it available.
        path: the file or folder concerned, if any.
    """

    channel: str
    reason: str
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"channel": self.channel, "reason": self.reason, "path": self.path}

    def __str__(self) -> str:
        return f"{self.channel}: {self.reason}"


class Channel(ABC):
    """A readable context channel with one or more rails (see the module docstring for units).

    Attributes:
        name: the channel name (``cpu_freq``, ``gpu_freq``, ``emc_freq``, ``thermal``, ``cpu_util``, ``nvml``).
        rails: rail names with their unit suffix, in the order of :attr:`Reading.values`.
        update_period_s: how often the underlying value changes, seconds, or ``None`` when unknown.
    """

    name: str = "channel"
    rails: tuple[str, ...] = ()
    update_period_s: float | None = None

    @abstractmethod
    def read(self) -> Reading:
        """Read every rail now; NaN marks a rail that is a gap this time.

        Raises:
            ChannelReadError: every rail is a gap.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release any handle the channel holds. Idempotent."""

    def sources(self) -> dict[str, str]:
        """Rail → where its value comes from (a path, or an API call)."""
        return {}

    def describe(self) -> dict[str, Any]:
        """JSON-ready description: name, rails with their units and sources, update period."""
        sources = self.sources()
        return {
            "name": self.name,
            "update_period_s": self.update_period_s,
            "rails": [{"rail": rail, "unit": rail_unit(rail), "source": sources.get(rail)} for rail in self.rails],
        }

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_rails(name: str, calls: Sequence[Callable[[], float]]) -> Reading:
    """One reading of a channel whose rail ``i`` is ``calls[i]()``: a call that raises
    :class:`~synergy.errors.ChannelReadError` is a NaN gap for its rail, stamped at the middle of the calls.

    Raises:
        ChannelReadError: every rail is a gap.
    """
    start = now_ns()
    values: list[float] = []
    first_error: ChannelReadError | None = None
    for call in calls:
        try:
            values.append(call())
        except ChannelReadError as exc:
            first_error = first_error or exc
            values.append(math.nan)
    end = now_ns()
    if first_error is not None and all(math.isnan(v) for v in values):
        raise ChannelReadError(f"{name}: every rail is a gap ({first_error})") from first_error
    return Reading(t_ns=(start + end) // 2, values=tuple(values))


class FileChannel(Channel):
    """A channel whose every rail is one file parsed by one function (cpufreq, devfreq, thermal, EMC).

    Args:
        name: the channel name.
        files: rail name → file path, in rail order.
        parse: text → value in the rail's unit; raises :class:`~synergy.errors.ChannelReadError` on garbage.
        update_period_s: how often the values change, if known.
    """

    def __init__(
        self,
        name: str,
        files: Sequence[tuple[str, Path]],
        parse: Callable[[str], float],
        update_period_s: float | None = None,
    ) -> None:
        if not files:
            raise ValueError(f"channel {name!r} needs at least one file")
        self.name = name
        self.rails = tuple(rail for rail, _ in files)
        self._paths = tuple(path for _, path in files)
        self._parse = parse
        self.update_period_s = update_period_s

    def read(self) -> Reading:
        """Read every file; a file that fails or holds garbage is a NaN gap for its rail."""
        return read_rails(self.name, [functools.partial(self._read_file, path) for path in self._paths])

    def _read_file(self, path: Path) -> float:
        return self._parse(read_text(path))

    def sources(self) -> dict[str, str]:
        """Rail → file path."""
        return {rail: str(path) for rail, path in zip(self.rails, self._paths, strict=True)}


@dataclass
class ChannelSet:
    """The channels found on a machine, and one note for each channel or file that was skipped.

    Iterating yields the channels. :meth:`close` closes them all.
    """

    channels: tuple[Channel, ...] = ()
    notes: tuple[ChannelNote, ...] = field(default_factory=tuple)

    def __iter__(self) -> Iterator[Channel]:
        return iter(self.channels)

    def __len__(self) -> int:
        return len(self.channels)

    def get(self, name: str) -> Channel | None:
        """The channel called ``name``, or None."""
        return next((channel for channel in self.channels if channel.name == name), None)

    def close(self) -> None:
        """Close every channel."""
        for channel in self.channels:
            channel.close()

    def describe(self) -> dict[str, Any]:
        """JSON-ready description: every channel and every note."""
        return {
            "channels": [channel.describe() for channel in self.channels],
            "notes": [note.to_dict() for note in self.notes],
        }
