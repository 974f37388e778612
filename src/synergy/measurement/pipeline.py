"""``measure``: validate, open the session, claim the output, run, attribute, assemble, write."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synergy.errors import MeasurementCheckError, MeasurementError, SynergyWarning
from synergy.graph.resolve import ResolvedModel, resolve_model
from synergy.measurement.assemble import (
    Energy,
    add_energy,
    add_isolation,
    attribute_energy,
    attribution_findings,
    context_reads,
    context_results,
    counter_results,
    layer_table,
)
from synergy.measurement.options import MeasureOptions
from synergy.measurement.outputs import OutputDir, check_output
from synergy.measurement.record import final_record, initial_record, status_of
from synergy.measurement.result import MeasureResult
from synergy.measurement.run import RunOutcome, measure_runs
from synergy.measurement.session import Session, open_session
from synergy.measurement.signals import SignalGuard
from synergy.results.jsonio import dumps_json
from synergy.results.layers import write_layers
from synergy.results.schema import RunJson

__all__ = ["measure"]

Progress = Callable[[int, int], None]

#: The name, in the output directory, of the ONNX file exported from a PyTorch model.
_EXPORTED_ONNX = "model.onnx"


def measure(
    options: MeasureOptions,
    out_dir: str | Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
    example_input: Any = None,
) -> MeasureResult:
    """Measure a network layer by layer and write the results to ``out_dir``.

    ``options.model`` is a MODEL spec, or in the Python API an in-memory ``torch.nn.Module`` or
    ``onnx.ModelProto``: its input is ``example_input`` (a tensor, tensors or shapes), else
    ``options.input_shape``, else the model's declared ``input_shape``. The options recorded in ``run.json``
    then name the model by its class (``Sequential``). An in-memory module is measured, and left, in eval mode.

    Every input is checked before anything is written: a bad option, model, shape or sensor leaves no
    directory. SIGTERM and SIGHUP end the runs as Ctrl-C does; the completed runs are written
    (``status: partial``) and the interruption is re-raised (:class:`~synergy.measurement.signals.Interrupted`
    for a signal).

    Args:
        options: what to measure and how.
        out_dir: the output directory (refused if it exists, unless ``force``).
        force: reuse an existing output directory that synergy wrote: the files its manifest lists are
            replaced; a directory synergy did not write is refused unless empty.
        progress: called after each measured run with (runs done, runs planned), and with isolation after
            each looped layer (counted on after the runs).
        example_input: the input of an in-memory model (its shapes are measured; the values are not).

    Raises:
        UsageError: a bad option value.
        OutputExistsError: ``out_dir`` exists and ``force`` is false, or holds foreign files (nothing touched).
        OutputWriteError: the output cannot be written (a full disk, a read-only folder).
        ModelSpecError, InputShapeError: the model cannot be built or run.
        SensorUnavailable, SensorPermissionError: the named sensor is absent or unreadable.
        MeasurementError: no run completed.
        MeasurementCheckError: ``options.strict`` and the checks found problems (everything was written;
            the result is the error's ``result``).
        KeyboardInterrupt: re-raised after the completed runs were written (``status: partial``).
    """
    options, model = _resolve(options, example_input)
    out = Path(out_dir)
    check_output(out, force)  # before the sensor is opened: nothing to close on refusal
    notes: list[str] = []
    spec: Any = model  # the session builds the resolved model (an in-memory one included)
    with open_session(options, spec, notes) as session, SignalGuard() as guard:
        with guard.deferred():
            output = OutputDir.claim(out, force)
            start = initial_record(options)
            start["onnx_file"] = _EXPORTED_ONNX if session.built.exported else None
            output.write_text("run.json", dumps_json(start))
        outcome = measure_runs(session, progress, notes, guard)
        with guard.deferred():
            measured = _finish(session, outcome, output, start, notes)
    measured = _conclude(measured, outcome, notes)
    guard.raise_pending()
    return measured


def _resolve(options: MeasureOptions, example_input: Any) -> tuple[MeasureOptions, ResolvedModel]:
    """The options (an in-memory model named by its class) validated, and the resolved model."""
    given: Any = options.model
    if not isinstance(given, str):
        model = resolve_model(given, example_input)
        options = dataclasses.replace(options, model=model.name)
        options.validate()
        return options, model
    options.validate()
    return options, resolve_model(given)


def _finish(
    session: Session, outcome: RunOutcome, output: OutputDir, start: RunJson, notes: list[str]
) -> MeasureResult:
    """Attribute, assemble and write everything (signals wait until it is on disk)."""
    if outcome.events.n_runs == 0:
        failed: dict[str, Any] = {**start, "status": "partial" if outcome.interrupted else "failed", "runs": 0}
        output.write_text("run.json", dumps_json({**failed, "runtime": outcome.runtime_info}))
        if outcome.interrupted is not None:
            raise outcome.interrupted
        raise MeasurementError("no inference completed; nothing to attribute")
    energy = attribute_energy(session, outcome, notes)
    outcome.sensor_info = session.sensor.describe()  # a meter log's alignment is known only now
    layers = layer_table(session.runtime, outcome.events, session.built.analysis)
    add_energy(layers, energy)
    blocks: dict[str, Any] = {"counters": counter_results(session, outcome, layers)}
    if session.options.isolation:
        blocks["isolation"] = add_isolation(layers, energy, outcome, session)
    _busy_note(session, outcome, blocks["counters"], notes)
    blocks["context"], findings = context_results(session, outcome, layers)
    findings = [*findings, *attribution_findings(energy)]
    failed_checks = session.options.strict and bool(findings) and outcome.interrupted is None
    _write_tables(session, outcome, output, layers, energy, notes)
    record = final_record(start, session, outcome, energy, blocks, findings, notes, status_of(outcome, failed_checks))
    output.write_text("run.json", dumps_json(record))
    return MeasureResult(
        output.path,
        layers,
        dict(record),
        energy.attribution,
        energy.reason,
        outcome.interrupted is not None,
        notes,
        findings,
        session.before,
    )


#: Mean run time over the median beyond which the runs' spread is said (energies and times are means).
_SKEW_RATIO = 1.25


def _busy_note(session: Session, outcome: RunOutcome, counters: dict[str, Any] | None, notes: list[str]) -> None:
    durations = outcome.events.run_duration_s()
    run_s = float(durations.mean())
    median_s = float(np.median(durations))
    if median_s > 0 and run_s > _SKEW_RATIO * median_s:
        notes.append(
            f"the runs took {run_s * 1e3:.3g} ms on average, {run_s / median_s:.2g}× their median "
            f"({median_s * 1e3:.3g} ms): other work delayed some of them, and the energy per inference and the "
            "layers' times are means that include the delays; stop that work (see 'synergy system') or pin the "
            "run with taskset"
        )
        return  # the on-CPU share below would say the same
    on_cpu = (counters or {}).get("per_inference", {}).get("task_clock_ns")
    if on_cpu is not None and session.options.threads == 1 and on_cpu * 1e-9 < 0.8 * run_s:
        notes.append(
            f"the inference ran on a CPU only {on_cpu * 1e-9 / run_s:.0%} of its wall time: "
            "other work shares the cores (see 'synergy system'); stop it or pin the run with taskset for "
            "stable times and energies"
        )


def _write_tables(
    session: Session, outcome: RunOutcome, output: OutputDir, layers: pd.DataFrame, energy: Energy, notes: list[str]
) -> None:
    """layers.csv, isolated.csv, the Parquet files, the ONNX files and the power profile."""
    from synergy.alignment.isolation import isolated_frame
    from synergy.context.results import context_frame

    output.write("layers.csv", lambda tmp: write_layers(tmp, layers))
    if energy.isolated:
        output.write("isolated.csv", lambda tmp: isolated_frame(energy.isolated).to_csv(tmp, index=False))
    events = outcome.events
    output.write("events.parquet", lambda tmp: events.to_frame().to_parquet(tmp, index=False))
    output.write("runs.parquet", lambda tmp: events.runs_frame().to_parquet(tmp, index=False))
    timeline = energy.timeline
    if timeline is not None and len(timeline) > 0:
        output.write("samples.parquet", timeline.to_parquet)
    sampled, reads = context_reads(session, outcome)
    if sampled:
        output.write("context.parquet", lambda tmp: context_frame(sampled).to_parquet(tmp, index=False))
    _copy_runtime_files(session, output)
    _plot(session, outcome, output, layers, energy, list(reads.values()), notes)


def _copy_runtime_files(session: Session, output: OutputDir) -> None:
    """The exported model and ONNX Runtime's optimised graph and profile, from the private work folder."""
    built = session.built
    if built.exported and built.onnx_path is not None and built.onnx_path.is_file():
        output.copy(_EXPORTED_ONNX, built.onnx_path)
    ort = session.work_dir / "ort"
    for name in ("optimized.onnx", "optimized.onnx.data", "ort_profile.json"):
        if (ort / name).is_file():
            output.copy(f"ort/{name}", ort / name)


def _plot(
    session: Session,
    outcome: RunOutcome,
    output: OutputDir,
    layers: pd.DataFrame,
    energy: Energy,
    context: list[Any],
    notes: list[str],
) -> None:
    from synergy.measurement.plot import plot_power_profile

    options = session.options
    try:
        output.write(
            "power_profile.png",
            lambda tmp: plot_power_profile(
                tmp,
                outcome.events,
                list(layers["category"]),
                attribution=energy.attribution,
                timeline=energy.timeline if energy.attribution is not None else None,
                context=context,
                title=f"{options.model} ({options.runtime}, {options.threads} thread(s)): one inference",
            ),
        )
    except (ValueError, RuntimeError) as exc:
        notes.append(f"power_profile.png was not drawn: {exc}")


def _conclude(measured: MeasureResult, outcome: RunOutcome, notes: list[str]) -> MeasureResult:
    if outcome.interrupted is not None:
        raise outcome.interrupted
    for note in notes:
        warnings.warn(note, SynergyWarning, stacklevel=3)
    if measured.run.get("status") == "failed-checks":
        findings = measured.findings
        codes = ", ".join(sorted({finding.code for finding in findings}))
        raise MeasurementCheckError(
            f"{len(findings)} measurement check(s) failed under --strict ({codes}); the results were written to "
            f"{measured.out_dir}: fix the conditions listed above and measure again",
            measured,
        )
    return measured
