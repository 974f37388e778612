"""``synergy sensors [--sysfs-root DIR] [--format table|json] [--watch [--interval S] [--log FILE.csv]]``:
what power sensors this machine offers, once or live."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synergy.cli.common import add_format_option, render_frame
from synergy.errors import SensorError, UsageError

if TYPE_CHECKING:
    from synergy.sensors.base import Sensor

__all__ = ["add_sysfs_root_option", "register", "sysfs_root_arg"]

#: Version of the JSON this command prints.
FORMAT_VERSION = 1

#: Time between the two reads that turn an energy counter into a power, seconds.
COUNTER_WINDOW_S = 0.25


def sysfs_root_arg(text: str) -> Path:
    """argparse ``type=`` for ``--sysfs-root``: an existing directory."""
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{text} is not a directory (give the directory that stands for / in a sysfs tree, or leave it out)"
        )
    return path


def add_sysfs_root_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--sysfs-root DIR`` to a subcommand."""
    parser.add_argument(
        "--sysfs-root",
        type=sysfs_root_arg,
        default=Path("/"),
        metavar="DIR",
        help="read every sysfs sensor file under DIR instead of / (default: /)",
    )


def register(subparsers: Any) -> None:
    """Add the ``sensors`` subcommand."""
    parser = subparsers.add_parser(
        "sensors",
        help="list the power sensors of this machine, and why the others are not usable",
        description="Probe every power-sensor backend (Jetson INA3221/INA238, NVML, RAPL, AMD GPU, batteries): "
        "for each usable sensor its kind, rails, unit, update period, filter model and a current reading per "
        "rail; for every other backend the reason it is not usable.",
    )
    add_sysfs_root_option(parser)
    add_format_option(parser, ("table", "json"))
    live = parser.add_argument_group("live view")
    live.add_argument(
        "--watch", action="store_true", help="a live view of every rail, with clocks and temperatures (Ctrl-C ends it)"
    )
    live.add_argument(
        "--interval", type=_positive_float, default=1.0, metavar="S", help="seconds between updates (default: 1)"
    )
    live.add_argument("--log", type=Path, default=None, metavar="FILE.csv", help="write one CSV row per update")
    live.add_argument("--force", action="store_true", help="overwrite an existing --log file")
    live.add_argument("--count", type=int, default=None, metavar="N", help="stop after N updates")
    live.add_argument("--duration", type=_positive_float, default=None, metavar="S", help="stop after S seconds")
    parser.set_defaults(func=_run)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} s: give a positive number of seconds")
    return value


def _current(sensor: Sensor) -> dict[str, Any]:
    """One reading per rail (and, for an energy counter, the power over a short window)."""
    from synergy.sensors.base import SensorKind

    try:
        first = sensor.read()
        if sensor.kind is not SensorKind.ENERGY:
            values = dict(zip(sensor.rails, first.values, strict=True))
            return {"readable": True, "values": values, "total_w": sensor.total(first)}
        time.sleep(max(COUNTER_WINDOW_S, 3 * (sensor.update_period_s or 0.0)))
        second = sensor.read()
    except SensorError as exc:
        return {"readable": False, "error": str(exc)}
    dt_s = (second.t_ns - first.t_ns) / 1e9
    power = {rail: (b - a) / dt_s for rail, a, b in zip(sensor.rails, first.values, second.values, strict=True)}
    return {
        "readable": True,
        "values": dict(zip(sensor.rails, second.values, strict=True)),
        "power_w": power,
        "total_w": (sensor.total(second) - sensor.total(first)) / dt_s,
        "window_s": dt_s,
    }


def _note(description: dict[str, Any]) -> str:
    parts = []
    if "model" in description:
        parts.append(f"board: {description['model']}")
    if "total_note" in description:
        parts.append(f"total: {description['total_note']}")
    if description.get("gpus"):
        parts.append("GPUs: " + ", ".join(f"{k} {v}" for k, v in description["gpus"].items()))
    if description.get("status"):
        parts.append("status: " + ", ".join(f"{k} {v}" for k, v in description["status"].items()))
    if description.get("skipped"):
        parts.append("skipped: " + "; ".join(description["skipped"]))
    if description.get("read_cost_s"):
        parts.append(f"read cost {description['read_cost_s'] * 1e3:.1f} ms")
    return "; ".join(parts)


