"""Sampler benchmark: achieved rate, poll-interval jitter and CPU use at 1 kHz.

Three cases, each sampled for ``--duration-s`` seconds with a 1 ms poll period:

(a) a :class:`~synergy.sensors.scripted.ScriptedSensor` (an in-memory RAPL-like counter, 1 ms updates);
(b) a RAPL powercap tree laid out as the kernel does (``sys/class/powercap/intel-rapl:0/energy_uj`` ...)
    in a temporary directory, whose counter a separate writer process advances every 1 ms (wrapping at
    ``max_energy_range_uj``), read through real files by ``synergy.sensors.rapl.RaplSensor(root=...)``
    when that backend is installed, else by a minimal file reader defined here (the report says which);
(c) the scripted sensor again while the main thread runs pure Python (it holds the interpreter lock, so
    the sampling thread waits up to ``sys.getswitchinterval()`` for its turn).

Usage::

    python benchmarks/sampler_rate.py [--duration-s 5] [--rate-hz 1000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from synergy.clock import now_ns
from synergy.errors import SensorReadError
from synergy.sampling import Sampler
from synergy.sensors.base import FilterModel, Reading, Sensor, SensorKind
from synergy.sensors.scripted import CounterUnwrapper, ScriptedSensor

MAX_RANGE_UJ = 262_143_328_850

WRITER = r"""
import os, sys, time
path, power_w, period_s, max_uj = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
tmp = path + ".tmp"
t0 = time.monotonic()
k = 0
while True:
    # Like the hardware: the counter holds the energy up to the last update tick, whenever we get to run.
    k_now = int((time.monotonic() - t0) / period_s)
    if k_now != k:
        k = k_now
        with open(tmp, "w") as f:
            f.write(f"{int(power_w * k * period_s * 1e6) % max_uj}\n")
        os.replace(tmp, path)
    delay = (k + 1) * period_s - (time.monotonic() - t0)
    if delay > 0:
        time.sleep(delay)
