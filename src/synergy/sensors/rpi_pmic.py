"""Raspberry Pi 5 power rails through its PMIC's ADC: ``vcgencmd pmic_read_adc``.

The Pi 5 has no hwmon power route; its PMIC (Renesas DA9091) measures the current and the voltage of each
rail it regulates, and the firmware prints them::

     3V7_WL_SW_A current(0)=0.09466522A
      VDD_CORE_A current(7)=1.11625000A
     ...
     3V7_WL_SW_V volt(8)=3.62925200V
      VDD_CORE_V volt(15)=0.74944980V
         EXT5V_V volt(24)=5.08530000V
          BATT_V volt(25)=0.00000000V

Currents and voltages are paired by rail name (``VDD_CORE_A`` with ``VDD_CORE_V``); each pair is one rail
in watts (``I × V``). ``EXT5V`` (the USB-C input) and ``BATT`` (the RTC cell) carry a voltage only and are no
rail. The sum of the rails is what the PMIC delivers, **not** what the board draws from its supply: the
USB ports, the fan, PCIe devices and the PMIC's own conversion losses are outside it. Users calibrate the
sum against a wall meter as ``board = a × sum + b``; given a calibration, the sensor adds the rail
``board`` computed so and makes it the total (:meth:`RpiPmicSensor.details` records ``a`` and ``b``, so
they land in ``run.json``).

One read runs ``vcgencmd`` once (milliseconds, far more than a sysfs read); the sensor measures that cost
and, by reading until the values change, the PMIC's effective update period. The command is injectable
as sysfs roots are: under a root other than ``/`` it is ``<root>/usr/bin/vcgencmd`` (the fake of
:mod:`synergy.testing.vcgencmd`), or any argument vector given as ``command``. It is never run through a
shell.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import shutil
import statistics
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synergy.clock import now_ns
from synergy.errors import SensorPermissionError, SensorReadError, SensorUnavailable
from synergy.sensors._sysfs import check_reading, device_tree_model, display_path, select_rails
from synergy.sensors.base import FilterModel, Reading, Sensor, SensorKind

__all__ = [
    "RPI5_MODELS",
    "PmicRail",
    "RpiPmicSensor",
    "find_vcgencmd",
    "parse_calibration",
    "parse_pmic_adc",
    "run_vcgencmd",
]

#: Lower-case device-tree model substrings of the boards with the Pi 5's PMIC.
RPI5_MODELS = ("raspberry pi 5", "raspberry pi compute module 5", "raspberry pi 500")

#: The most a vcgencmd answer may hold, bytes.
OUTPUT_MAX_BYTES = 65536
#: How long one vcgencmd call may take before it is a read error, s.
CALL_TIMEOUT_S = 2.0
#: Physical bounds of one PMIC rail: the board takes at most 5 A at 5.1 V.
RAIL_MAX_A = 20.0
RAIL_MAX_V = 6.0
RAIL_MAX_W = 30.0
#: An ADC offset may read a few mA below zero on an idle rail.
NOISE_A = 0.01

_LINE = re.compile(
    r"^\s*(?P<rail>[A-Za-z0-9_]+)_(?P<suffix>[AV])\s+(?P<quantity>current|volt)\((?P<channel>\d+)\)"
    r"=(?P<value>[^\sAV]+)(?P<unit>[AV])\s*$"
)

_PERMISSION_REMEDY = (
    "add the user to the video group ('sudo usermod -aG video $USER', then log in again) or run as root"
)


@dataclass(frozen=True)
class PmicRail:
    """One rail of ``pmic_read_adc``: its current and voltage channels and values."""

    rail: str
    current_a: float
    voltage_v: float
    current_channel: int
    voltage_channel: int

    @property
    def power_w(self) -> float:
        """``I × V``, watts."""
        return self.current_a * self.voltage_v


def find_vcgencmd(root: Path = Path("/")) -> Path | None:
    """``vcgencmd`` on ``PATH`` for the real root, ``<root>/usr/bin/vcgencmd`` under another root, else ``None``."""
    if root == Path("/"):
        found = shutil.which("vcgencmd")
        return Path(found) if found else None
    candidate = root / "usr/bin/vcgencmd"
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


def run_vcgencmd(command: Sequence[str], *args: str, timeout_s: float = CALL_TIMEOUT_S) -> str:
    """Run ``command`` (an argument vector, never a shell line) with ``args``; its standard output.

    Raises:
        SensorUnavailable: the executable does not exist.
        SensorPermissionError: it may not be run, or the firmware interface refuses this user.
        SensorReadError: it timed out, failed, or printed more than :data:`OUTPUT_MAX_BYTES`.
    """
    argv = [*command, *args]
    shown = " ".join(["vcgencmd", *args])
    try:
        done = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout_s, check=False, shell=False
        )
    except FileNotFoundError as exc:
        raise SensorUnavailable(f"{command[0]} not found") from exc
    except PermissionError as exc:
        raise SensorPermissionError(f"{command[0]} may not be run by this user: {_PERMISSION_REMEDY}") from exc
    except subprocess.TimeoutExpired as exc:
        raise SensorReadError(f"{shown} did not answer within {timeout_s:g} s") from exc
    except OSError as exc:
        raise SensorReadError(f"{shown} could not be run: {exc.strerror or exc}") from exc
    if len(done.stdout) > OUTPUT_MAX_BYTES:
        raise SensorReadError(f"{shown} printed more than {OUTPUT_MAX_BYTES} bytes")
    if done.returncode != 0:
        message = (done.stderr or done.stdout).decode("utf-8", errors="replace").strip().splitlines()
        first = message[0][:200] if message else f"exit status {done.returncode}"
        lowered = first.lower()
        if "vchi" in lowered or "permission" in lowered or "/dev/vcio" in lowered:
            raise SensorPermissionError(f"{shown} failed ({first}): {_PERMISSION_REMEDY}")
        raise SensorReadError(f"{shown} failed: {first}")
    return done.stdout.decode("ascii", errors="replace")


def parse_pmic_adc(text: str, where: str = "vcgencmd pmic_read_adc") -> tuple[list[PmicRail], list[str]]:
    """The rails of a ``pmic_read_adc`` answer (in the order of their current lines) and the voltage-only channels.

    Lines that are neither a current nor a voltage are ignored (a firmware may add some).

    Raises:
        SensorReadError: a value that is not a finite number or is physically impossible (the message names
            the channel, e.g. ``vcgencmd pmic_read_adc VDD_CORE_A``).
    """
    currents: dict[str, tuple[float, int]] = {}
    volts: dict[str, tuple[float, int]] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is None or match["unit"] != match["suffix"]:
            continue
        if (match["quantity"] == "current") != (match["suffix"] == "A"):
            continue
        name, suffix = match["rail"], match["suffix"]
        try:
            value = float(match["value"])
        except ValueError:
            raise SensorReadError(f"{where} {name}_{suffix} holds {match['value']!r}, not a number") from None
        what = f"{where} {name}_{suffix}"
        if suffix == "A":
            currents[name] = (check_reading(value, -NOISE_A, RAIL_MAX_A, what), int(match["channel"]))
        else:
            volts[name] = (check_reading(value, -NOISE_A, RAIL_MAX_V, what), int(match["channel"]))
    rails = [
        PmicRail(name, amps, volts[name][0], channel, volts[name][1])
        for name, (amps, channel) in currents.items()
        if name in volts
    ]
    for rail in rails:
        check_reading(rail.power_w, -NOISE_A * RAIL_MAX_V, RAIL_MAX_W, f"{where} {rail.rail} (I × V)")
    voltage_only = [f"{name}_V" for name in volts if name not in currents]
    return rails, voltage_only


def parse_calibration(text: str) -> tuple[float, float]:
    """``"a,b"`` → ``(a, b)`` for ``board = a × sum + b`` (a > 0, both finite).

    Raises:
        ValueError: not two finite numbers, or ``a`` not positive.
    """
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 2:
        raise ValueError(f"a calibration is two numbers 'a,b' (board = a × sum + b), got {text!r}")
    a, b = (float(part) for part in parts)
    return _check_calibration((a, b))


def _check_calibration(calibration: Sequence[float]) -> tuple[float, float]:
    if len(calibration) != 2:
        raise ValueError(f"a calibration is (a, b) for board = a × sum + b, got {calibration!r}")
    a, b = float(calibration[0]), float(calibration[1])
    if not (math.isfinite(a) and math.isfinite(b)) or a <= 0:
        raise ValueError(f"a calibration needs a finite a > 0 and a finite b, got a={a!r}, b={b!r}")
    return a, b


def is_rpi5(dt_model: str | None) -> bool:
    """Whether a device-tree model names a board with the Pi 5's PMIC."""
    return bool(dt_model) and any(pattern in str(dt_model).lower() for pattern in RPI5_MODELS)


