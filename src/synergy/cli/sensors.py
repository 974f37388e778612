"""``synergy sensors [--sysfs-root DIR] [--format table|json]``: what power sensors this machine offers."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from synergy.cli.common import add_format_option, render_frame
from synergy.errors import SensorError, UsageError
from synergy.sensors.base import Sensor, SensorKind
from synergy.sensors.discovery import discover_sensors

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
    parser.set_defaults(func=_run)


def _current(sensor: Sensor) -> dict[str, Any]:
    """One reading per rail (and, for an energy counter, the power over a short window)."""
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
    return "; ".join(parts)


def _run(args: argparse.Namespace) -> int:
    root: Path = args.sysfs_root
    if not root.is_dir():
        raise UsageError(f"--sysfs-root {root} is not a directory (give the directory that stands for /)")
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


def _fmt_period(value: float | None) -> str:
    if value is None:
        return "unknown (probe)"
    return f"{value * 1e3:.3g} ms"


def _render_table(root: Path, entries: list[dict[str, Any]], unavailable: list[dict[str, str]]) -> str:
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
