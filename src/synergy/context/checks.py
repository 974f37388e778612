"""Checks of the measurement conditions, each finding with the remedy and the exact commands.

In the spirit of ``pyperf system tune``: small checks, each about one thing, each saying what to do. Two
kinds:

* on a :class:`~synergy.context.system.SystemContext` snapshot (:func:`check_system`): governor not fixed,
  turbo on, Jetson clocks not locked, a zone already hot, throttling reported now, other processes busy;
* on the channel timelines recorded during the measured runs (:func:`check_timelines`): frequency changed,
  a zone crossed its threshold, temperature drifted, throttling reported, CPU busy outside the process.

:func:`check` runs both; :func:`enforce` turns findings into a failed check under ``--strict``. Nothing here
changes the system.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synergy.context.nvml import THROTTLING_MASK, throttle_names
from synergy.context.system import SystemContext
from synergy.context.timeline import Span, Timeline, as_timeline, is_interval_rail, samples_in
from synergy.errors import MeasurementError

__all__ = [
    "Finding",
    "Thresholds",
    "check",
    "check_system",
    "check_timelines",
    "enforce",
    "format_findings",
    "zone_limits",
]

_CPU_GOVERNOR_FIX = "sudo cpupower frequency-set -g performance"
_CPU_GOVERNOR_FIX_SYSFS = "echo performance | sudo tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor"
_JETSON_CLOCKS = "sudo jetson_clocks"


@dataclass(frozen=True)
class Thresholds:
    """When a check fires.

    Attributes:
        freq_tolerance: relative spread (max − min) / max of a clock during the runs that counts as a change.
        temp_limit_c: the threshold for zones without a passive/hot/critical trip point, °C.
        temp_drift_c: a rise of a zone's temperature across the runs that counts as drift, °C.
        other_cpu_util: the median share of the whole machine used outside the measured process (0..1).
        busy_process_cores: a process using more than this many cores is named in the snapshot check.
    """

    freq_tolerance: float = 0.05
    temp_limit_c: float = 85.0
    temp_drift_c: float = 10.0
    other_cpu_util: float = 0.10
    busy_process_cores: float = 0.10


@dataclass(frozen=True)
class Finding:
    """One problem with the measurement conditions.

    Attributes:
        code: stable identifier (``cpu-governor``, ``turbo``, ``clock-not-locked``, ``frequency-changed``,
            ``thermal-threshold``, ``temperature-drift``, ``throttling``, ``cpu-busy``; the measurement adds
            ``runs-delayed``).
        subject: what it is about (a policy, a rail, a zone, a GPU).
        message: what was seen, with the numbers.
        remedy: what to do, in words.
        commands: the exact commands that would fix it (never run by SyNERGY).
    """

    code: str
    subject: str
    message: str
    remedy: str
    commands: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``run.json`` ``checks`` list)."""
        return {
            "code": self.code,
            "subject": self.subject,
            "message": self.message,
            "remedy": self.remedy,
            "commands": list(self.commands),
        }

    def __str__(self) -> str:
        text = f"{self.message}; {self.remedy}"
        if self.commands:
            text += ": " + " ; ".join(self.commands)
        return text


def format_findings(findings: Sequence[Finding]) -> list[str]:
    """One ``warning: …`` line per finding, then an indented line per command (for the CLI to print)."""
    lines = []
    for finding in findings:
        lines.append(f"warning: {finding.message}; {finding.remedy}")
        lines.extend(f"    {command}" for command in finding.commands)
    return lines


def enforce(findings: Sequence[Finding], *, strict: bool) -> None:
    """Fail the measurement under ``--strict`` when there is any finding; do nothing otherwise.

    The measurement calls this *after* writing its results, so a failed check still leaves them on disk.

    Raises:
        MeasurementError: ``strict`` and at least one finding (exit code 1).
    """
    if strict and findings:
        codes = sorted({finding.code for finding in findings})
        raise MeasurementError(
            f"{len(findings)} measurement check(s) failed under --strict ({', '.join(codes)}); the results were "
            "written, fix the conditions listed above and measure again"
        )


# -- snapshot checks -------------------------------------------------------------------------------------------


