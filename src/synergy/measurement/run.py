"""The measured part: idle, the runs, the isolation loops, with the sampler running throughout.

An interruption (Ctrl-C, SIGTERM, SIGHUP) or a failure during the runs does not escape: it is kept in the
:class:`RunOutcome` beside the runs completed before it, so that they are written first.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from synergy.alignment.events import LayerEvents, RunRecord
from synergy.alignment.isolation import LoopRecord, loop_plan
from synergy.clock import now_ns
from synergy.measurement.build import Stage, no_stage
from synergy.measurement.session import Session
from synergy.measurement.signals import SignalGuard
from synergy.runtime.base import MeasureSettings, isolation_of

__all__ = ["RunOutcome", "measure_runs", "settings_of"]

Progress = Callable[[int, int], None]


@dataclass
class RunOutcome:
    """What the runs left.

    Attributes:
        records: the completed runs.
        events: their layer events.
        sampled: the sampler's result (``None`` when nothing was sampled).
        runtime_info, sensor_info: the runtime's and the sensor's descriptions.
        idle_end_ns: end of the idle period before the first run.
        loops: the isolation loops.
        isolation_from_ns: when the isolation loops began (the runs' attribution ends there).
        plan: the isolation plan (settle, measure), s.
        interrupted: the interruption or failure that ended the runs early, if any.
        sync: the sync pattern emitted before the runs for a meter log, if any.
    """

    records: list[RunRecord]
    events: LayerEvents
    sampled: Any
    runtime_info: dict[str, Any]
    sensor_info: dict[str, Any]
    idle_end_ns: int
    loops: list[LoopRecord] = field(default_factory=list)
    isolation_from_ns: int | None = None
    plan: tuple[float, float] = (0.0, 0.0)
    interrupted: BaseException | None = None
    sync: Any = None


def settings_of(session: Session) -> MeasureSettings:
    """The runtime's settings from the options."""
    o = session.options
    return MeasureSettings(runs=o.runs, warmup=o.warmup, threads=o.threads, pause_s=o.pause_s, seed=o.seed)


def _after_runs(progress: Progress | None, runs: int) -> Progress | None:
    """Progress of the isolation loops, counted on after the runs (one step per layer)."""
    if progress is None:
        return None
    report = progress

    def step(done: int, total: int) -> None:
        report(runs + done, runs + total)

    return step


def _isolate(session: Session, outcome: RunOutcome, progress: Progress | None) -> None:
    options = session.options
    isolating = isolation_of(session.runtime)
    if not options.isolation or isolating is None:
        return
    outcome.isolation_from_ns = now_ns()
    try:
        outcome.loops = isolating.isolate(*outcome.plan, progress=_after_runs(progress, options.runs))
    except (KeyboardInterrupt, Exception) as exc:  # keep the runs, then re-raise
        outcome.interrupted = exc
    time.sleep(max(3.0 * (session.time_constant_s or 0.1), 0.05))  # the sensor's view of the last loop


def _emit_sync(session: Session) -> Any:
    """The sync pattern a meter log is aligned by, emitted before the runs (only when no offset is known)."""
    if getattr(session.sensor, "live", True) or session.options.trace_offset is not None:
        return None
    from synergy.sensors.trace import emit_sync_pattern

    return emit_sync_pattern()


def _staged(progress: Progress | None, stage: Stage) -> Progress:
    """``progress`` that first tells ``stage`` the runs have begun (after the warm-up: the first run done)."""
    begun = False

    def step(done: int, total: int) -> None:
        nonlocal begun
        if not begun:
            begun = True
            stage("runs")
        if progress is not None:
            progress(done, total)

    return step


def _runs(session: Session, outcome: RunOutcome, progress: Progress | None, stage: Stage) -> None:
    """Idle, the runs and the isolation loops; an interruption or failure is kept in ``outcome``."""
    options = session.options
    try:
        outcome.sync = _emit_sync(session)
        powered = session.energy_reason is None  # sampled live, or logged by a meter
        if powered and options.idle_s > 0:
            stage("measuring idle")
        time.sleep(options.idle_s if powered else 0.0)
        outcome.idle_end_ns = now_ns()
        stage("warm-up")
        session.runtime.measure(settings_of(session), _staged(progress, stage))
        if powered:
            time.sleep(min(0.2, max(options.idle_s, 0.05)))
            if options.isolation and isolation_of(session.runtime) is not None:
                stage("isolation")
            _isolate(session, outcome, progress)
    except (KeyboardInterrupt, Exception) as exc:  # keep what ran, then re-raise
        outcome.interrupted = outcome.interrupted or exc


def measure_runs(
    session: Session,
    progress: Progress | None,
    notes: list[str],
    guard: SignalGuard | None = None,
    stage: Stage = no_stage,
) -> RunOutcome:
    """Sample idle, run the inferences (and the isolation loops), and collect what they left.

    Args:
        guard: signals are deferred by it while the runs are collected (after the runs ended).
        stage: told each step as it begins (``"measuring idle"``, ``"warm-up"``, ``"runs"``, ``"isolation"``).
    """
    options, runtime, sampler = session.options, session.runtime, session.sampler
    if options.isolation and not session.live_power:
        notes.append(f"isolation mode was skipped: it needs power readings ({session.energy_reason or 'no sensor'})")
    outcome = RunOutcome([], LayerEvents.from_runs((), []), None, {}, {}, 0)
    outcome.plan = loop_plan(session.time_constant_s, measure_s=options.isolation_s)
    if sampler is not None:
        sampler.start()
    _runs(session, outcome, progress, stage)
    with guard.deferred() if guard is not None else contextlib.nullcontext():
        # The thread may have ended on its own (its only sensor vanished): stop() still collects what it saw.
        outcome.sampled = sampler.stop() if sampler is not None else None
        outcome.records = runtime.completed()
        outcome.events = LayerEvents.from_runs(runtime.layers, outcome.records)
        outcome.runtime_info = runtime.describe()
        outcome.sensor_info = session.sensor.describe()
    return outcome
