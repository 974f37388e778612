"""NVIDIA Jetson power rails: INA3221 (mainline hwmon and the L4T ≤ 32 ``ina3221x`` IIO driver) and INA238.

Three layouts, all found by the drivers' names and the rails' labels, never by a fixed hwmon index:

* **L4T ≥ 34, mainline hwmon** ``/sys/bus/i2c/drivers/ina3221/<bus>-<addr>/hwmon/hwmon<K>/`` (also reached
  through ``/sys/class/hwmon/hwmon<K>`` with ``name`` = ``ina3221``): ``in<N>_label``, ``in<N>_input`` (bus
  voltage, mV), ``curr<N>_input`` (mA), ``in<N>_enable``, ``samples``, ``update_interval`` (ms). Power is
  V × I from two separate reads; there is no power file. Channels are 1-based.
* **L4T ≤ 32, NVIDIA IIO** ``/sys/bus/i2c/drivers/ina3221x/<bus>-<addr>/iio:device<K>/``: ``rail_name_<N>``,
  ``in_power<N>_input`` (mW, V and I latched together), ``polling_delay_<N>`` where present,
  ``running_mode``. Channels are 0-based.
* **INA238** (AGX Thor carrier input) hwmon with ``name`` = ``ina238``: ``power1_input`` (µW).

Channels labelled ``NC``, disabled channels (``in<N>_enable`` = 0) and the summing channels
(``sum of shunt voltages``, ``curr4``) are skipped. Each rail is named by its label. The default total is
the known module's non-overlapping rail set (:data:`JETSON_MODELS`), recognised from
``/proc/device-tree/model`` when present and from the label set otherwise.

The INA3221 averages ``samples`` conversions per channel before it updates the result, so a reading is
modelled as the box average of power over the last ``update_interval`` (``filter_kind="box"``); boards
whose averaging behaves as a running update can choose ``filter_kind="ema"`` with the same time constant.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synergy.clock import now_ns
from synergy.errors import SensorReadError, SensorUnavailable
from synergy.sensors._sysfs import (
    check_reading,
    device_tree_model,
    display_path,
    read_int,
    select_rails,
    try_read_text,
)
from synergy.sensors.base import FilterModel, Reading, Sensor, SensorKind

__all__ = [
    "IIO_DEFAULT_WINDOW_S",
    "JETSON_MODELS",
    "JetsonChannel",
    "JetsonModel",
    "JetsonSensor",
    "find_jetson_channels",
    "identify_model",
]

#: Averaging window assumed for the ``ina3221x`` IIO driver when no ``polling_delay_<N>`` states one:
#: its default configuration 0x7727 (3 channels × 64 averages × (1.1 + 1.1) ms), seconds.
IIO_DEFAULT_WINDOW_S = 3 * 64 * 2.2e-3

#: The most one Jetson rail can carry, W (an AGX Thor module draws about 130 W): above it, a read fault.
RAIL_MAX_W = 1000.0
#: How far below zero a rail may read from the shunt's offset before the value is a read fault, W.
RAIL_NOISE_W = 0.5


@dataclass(frozen=True)
class JetsonModel:
    """A known Jetson module and its non-overlapping board total.

    Attributes:
        key: short identifier (``agx_orin``).
        display: human name.
        labels: rail labels whose presence identifies the module.
        total: rails summed for the board total (no rail inside another).
        dt_patterns: lower-case substrings of ``/proc/device-tree/model`` naming the module.
    """

    key: str
    display: str
    labels: frozenset[str]
    total: tuple[str, ...]
    dt_patterns: tuple[str, ...] = ()


#: Known modules, most specific first (rails per energymon's table and the upstream device trees).
JETSON_MODELS: tuple[JetsonModel, ...] = (
    JetsonModel(
        "agx_orin",
        "Jetson AGX Orin",
        frozenset({"VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0"}),
        ("VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0"),
        ("agx orin",),
    ),
    JetsonModel(
        "agx_xavier",
        "Jetson AGX Xavier",
        frozenset({"GPU", "CPU", "SOC", "CV", "VDDRQ", "SYS5V"}),
        ("GPU", "CPU", "SOC", "CV", "VDDRQ", "SYS5V"),
        ("agx xavier", "jetson-xavier", "jetson xavier"),
    ),
    JetsonModel(
        "tx2",
        "Jetson TX2",
        frozenset({"VDD_IN", "VDD_SYS_GPU", "VDD_SYS_CPU"}),
        ("VDD_IN",),
        ("tx2", "quill"),
    ),
    JetsonModel(
        "tx2_nx",
        "Jetson TX2 NX",
        frozenset({"VDD_IN", "VDD_CPU_GPU", "VDD_SOC"}),
        ("VDD_IN",),
        ("tx2 nx", "lanai"),
    ),
    JetsonModel(
        "orin_nx",
        "Jetson Orin NX / Orin Nano",
        frozenset({"VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"}),
        ("VDD_IN",),
        ("orin nx", "orin nano"),
    ),
    JetsonModel(
        "xavier_nx",
        "Jetson Xavier NX",
        frozenset({"VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"}),
        ("VDD_IN",),
        ("xavier nx",),
    ),
    JetsonModel(
        "tx1",
        "Jetson TX1",
        frozenset({"VDD_IN", "VDD_GPU", "VDD_CPU"}),
        ("VDD_IN",),
        ("tx1",),
    ),
    JetsonModel(
        "nano",
        "Jetson Nano",
        frozenset({"POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"}),
        ("POM_5V_IN",),
        ("nano",),
    ),
)

#: AGX Thor: the board total is the carrier's INA238 input rail where the carrier has one; the module's own
#: INA3221 measures its three input rails (``VDD_GPU``, ``VDD_CPU_SOC_MSS``, ``VIN_SYS_5V0``: the GPU, the
#: CPU/SoC/memory subsystem and the 5 V system input), whose sum is the module's power without it.
THOR = JetsonModel(
    "thor",
    "Jetson AGX Thor",
    frozenset({"VDD_GPU", "VDD_CPU_SOC_MSS", "VIN_SYS_5V0"}),
    ("VDD_GPU", "VDD_CPU_SOC_MSS", "VIN_SYS_5V0"),
    ("thor",),
)

#: Rails that are a board's single input (the whole board behind one shunt), for boards not in the table.
#: ``VIN_SYS_5V0`` is not one of them: on AGX Orin and Thor it is one of the module's input rails.
BOARD_INPUT_RAILS = ("VDD_IN", "POM_5V_IN", "VIN")

_XNX_OR_ONX = "Jetson Xavier NX or Orin NX / Orin Nano"


@dataclass(frozen=True)
class JetsonChannel:
    """One readable rail.

    Attributes:
        rail: the rail name (its label; suffixed ``@<bus>-<addr>`` if two devices share a label).
        label: the label as the driver reports it.
        driver: ``ina3221`` (hwmon), ``ina3221x`` (IIO) or ``ina238`` (hwmon).
        device: the I2C device (``1-0040``).
        channel: the driver's channel number (1-based on hwmon, 0-based on IIO).
        files: the files read: (voltage mV, current mA) for ``ina3221``, (power,) otherwise.
        divisor: the file value (the product of both for two files) divided by it is watts.
        update_interval_s: how often the chip updates the value, seconds; ``None`` when not stated.
        samples: the averaging count, when stated.
        directory: the hwmon or IIO directory.
    """

    rail: str
    label: str
    driver: str
    device: str
    channel: int
    files: tuple[Path, ...]
    divisor: int
    update_interval_s: float | None
    samples: int | None
    directory: Path


@dataclass
class _Found:
    channels: list[JetsonChannel] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _optional_int(path: Path) -> int | None:
    text = try_read_text(path)
    if not text:
        return None
    match = re.match(r"-?\d+", text)
    return int(match.group(0)) if match else None


def _period_s(path: Path, root: Path) -> float | None:
    """An update period file in ms, as seconds; ``None`` when absent or 0.

    Raises:
        SensorReadError: a negative period (a read fault, not a setting).
    """
    value = _optional_int(path)
    if value is not None and value < 0:
        raise SensorReadError(f"{display_path(path, root)} reads {value} ms: an update period cannot be negative")
    return value / 1e3 if value else None


def _hwmon_dirs(root: Path, driver: str) -> list[Path]:
    """hwmon directories of ``driver`` (by its ``name`` file), deduplicated by real path, sorted."""
    candidates = list((root / "sys/bus/i2c/drivers" / driver).glob("*/hwmon/hwmon*"))
    candidates += [path.parent for path in (root / "sys/class/hwmon").glob("hwmon*/name")]
    seen: dict[Path, Path] = {}
    for directory in candidates:
        if try_read_text(directory / "name") != driver:
            continue
        try:
            real = directory.resolve()
        except OSError:
            continue
        seen.setdefault(real, directory)
    return [seen[key] for key in sorted(seen, key=lambda p: _device_of(p))]


def _device_of(hwmon_dir: Path) -> str:
    """The I2C device name (``1-0040``) of a hwmon directory ``.../<dev>/hwmon/hwmon<K>``."""
    try:
        return hwmon_dir.resolve().parent.parent.name
    except OSError:
        return hwmon_dir.name


def _ina3221_hwmon(root: Path, found: _Found) -> None:
    for directory in _hwmon_dirs(root, "ina3221"):
        device = _device_of(directory)
        interval_s = _period_s(directory / "update_interval", root)
        samples = _optional_int(directory / "samples")
        for number in range(1, 4):
            volt, curr = directory / f"in{number}_input", directory / f"curr{number}_input"
            label = try_read_text(directory / f"in{number}_label")
            where = f"{device} channel {number}"
            if not volt.exists() or not curr.exists():
                continue
            if label is None:
                label = f"in{number}"
            if label.upper() == "NC":
                found.skipped.append(f"{where}: labelled NC")
                continue
            if label.lower().startswith("sum"):
                found.skipped.append(f"{where}: summing channel")
                continue
            if _optional_int(directory / f"in{number}_enable") == 0:
                found.skipped.append(f"{where} ({label}): disabled (in{number}_enable = 0)")
                continue
            found.channels.append(
                JetsonChannel(
                    rail=label,
                    label=label,
                    driver="ina3221",
                    device=device,
                    channel=number,
                    files=(volt, curr),
                    divisor=1_000_000,
                    update_interval_s=interval_s,
                    samples=samples,
                    directory=directory,
                )
            )


def _ina3221x_iio(root: Path, found: _Found) -> None:
    for directory in sorted((root / "sys/bus/i2c/drivers/ina3221x").glob("*/iio:device*")):
        device = directory.parent.name
        for number in range(3):
            power = directory / f"in_power{number}_input"
            label = try_read_text(directory / f"rail_name_{number}")
            if not power.exists():
                continue
            label = label or f"power{number}"
            if label.upper() == "NC":
                found.skipped.append(f"{device} channel {number}: labelled NC")
                continue
            delay_s = _period_s(directory / f"polling_delay_{number}", root)
            found.channels.append(
                JetsonChannel(
                    rail=label,
                    label=label,
                    driver="ina3221x",
                    device=device,
                    channel=number,
                    files=(power,),
                    divisor=1_000,
                    update_interval_s=delay_s,
                    samples=None,
                    directory=directory,
                )
            )


def _ina238_hwmon(root: Path, found: _Found) -> None:
    dirs = _hwmon_dirs(root, "ina238")
    for directory in dirs:
        device = _device_of(directory)
        power = directory / "power1_input"
        if not power.exists():
            found.skipped.append(f"{device} (ina238): no power1_input")
            continue
        interval_s = _period_s(directory / "update_interval", root)
        label = try_read_text(directory / "power1_label") or "VIN"
        found.channels.append(
            JetsonChannel(
                rail=label if len(dirs) == 1 else f"{label}@{device}",
                label=label,
                driver="ina238",
                device=device,
                channel=1,
                files=(power,),
                divisor=1_000_000,
                update_interval_s=interval_s,
                samples=None,
                directory=directory,
            )
        )


def find_jetson_channels(root: Path = Path("/")) -> tuple[list[JetsonChannel], list[str]]:
    """Every usable rail under ``root``, and a note for every channel skipped.

    Returns:
        (channels, skipped): rails with unique names, and one line per skipped channel.
    """
    found = _Found()
    _ina3221_hwmon(root, found)
    _ina3221x_iio(root, found)
    _ina238_hwmon(root, found)
    channels = found.channels
    for suffix in (lambda c: c.device, lambda c: f"{c.device}/{c.directory.name}"):
        counts: dict[str, int] = {}
        for channel in channels:
            counts[channel.rail] = counts.get(channel.rail, 0) + 1
        channels = [
            JetsonChannel(**{**channel.__dict__, "rail": f"{channel.label}@{suffix(channel)}"})
            if counts[channel.rail] > 1
            else channel
            for channel in channels
        ]
    return channels, found.skipped


def identify_model(labels: Sequence[str], dt_model: str | None = None) -> JetsonModel | None:
    """The known module whose rails these are: by the device-tree model when given, else by labels.

    Xavier NX and Orin NX / Orin Nano carry the same labels (and the same total); without a
    device-tree model they are reported together.
    """
    present = set(labels)
    if dt_model:
        lowered = dt_model.lower()
        if any(pattern in lowered for pattern in THOR.dt_patterns):
            return THOR
        for model in JETSON_MODELS:
            if any(pattern in lowered for pattern in model.dt_patterns) and model.labels <= present:
                return model
    if THOR.labels <= present:
        return THOR
    for model in JETSON_MODELS:
        if model.labels <= present:
            if model.key == "orin_nx" and not dt_model:
                return JetsonModel(model.key, _XNX_OR_ONX, model.labels, model.total, model.dt_patterns)
            return model
    return None


class JetsonSensor(Sensor):
    """Jetson power rails in watts (INA3221 hwmon or IIO, INA238).

    Example:
        >>> sensor = JetsonSensor()                    # doctest: +SKIP
        >>> sensor.rails, sensor.total_rails           # doctest: +SKIP
        (('VDD_GPU_SOC', 'VDD_CPU_CV', 'VIN_SYS_5V0', 'VDDQ_VDD2_1V8AO'), ('VDD_GPU_SOC', 'VDD_CPU_CV', 'VIN_SYS_5V0'))
    """

    name = "jetson"
    kind = SensorKind.POWER

    def __init__(
        self,
        root: Path = Path("/"),
        rails: Sequence[str] | None = None,
        total_rails: Sequence[str] | None = None,
        filter_kind: str = "box",
        iio_window_s: float = IIO_DEFAULT_WINDOW_S,
    ) -> None:
        """Find the rails under ``root``.

        Args:
            root: the directory that replaces ``/``.
            rails: labels of the rails to read (default: every usable rail).
            total_rails: the rails whose sum is the board total (default: the known module's set; for
                an unknown board, its input rail when one is recognisable, else every rail).
            filter_kind: ``box`` (default) or ``ema``: how a reading relates to the true power, with the
                update interval as window or time constant.
            iio_window_s: the window assumed for IIO rails that state no ``polling_delay``, seconds.

        Raises:
            SensorUnavailable: no INA3221/INA238 rail under ``root``, or an unknown rail requested.
            ValueError: an unknown ``filter_kind``.
        """
        if filter_kind not in ("box", "ema"):
            raise ValueError(f"filter_kind must be 'box' or 'ema', got {filter_kind!r}")
        self.root = root
        channels, self.skipped = find_jetson_channels(root)
        if not channels:
            raise SensorUnavailable(
                "no INA3221 or INA238 rail under "
                f"{display_path(root / 'sys/bus/i2c/drivers', root)}/ina3221*/ or "
                f"{display_path(root / 'sys/class/hwmon', root)}"
                + (f" ({'; '.join(self.skipped)})" if self.skipped else "")
            )
        self.dt_model = device_tree_model(root)
        self.model = identify_model([channel.label for channel in channels], self.dt_model)
        if any(channel.driver == "ina238" for channel in channels) and (self.model is None or self.model.key == "thor"):
            self.model = THOR
        channels = select_rails(channels, rails, "Jetson rail(s)")
        self.channels: tuple[JetsonChannel, ...] = tuple(channels)
        self.rails = tuple(channel.rail for channel in channels)
        self.total_rails, self.total_note = self._choose_total(total_rails)
        intervals = [c.update_interval_s for c in channels if c.update_interval_s is not None]
        if any(c.driver == "ina3221x" and c.update_interval_s is None for c in channels):
            intervals.append(iio_window_s)
        self.update_period_s = max(intervals) if intervals else None
        self.filter_model = FilterModel(filter_kind, self.update_period_s or 0.0)
        self._plan = tuple((channel.files, channel.divisor) for channel in channels)
        self.running_mode = {
            channel.device: _optional_int(channel.directory / "running_mode")
            for channel in channels
            if channel.driver == "ina3221x"
        }

    def _choose_total(self, total_rails: Sequence[str] | None) -> tuple[tuple[str, ...], str]:
        if total_rails is not None:
            unknown = [rail for rail in total_rails if rail not in self.rails]
            if unknown:
                raise SensorUnavailable(f"total rail(s) {', '.join(unknown)} are not among the rails {self.rails}")
            return tuple(total_rails), "chosen by the caller"
        if self.model is not None and self.model.key == "thor":
            vin = tuple(c.rail for c in self.channels if c.driver == "ina238")
            if vin:
                return vin, "AGX Thor: the carrier's INA238 input"
            if all(rail in self.rails for rail in THOR.total):
                return THOR.total, (
                    "AGX Thor without an INA238: the sum of the module's input rails " + " + ".join(THOR.total)
                )
        if self.model is not None and self.model.total:
            model, default = self.model.display, " + ".join(self.model.total)
            if all(rail in self.rails for rail in self.model.total):
                return self.model.total, f"{model} default"
            part = tuple(rail for rail in self.rails if rail in self.model.total)
            if part:
                return part, f"the chosen rails inside the {model} total ({default})"
            return self.rails, f"the chosen rails; the {model} total ({default}) is not among them"
        inputs = tuple(rail for rail in self.rails if rail in BOARD_INPUT_RAILS)
        if len(inputs) == 1:
            return inputs, "the board input rail"
        return self.rails, "unknown board: the sum of every rail, which may double count (choose total_rails)"

    def read(self) -> Reading:
        """Read every rail (V and I separately on hwmon); watts at the midpoint of the reads."""
        root = self.root
        t0 = now_ns()
        values = []
        for files, divisor in self._plan:
            product = 1
            for path in files:
                product *= read_int(path, root)
            values.append(product / divisor)
        t1 = now_ns()
        for (files, _), value in zip(self._plan, values, strict=True):
            check_reading(value, -RAIL_NOISE_W, RAIL_MAX_W, " × ".join(display_path(p, root) for p in files))
        return Reading(t_ns=(t0 + t1) // 2, values=tuple(values))

    def details(self) -> dict[str, Any]:
        """Module, total choice, and per-rail driver, device, files and update interval."""
        return {
            "model": self.model.display if self.model else "unknown",
            "device_tree_model": self.dt_model,
            "total_note": self.total_note,
            "channels": [
                {
                    "rail": c.rail,
                    "driver": c.driver,
                    "device": c.device,
                    "channel": c.channel,
                    "files": [display_path(path, self.root) for path in c.files],
                    "update_interval_s": c.update_interval_s,
                    "samples": c.samples,
                }
                for c in self.channels
            ],
            "skipped": list(self.skipped),
            **({"running_mode": self.running_mode} if self.running_mode else {}),
        }