def _cpu_ranges(cpus: Sequence[int]) -> str:
    """``0-3,8`` from a CPU list."""
    if not cpus:
        return "?"
    parts: list[str] = []
    start = previous = cpus[0]
    for cpu in [*cpus[1:], None]:
        if cpu is not None and cpu == previous + 1:
            previous = cpu
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if cpu is not None:
            start = previous = cpu
    return ",".join(parts)


def _ghz(hz: float | None) -> str:
    return "?" if hz is None or math.isnan(hz) else f"{hz / 1e9:.3g} GHz"


def _rpi_throttle_finding(now: list[str], since_boot: list[str]) -> Finding:
    words = {
        "under_voltage": "under-voltage",
        "arm_frequency_capped": "ARM frequency capped",
        "throttled": "throttling",
        "soft_temperature_limit": "soft temperature limit",
    }
    seen = [f"{', '.join(words[n] for n in now)} now" if now else ""]
    past = [n for n in since_boot if n not in now]
    if past:
        seen.append(f"{', '.join(words[n] for n in past)} since boot")
    supply = "under_voltage" in now or "under_voltage" in since_boot
    return Finding(
        code="throttling",
        subject="rpi",
        message="the Raspberry Pi firmware reports "
        + "; ".join(s for s in seen if s)
        + ": the ARM clock was held below what the load asked for",
        remedy="use the official 5 V / 5 A supply and a short cable"
        if supply
        else "cool the board (heatsink and fan) and let it settle before measuring",
        commands=("vcgencmd get_throttled",),
    )


def check_system(context: SystemContext, thresholds: Thresholds = Thresholds()) -> list[Finding]:
    """Findings about the machine state at one moment (see the module docstring)."""
    findings: list[Finding] = []
    loose = [p for p in context.policies if p.governor is not None and not p.fixed]
    if loose:
        governors = sorted({str(p.governor) for p in loose})
        where = ", ".join(f"{p.name} (CPUs {_cpu_ranges(p.cpus)})" for p in loose)
        commands = [_CPU_GOVERNOR_FIX, _CPU_GOVERNOR_FIX_SYSFS]
        if context.power_mode is not None:
            commands.append(_JETSON_CLOCKS)
        findings.append(
            Finding(
                code="cpu-governor",
                subject="cpu_freq",
                message=f"CPU governor is {' / '.join(repr(g) for g in governors)} on {where}: the frequency "
                "follows the load, so time and energy depend on what ran before",
                remedy="fix the governor to 'performance' (or lock min = max)",
                commands=tuple(commands),
            )
        )
    if context.boost.enabled and context.boost.disable_command:
        findings.append(
            Finding(
                code="turbo",
                subject=context.boost.path or "boost",
                message="turbo/boost is enabled: the CPU clock depends on temperature and on how many cores run",
                remedy="disable turbo for stable measurements",
                commands=(context.boost.disable_command,),
            )
        )
    for device in context.devfreq:
        if device.kind in {"gpu", "emc"} and not device.locked:
            findings.append(
                Finding(
                    code="clock-not-locked",
                    subject=device.name,
                    message=f"{device.kind.upper()} clock {device.name} is governed by '{device.governor}' between "
                    f"{_ghz(device.min_hz)} and {_ghz(device.max_hz)}: it follows the load",
                    remedy="lock the clocks with the vendor tool (and record the power mode)",
                    commands=(_JETSON_CLOCKS,),
                )
            )
    for zone in context.thermal_zones:
        limit = zone.limit_c if zone.limit_c is not None else thresholds.temp_limit_c
        if zone.temp_c is not None and zone.temp_c >= limit:
            stem = zone.rail.removesuffix("_temp_c")
            findings.append(_thermal_finding(stem, zone.temp_c, limit, jetson=context.power_mode is not None))
    for gpu in context.nvml_gpus:
        mask = gpu.get("throttle_mask")
        if mask is not None and mask & THROTTLING_MASK:
            findings.append(_throttle_finding(int(gpu["index"]), int(mask)))
    throttled = (context.rpi or {}).get("throttled")
    if throttled and (throttled["now"] or throttled["since_boot"]):
        findings.append(_rpi_throttle_finding(throttled["now"], throttled["since_boot"]))
    busy = [p for p in context.top_processes if p.busy_cores > thresholds.busy_process_cores]
    if busy:
        names = ", ".join(f"{p.name} (pid {p.pid}, {p.busy_cores:.0%} of a core)" for p in busy)
        findings.append(
            Finding(
                code="cpu-busy",
                subject="processes",
                message=f"other processes used the CPU in the last {context.top_interval_s:g} s: {names}",
                remedy="stop other work before measuring",
                commands=("ps -eo pid,comm,%cpu --sort=-%cpu | head",),
            )
        )
    return findings


