"""Start-up benchmark of the command line: ``--help`` times, and ``analyze`` against a plain FlopCounterMode script.

Reports, each as the median of ``--repeat`` fresh processes:

* ``synergy --help`` and ``synergy COMMAND --help`` for every command, seconds (target: under 0.3 s);
* ``python -c pass`` on the same interpreter, the floor every process pays;
* ``synergy analyze torchvision:NAME`` (its table) and a script that builds the same torchvision model
  and counts it under ``torch.utils.flop_counter.FlopCounterMode``, and their ratio (target: at most 1).

Usage::

    python benchmarks/cli_startup.py [--model resnet50] [--repeat 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

FLOP_SCRIPT = """
import torch, torchvision
from torch.utils.flop_counter import FlopCounterMode
model = torchvision.models.get_model({name!r}).eval()
with torch.no_grad(), FlopCounterMode(display=False) as counter:
    model(torch.randn(1, 3, 224, 224))
print(counter.get_total_flops())
"""


_CPU: dict[str, float] = {}


def _time(argv: list[str], repeat: int) -> float:
    """Median wall time of ``repeat`` runs; the median CPU time (user + system) goes to ``_CPU``."""
    times, cpu = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
        times.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    _CPU[" ".join(argv[1:])] = statistics.median(cpu)
    return statistics.median(times)


def main() -> None:
    from synergy.cli import COMMANDS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet50", help="torchvision model for the analyze comparison")
    parser.add_argument("--repeat", type=int, default=5, help="processes per figure (median)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args()
    py = sys.executable
    report: dict[str, Any] = {"python": sys.version.split()[0], "repeat": args.repeat, "help_s": {}}
    report["python_pass_s"] = _time([py, "-c", "pass"], args.repeat)
    report["help_s"]["synergy"] = _time([py, "-m", "synergy", "--help"], args.repeat)
    for command in COMMANDS:
        report["help_s"][command] = _time([py, "-m", "synergy", command, "--help"], args.repeat)
    analyze_s = _time([py, "-m", "synergy", "analyze", f"torchvision:{args.model}"], args.repeat)
    flop_s = _time([py, "-c", FLOP_SCRIPT.format(name=args.model)], args.repeat)
    report.update(
        {
            "model": args.model,
            "analyze_s": analyze_s,
            "flop_counter_s": flop_s,
            "analyze_over_flop_counter": analyze_s / flop_s,
            "slowest_help_s": max(report["help_s"].values()),
        }
    )
    report["cpu_s"] = dict(_CPU)
    report["analyze_over_flop_counter_cpu"] = (
        _CPU[f"-m synergy analyze torchvision:{args.model}"] / _CPU[f"-c {FLOP_SCRIPT.format(name=args.model)}"]
    )
    report["load_average"] = os.getloadavg()
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"load average {report['load_average'][0]:.1f}; wall and CPU seconds, median of {args.repeat}")
    print(f"{'python -c pass':<28} {report['python_pass_s']:.3f} s wall, {_CPU['-c pass']:.3f} s CPU")
    for name, seconds in report["help_s"].items():
        label = "synergy --help" if name == "synergy" else f"synergy {name} --help"
        key = "-m synergy --help" if name == "synergy" else f"-m synergy {name} --help"
        print(f"{label:<28} {seconds:.3f} s wall, {_CPU[key]:.3f} s CPU")
    print(f"synergy analyze torchvision:{args.model}: {analyze_s:.2f} s")
    print(f"FlopCounterMode script, same model: {flop_s:.2f} s")
    print(
        f"ratio analyze / FlopCounterMode: {report['analyze_over_flop_counter']:.2f} wall, "
        f"{report['analyze_over_flop_counter_cpu']:.2f} CPU"
    )


if __name__ == "__main__":
    main()