def _run(args: argparse.Namespace) -> int:
    root: Path = args.sysfs_root
    if not root.is_dir():
        raise UsageError(f"--sysfs-root {root} is not a directory (give the directory that stands for /)")
    from synergy.sensors.discovery import discover_sensors

    if args.watch:
        return _watch(args, root)
    if args.log is not None or args.count is not None or args.duration is not None:
        raise UsageError("--log, --count and --duration belong to the live view: add --watch")
    with discover_sensors(root) as found:
        entries = []
        for sensor in found.sensors:
            entries.append({**sensor.describe(), **_current(sensor)})
        unavailable = found.to_dict()["unavailable"]
    if args.format == "json":
        out = {"format_version": FORMAT_VERSION, "root": str(root), "sensors": entries, "unavailable": unavailable}
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return 0
    sys.stdout.write(_render_table(root, entries, unavailable))
    return 0


def _watch(args: argparse.Namespace, root: Path) -> int:
    from synergy.cli.watch import Watch, run_watch
    from synergy.context import discover_channels
    from synergy.sensors.discovery import discover_sensors

    if args.count is not None and args.count < 1:
        raise UsageError(f"--count {args.count}: give at least 1 update")
    if args.format != "table":
        raise UsageError("--watch shows a live table; for machine-readable rows add --log FILE.csv")
    real = root == Path("/")
    with discover_sensors(root) as found:
        channels = discover_channels(root, use_nvml=real, only=_WATCHED_CHANNELS)
        try:
            watch = Watch(found.sensors, list(channels))
            if not found.sensors:
                sys.stderr.write(f"warning: {found.summary()}\n")
            run_watch(
                watch,
                interval_s=args.interval,
                count=args.count,
                duration_s=args.duration,
                log=args.log,
                force=args.force,
            )
        finally:
            channels.close()
    if args.log is not None:
        sys.stderr.write(f"log: {args.log}\n")
    return 0


#: Context channels the live view shows: clocks and temperatures (utilisation needs its own window).
_WATCHED_CHANNELS = ("cpu_freq", "gpu_freq", "emc_freq", "thermal", "nvml")


def _fmt_period(value: float | None) -> str:
    if value is None:
        return "unknown (probe)"
    return f"{value * 1e3:.3g} ms"


def _render_table(root: Path, entries: list[dict[str, Any]], unavailable: list[dict[str, str]]) -> str:
    import pandas as pd

    text = []
    where = "" if root == Path("/") else f" under {root}"
    if entries:
        summary = pd.DataFrame(
            [
                {
                    "sensor": e["name"],
                    "kind": e["kind"],
                    "unit": e["unit"],
                    "rails": len(e["rails"]),
                    "update period": _fmt_period(e["update_period_s"]),
                    "filter": e["filter_model"]["kind"]
                    + (f" {e['filter_model']['window_s'] * 1e3:.3g} ms" if e["filter_model"]["window_s"] else ""),
                    "readable": "yes" if e["readable"] else f"no: {e['error']}",
                }
                for e in entries
            ]
        )
        text.append(render_frame(summary, title=f"power sensors{where}"))
        for e in entries:
            if not e["readable"]:
                continue
            rows = []
            for rail in e["rails"]:
                row: dict[str, Any] = {"rail": rail, "in total": "yes" if rail in e["total_rails"] else ""}
                if e["kind"] == "energy":
                    row["energy_j"] = e["values"][rail]
                    row["power_w"] = e["power_w"][rail]
                else:
                    row["power_w"] = e["values"][rail]
                rows.append(row)
            text.append(render_frame(pd.DataFrame(rows), title=f"{e['name']} rails"))
            how = f" over {e['window_s']:.3g} s" if "window_s" in e else ""
            text.append(f"{e['name']}: total {e['total_w']:.4g} W{how} ({' + '.join(e['total_rails'])})\n")
            note = _note(e)
            if note:
                text.append(f"{e['name']}: {note}\n")
    else:
        text.append(f"no usable power sensor{where}: energy cannot be measured here (time and counters can)\n")
    if unavailable:
        frame = pd.DataFrame([{"sensor": u["name"], "why not": u["reason"]} for u in unavailable])
        text.append(render_frame(frame, title="not usable"))
    return "".join(text)
