"""``synergy sensors --watch``: a live view of every rail, with clocks and temperatures, and a CSV log.

Each tick reads every usable power sensor and every context channel once. An energy counter's power is
its increase over the tick; a power sensor shows its latest value and its energy is integrated over the
ticks (trapezoid rule; ``synergy run`` and :class:`synergy.Monitor` integrate at the sensor's own pace).
The CSV gets one complete row per tick, flushed as it is written, so an interruption leaves every row
whole.
"""

from __future__ import annotations

import csv
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from synergy.clock import now_ns
from synergy.errors import OutputExistsError, SensorError
from synergy.units import human

__all__ = ["Tick", "Watch"]


@dataclass
class _Rails:
    """What the view keeps of one sensor between ticks."""

    sensor: Any
    counter: bool
    last_t_ns: int | None = None
    last_values: tuple[float, ...] | None = None
    power_w: dict[str, float] = field(default_factory=dict)
    energy_j: dict[str, float] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class Tick:
    """One row of the live view: seconds since the start, then named values (W, J, Hz, °C...)."""

    t_s: float
    values: dict[str, float]


class Watch:
    """Reads sensors and context channels at each tick, renders the view and writes the CSV rows.

    Args:
        sensors: open power sensors.
        channels: context channels (``read()`` giving one value per rail).
        clock: monotonic nanoseconds (injectable for tests).
    """

    def __init__(self, sensors: Sequence[Any], channels: Sequence[Any], clock: Callable[[], int] = now_ns) -> None:
        from synergy.sensors.base import SensorKind

        self.rails = [_Rails(s, s.kind is SensorKind.ENERGY) for s in sensors]
        self.channels = list(channels)
        self.clock = clock
        self.t0_ns = clock()
        self.context: dict[str, float] = {}
        self.columns: list[str] = ["t_s"]
        for r in self.rails:
            name = r.sensor.name
            self.columns += [f"{name}.{rail}_w" for rail in r.sensor.rails] + [f"{name}.total_w", f"{name}.total_j"]
        for ch in self.channels:
            self.columns += [f"{ch.name}.{rail}" for rail in ch.rails]

    def tick(self) -> Tick:
        """Read everything once and return the row."""
        row: dict[str, float] = {}
        for r in self.rails:
            self._read(r)
            name = r.sensor.name
            for rail in r.sensor.rails:
                row[f"{name}.{rail}_w"] = r.power_w.get(rail, math.nan)
            row[f"{name}.total_w"] = self._total(r, r.power_w)
            row[f"{name}.total_j"] = self._total(r, r.energy_j)
        for ch in self.channels:
            try:
                values = ch.read().values
            except SensorError:
                values = (math.nan,) * len(ch.rails)
            for rail, value in zip(ch.rails, values, strict=True):
                row[f"{ch.name}.{rail}"] = float(value)
        self.context = {k: v for k, v in row.items() if not k.endswith(("_w", "_j"))}
        return Tick((self.clock() - self.t0_ns) / 1e9, row)

    @staticmethod
    def _total(r: _Rails, values: dict[str, float]) -> float:
        rails = r.sensor.total_rails or r.sensor.rails
        if not values:
            return math.nan
        return float(sum(values.get(rail, math.nan) for rail in rails))

    def _read(self, r: _Rails) -> None:
        try:
            reading = r.sensor.read()
        except SensorError as exc:
            r.error = str(exc)
            r.power_w = {}
            return
        r.error = None
        values = tuple(float(v) for v in reading.values)
        rails = r.sensor.rails
        if r.last_values is not None and r.last_t_ns is not None and reading.t_ns > r.last_t_ns:
            dt = (reading.t_ns - r.last_t_ns) / 1e9
            if r.counter:
                r.power_w = {rail: (b - a) / dt for rail, a, b in zip(rails, r.last_values, values, strict=True)}
                r.energy_j = {
                    rail: r.energy_j.get(rail, 0.0) + (b - a)
                    for rail, a, b in zip(rails, r.last_values, values, strict=True)
                }
            else:
                r.energy_j = {
                    rail: r.energy_j.get(rail, 0.0) + 0.5 * (a + b) * dt
                    for rail, a, b in zip(rails, r.last_values, values, strict=True)
                }
        if not r.counter:
            r.power_w = dict(zip(rails, values, strict=True))
        elif r.last_values is None:
            r.energy_j = dict.fromkeys(rails, 0.0)
        r.last_t_ns, r.last_values = reading.t_ns, values

    def render(self, t_s: float) -> Any:
        """The rich renderable of the current state."""
        from rich import box
        from rich.console import Group
        from rich.table import Table

        tables: list[Any] = []
        for r in self.rails:
            name = r.sensor.name
            total_rails = set(r.sensor.total_rails or r.sensor.rails)
            table = Table(title=f"{name} ({r.sensor.kind}, {t_s:.1f} s)", box=box.SIMPLE_HEAD, header_style="bold")
            for header in ("rail", "in total", "power", "energy"):
                table.add_column(header, justify="left" if header == "rail" else "right")
            for rail in r.sensor.rails:
                table.add_row(
                    rail,
                    "yes" if rail in total_rails else "",
                    human(r.power_w.get(rail, math.nan), "W"),
                    human(r.energy_j.get(rail, math.nan), "J"),
                )
            table.add_row("total", "", human(self._total(r, r.power_w), "W"), human(self._total(r, r.energy_j), "J"))
            if r.error:
                table.caption = f"read failed: {r.error}"
            tables.append(table)
        if self.context:
            ctx = Table(title="context", box=box.SIMPLE_HEAD, header_style="bold")
            ctx.add_column("channel")
            ctx.add_column("value", justify="right")
            for key, value in self.context.items():
                ctx.add_row(key, _context_value(key, value))
            tables.append(ctx)
        if not tables:
            return "no usable power sensor and no context channel here"
        return Group(*tables)


