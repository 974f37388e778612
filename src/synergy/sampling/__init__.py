"""Background sampling of sensors on the monotonic clock, timelines, and idle power."""

from synergy.sampling.idle import IdlePower, idle_from_timeline, measure_idle
from synergy.sampling.sampler import (
    ChannelReport,
    Probe,
    Readable,
    Sampler,
    SamplerResult,
    poll_period_for,
    probe_update_period,
)
from synergy.sampling.timeline import Gap, Timeline, unwrap_counter

__all__ = [
    "ChannelReport",
    "Gap",
    "IdlePower",
    "Probe",
    "Readable",
    "Sampler",
    "SamplerResult",
    "Timeline",
    "idle_from_timeline",
    "measure_idle",
    "poll_period_for",
    "probe_update_period",
    "unwrap_counter",
]
