"""Run ``synergy measure`` on a fake x86 machine whose CPU clock changes mid-run (the docs' example).

    PYTHONPATH=src python scripts/fake_x86_measure.py [MODEL] [--runs N] [--period-s S] [-o DIR] [--strict]

Builds, in a temporary folder, a machine laid out as the kernel lays it out (:mod:`synergy.testing.context`:
four cpufreq policies under ``intel_pstate`` with the ``powersave`` governor and turbo on, two thermal
zones, ``proc/stat``) with a RAPL package (:mod:`synergy.testing.sysfs`), then, while the measurement runs:

* the CPU clock of every core alternates between 2.4 GHz and 1.2 GHz, ``--period-s`` per cycle;
* the package draws 25 W while the clock is high and 12 W while it is low (a RAPL counter, 1 ms updates);
* the package zone warms from 48 °C by 1 °C per second.

The measurement reads all of it through ``--sysfs-root`` and prints what ``synergy measure`` prints; its
exit status is returned (1 with ``--strict``, since the clock changes).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from synergy.cli import main as synergy_main
from synergy.testing.context import ContextTree, make_x86_tree
from synergy.testing.sysfs import Constant, Square, SysfsWriter, build_rapl

HIGH_HZ, LOW_HZ = 2.4e9, 1.2e9
HIGH_W, LOW_W = 25.0, 12.0


def _drive(tree: ContextTree, phase_s: float, period_s: float, stop: threading.Event) -> None:
    """Set the clock (and the package temperature) from monotonic time, on the same phase as the power."""
    current = None
    while not stop.is_set():
        now = time.monotonic()
        high = ((now - phase_s) / period_s) % 1.0 < 0.5
        if high != current:
            tree.set_cpu_freq(HIGH_HZ if high else LOW_HZ)
            tree.set_temp("x86_pkg_temp", 48.0 + (now - phase_s))
            current = high
        time.sleep(2e-4)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", default="torchvision:resnet18")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--period-s", type=float, default=0.1, help="one high + low clock cycle (default 0.1)")
    parser.add_argument("-o", "--output", type=Path, default=Path("results/fake-x86"))
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="synergy-fake-x86-") as folder:
        root = Path(folder)
        tree = make_x86_tree(root)
        rapl = build_rapl(root, subzones=())
        phase_s = time.monotonic()
        power = Square(low_w=LOW_W, high_w=HIGH_W, period_s=args.period_s, duty=0.5, phase_s=phase_s)
        stop = threading.Event()
        clock = threading.Thread(target=_drive, args=(tree, phase_s, args.period_s, stop), daemon=True)
        with SysfsWriter(rapl, {"package-0": power}, default=Constant(0.0)):
            clock.start()
            try:
                command = ["measure", args.model, "--sensor", "rapl", "--sysfs-root", str(root)]
                command += ["--runs", str(args.runs), "--warmup", "3", "--no-counters", "-o", str(args.output)]
                return synergy_main(command + (["--strict"] if args.strict else []))
            finally:
                stop.set()
                clock.join()


if __name__ == "__main__":
    raise SystemExit(main())