"""


def build_powercap(root: Path) -> Path:
    """A one-package powercap tree as the kernel lays it out; returns the ``energy_uj`` path."""
    zone = root / "sys" / "devices" / "virtual" / "powercap" / "intel-rapl" / "intel-rapl:0"
    zone.mkdir(parents=True)
    (zone / "name").write_text("package-0\n")
    (zone / "energy_uj").write_text("0\n")
    (zone / "max_energy_range_uj").write_text(f"{MAX_RANGE_UJ}\n")
    (zone / "constraint_0_time_window_us").write_text("976\n")
    link_dir = root / "sys" / "class" / "powercap"
    link_dir.mkdir(parents=True)
    (link_dir / "intel-rapl:0").symlink_to(Path("../../devices/virtual/powercap/intel-rapl/intel-rapl:0"))
    (link_dir / "intel-rapl").symlink_to(Path("../../devices/virtual/powercap/intel-rapl"))
    return zone / "energy_uj"


class FileCounter(Sensor):
    """Minimal reader of one ``energy_uj`` file (used only when the RAPL backend is not installed)."""

    name = "rapl-file"
    kind = SensorKind.ENERGY
    rails = ("package-0",)
    update_period_s = 976e-6
    filter_model = FilterModel("counter")

    def __init__(self, path: Path, max_range_uj: int) -> None:
        self.path = path
        self._unwrap = CounterUnwrapper(max_range_uj / 1e6)

    def read(self) -> Reading:
        t0 = now_ns()
        try:
            with open(self.path, "rb") as f:
                text = f.read()
            value = int(text) / 1e6
        except (OSError, ValueError) as exc:
            raise SensorReadError(f"{self.path}: {exc}") from exc
        t1 = now_ns()
        return Reading((t0 + t1) // 2, (self._unwrap.update(value),))


def file_sensor(root: Path, energy_path: Path) -> tuple[Sensor, str]:
    """``RaplSensor(root=...)`` when the backend is importable, else :class:`FileCounter`."""
    try:
        from synergy.sensors.rapl import RaplSensor  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return FileCounter(energy_path, MAX_RANGE_UJ), "FileCounter (synergy.sensors.rapl not installed)"
    sensor: Sensor = RaplSensor(root=root)
    return sensor, "synergy.sensors.rapl.RaplSensor"


def spin_python(duration_s: float) -> None:
    """Keep this thread busy in pure Python (holding the interpreter lock) for ``duration_s``."""
    end = time.monotonic() + duration_s
    x = 0
    while time.monotonic() < end:
        for i in range(1000):
            x += i


def run_one(sensor: Sensor, duration_s: float, rate_hz: float, *, busy_main: bool = False) -> dict[str, Any]:
    """Sample ``sensor`` for ``duration_s`` at ``rate_hz`` while this thread sleeps (or spins in Python)."""
    cpu0 = time.process_time()
    sampler = Sampler(sensor, poll_period_s=1.0 / rate_hz, max_rate_hz=rate_hz)
    with sampler:
        if busy_main:
            spin_python(duration_s)
        else:
            time.sleep(duration_s)
    process_cpu_s = time.process_time() - cpu0
    result = sampler.result
    assert result is not None
    report = result.channels[sensor.name]
    timeline = result.timeline(sensor.name)
    lo, hi = timeline.coverage_ns
    return {
        "target_rate_hz": rate_hz,
        "achieved_rate_hz": report.achieved_rate_hz,
        "polls": report.n_polls,
        "rows_stored": report.n_stored,
        "late_polls": report.n_late,
        "read_errors": report.n_errors,
        "interval_p50_ms": (report.interval_p50_s or 0) * 1e3,
        "interval_p99_ms": (report.interval_p99_s or 0) * 1e3,
        "interval_max_ms": (report.interval_max_s or 0) * 1e3,
        "sampler_thread_cpu_s": result.cpu_s,
        "sampler_thread_cpu_percent": 100 * result.cpu_fraction,
        "cpu_us_per_poll": 1e6 * result.cpu_s / max(report.n_polls, 1),
        "process_cpu_percent": 100 * process_cpu_s / result.wall_s,
        "mean_power_w": timeline.mean_power_w(lo, hi),
        "end_reason": report.end_reason,
    }


def main(argv: list[str] | None = None) -> int:
    """Run both cases and print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration-s", type=float, default=5.0, help="sampling time per case (default 5)")
    parser.add_argument("--rate-hz", type=float, default=1000.0, help="poll rate (default 1000)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    results: dict[str, dict[str, Any]] = {}
    scripted = ScriptedSensor(lambda t: 20.0 + 10.0 * ((t % 0.2) < 0.1), update_period_s=0.001, resolution_j=1e-6)
    results["scripted"] = run_one(scripted, args.duration_s, args.rate_hz)
    busy = ScriptedSensor(lambda t: 20.0 + 10.0 * ((t % 0.2) < 0.1), update_period_s=0.001, resolution_j=1e-6)
    results["scripted+busy-main"] = run_one(busy, args.duration_s, args.rate_hz, busy_main=True)

    with tempfile.TemporaryDirectory(prefix="synergy-bench-") as tmp:
        root = Path(tmp)
        energy_path = build_powercap(root)
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(energy_path), "15.0", "0.001", str(MAX_RANGE_UJ)],
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.2)
            sensor, reader = file_sensor(root, energy_path)
            results["powercap-files"] = run_one(sensor, args.duration_s, args.rate_hz)
            results["powercap-files"]["reader"] = reader
        finally:
            writer.terminate()
            writer.wait(5)

    meta = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "duration_s": args.duration_s,
    }
    if args.json:
        print(json.dumps({"metadata": meta, "results": results}, indent=2))
        return 0
    print(f"sampler benchmark: {args.duration_s:g} s per case at {args.rate_hz:g} Hz ({meta})")
    keys = [k for k in results["scripted"] if k != "end_reason"]
    cases = ("scripted", "powercap-files", "scripted+busy-main")
    width = max(len(k) for k in keys)
    print(f"{'':{width}}  " + "  ".join(f"{case:>18}" for case in cases))
    for key in keys:
        row = [results[case][key] for case in cases]
        cells = [f"{v:18.3f}" if isinstance(v, float) else f"{v!s:>18}" for v in row]
        print(f"{key:{width}}  {'  '.join(cells)}")
    print(f"interpreter switch interval: {sys.getswitchinterval() * 1e3:g} ms")
    print(f"powercap reader: {results['powercap-files']['reader']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
