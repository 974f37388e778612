"""A fake Raspberry Pi 5 under a root: ``vcgencmd`` answering from a power function at the PMIC's pace.

:func:`build_rpi5` lays out, under any directory used as the root (``--sysfs-root``), what SyNERGY looks at
on a Pi 5: the device-tree model (``/proc/device-tree/model`` and ``/sys/firmware/devicetree/base/model``),
a thermal zone ``cpu-thermal`` and an executable ``/usr/bin/vcgencmd``. That executable is a POSIX shell
script (no interpreter start-up per call: a real ``vcgencmd`` costs milliseconds too) that prints the
files a writer publishes under ``/usr/share/synergy-fake-vcgencmd/``:

* ``pmic_read_adc``, laid out exactly as the firmware prints it: the twelve rails' currents
  (``  VDD_CORE_A current(7)=1.11625000A``, names right-aligned to 12 columns, 8 decimals), then their
  voltages, then ``EXT5V_V`` and ``BATT_V``, which have no current;
* ``measure_clock arm`` (``frequency(48)=2400000000``), ``get_throttled`` (``throttled=0x0``) and
  ``measure_temp`` (``temp=52.7'C``).

The returned :class:`~synergy.testing.sysfs.FakeTree` holds one driver, :class:`PmicDriver`, for the rail
``VDD_CORE``: :class:`~synergy.testing.sysfs.SysfsWriter` makes it latch, every ``update_period_s``, the box
average of its power function over the period (as the other rails stay at their idle values), so the
values change at the PMIC's update period and not at every call. The truth of a window is the power
function's energy plus :func:`idle_rails_w` times its length.

``python -m synergy.testing.vcgencmd --root DIR ARGS…`` answers as the script does (for platforms without
``/bin/sh``); ``python -m synergy.testing.sysfs DIR rpi5 --power VDD_CORE=3`` builds the tree and runs the
writer.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from synergy.testing.sysfs.drivers import FakeTree, _LatchingDriver
from synergy.testing.sysfs.files import _put, write_atomic
from synergy.testing.sysfs.layouts import write_dt_model
from synergy.testing.sysfs.power import PowerFunction

__all__ = [
    "PMIC_LAYOUT",
    "RPI5_MODEL",
    "PmicDriver",
    "build_rpi5",
    "idle_rails_w",
    "render_pmic_adc",
    "throttled_text",
]

#: The device-tree model of a Pi 5.
RPI5_MODEL = "Raspberry Pi 5 Model B Rev 1.0"
#: Where the writer publishes the answers, relative to the root.
STATE_DIR = "usr/share/synergy-fake-vcgencmd"
#: The fake PMIC's default update period, s (the sensor probes the real one).
PMIC_UPDATE_S = 0.05

#: (rail, current channel, voltage channel, idle current A, voltage V), in the firmware's order.
PMIC_LAYOUT: tuple[tuple[str, int, int, float, float], ...] = (
    ("3V7_WL_SW", 0, 8, 0.0950, 3.6290),
    ("3V3_SYS", 1, 9, 0.0820, 3.3165),
    ("1V8_SYS", 2, 10, 0.1500, 1.7990),
    ("DDR_VDD2", 3, 11, 0.0040, 1.1015),
    ("DDR_VDDQ", 4, 12, 0.0000, 0.6062),
    ("1V1_SYS", 5, 13, 0.2030, 1.1040),
    ("0V8_SW", 6, 14, 0.3055, 0.7985),
    ("VDD_CORE", 7, 15, 1.1160, 0.7494),
    ("3V3_DAC", 17, 20, 0.0000, 3.3104),
    ("3V3_ADC", 18, 21, 0.0002, 3.3168),
    ("0V8_AON", 16, 19, 0.0027, 0.7979),
    ("HDMI", 22, 23, 0.0166, 5.1014),
)
#: Channels with a voltage only: the USB-C input and the RTC battery.
VOLTAGE_ONLY: tuple[tuple[str, int, float], ...] = (("EXT5V", 24, 5.0853), ("BATT", 25, 0.0))

_SCRIPT = """#!/bin/sh
# Fake vcgencmd for tests (synergy.testing.vcgencmd): prints what a writer publishes at the PMIC's pace.
state="${0%/*}/../share/synergy-fake-vcgencmd"
case "$1" in
  pmic_read_adc) exec cat "$state/pmic_read_adc" ;;
  get_throttled) exec cat "$state/get_throttled" ;;
  measure_temp) exec cat "$state/measure_temp" ;;
  measure_clock)
    case "$2" in
      arm|core) exec cat "$state/measure_clock_$2" ;;
    esac ;;
esac
echo 'error=2 error_msg="Command not registered"'
exit 2
"""

#: ``get_throttled`` bits: (bit, name) — now in bits 0-3, since boot in bits 16-19.
THROTTLED_BITS = ((0, "under_voltage"), (1, "arm_frequency_capped"), (2, "throttled"), (3, "soft_temperature_limit"))


def idle_rails_w(driven: str = "VDD_CORE") -> float:
    """The power of every rail but ``driven`` in the fake's layout, W (constant: part of the truth)."""
    return sum(amps * volts for rail, _, _, amps, volts in PMIC_LAYOUT if rail != driven)


