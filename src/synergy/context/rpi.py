"""Raspberry Pi firmware context: the ARM clock and the throttling state, through ``vcgencmd``.

On a Pi the firmware, not cpufreq, has the last word on the ARM clock: it caps the clock on under-voltage
and at the soft temperature limit. Two commands say so:

* ``vcgencmd measure_clock arm`` → ``frequency(48)=2400000000`` (Hz);
* ``vcgencmd get_throttled`` → ``throttled=0x50005``: bits 0-3 are the conditions now (under-voltage, ARM
  frequency capped, throttled, soft temperature limit), bits 16-19 the same conditions since boot.

:class:`RpiChannel` samples both beside power (rails ``arm_freq_hz`` and ``rpi_throttle_mask``);
:func:`read_rpi_state` is the snapshot :func:`synergy.context.collect_context` records. The SoC temperature
is the thermal zone ``cpu-thermal`` (:mod:`synergy.context.thermal`). ``vcgencmd`` is found as the
``rpi-pmic`` sensor finds it (:func:`synergy.sensors.rpi_pmic.find_vcgencmd`), so a fake tree's
``usr/bin/vcgencmd`` answers under ``--sysfs-root``.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from synergy.context.base import Channel, ChannelNote, read_rails
from synergy.errors import ChannelReadError, SensorError
from synergy.sensors._sysfs import device_tree_model
from synergy.sensors.base import Reading
from synergy.sensors.rpi_pmic import find_vcgencmd, run_vcgencmd

__all__ = ["THROTTLED_BITS", "RpiChannel", "decode_throttled", "discover_rpi", "read_rpi_state"]

#: ``get_throttled`` bit → condition; the same condition since boot is the bit + 16.
THROTTLED_BITS: dict[int, str] = {
    0: "under_voltage",
    1: "arm_frequency_capped",
    2: "throttled",
    3: "soft_temperature_limit",
}

_NOT_A_PI = "not a Raspberry Pi"
_FREQUENCY = re.compile(r"^frequency\(\d+\)=(\d+)\s*$")
_THROTTLED = re.compile(r"^throttled=(0x[0-9a-fA-F]+|\d+)\s*$")


def decode_throttled(mask: int) -> dict[str, list[str]]:
    """The conditions of a ``get_throttled`` mask: ``{"now": [...], "since_boot": [...]}``.

    Example:
        >>> decode_throttled(0x50005)
        {'now': ['under_voltage', 'throttled'], 'since_boot': ['under_voltage', 'throttled']}
    """
    return {
        "now": [name for bit, name in THROTTLED_BITS.items() if mask & (1 << bit)],
        "since_boot": [name for bit, name in THROTTLED_BITS.items() if mask & (1 << (bit + 16))],
    }


def parse_frequency(text: str) -> float:
    """``frequency(48)=2400000000`` → Hz.

    Raises:
        ChannelReadError: another text, or a frequency that is not positive.
    """
    match = _FREQUENCY.match(text.strip())
    if match is None or int(match.group(1)) <= 0:
        raise ChannelReadError(f"vcgencmd measure_clock arm printed {text.strip()[:60]!r}")
    return float(match.group(1))


def parse_throttled(text: str) -> int:
    """``throttled=0x50005`` → the mask.

    Raises:
        ChannelReadError: another text.
    """
    match = _THROTTLED.match(text.strip())
    if match is None:
        raise ChannelReadError(f"vcgencmd get_throttled printed {text.strip()[:60]!r}")
    return int(match.group(1), 0)


class RpiChannel(Channel):
    """The ARM clock (Hz) and the ``get_throttled`` mask, each one ``vcgencmd`` call per read."""

    name = "rpi"
    rails = ("arm_freq_hz", "rpi_throttle_mask")

    def __init__(self, command: Sequence[str]) -> None:
        self.command = tuple(command)

    def _value(self, rail: str) -> float:
        try:
            if rail == "arm_freq_hz":
                return parse_frequency(run_vcgencmd(self.command, "measure_clock", "arm"))
            return float(parse_throttled(run_vcgencmd(self.command, "get_throttled")))
        except SensorError as exc:
            raise ChannelReadError(str(exc)) from exc

    def read(self) -> Reading:
        """One call per rail; a failed call is a NaN gap for its rail."""
        return read_rails(self.name, [functools.partial(self._value, rail) for rail in self.rails])

    def sources(self) -> dict[str, str]:
        """Rail → vcgencmd command."""
        return {"arm_freq_hz": "vcgencmd measure_clock arm", "rpi_throttle_mask": "vcgencmd get_throttled"}


def _vcgencmd(root: Path) -> tuple[tuple[str, ...] | None, str | None]:
    model = device_tree_model(root)
    if not model or "raspberry pi" not in model.lower():
        return None, _NOT_A_PI
    found = find_vcgencmd(root)
    if found is None:
        return None, "Raspberry Pi without vcgencmd (install libraspberrypi-bin)"
    return (str(found),), None


def discover_rpi(root: Path = Path("/")) -> tuple[RpiChannel | None, list[ChannelNote]]:
    """The Pi channel when this is a Raspberry Pi with a working ``vcgencmd``, else None and a note."""
    command, reason = _vcgencmd(root)
    if command is None:
        return None, [ChannelNote("rpi", str(reason))]
    channel = RpiChannel(command)
    try:
        channel.read()
    except ChannelReadError as exc:
        return None, [ChannelNote("rpi", f"vcgencmd does not answer: {exc}")]
    return channel, []


def read_rpi_state(root: Path = Path("/")) -> tuple[dict[str, Any] | None, str | None]:
    """The Pi's ARM clock and throttling conditions now and since boot, or None and why not.

    Returns:
        ``{"arm_freq_hz", "throttled_mask", "throttled": {"now": [...], "since_boot": [...]}}``, or
        ``(None, reason)``.
    """
    command, reason = _vcgencmd(root)
    if command is None:
        return None, reason
    channel = RpiChannel(command)
    try:
        reading = channel.read()
    except ChannelReadError as exc:
        return None, f"vcgencmd does not answer: {exc}"
    arm, mask = reading.values
    state: dict[str, Any] = {"arm_freq_hz": None if math.isnan(arm) else arm}
    if math.isnan(mask):
        state.update(throttled_mask=None, throttled=None)
    else:
        state.update(throttled_mask=f"{int(mask):#x}", throttled=decode_throttled(int(mask)))
    return state, None