class RpiPmicSensor(Sensor):
    """Raspberry Pi 5 PMIC rails in watts, read with ``vcgencmd pmic_read_adc``.

    Example:
        >>> sensor = RpiPmicSensor(calibration=(1.12, 1.9))   # doctest: +SKIP
        >>> sensor.rails[-1], sensor.total_rails               # doctest: +SKIP
        ('board', ('board',))
    """

    name = "rpi-pmic"
    kind = SensorKind.POWER

    def __init__(
        self,
        root: Path = Path("/"),
        rails: Sequence[str] | None = None,
        calibration: Sequence[float] | str | None = None,
        command: Sequence[str] | None = None,
        probe_s: float = 0.5,
        clock: Callable[[], int] = now_ns,
    ) -> None:
        """Find ``vcgencmd``, read the PMIC once and probe its read cost and update period.

        Args:
            root: the directory that replaces ``/`` (its ``usr/bin/vcgencmd`` is run when it is not ``/``).
            rails: the rails to read (default: every rail with a current and a voltage).
            calibration: ``(a, b)`` or ``"a,b"``: the board's power is ``a × (sum of the rails) + b``,
                from a fit against a wall meter; adds the rail ``board``, which becomes the total.
            command: the argument vector that runs vcgencmd (default: found under ``root``); the board
                model is then not checked.
            probe_s: how long to read repeatedly to find the update period, s (0: not probed).
            clock: the monotonic ns clock.

        Raises:
            SensorUnavailable: not a Raspberry Pi 5, no vcgencmd, or no rail in its answer.
            SensorPermissionError: the firmware interface refuses this user.
            SensorReadError: the first answer holds an impossible value.
            ValueError: a malformed calibration.
        """
        self.root = root
        self.clock = clock
        self.dt_model = device_tree_model(root)
        if command is None:
            if not is_rpi5(self.dt_model):
                shown = f"device-tree model {self.dt_model!r}" if self.dt_model else "no device-tree model"
                raise SensorUnavailable(f"not a Raspberry Pi 5 ({shown}); the PMIC ADC is a Pi 5 feature")
            found = find_vcgencmd(root)
            if found is None:
                where = "on PATH" if root == Path("/") else f"at {display_path(root / 'usr/bin/vcgencmd', root)}"
                raise SensorUnavailable(f"Raspberry Pi 5 without vcgencmd {where} (install libraspberrypi-bin)")
            command = (str(found),)
        self.command = tuple(command)
        if isinstance(calibration, str):
            calibration = parse_calibration(calibration)
        self.calibration = None if calibration is None else _check_calibration(calibration)
        first, self.voltage_only = parse_pmic_adc(self._call())
        if not first:
            raise SensorUnavailable(
                "vcgencmd pmic_read_adc reports no rail with both a current and a voltage (update the firmware)"
            )
        chosen = select_rails(first, rails, "PMIC rail(s)")
        self.pmic_rails = tuple(rail.rail for rail in chosen)
        if self.calibration is None:
            self.rails = self.pmic_rails
            self.total_rails = self.pmic_rails
            self.total_note = "the sum of the PMIC rails: the SoC, memory and I/O supplies, not the whole board"
        else:
            a, b = self.calibration
            self.rails = (*self.pmic_rails, "board")
            self.total_rails = ("board",)
            self.total_note = f"board = {a:g} × (sum of the PMIC rails) + {b:g} W (calibrated against a wall meter)"
        self.read_cost_s: float | None = None
        self.update_period_s = None
        self.probed_changes = 0
        if probe_s > 0:
            self._probe(probe_s)
        self.filter_model = FilterModel("box", self.update_period_s or 0.0)

    def _call(self) -> str:
        return run_vcgencmd(self.command, "pmic_read_adc")

    def _probe(self, budget_s: float) -> None:
        """Read for up to ``budget_s``: the median cost of a read, and the median time between changes."""
        costs: list[float] = []
        changes: list[float] = []
        previous: str | None = None
        start = self.clock()
        while (self.clock() - start) / 1e9 < budget_s and len(changes) < 6:
            t0 = self.clock()
            text = self._call()
            t1 = self.clock()
            costs.append((t1 - t0) / 1e9)
            if previous is not None and text != previous:
                changes.append((t0 + t1) / 2e9)
            previous = text
        self.read_cost_s = statistics.median(costs) if costs else None
        self.probed_changes = len(changes)
        if len(changes) >= 3:
            self.update_period_s = statistics.median(b - a for a, b in itertools.pairwise(changes))

    def read(self) -> Reading:
        """Run ``vcgencmd pmic_read_adc`` once; watts per rail (and the calibrated board) at the call's midpoint."""
        t0 = self.clock()
        text = self._call()
        t1 = self.clock()
        found, _ = parse_pmic_adc(text)
        by_rail = {rail.rail: rail.power_w for rail in found}
        missing = [rail for rail in self.pmic_rails if rail not in by_rail]
        if missing:
            raise SensorReadError(f"vcgencmd pmic_read_adc no longer reports {', '.join(missing)}")
        values = [by_rail[rail] for rail in self.pmic_rails]
        if self.calibration is not None:
            a, b = self.calibration
            values.append(a * sum(values) + b)
        return Reading(t_ns=(t0 + t1) // 2, values=tuple(values))

    def details(self) -> dict[str, Any]:
        """Command, board model, calibration, read cost, probed update period and the voltage-only channels."""
        return {
            "command": [*self.command, "pmic_read_adc"],
            "device_tree_model": self.dt_model,
            "total_note": self.total_note,
            "calibration": None
            if self.calibration is None
            else {"a": self.calibration[0], "b_w": self.calibration[1], "formula": "board = a × sum + b"},
            "read_cost_s": self.read_cost_s,
            "update_period_probed": self.update_period_s is not None,
            "voltage_only": list(self.voltage_only),
        }
