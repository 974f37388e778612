"""Monitor benchmark: what one window costs the measured code, and the error of windows at a known power.

A fake RAPL package draws a constant power, its counter advanced every millisecond by another process.
A :class:`synergy.Monitor` samples it; the benchmark times ``--windows`` empty windows back to back (the
cost a loop pays: the two marks) and, separately, resolves windows of several lengths and reports their
energy against power × time, with the error bound each window states.

Usage::

    python benchmarks/monitor_overhead.py [--windows 20000] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from synergy.monitor import Monitor
from synergy.testing.sysfs import Constant, SysfsWriter, build_rapl

WATTS = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=20_000, help="empty windows timed back to back")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args()
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    report: dict[str, Any] = {"windows": args.windows, "watts": WATTS, "lengths": []}
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        tree = build_rapl(Path(tmp), subzones=())
        with (
            SysfsWriter(tree, {"package-0": Constant(WATTS)}, default=Constant(0.0), mode="process"),
            Monitor("rapl", sysfs_root=tmp, idle_s=0.0) as monitor,
        ):
            t0 = time.perf_counter()
            for _ in range(args.windows):
                with monitor.window("empty"):
                    pass
            per_window_s = (time.perf_counter() - t0) / args.windows
            t0 = time.perf_counter()
            for _ in range(args.windows):
                monitor.begin_window("bare")
                monitor.end_window("bare")
            bare_s = (time.perf_counter() - t0) / args.windows
            for length_s in (0.0005, 0.002, 0.02, 0.2, 1.0):
                with monitor.window(f"{length_s}") as w:
                    time.sleep(length_s)
                expected = WATTS * w.duration_s
                report["lengths"].append(
                    {
                        "duration_s": w.duration_s,
                        "energy_j": w.energy_j,
                        "expected_j": expected,
                        "relative_error": (w.energy_j - expected) / expected,
                        "stated_error_j": w.energy_error_j,
                        "flags": list(w.flags),
                    }
                )
    report["with_window_s"] = per_window_s
    report["begin_end_s"] = bare_s
    report["budget_s"] = 50e-6
    report["with_window_over_budget"] = per_window_s / 50e-6
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"with monitor.window(): {per_window_s * 1e6:.1f} µs per window ({per_window_s / 50e-6:.2f} of 50 µs)")
    print(f"begin_window + end_window: {bare_s * 1e6:.1f} µs per window")
    for row in report["lengths"]:
        print(
            f"{row['duration_s'] * 1e3:9.3f} ms: {row['energy_j'] * 1e3:10.4f} mJ "
            f"vs {row['expected_j'] * 1e3:10.4f} mJ "
            f"({100 * row['relative_error']:+.2f} %), stated ±{row['stated_error_j'] * 1e3:.4f} mJ {row['flags']}"
        )


if __name__ == "__main__":
    main()
