"""Cost of one sensor read per backend, on fake trees driven by a writer process.

Reports, per backend, the time one ``read()`` takes (p50 and p99, µs) and the read rate it allows, and
how closely a fake RAPL counter follows the power its writer process was given over 0.5 s windows: the
reader is exact, so that error is the writer's wake-up lag on this machine (it bounds what a sampler
benchmark on fake trees can show). Run:
``python benchmarks/sensor_reads.py [--reads N]``. Numbers depend on the machine and its load; compare
backends within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from synergy.sensors.amdgpu import AmdGpuSensor
from synergy.sensors.base import Sensor
from synergy.sensors.jetson import JetsonSensor
from synergy.sensors.nvml import NvmlSensor
from synergy.sensors.power_supply import PowerSupplySensor
from synergy.sensors.rapl import RaplSensor
from synergy.sensors.rpi_pmic import RpiPmicSensor
from synergy.testing.fake_nvml import FakeGPU, FakeNVML
from synergy.testing.sysfs import (
    Constant,
    SysfsWriter,
    build_amdgpu,
    build_battery,
    build_jetson_hwmon,
    build_jetson_iio,
    build_rapl,
)
from synergy.testing.vcgencmd import build_rpi5


def read_times_us(sensor: Sensor, reads: int) -> np.ndarray:
    """Duration of each of ``reads`` back-to-back reads, µs."""
    sensor.read()
    out = np.empty(reads)
    for i in range(reads):
        t0 = time.perf_counter_ns()
        sensor.read()
        out[i] = (time.perf_counter_ns() - t0) / 1e3
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=2000)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        roots = {name: Path(tmp) / name for name in ("rapl", "orin", "nano_iio", "amdgpu", "battery", "pi5")}
        trees = {
            "rapl": build_rapl(roots["rapl"]),
            "orin": build_jetson_hwmon(roots["orin"], "agx_orin", samples=1, conversion_us=1100),
            "nano_iio": build_jetson_iio(roots["nano_iio"], "nano", polling_delay_ms=10),
            "amdgpu": build_amdgpu(roots["amdgpu"]),
            "battery": build_battery(roots["battery"]),
            "pi5": build_rpi5(roots["pi5"]),
        }
        drivers = {f"{key}:{rail}": d for key, tree in trees.items() for rail, d in tree.drivers.items()}
        power = {"rapl:package-0": Constant(10.0)}
        with SysfsWriter(drivers, power, default=Constant(2.0), mode="process"):
            sensors: dict[str, Sensor] = {
                "rapl (4 zones)": RaplSensor(roots["rapl"]),
                "jetson hwmon AGX Orin (4 rails, 8 files)": JetsonSensor(roots["orin"]),
                "jetson iio Nano (3 rails)": JetsonSensor(roots["nano_iio"]),
                "amdgpu (1 card)": AmdGpuSensor(roots["amdgpu"]),
                "power-supply (V x I)": PowerSupplySensor(roots["battery"]),
                "nvml fake (1 GPU, counter)": NvmlSensor(nvml_module=FakeNVML([FakeGPU()])),
                "rpi-pmic fake (vcgencmd, 12 rails)": RpiPmicSensor(roots["pi5"], probe_s=0),
            }
            for name, sensor in sensors.items():
                # a vcgencmd read is a process (milliseconds): fewer reads of it
                times = read_times_us(sensor, min(args.reads, 200) if sensor.name == "rpi-pmic" else args.reads)
                p50, p99 = np.percentile(times, [50, 99])
                results.append({"sensor": name, "read_p50_us": p50, "read_p99_us": p99, "max_rate_hz": 1e6 / p50})
                sensor.close()
            rapl = RaplSensor(roots["rapl"])
            time.sleep(0.2)  # let the writer catch up after the read loops
            windows = []
            for _ in range(3):
                first = rapl.read()
                time.sleep(0.5)
                second = rapl.read()
                windows.append(((second.t_ns - first.t_ns) / 1e9, second.values[0] - first.values[0]))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load}, python {platform.python_version()}, "
        f"{args.reads} reads each"
    )
    print(f"{'sensor':45s} {'p50 µs':>8s} {'p99 µs':>8s} {'max Hz':>8s}")
    for row in results:
        print(f"{row['sensor']:45s} {row['read_p50_us']:8.1f} {row['read_p99_us']:8.1f} {row['max_rate_hz']:8.0f}")
    for elapsed_s, energy_j in windows:
        print(
            f"writer pace, fake RAPL at 10 W: {energy_j:.4f} J over {elapsed_s:.4f} s = "
            f"{energy_j / elapsed_s:.3f} W ({(energy_j / elapsed_s / 10.0 - 1) * 100:+.2f} %)"
        )
    metadata = {"machine": platform.machine(), "cpus": os.cpu_count(), "load_average": os.getloadavg()}
    print(json.dumps({"format_version": 1, "metadata": metadata, "results": results}))


if __name__ == "__main__":
    main()