def _context_value(key: str, value: float) -> str:
    from synergy.context.base import rail_unit

    unit = rail_unit(key)
    if not math.isfinite(value):
        return "n/a"
    if unit == "Hz":
        return human(value, "Hz")
    if unit == "fraction":
        return f"{100 * value:.1f} %"
    if unit == "bitmask":
        return f"{int(value):#x}"
    return f"{value:.4g} {unit}".rstrip()


def open_log(path: Path | None, columns: list[str], force: bool) -> tuple[IO[str] | None, Any]:
    """Open the CSV log (refusing an existing file unless ``force``) and write its header."""
    if path is None:
        return None, None
    if path.exists() and not force:
        raise OutputExistsError(f"{path} exists: choose another file or pass --force to overwrite it")
    handle = path.open("w", newline="", encoding="utf-8")
    writer = csv.writer(handle)
    writer.writerow(columns)
    handle.flush()
    return handle, writer


def run_watch(
    watch: Watch,
    *,
    interval_s: float,
    count: int | None,
    duration_s: float | None,
    log: Path | None,
    force: bool,
    out: IO[str] = sys.stdout,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """The loop: tick, render, log; until ``count`` ticks, ``duration_s`` or Ctrl-C. Returns ticks done."""
    from rich.console import Console
    from rich.live import Live

    console = Console(file=out)
    handle, writer = open_log(log, watch.columns, force)
    ticks = 0
    t_start = time.monotonic()
    tick = watch.tick()
    try:
        with Live(watch.render(tick.t_s), console=console, auto_refresh=False, transient=False) as live:
            while True:
                if writer is not None and ticks > 0:  # the first tick only primes the counters
                    writer.writerow([f"{tick.t_s:.6f}", *(_csv(tick.values.get(c)) for c in watch.columns[1:])])
                    assert handle is not None
                    handle.flush()
                live.update(watch.render(tick.t_s), refresh=True)
                ticks += 1
                if count is not None and ticks > count:
                    break
                if duration_s is not None and time.monotonic() - t_start >= duration_s:
                    break
                sleep(interval_s)
                tick = watch.tick()
    except KeyboardInterrupt:
        pass  # the rows written so far are complete
    finally:
        if handle is not None:
            handle.close()
    return max(ticks - 1, 0)


def _csv(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return repr(float(value))
