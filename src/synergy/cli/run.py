"""``synergy run [--sensor S] [--idle-s S] [-o FILE.json] [--log FILE.csv] -- CMD ARGS...``.

Runs any command under the power sensor: the idle machine is sampled before and after it, and the
command's time, energy, mean and peak power per rail are printed and written to JSON. The command's exit
status is passed through.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from synergy.cli.sensors import add_sysfs_root_option
from synergy.errors import OutputExistsError, UsageError
from synergy.units import human

__all__ = ["FORMAT_VERSION", "register"]

#: Version of the JSON ``synergy run`` writes.
FORMAT_VERSION = 1


def register(subparsers: Any) -> None:
    """Add the ``run`` subcommand."""
    parser = subparsers.add_parser(
        "run",
        usage="synergy run [-h] [--sensor SENSOR] [--sysfs-root DIR] [--idle-s S] [--idle-after-s S] "
        "[-o FILE.json] [--log FILE.csv] [--force] [--quiet] -- CMD ARGS...",
        help="run any command under the power sensor: its time, energy, mean and peak power per rail",
        description="Sample the idle machine, run CMD with its arguments (after '--') while the sensor is "
        "sampled in the background, then sample the idle machine again. Prints and writes (JSON) the "
        "command's time, energy, mean and peak power per rail, and the energy above idle. Exits with the "
        "command's own status.",
    )
    parser.add_argument(
        "--sensor",
        default="auto",
        metavar="SENSOR",
        help="auto, none, rapl, jetson, nvml, amdgpu, power-supply or trace:FILE (default: %(default)s)",
    )
    add_sysfs_root_option(parser)
    parser.add_argument(
        "--idle-s", type=float, default=1.0, metavar="S", help="idle sampled before the command (default: 1)"
    )
    parser.add_argument(
        "--idle-after-s", type=float, default=0.5, metavar="S", help="idle sampled after it (default: 0.5)"
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=None, metavar="FILE.json", help="results (default: synergy-run-TIME.json)"
    )
    parser.add_argument("--log", type=Path, default=None, metavar="FILE.csv", help="write the power timeline")
    parser.add_argument("--force", action="store_true", help="overwrite existing --output or --log files")
    parser.add_argument("--quiet", action="store_true", help="print nothing but the command's own output")
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD ARGS", help="the command to run")
    parser.set_defaults(func=_run)


def _outputs(args: argparse.Namespace) -> tuple[Path, Path | None]:
    output: Path = args.output or Path(time.strftime("synergy-run-%Y%m%d-%H%M%S.json"))
    for path in (output, args.log):
        if path is not None and path.exists() and not args.force:
            raise OutputExistsError(f"{path} exists: choose another file or pass --force to overwrite it")
        if path is not None and not path.parent.is_dir():
            raise UsageError(f"{path.parent} is not a directory; create it or write elsewhere")
    if args.log is not None and args.log.resolve() == output.resolve():
        raise UsageError("--log and --output name the same file; give two files")
    return output, args.log


def _run(args: argparse.Namespace) -> int:
    from synergy.clock import unix_time_s
    from synergy.monitor import Monitor
    from synergy.results.jsonio import write_json

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UsageError("give the command to run after '--', e.g. synergy run -- python train.py")
    if args.idle_s < 0 or args.idle_after_s < 0:
        raise UsageError("--idle-s and --idle-after-s must be at least 0")
    output, log = _outputs(args)
    started = unix_time_s()
    with Monitor(args.sensor, sysfs_root=args.sysfs_root, idle_s=args.idle_s) as monitor:
        interrupted = False
        window = monitor.begin_window("command")
        try:
            code = subprocess.call(command)
        except FileNotFoundError:
            monitor.end_window("command")
            raise UsageError(f"command not found: {command[0]}") from None
        except PermissionError:
            monitor.end_window("command")
            raise UsageError(f"command not executable: {command[0]}") from None
        except KeyboardInterrupt:  # the command got the signal too and has ended
            interrupted, code = True, 130
        monitor.end_window("command")
        if code < 0:  # ended by a signal: the status a shell reports
            code = 128 - code
        after = None
        if args.idle_after_s > 0 and monitor.energy_unavailable is None:
            with monitor.window("idle-after") as after:
                time.sleep(args.idle_after_s)
    result = {
        "format_version": FORMAT_VERSION,
        "command": command,
        "exit_code": code,
        "interrupted": interrupted,
        "started_unix_s": started,
        "sensor": monitor.sensor.describe(),
        "energy_unavailable": monitor.energy_unavailable,
        **window.to_dict(),
        "idle_before": monitor.idle.to_dict() if monitor.idle is not None else None,
        "idle_after_w": after.power_w if after is not None else None,
    }
    result.pop("name")
    write_json(output, result)
    if log is not None and monitor.timeline is not None:
        _write_log(log, monitor.timeline, window.t0_ns, window.t1_ns or window.t0_ns)
    if not args.quiet:
        sys.stderr.write(_summary(window, monitor, after, output, log))
    return code


def _summary(window: Any, monitor: Any, after: Any, output: Path, log: Path | None) -> str:
    from synergy.cli.format import wrap_message

    lines = [f"\nsynergy run: {human(window.duration_s, 's')}"]
    if monitor.energy_unavailable is not None:
        lines.append(f", energy n/a: {monitor.energy_unavailable}\n")
        return "".join(lines) + f"results: {output}\n"
    lines.append(
        f", {human(window.energy_j, 'J')} ± {human(window.energy_error_j, 'J')}, mean {human(window.power_w, 'W')}, "
        f"peak {human(window.peak_power_w, 'W')} ({monitor.sensor.name})\n"
    )
    idle_after = f", after {human(after.power_w, 'W')}" if after is not None else ""
    lines.append(
        f"idle: before {human(window.idle_w, 'W')}{idle_after}; above idle: {human(window.dynamic_energy_j, 'J')}\n"
    )
    e = window.resolve()
    width = max(len(r) for r in e.rails_j) if e.rails_j else 4
    lines.append(f"  {'rail':<{width}}  {'energy':>10}  {'mean':>9}  {'peak':>9}\n")
    for rail, energy in e.rails_j.items():
        mean = energy / window.duration_s if window.duration_s > 0 else math.nan
        peak = e.rails_peak_w.get(rail, math.nan)
        lines.append(f"  {rail:<{width}}  {human(energy, 'J'):>10}  {human(mean, 'W'):>9}  {human(peak, 'W'):>9}\n")
    for note in window.notes:
        lines.append(wrap_message("note: ", note))
    lines.append(f"results: {output}" + (f", power timeline: {log}" if log else "") + "\n")
    return "".join(lines)


def _write_log(path: Path, timeline: Any, t0_ns: int, t1_ns: int) -> None:
    """The power timeline as CSV: seconds from the command's start, phase, power per rail and total."""
    import io

    import numpy as np

    from synergy.atomic import write_text_atomic

    power = timeline.to_power()
    c = power.t_change_ns[1:]
    values = power.values[1:]
    totals = values[:, [power.rails.index(r) for r in power.total_rails]].sum(axis=1)
    phase = np.where(c <= t0_ns, "idle-before", np.where(c <= t1_ns, "command", "idle-after"))
    buffer = io.StringIO()
    buffer.write(",".join(["t_s", "phase", *(f"{r}_w" for r in power.rails), "total_w"]) + "\n")
    for k in range(len(c)):
        cells = [f"{(int(c[k]) - t0_ns) / 1e9:.6f}", str(phase[k]), *(repr(float(v)) for v in values[k])]
        buffer.write(",".join([*cells, repr(float(totals[k]))]) + "\n")
    write_text_atomic(path, buffer.getvalue())
