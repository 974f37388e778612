"""Context channels sampled beside power: clocks, temperatures, utilisation; and checks with remedies.

Energy per layer means little without the clocks it ran at. This package reads, never writes:

* channels (:func:`discover_channels`): ``cpu_freq`` (per core), ``gpu_freq`` (Jetson devfreq), ``emc_freq``
  (Jetson memory clock), ``thermal`` (every zone), ``cpu_util`` (per core, the measured process, the rest),
  ``nvml`` (NVIDIA SM/memory clocks, temperature, throttle reasons). Each has ``name``, ``rails``,
  ``update_period_s`` and ``read() -> Reading``, like a power sensor, so the sampler polls them on the same
  clock. Units are in the rail names (``_hz``, ``_temp_c``, ``_util`` fraction).
* a snapshot of the machine (:func:`collect_context`) for the result's metadata and ``synergy system``;
* summaries over runs and layers (:func:`summarize`) for ``run.json`` and ``layers.csv``;
* checks (:func:`check`, :func:`check_system`, :func:`check_timelines`) whose findings carry remedies, and
  :func:`enforce` for ``--strict``.

Everything takes an injectable ``root`` (``/`` on a real machine).
"""

from __future__ import annotations

from synergy.context.base import Channel, ChannelNote, ChannelSet, FileChannel, rail_unit
from synergy.context.checks import (
    Finding,
    Thresholds,
    check,
    check_system,
    check_timelines,
    enforce,
    format_findings,
    zone_limits,
)
from synergy.context.cpuload import CpuUtilChannel
from synergy.context.devfreq import EmcChannel
from synergy.context.discovery import CHANNEL_NAMES, discover_channels
from synergy.context.nvml import NvmlChannel, throttle_names
from synergy.context.system import SystemContext, collect_context
from synergy.context.timeline import ContextSummary, RailStats, Span, Timeline, as_timeline, record, summarize

__all__ = [
    "CHANNEL_NAMES",
    "Channel",
    "ChannelNote",
    "ChannelSet",
    "ContextSummary",
    "CpuUtilChannel",
    "EmcChannel",
    "FileChannel",
    "Finding",
    "NvmlChannel",
    "RailStats",
    "Span",
    "SystemContext",
    "Thresholds",
    "Timeline",
    "as_timeline",
    "check",
    "check_system",
    "check_timelines",
    "collect_context",
    "discover_channels",
    "enforce",
    "format_findings",
    "rail_unit",
    "record",
    "summarize",
    "throttle_names",
    "zone_limits",
]
