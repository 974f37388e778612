"""Everything a measurement holds open: the sensor, the event counters, the runtime, the context channels
and the sampler, opened in one :class:`~contextlib.ExitStack` and closed in reverse order whatever happens.
Opening validates the rest of the input (sensor, model, shapes) before the output directory exists."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synergy.context import ChannelSet, SystemContext, collect_context, discover_channels
from synergy.context.metadata import cpu_frequencies_hz
from synergy.graph.spec import ModelSpec
from synergy.measurement.build import BuiltModel, Stage, build_runtime, no_stage
from synergy.measurement.inputs import GivenInputs
from synergy.measurement.options import CONTEXT_POLL_S, MeasureOptions
from synergy.runtime.base import Runtime
from synergy.runtime.counters import PerfCounters
from synergy.sampling.sampler import Sampler
from synergy.sensors.base import NullSensor, Sensor

__all__ = ["Session", "open_session"]


@dataclass
class Session:
    """The open resources of one measurement.

    Attributes:
        options: what is measured.
        sensor: the power sensor (a :class:`NullSensor` without one).
        counters: the event counters, or ``None``.
        built: the runtime, its layer table and the ONNX file it runs.
        channels: the context channels (empty without context).
        before: the machine's state before the runs.
        sampler: samples the live sensor and the channels (``None`` when there is nothing to sample).
        work_dir: private scratch folder (removed on close).
        energy_reason: why there is no energy (``None`` when a sensor gives power).
        frequencies_before: CPU frequencies before the runs, Hz.
    """

    options: MeasureOptions
    sensor: Sensor
    counters: PerfCounters | None
    built: BuiltModel
    channels: ChannelSet
    before: SystemContext | None
    sampler: Sampler | None
    work_dir: Path
    energy_reason: str | None
    frequencies_before: dict[str, float | None]

    @property
    def runtime(self) -> Runtime:
        """The prepared runtime."""
        return self.built.runtime

    @property
    def live_power(self) -> bool:
        """Whether the sensor is sampled during the runs (not a null sensor, not a log read afterwards)."""
        return self.energy_reason is None and getattr(self.sensor, "live", True)

    @property
    def time_constant_s(self) -> float | None:
        """The sensor's settling time scale, s (its filter window, else its update period)."""
        return (self.sensor.filter_model.window_s or 0.0) or (self.sensor.update_period_s or 0.0) or None


def _channels(options: MeasureOptions, stack: ExitStack) -> tuple[ChannelSet, SystemContext | None]:
    if not options.context:
        return ChannelSet(), None
    real_root = Path(options.sysfs_root) == Path("/")  # NVML only on the real machine
    channels = discover_channels(options.sysfs_root, pid=os.getpid(), use_nvml=real_root)
    stack.callback(channels.close)
    before = collect_context(options.sysfs_root, use_nvml=real_root, top_interval_s=options.context_interval_s)
    return channels, before


def _sampler(options: MeasureOptions, sensor: Sensor | None, channels: ChannelSet) -> Sampler | None:
    sources: list[Any] = ([sensor] if sensor is not None else []) + list(channels)
    if not sources:
        return None
    periods = {c.name: (c.update_period_s if c.name == "cpu_util" else None) or CONTEXT_POLL_S for c in channels}
    return Sampler(sources, jitter=0.1, jitter_seed=options.seed, poll_period_s=periods, probe_s=0.3)


def _open_sensor(options: MeasureOptions) -> Sensor:
    from synergy.sensors.discovery import open_sensor

    extra: dict[str, Any] = {}
    if options.sensor.startswith("trace:") and options.trace_offset is not None:
        extra["offset_s"] = options.trace_offset
    if options.pmic_calibration is not None:
        extra["calibration"] = options.pmic_calibration
    return open_sensor(options.sensor, root=options.sysfs_root, **extra)


@contextmanager
def open_session(
    options: MeasureOptions,
    spec: ModelSpec,
    notes: list[str],
    inputs: GivenInputs | None = None,
    stage: Stage = no_stage,
) -> Iterator[Session]:
    """Open every resource of a measurement; all are closed when the block ends.

    Args:
        inputs: the user's batches (``None``: a random input of the model's shapes).
        stage: told each step as it begins (``"opening sensor"``).

    Raises:
        SensorUnavailable, SensorPermissionError: the named sensor is absent or unreadable.
        ModelSpecError, InputShapeError, UsageError: the model cannot be built as asked.
    """
    with ExitStack() as stack:
        work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="synergy-measure-")))
        stage("opening sensor")
        sensor = _open_sensor(options)
        stack.callback(sensor.close)
        # Opened before the runtime, so threads it creates (ONNX Runtime's pool) are counted too.
        counters = PerfCounters() if options.counters else None
        if counters is not None:
            stack.callback(counters.close)
        built = build_runtime(spec, options, work_dir, notes.append, counters, inputs, stage)
        stack.callback(built.runtime.close)
        energy_reason = sensor.reason if isinstance(sensor, NullSensor) else None
        frequencies_before = cpu_frequencies_hz()
        if options.context:
            stage("reading the machine's state")
        channels, before = _channels(options, stack)
        live = energy_reason is None and getattr(sensor, "live", True)
        yield Session(
            options=options,
            sensor=sensor,
            counters=counters,
            built=built,
            channels=channels,
            before=before,
            sampler=_sampler(options, sensor if live else None, channels),
            work_dir=work_dir,
            energy_reason=energy_reason,
            frequencies_before=frequencies_before,
        )
