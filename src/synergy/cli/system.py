"""``synergy system [--sysfs-root DIR] [--format table|json] [--interval S]``: the state that matters.

Shows governors, frequencies, turbo, SMT, power mode, GPU clocks, temperatures, load and the processes that
used the CPU recently, the context channels a measurement would sample beside power, and the exact commands
that would fix each problem. It only reads; it never changes the system. Exit 0 (it is informative).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synergy.cli.common import add_format_option, render_frame
from synergy.errors import ChannelReadError, UsageError

if TYPE_CHECKING:
    from synergy.context import SystemContext
    from synergy.context.base import ChannelSet

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``system`` subcommand."""
    parser = subparsers.add_parser(
        "system",
        help="show the machine state that matters for measuring (clocks, governors, temperatures, load)",
        description="Show the state that matters for an energy measurement: CPU governors and frequencies, "
        "turbo, SMT, Jetson power mode and clocks, NVIDIA GPU clocks, temperatures, load and the processes "
        "using the CPU; and print the exact commands that would fix each problem. Nothing is changed.",
    )
    parser.add_argument(
        "--sysfs-root",
        type=Path,
        default=None,
        metavar="DIR",
        help="read sys/, proc/, etc/ and var/ under DIR instead of / (a copied or fake tree); NVML is not used",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=0.5,
        metavar="S",
        help="seconds to watch CPU use by other processes (default: %(default)s; 0 skips it)",
    )
    add_format_option(parser, ("table", "json"))
    parser.set_defaults(func=_run)


#: The longest ``--interval`` (a watch of other processes' CPU use longer than this is a typo, not a check).
_MAX_INTERVAL_S = 60.0


def _run(args: argparse.Namespace) -> int:
    from synergy.context import check_system, collect_context, discover_channels, format_findings

    root: Path = args.sysfs_root or Path("/")
    if args.sysfs_root is not None and not root.is_dir():
        raise UsageError(f"--sysfs-root {root} is not a folder; give the root of a copied or fake tree")
    if not 0 <= args.interval <= _MAX_INTERVAL_S:  # NaN fails too
        raise UsageError(f"--interval {args.interval:g} is out of range: give seconds from 0 to {_MAX_INTERVAL_S:g}")
    real = args.sysfs_root is None
    channels = discover_channels(root, use_nvml=real)
    try:
        context = collect_context(root, use_nvml=real, top_interval_s=args.interval)
        load = _machine_load(channels) if args.interval > 0 else {}
        findings = check_system(context)
        if args.format == "json":
            payload = {
                "context": context.to_dict(),
                "cpu_util": load,
                "channels": channels.describe(),
                "findings": [f.to_dict() for f in findings],
            }
            sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(render_context(context, channels, load))
            lines = format_findings(findings)
            sys.stdout.write("\n".join(lines) + "\n" if lines else "no problem found: the state is fit to measure\n")
            sys.stdout.write("synergy system only reads; run the commands above yourself to change the system\n")
    finally:
        channels.close()
    return 0


def _machine_load(channels: ChannelSet) -> dict[str, float]:
    """Utilisation per rail since the channels were built (the top-process interval), NaN rails left out."""
    channel = channels.get("cpu_util")
    if channel is None:
        return {}
    try:
        reading = channel.read()
    except ChannelReadError:
        return {}
    return {rail: v for rail, v in zip(channel.rails, reading.values, strict=True) if not math.isnan(v)}


def _ghz(hz: float | None) -> str:
    return "-" if hz is None else f"{hz / 1e9:.3f}"


def _text(value: object) -> str:
    return "-" if value is None or value == "" else str(value)


def _rpi_line(rpi: dict[str, Any]) -> str:
    """``Raspberry Pi firmware: ARM 2.4 GHz; get_throttled 0x0: none now, none since boot``."""
    throttled = rpi.get("throttled")
    if throttled is None:
        state = "get_throttled unreadable"
    else:
        now = ", ".join(throttled["now"]).replace("_", " ") or "none"
        since = ", ".join(throttled["since_boot"]).replace("_", " ") or "none"
        state = f"get_throttled {rpi['throttled_mask']}: {now} now, {since} since boot"
    return f"Raspberry Pi firmware: ARM {_ghz(rpi.get('arm_freq_hz'))} GHz; {state}"


