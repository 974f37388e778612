"""Fake trees laid out as the kernel lays them out: RAPL, Jetson (INA3221 hwmon and IIO, INA238), AMD GPUs,
batteries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from synergy.testing.sysfs.drivers import (
    CounterDriver,
    Driver,
    FakeTree,
    Ina3221Driver,
    PowerFileDriver,
    VoltCurrDriver,
)
from synergy.testing.sysfs.files import _hwmon_dir, _link, _put, _uevent

#: Wrap values seen on real machines, µJ.
PACKAGE_MAX_ENERGY_RANGE_UJ = 262_143_328_850
DRAM_MAX_ENERGY_RANGE_UJ = 65_712_999_613


def _rapl_zone(
    directory: Path, name: str, max_range_uj: int, initial_uj: int, energy_mode: int, constraints: bool
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    _put(directory / "name", name)
    _put(directory / "energy_uj", initial_uj, energy_mode)
    _put(directory / "max_energy_range_uj", max_range_uj)
    _put(directory / "enabled", 1, 0o644)
    _uevent(directory)
    if constraints:
        for index, (cname, limit_uw, window_us) in enumerate(
            (("long_term", 65_000_000, 27_983_872), ("short_term", 90_000_000, 976))
        ):
            _put(directory / f"constraint_{index}_name", cname)
            _put(directory / f"constraint_{index}_power_limit_uw", limit_uw, 0o644)
            _put(directory / f"constraint_{index}_time_window_us", window_us, 0o644)
            _put(directory / f"constraint_{index}_max_power_uw", 125_000_000)
    else:
        _put(directory / "constraint_0_name", "long_term")
        _put(directory / "constraint_0_power_limit_uw", 0, 0o644)
        _put(directory / "constraint_0_time_window_us", 976, 0o644)


def build_rapl(
    root: Path,
    *,
    packages: int = 1,
    subzones: Iterable[str] = ("core", "uncore", "dram"),
    psys: bool = False,
    mmio: bool = False,
    top_level_dram: bool = False,
    energy_mode: int = 0o400,
    max_energy_range_uj: int = PACKAGE_MAX_ENERGY_RANGE_UJ,
    dram_max_energy_range_uj: int = DRAM_MAX_ENERGY_RANGE_UJ,
    initial_uj: int = 123_456_789,
) -> FakeTree:
    """A powercap tree: ``intel-rapl:<p>`` packages with sub-zones, optionally ``psys`` and MMIO.

    Args:
        root: the directory standing for ``/``.
        packages: number of ``package-<p>`` zones (0 for a psys-only machine).
        subzones: sub-zone names under each package, in order (``core``, ``uncore``, ``dram``).
        psys: add the platform zone ``psys`` (client machines) after the packages.
        mmio: add ``intel-rapl-mmio:0`` (``package-0`` through MMIO).
        top_level_dram: add a top-level ``dram`` zone (some servers) after the packages.
        energy_mode: mode of ``energy_uj`` (0o400 since Linux 5.10; 0o444 with a udev rule).
        max_energy_range_uj: wrap value of package-like zones.
        dram_max_energy_range_uj: wrap value of DRAM zones.
        initial_uj: every counter's initial value.
    """
    base = root / "sys/devices/virtual/powercap/intel-rapl"
    base.mkdir(parents=True, exist_ok=True)
    _put(base / "enabled", 1, 0o644)
    _uevent(base)
    cls = root / "sys/class/powercap"
    _link(cls / "intel-rapl", base)
    tree = FakeTree(root)
    top: list[tuple[str, str, int]] = [
        (f"package-{p}", f"intel-rapl:{p}", max_energy_range_uj) for p in range(packages)
    ]
    if top_level_dram:
        top.append(("dram", f"intel-rapl:{len(top)}", dram_max_energy_range_uj))
    if psys:
        top.append(("psys", f"intel-rapl:{len(top)}", max_energy_range_uj))
    for name, zone_id, rng in top:
        zone = base / zone_id
        _rapl_zone(zone, name, rng, initial_uj, energy_mode, constraints=name != "dram")
        _link(cls / zone_id, zone)
        tree.drivers[name] = CounterDriver(zone / "energy_uj", rng, initial_uj)
        tree.paths[zone_id] = zone
        if name.startswith("package"):
            for s, sub in enumerate(subzones):
                sub_id = f"{zone_id}:{s}"
                rng_sub = dram_max_energy_range_uj if sub == "dram" else max_energy_range_uj
                _rapl_zone(zone / sub_id, sub, rng_sub, initial_uj, energy_mode, constraints=False)
                _link(cls / sub_id, zone / sub_id)
                tree.drivers[f"{name}/{sub}"] = CounterDriver(zone / sub_id / "energy_uj", rng_sub, initial_uj)
                tree.paths[sub_id] = zone / sub_id
    if mmio:
        mbase = root / "sys/devices/virtual/powercap/intel-rapl-mmio"
        mbase.mkdir(parents=True, exist_ok=True)
        _put(mbase / "enabled", 1, 0o644)
        _link(cls / "intel-rapl-mmio", mbase)
        zone = mbase / "intel-rapl-mmio:0"
        _rapl_zone(zone, "package-0", max_energy_range_uj, initial_uj, energy_mode, constraints=True)
        _link(cls / "intel-rapl-mmio:0", zone)
        tree.drivers["mmio:package-0"] = CounterDriver(zone / "energy_uj", max_energy_range_uj, initial_uj)
        tree.paths["intel-rapl-mmio:0"] = zone
    return tree


@dataclass(frozen=True)
class JetsonBoard:
    """A Jetson module's INA3221 devices as its device tree declares them.

    Attributes:
        key: identifier (``agx_orin``).
        dt_model: ``/proc/device-tree/model`` text, when known.
        devices: ``(<bus>-<addr>, (label ch1, label ch2, label ch3))`` per INA3221; ``NC`` for unconnected.
        platform: the I2C controller's directory under ``/sys/devices/platform``.
    """

    key: str
    dt_model: str | None
    devices: tuple[tuple[str, tuple[str, str, str]], ...]
    platform: str = "bus@0/c240000.i2c"


#: Real rail label sets per module (energymon's JetsonPowerRails table, the upstream device trees,
#: and the I2C addresses users report).
JETSON_BOARDS: dict[str, JetsonBoard] = {
    "tx1": JetsonBoard(
        "tx1", "NVIDIA Jetson TX1 Developer Kit", (("1-0040", ("VDD_IN", "VDD_GPU", "VDD_CPU")),), "7000c400.i2c"
    ),
    "nano": JetsonBoard(
        "nano",
        "NVIDIA Jetson Nano Developer Kit",
        (("6-0040", ("POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU")),),
        "7000c400.i2c",
    ),
    "tx2": JetsonBoard(
        "tx2",
        "quill",
        (
            ("0-0040", ("VDD_SYS_GPU", "VDD_SYS_SOC", "VDD_4V0_WIFI")),
            ("0-0041", ("VDD_IN", "VDD_SYS_CPU", "VDD_SYS_DDR")),
        ),
        "3160000.i2c",
    ),
    "tx2_nx": JetsonBoard("tx2_nx", None, (("1-0040", ("VDD_IN", "VDD_CPU_GPU", "VDD_SOC")),), "c240000.i2c"),
    "xavier_nx": JetsonBoard(
        "xavier_nx",
        "NVIDIA Jetson Xavier NX Developer Kit",
        (("7-0040", ("VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC")),),
        "c240000.i2c",
    ),
    "agx_xavier": JetsonBoard(
        "agx_xavier",
        "Jetson-AGX",
        (("1-0040", ("GPU", "CPU", "SOC")), ("1-0041", ("CV", "VDDRQ", "SYS5V"))),
        "c240000.i2c",
    ),
    "agx_orin": JetsonBoard(
        "agx_orin",
        "NVIDIA Jetson AGX Orin Developer Kit",
        (("1-0040", ("VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0")), ("1-0041", ("NC", "VDDQ_VDD2_1V8AO", "NC"))),
    ),
    "orin_nx": JetsonBoard(
        "orin_nx",
        "NVIDIA Jetson Orin NX Engineering Reference Developer Kit",
        (("1-0040", ("VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC")),),
    ),
    "orin_nano": JetsonBoard(
        "orin_nano",
        "NVIDIA Jetson Orin Nano Developer Kit",
        (("1-0040", ("VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC")),),
    ),
    # JetPack 7 on a carrier without the INA238: the module's INA3221 and its three input rails.
    "agx_thor": JetsonBoard(
        "agx_thor",
        "NVIDIA Jetson AGX Thor Developer Kit",
        (("1-0040", ("VDD_GPU", "VDD_CPU_SOC_MSS", "VIN_SYS_5V0")),),
    ),
}


def _board(model: str | JetsonBoard) -> JetsonBoard:
    if isinstance(model, JetsonBoard):
        return model
    try:
        return JETSON_BOARDS[model]
    except KeyError:
        raise ValueError(f"unknown Jetson board {model!r}; known: {', '.join(JETSON_BOARDS)}") from None


def _i2c_device(root: Path, board: JetsonBoard, device: str, driver: str) -> Path:
    bus = device.split("-")[0]
    directory = root / "sys/devices/platform" / board.platform / f"i2c-{bus}" / device
    directory.mkdir(parents=True, exist_ok=True)
    _uevent(directory)
    _put(directory / "name", driver)
    drv = root / "sys/bus/i2c/drivers" / driver
    _link(drv / device, directory)
    _link(directory / "driver", drv)
    _link(root / "sys/bus/i2c/devices" / device, directory)
    return directory


def write_dt_model(root: Path, text: str | None, where: str = "proc") -> None:
    """Publish the board model (NUL-terminated, as the kernel does) under ``root``.

    Args:
        where: ``proc`` (``/proc/device-tree/model``), ``firmware`` (``/sys/firmware/devicetree/base/model``
            only, as in a container that does not mount ``/proc/device-tree``) or ``both``.
    """
    if text is None:
        return
    relatives: dict[str, tuple[str, ...]] = {
        "proc": ("proc/device-tree",),
        "firmware": ("sys/firmware/devicetree/base",),
    }
    relatives["both"] = relatives["proc"] + relatives["firmware"]
    for relative in relatives[where]:
        path = root / relative / "model"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode() + b"\x00")


def build_jetson_hwmon(
    root: Path,
    model: str | JetsonBoard,
    *,
    samples: int = 512,
    conversion_us: int = 140,
    voltage_v: float = 5.0,
    shunt_uohm: int = 5000,
    dt_model: bool = True,
) -> FakeTree:
    """A Jetson on L4T ≥ 34: mainline ``ina3221`` hwmon devices with the module's real labels.

    ``update_interval`` (ms) is ``C × samples × 2 × conversion_us`` with C the enabled channels, as the
    driver computes it; ``NC`` channels are disabled (``in<N>_enable`` = 0).

    Args:
        root: the directory standing for ``/``.
        model: a key of :data:`JETSON_BOARDS` or a :class:`JetsonBoard`.
        samples: the averaging count (``samples`` file).
        conversion_us: bus and shunt conversion time, µs.
        voltage_v: bus voltage of every rail.
        shunt_uohm: shunt resistors, µΩ.
        dt_model: write ``/proc/device-tree/model``.
    """
    board = _board(model)
    tree = FakeTree(root)
    for device, labels in board.devices:
        dev_dir = _i2c_device(root, board, device, "ina3221")
        directory = _hwmon_dir(root, dev_dir, "ina3221")
        tree.paths[device] = directory
        enabled = [label != "NC" for label in labels]
        interval_ms = max(1, round(sum(enabled) * samples * 2 * conversion_us / 1000))
        _put(directory / "samples", samples, 0o644)
        _put(directory / "update_interval", interval_ms, 0o644)
        for number, (label, on) in enumerate(zip(labels, enabled, strict=True), start=1):
            _put(directory / f"in{number}_label", label)
            _put(directory / f"in{number}_enable", int(on), 0o644)
            _put(directory / f"in{number}_input", round(voltage_v * 1000 / 8) * 8 if on else 0)
            _put(directory / f"in{number + 3}_input", 0)
            _put(directory / f"curr{number}_input", 0)
            _put(directory / f"curr{number}_max", 32760, 0o644)
            _put(directory / f"curr{number}_crit", 32760, 0o644)
            _put(directory / f"curr{number}_max_alarm", 0)
            _put(directory / f"curr{number}_crit_alarm", 0)
            _put(directory / f"shunt{number}_resistor", shunt_uohm, 0o644)
            if on:
                tree.drivers[label] = Ina3221Driver(
                    update_interval_s=interval_ms / 1000,
                    volt_path=directory / f"in{number}_input",
                    curr_path=directory / f"curr{number}_input",
                    voltage_v=voltage_v,
                    shunt_ohm=shunt_uohm / 1e6,
                )
        _put(directory / "in7_label", "sum of shunt voltages")
        _put(directory / "in7_input", 0)
        _put(directory / "curr4_input", 0)
        _put(directory / "curr4_crit", 65520, 0o644)
    if dt_model:
        write_dt_model(root, board.dt_model)
    return tree


def build_jetson_iio(
    root: Path,
    model: str | JetsonBoard,
    *,
    polling_delay_ms: int | None = None,
    running_mode: int = 1,
    voltage_v: float = 5.0,
    dt_model: bool = True,
) -> FakeTree:
    """A Jetson on L4T ≤ 32: NVIDIA ``ina3221x`` IIO devices with 0-based channels.

    Args:
        root: the directory standing for ``/``.
        model: a key of :data:`JETSON_BOARDS` (Nano, TX1, TX2, AGX Xavier ran L4T 32).
        polling_delay_ms: write ``polling_delay_<N>`` (some L4T 32.x) and update at that pace; else the
            driver default window (0x7727: 3 × 64 × 2.2 ms) is used as the pace.
        running_mode: 0 triggered, 1 continuous.
        voltage_v: bus voltage of every rail.
        dt_model: write ``/proc/device-tree/model``.
    """
    board = _board(model)
    tree = FakeTree(root)
    interval_s = polling_delay_ms / 1000 if polling_delay_ms else 3 * 64 * 2.2e-3
    for index, (device, labels) in enumerate(board.devices):
        dev_dir = _i2c_device(root, board, device, "ina3221x")
        directory = dev_dir / f"iio:device{index}"
        directory.mkdir(parents=True, exist_ok=True)
        _put(directory / "name", "ina3221x")
        _uevent(directory)
        _link(root / "sys/bus/iio/devices" / f"iio:device{index}", directory)
        _put(directory / "running_mode", running_mode, 0o644)
        tree.paths[device] = directory
        for number, label in enumerate(labels):
            _put(directory / f"rail_name_{number}", label)
            _put(directory / f"in_power{number}_input", 0)
            _put(directory / f"in_current{number}_input", 0)
            _put(directory / f"in_voltage{number}_input", round(voltage_v * 1000))
            _put(directory / f"in_power{number}_trigger_input", 0)
            _put(directory / f"in_current{number}_trigger_input", 0)
            _put(directory / f"crit_current_limit_{number}", "5000 ma", 0o644)
            _put(directory / f"warn_current_limit_{number}", "4000 ma", 0o644)
            _put(directory / f"ui_input_{number}", f"{round(voltage_v * 1000)} 0")
            if polling_delay_ms:
                _put(directory / f"polling_delay_{number}", f"{polling_delay_ms} ms", 0o644)
            if label != "NC":
                tree.drivers[label] = PowerFileDriver(
                    update_interval_s=interval_s,
                    path=directory / f"in_power{number}_input",
                    scale=1e3,
                    extra=((directory / f"in_current{number}_input", 1e3 / voltage_v),),
                )
    if dt_model:
        write_dt_model(root, board.dt_model)
    return tree


def build_ina238(
    root: Path,
    *,
    device: str = "2-0044",
    update_interval_ms: int | None = 1,
    voltage_v: float = 20.0,
    dt_model: str | None = "NVIDIA Jetson AGX Thor Developer Kit",
) -> FakeTree:
    """An INA238 hwmon device (AGX Thor carrier input): ``power1_input`` µW, rail ``VIN``.

    The I2C address of Thor's INA238 is not documented publicly; ``device`` is a placeholder.
    """
    board = JetsonBoard("thor", dt_model, (), "bus@0/c250000.i2c")
    dev_dir = _i2c_device(root, board, device, "ina238")
    directory = _hwmon_dir(root, dev_dir, "ina238")
    _put(directory / "in0_input", 0)
    _put(directory / "in1_input", round(voltage_v * 1000))
    _put(directory / "curr1_input", 0)
    _put(directory / "power1_input", 0)
    _put(directory / "temp1_input", 35000)
    if update_interval_ms is not None:
        _put(directory / "update_interval", update_interval_ms, 0o644)
    write_dt_model(root, dt_model)
    interval = (update_interval_ms or 1) / 1000
    driver = PowerFileDriver(
        update_interval_s=interval,
        path=directory / "power1_input",
        scale=1e6,
        extra=((directory / "curr1_input", 1e3 / voltage_v),),
    )
    return FakeTree(root, {"VIN": driver}, {device: directory})


def build_amdgpu(
    root: Path, *, card: int = 0, instant: bool = True, average: bool = True, update_interval_s: float = 1e-3
) -> FakeTree:
    """An ``amdgpu`` card: ``/sys/class/drm/card<N>/device/hwmon/hwmon<K>/power1_{input,average}`` (µW)."""
    pci = root / "sys/devices/pci0000:00/0000:00:01.1" / f"0000:0{card + 1}:00.0"
    pci.mkdir(parents=True, exist_ok=True)
    _uevent(pci)
    drm = pci / "drm" / f"card{card}"
    drm.mkdir(parents=True, exist_ok=True)
    _link(drm / "device", pci)
    _link(root / "sys/class/drm" / f"card{card}", drm)
    connector = drm / f"card{card}-DP-1"
    connector.mkdir(parents=True, exist_ok=True)
    _put(connector / "status", "disconnected")
    _link(root / "sys/class/drm" / f"card{card}-DP-1", connector)
    directory = _hwmon_dir(root, pci, "amdgpu")
    _put(directory / "power1_cap", 300_000_000, 0o644)
    drivers: dict[str, Driver] = {}
    files = [("power1_input", instant), ("power1_average", average)]
    chosen = [name for name, on in files if on]
    for name in chosen:
        _put(directory / name, 0)
    if chosen:
        drivers[f"card{card}"] = PowerFileDriver(
            update_interval_s=update_interval_s,
            path=directory / chosen[0],
            scale=1e6,
            extra=tuple((directory / name, 1e6) for name in chosen[1:]),
        )
    return FakeTree(root, drivers, {f"card{card}": directory})


def build_battery(
    root: Path,
    *,
    name: str = "BAT0",
    power_now: bool = False,
    negative_current: bool = True,
    status: str = "Discharging",
    voltage_v: float = 11.4,
    update_interval_s: float = 0.5,
    mains: bool = True,
) -> FakeTree:
    """A ``power_supply`` battery (ACPI layout) with ``power_now`` or ``voltage_now``/``current_now``.

    Args:
        root: the directory standing for ``/``.
        name: the supply's name.
        power_now: report ``power_now`` (µW) instead of voltage and current.
        negative_current: report discharge current as negative (as many drivers do).
        status: the ``status`` file.
        voltage_v: ``voltage_now``.
        update_interval_s: the fuel gauge's refresh period.
        mains: also add an ``AC`` supply of type ``Mains`` (which is not a power sensor).
    """
    acpi = root / "sys/devices/LNXSYSTM:00/LNXSYBUS:00"
    directory = acpi / "PNP0C0A:00/power_supply" / name
    directory.mkdir(parents=True, exist_ok=True)
    _uevent(directory)
    _link(root / "sys/class/power_supply" / name, directory)
    for key, value in (
        ("type", "Battery"),
        ("status", status),
        ("present", 1),
        ("technology", "Li-ion"),
        ("capacity", 80),
        ("voltage_min_design", round(voltage_v * 1e6)),
        ("voltage_now", round(voltage_v * 1e6)),
    ):
        _put(directory / key, value)
    tree = FakeTree(root, paths={name: directory})
    if power_now:
        _put(directory / "power_now", 0)
        _put(directory / "energy_now", 40_000_000)
        tree.drivers[name] = PowerFileDriver(update_interval_s=update_interval_s, path=directory / "power_now")
    else:
        _put(directory / "current_now", 0)
        _put(directory / "charge_now", 3_000_000)
        tree.drivers[name] = VoltCurrDriver(
            update_interval_s=update_interval_s,
            volt_path=directory / "voltage_now",
            curr_path=directory / "current_now",
            voltage_v=voltage_v,
            negative=negative_current,
        )
    if mains:
        ac = acpi / "ACPI0003:00/power_supply/AC"
        ac.mkdir(parents=True, exist_ok=True)
        _put(ac / "type", "Mains")
        _put(ac / "online", 0)
        _link(root / "sys/class/power_supply/AC", ac)
    return tree