def _thermal_finding(zone: str, temp_c: float, limit_c: float, *, jetson: bool, during: bool = False) -> Finding:
    when = "reached" if during else "is at"
    commands = ("sudo jetson_clocks --fan",) if jetson else ()
    return Finding(
        code="thermal-threshold",
        subject=zone,
        message=f"thermal zone {zone} {when} {temp_c:.1f} °C, at or above its threshold {limit_c:.1f} °C: the "
        "clocks may be throttled",
        remedy="let the board cool, improve cooling (fan at full speed) and add a cooldown between runs",
        commands=commands,
    )


def _throttle_finding(index: int, mask: int) -> Finding:
    reasons = ", ".join(throttle_names(mask & THROTTLING_MASK))
    return Finding(
        code="throttling",
        subject=f"gpu{index}",
        message=f"GPU {index} reported throttling ({reasons})",
        remedy="let the GPU cool, check the power limit, and lock the clocks below the throttling point",
        commands=(f"nvidia-smi -i {index} -q -d PERFORMANCE", f"sudo nvidia-smi -i {index} -pm 1"),
    )


# -- timeline checks -------------------------------------------------------------------------------------------


def _values_during(timeline: Timeline, rail: str, spans: Sequence[Span]) -> np.ndarray:
    index = samples_in(timeline.t_ns, spans, interval=is_interval_rail(rail))
    values = np.asarray(timeline.column(rail)[index], dtype=np.float64)
    finite: np.ndarray = values[~np.isnan(values)]
    return finite


def _frequency_commands(rail: str, max_hz: float) -> tuple[str, tuple[str, ...]]:
    mhz = round(max_hz / 1e6)
    if rail.startswith("cpu"):
        return "fix the CPU governor (and disable turbo)", (_CPU_GOVERNOR_FIX,)
    if "_sm_clock_hz" in rail or "_mem_clock_hz" in rail:
        index = rail.split("_", 1)[0].removeprefix("gpu") or "0"
        option = "-lgc" if "_sm_clock_hz" in rail else "-lmc"
        return "lock the GPU clocks with the vendor tool", (f"sudo nvidia-smi -i {index} {option} {mhz},{mhz}",)
    return "lock the clocks with the vendor tool", (_JETSON_CLOCKS,)