def render_context(context: SystemContext, channels: ChannelSet, load: dict[str, float] | None = None) -> str:
    """The human-readable report of ``synergy system`` (without the findings)."""
    import pandas as pd

    out: list[str] = []
    online = context.cpus_online
    cpus = f"{len(online)} online ({online[0]}-{online[-1]})" if online else "unknown"
    out.append(f"root: {context.root}")
    out.append(f"CPU: {_text(context.cpu_model)}, {cpus}; kernel {_text(context.kernel)}")
    if context.board or context.l4t:
        out.append(f"board: {_text(context.board)}; L4T: {_text(context.l4t)}")
    smt = context.smt
    out.append(f"SMT: {_text(smt.control)}" + ("" if smt.active is None else f" (active: {smt.active})"))
    boost = context.boost
    if boost.enabled is None:
        out.append("turbo/boost: not exposed (no intel_pstate/no_turbo or cpufreq/boost)")
    else:
        out.append(f"turbo/boost: {'enabled' if boost.enabled else 'disabled'} ({boost.path})")
    if context.power_mode is not None:
        mode = context.power_mode
        how = "from var/lib/nvpmodel/status" if mode.source == "status" else "no status file: the default mode"
        modes = ", ".join(f"{k}={v}" for k, v in sorted(mode.modes.items()))
        out.append(f"Jetson power mode: {_text(mode.id)} {_text(mode.name)} ({how}); modes: {modes}")
    out.append("")
    if context.policies:
        frame = pd.DataFrame(
            [
                {
                    "policy": p.name,
                    "cpus": ",".join(str(c) for c in p.cpus),
                    "driver": _text(p.driver),
                    "governor": _text(p.governor),
                    "fixed": p.fixed,
                    "cur_ghz": _ghz(p.cur_hz),
                    "min_ghz": _ghz(p.min_hz),
                    "max_ghz": _ghz(p.max_hz),
                    "hw_max_ghz": _ghz(p.hw_max_hz),
                }
                for p in context.policies
            ]
        )
        out.append(render_frame(frame, title="CPU frequency (cpufreq policies)"))
    else:
        out.append("CPU frequency: no cpufreq under sys/devices/system/cpu (no frequency scaling exposed here)")
    if context.devfreq:
        frame = pd.DataFrame(
            [
                {
                    "device": d.name,
                    "kind": d.kind,
                    "governor": _text(d.governor),
                    "locked": d.locked,
                    "cur_ghz": _ghz(d.cur_hz),
                    "min_ghz": _ghz(d.min_hz),
                    "max_ghz": _ghz(d.max_hz),
                }
                for d in context.devfreq
            ]
        )
        out.append(render_frame(frame, title="devices (devfreq)"))
    if context.emc:
        util = context.emc.get("emc_util")
        busy = "" if util is None else f", {util:.0%} busy (mc_all)"
        out.append(f"EMC (memory) clock: {_ghz(context.emc.get('emc_freq_hz'))} GHz{busy} from {context.emc['source']}")
    if context.rpi is not None:
        out.append(_rpi_line(context.rpi))
    for gpu in context.nvml_gpus:
        reasons = ", ".join(gpu["throttle_reasons"]) or "none"
        out.append(
            f"GPU {gpu['index']} {_text(gpu['name'])}: SM {_ghz(gpu['sm_clock_hz'])} GHz (max "
            f"{_ghz(gpu['sm_clock_max_hz'])}), memory {_ghz(gpu['mem_clock_hz'])} GHz, {_text(gpu['temp_c'])} °C, "
            f"clock-event reasons: {reasons}"
        )
    if context.thermal_zones:
        frame = pd.DataFrame(
            [
                {
                    "zone": z.index,
                    "type": z.type,
                    "temp_c": "offline" if z.temp_c is None else f"{z.temp_c:.1f}",
                    "limit_c": "-" if z.limit_c is None else f"{z.limit_c:.1f}",
                    "trips": " ".join(f"{t.type}@{t.temp_c:g}" for t in z.trips) or "-",
                }
                for z in context.thermal_zones
            ]
        )
        out.append(render_frame(frame, title="temperatures (thermal zones)"))
    else:
        out.append("temperatures: no thermal zone under sys/class/thermal")
    if context.loadavg is not None:
        one, five, fifteen = context.loadavg
        out.append(f"load average: {one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min)")
    if load:
        cores = ", ".join(f"{rail.removesuffix('_util')} {v:.0%}" for rail, v in load.items() if rail[3:4].isdigit())
        own = f"; this command {load['self_cpu_util']:.0%}" if "self_cpu_util" in load else ""
        out.append(f"CPU busy over {context.top_interval_s:g} s: {load['cpu_util']:.0%} ({cores}){own}")
    if context.top_interval_s > 0:
        if context.top_processes:
            frame = pd.DataFrame(
                [{"pid": str(p.pid), "name": p.name, "busy_cores": p.busy_cores} for p in context.top_processes]
            )
            out.append(render_frame(frame, title="other processes' CPU use"))
        else:
            out.append(f"no other process used the CPU over {context.top_interval_s:g} s")
    out.append("")
    out.append("channels sampled beside power:")
    for channel in channels:
        rails = ", ".join(channel.rails[:4]) + (f", … ({len(channel.rails)} rails)" if len(channel.rails) > 4 else "")
        out.append(f"  {channel.name}: {rails}")
    if not len(channels):
        out.append("  none")
    for note in channels.notes:
        out.append(f"  note: {note}")
    out.append("")
    return "\n".join(out) + "\n"