def render_pmic_adc(powers_w: dict[str, float] | None = None) -> str:
    """The ``pmic_read_adc`` text: the layout's idle values, with the rails of ``powers_w`` at those powers."""
    powers_w = powers_w or {}
    currents, volts = [], []
    for rail, current_channel, voltage_channel, amps, voltage in PMIC_LAYOUT:
        if rail in powers_w:
            amps = powers_w[rail] / voltage
        currents.append(f"{rail + '_A':>12} current({current_channel})={amps:.8f}A")
        volts.append(f"{rail + '_V':>12} volt({voltage_channel})={voltage:.8f}V")
    extra = [f"{rail + '_V':>12} volt({channel})={voltage:.8f}V" for rail, channel, voltage in VOLTAGE_ONLY]
    return "\n".join(currents + volts + extra)


def throttled_text(now: Sequence[str] = (), since_boot: Sequence[str] = ()) -> str:
    """``throttled=0x…`` with the named conditions set now (bits 0-3) and since boot (bits 16-19)."""
    mask = 0
    for bit, name in THROTTLED_BITS:
        if name in now:
            mask |= 1 << bit
        if name in since_boot or name in now:
            mask |= 1 << (bit + 16)
    return f"throttled={mask:#x}"


@dataclass
class PmicDriver(_LatchingDriver):
    """The PMIC ADC: ``rail``'s current follows the power function, the other rails stay idle; one text file."""

    path: Path = Path()
    rail: str = "VDD_CORE"
    extra_w: dict[str, float] = field(default_factory=dict)
    dither_w: float = 1e-6
    _parity: int = 0

    def render(self, g_s: float, p: PowerFunction) -> list[tuple[Path, str]]:
        # As a real ADC's last digit, the value moves at every update even at constant power: ± a µW
        # alternating, which averages out, so a reader can see the update period.
        self._parity = round(g_s / self.update_interval_s) % 2
        return super().render(g_s, p)

    def latch(self, power_w: float) -> None:
        self._parity = 1 - self._parity
        super().latch(power_w)

    def contents(self, power_w: float) -> list[tuple[Path, str]]:
        dither = self.dither_w if self._parity else -self.dither_w
        return [(self.path, render_pmic_adc({**self.extra_w, self.rail: max(0.0, power_w + dither)}))]

    def files(self) -> tuple[Path, ...]:
        return (self.path,)


def build_rpi5(
    root: Path,
    *,
    update_period_s: float = PMIC_UPDATE_S,
    arm_hz: int = 2_400_000_000,
    throttled: str = "throttled=0x0",
    temp_c: float = 52.7,
    dt_where: str = "both",
    model: str = RPI5_MODEL,
) -> FakeTree:
    """A Raspberry Pi 5 under ``root`` (see the module docstring); the tree's driver is ``VDD_CORE``'s.

    Args:
        update_period_s: how often the PMIC values change, s.
        arm_hz: what ``measure_clock arm`` prints.
        throttled: what ``get_throttled`` prints (:func:`throttled_text`).
        temp_c: the SoC temperature (``measure_temp`` and ``thermal_zone0``).
        dt_where: which device-tree path holds the model (``proc``, ``firmware``, ``both``).
        model: the device-tree model text.
    """
    state = root / STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    script = root / "usr/bin/vcgencmd"
    _put(script, _SCRIPT.rstrip("\n"), 0o755)
    write_atomic(state / "pmic_read_adc", render_pmic_adc())
    write_atomic(state / "measure_clock_arm", f"frequency(48)={arm_hz}")
    write_atomic(state / "measure_clock_core", "frequency(1)=910000000")
    write_atomic(state / "get_throttled", throttled)
    write_atomic(state / "measure_temp", f"temp={temp_c:.1f}'C")
    write_dt_model(root, model, dt_where)
    zone = root / "sys/devices/virtual/thermal/thermal_zone0"
    _put(zone / "type", "cpu-thermal")
    _put(zone / "temp", round(temp_c * 1000))
    _put(zone / "policy", "step_wise")
    link = root / "sys/class/thermal/thermal_zone0"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.exists():
        link.symlink_to(os.path.relpath(zone, link.parent))
    tree = FakeTree(root)
    tree.drivers["VDD_CORE"] = PmicDriver(update_interval_s=update_period_s, path=state / "pmic_read_adc")
    tree.paths["vcgencmd"] = script
    tree.paths["state"] = state
    return tree


def main(argv: list[str] | None = None) -> int:
    """``python -m synergy.testing.vcgencmd --root DIR COMMAND [ARG]``: answer as the fake script does."""
    parser = argparse.ArgumentParser(prog="python -m synergy.testing.vcgencmd", description=main.__doc__)
    parser.add_argument("--root", type=Path, required=True, help="the fake tree (built by build_rpi5)")
    parser.add_argument("words", nargs="+", help="pmic_read_adc | get_throttled | measure_temp | measure_clock arm")
    args = parser.parse_args(argv)
    state = args.root / STATE_DIR
    names = {
        ("pmic_read_adc",): "pmic_read_adc",
        ("get_throttled",): "get_throttled",
        ("measure_temp",): "measure_temp",
        ("measure_clock", "arm"): "measure_clock_arm",
        ("measure_clock", "core"): "measure_clock_core",
    }
    name = names.get(tuple(args.words))
    if name is None:
        print('error=2 error_msg="Command not registered"')
        return 2
    sys.stdout.write((state / name).read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