def check_timelines(
    timelines: Any,
    spans: Sequence[Span],
    *,
    zone_limits_c: Mapping[str, float] | None = None,
    thresholds: Thresholds = Thresholds(),
    jetson: bool = False,
) -> list[Finding]:
    """Findings from the channels recorded during the measured runs.

    Args:
        timelines: one timeline or an iterable of them (anything :func:`~synergy.context.as_timeline` takes).
        spans: the measured runs, (start_ns, end_ns) on the monotonic clock; warm-ups excluded.
        zone_limits_c: temperature rail → threshold, °C (from the zones' trip points); others use
            ``thresholds.temp_limit_c``.
        thresholds: when each check fires.
        jetson: whether to suggest the Jetson fan command for thermal findings.
    """
    if isinstance(timelines, Timeline) or hasattr(timelines, "rails"):
        timelines = [timelines]
    converted = [as_timeline(t) for t in timelines]
    limits = dict(zone_limits_c or {})
    findings: list[Finding] = []
    cpu_changes: list[tuple[str, float, float]] = []
    for timeline in converted:
        for rail in timeline.rails:
            values = _values_during(timeline, rail, spans)
            if not values.size:
                continue
            low, high = float(values.min()), float(values.max())
            if rail.endswith(("_freq_hz", "_clock_hz")):
                if high > 0 and (high - low) / high > thresholds.freq_tolerance:
                    if rail.startswith("cpu") and rail.endswith("_freq_hz"):
                        cpu_changes.append((rail, low, high))
                        continue
                    remedy, commands = _frequency_commands(rail, high)
                    findings.append(
                        Finding(
                            code="frequency-changed",
                            subject=rail,
                            message=f"{rail.removesuffix('_hz')} changed during the measured runs: "
                            f"{_ghz(low)} to {_ghz(high)}",
                            remedy=remedy,
                            commands=commands,
                        )
                    )
            elif rail.endswith("_temp_c"):
                limit = limits.get(rail, thresholds.temp_limit_c)
                zone = rail.removesuffix("_temp_c")
                if high >= limit:
                    findings.append(_thermal_finding(zone, high, limit, jetson=jetson, during=True))
                rise = float(values[-1] - values[0])
                if rise > thresholds.temp_drift_c:
                    findings.append(
                        Finding(
                            code="temperature-drift",
                            subject=zone,
                            message=f"thermal zone {zone} rose by {rise:.1f} °C during the measured runs: "
                            "leakage power changes with temperature",
                            remedy="warm up longer (more --warmup runs) so the board reaches a steady temperature",
                        )
                    )
            elif rail.endswith("_throttle_mask"):
                masks = np.bitwise_or.reduce(values.astype(np.int64))
                if int(masks) & THROTTLING_MASK:
                    index = int(rail.split("_", 1)[0].removeprefix("gpu") or 0)
                    findings.append(_throttle_finding(index, int(masks)))
            elif rail == "other_cpu_util":
                median = float(np.median(values))
                if median > thresholds.other_cpu_util:
                    findings.append(
                        Finding(
                            code="cpu-busy",
                            subject="other_cpu_util",
                            message=f"other processes used {median:.0%} of the CPU (median; up to {high:.0%}) during "
                            "the measured runs",
                            remedy="stop other work before measuring",
                            commands=("ps -eo pid,comm,%cpu --sort=-%cpu | head",),
                        )
                    )
    if cpu_changes:
        low = min(c[1] for c in cpu_changes)
        high = max(c[2] for c in cpu_changes)
        cores = ", ".join(c[0].removesuffix("_freq_hz") for c in cpu_changes)
        findings.append(
            Finding(
                code="frequency-changed",
                subject="cpu_freq",
                message=f"CPU frequency changed during the measured runs on {len(cpu_changes)} core(s) ({cores}): "
                f"{_ghz(low)} to {_ghz(high)}",
                remedy="fix the CPU governor (and disable turbo)",
                commands=(_CPU_GOVERNOR_FIX,),
            )
        )
    return findings


def zone_limits(context: SystemContext, default_c: float) -> dict[str, float]:
    """Temperature rail → threshold from the zones' trip points (default where a zone has none)."""
    return {z.rail: (z.limit_c if z.limit_c is not None else default_c) for z in context.thermal_zones}


def check(
    context_before: SystemContext | None,
    timelines: Any,
    spans: Sequence[Span],
    *,
    context_after: SystemContext | None = None,
    thresholds: Thresholds = Thresholds(),
) -> list[Finding]:
    """Every check: the snapshot taken before the runs, the timelines during them, and a snapshot after.

    Findings with the same code and subject are reported once (the first, most specific, wins).

    Args:
        context_before: :func:`~synergy.context.collect_context` before the warm-up (or None).
        timelines: the context channels' timelines from the sampler.
        spans: the measured runs, (start_ns, end_ns).
        context_after: a snapshot after the runs (thermal state, throttling), or None.
        thresholds: when each check fires.
    """
    findings: list[Finding] = []
    limits = zone_limits(context_before, thresholds.temp_limit_c) if context_before is not None else None
    jetson = context_before is not None and context_before.power_mode is not None
    findings += check_timelines(timelines, spans, zone_limits_c=limits, thresholds=thresholds, jetson=jetson)
    snapshots: Iterable[SystemContext] = [c for c in (context_before, context_after) if c is not None]
    for snapshot in snapshots:
        findings += check_system(snapshot, thresholds)
    unique: dict[tuple[str, str], Finding] = {}
    for finding in findings:
        unique.setdefault((finding.code, finding.subject), finding)
    return list(unique.values())
