"""``measure``: validate, open the session, claim the output, run, attribute, assemble, write."""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synergy.context.checks import Finding
from synergy.errors import InputShapeError, MeasurementCheckError, MeasurementError, SynergyWarning, UsageError
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
from synergy.measurement.build import Stage, no_stage
from synergy.measurement.inputs import GivenInputs, given_inputs, input_record
from synergy.measurement.options import MeasureOptions
from synergy.measurement.outputs import OutputDir, check_output
from synergy.measurement.record import file_sha256, final_record, initial_record, status_of
from synergy.measurement.result import MeasureResult, write_result
from synergy.measurement.run import RunOutcome, measure_runs
from synergy.measurement.session import Session, open_session
from synergy.measurement.signals import SignalGuard
from synergy.results.jsonio import dumps_json
from synergy.results.schema import RunJson

__all__ = ["STAGES", "measure"]

Progress = Callable[[int, int], None]

#: The steps ``measure`` reports to its ``stage`` callback, in order (those that do not apply are skipped).
STAGES: tuple[str, ...] = (
    "resolving model",
    "opening sensor",
    "analysing model",
    "exporting to ONNX",
    "loading ONNX Runtime",
    "loading PyTorch",
    "reading the machine's state",
    "measuring idle",
    "warm-up",
    "runs",
    "isolation",
    "attributing",
    "writing",
)

#: The name, in the output directory, of the ONNX file exported from a PyTorch model.
_EXPORTED_ONNX = "model.onnx"

#: The fields of :class:`MeasureOptions` that ``measure`` takes as keywords (the model is its first argument).
_OPTION_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(MeasureOptions) if f.name != "model")


def measure(
    model_or_spec: Any,
    out_dir: str | Path | None = None,
    *,
    inputs: Any = None,
    force: bool = False,
    progress: Progress | None = None,
    stage: Stage | None = None,
    example_input: Any = None,
    **options: Any,
) -> MeasureResult:
    """Measure a network layer by layer; write the results to ``out_dir``, or keep them in memory.

    ``model_or_spec`` is a MODEL spec (a ``str``, or a path), an in-memory ``torch.nn.Module`` or ``onnx.ModelProto``,
    or a whole :class:`MeasureOptions`; the keywords ``options`` are fields of :class:`MeasureOptions`
    (``runs=``, ``sensor=``, ``runtime=``, ``threads=`` ...), replacing those of a given one. The options
    recorded in ``run.json`` name an in-memory model by its class (``Sequential``); it is measured, and left,
    in eval mode.

    The values fed to the model are ``inputs``: a tensor (one batch), a list or tuple of tensors (a list of
    batches of a model with one input), or an iterable of batches (a ``DataLoader``: of a ``(x, y)`` batch,
    ``x`` is fed). The measured runs cycle through the batches (at most ``runs`` are taken), which must all
    have one shape. Without ``inputs``, one random input of the model's shapes is fed: those of
    ``example_input`` (a tensor, tensors or shapes; only their shapes count), else ``input_shape``, else the
    model's declared ``input_shape``. ``run.json`` records which (``inputs``).

    Without ``out_dir``, nothing is written but in a private work folder removed afterwards: the result
    holds every table, and :meth:`MeasureResult.save` writes the same files later.

    Every input is checked before anything is written: a bad option, model, shape or sensor leaves no
    directory, and the batches' shapes are checked before the sensor is opened. SIGTERM and SIGHUP end the
    runs as Ctrl-C does; the completed runs are written (``status: partial``) and the interruption is
    re-raised (:class:`~synergy.measurement.signals.Interrupted` for a signal).

    Args:
        model_or_spec: the model, or the options with the model.
        out_dir: the output directory (refused if it exists, unless ``force``); ``None``: in memory.
        inputs: the values fed to the model (see above); ``None``: a random input.
        force: reuse an existing output directory that synergy wrote: the files its manifest lists are
            replaced; a directory synergy did not write is refused unless empty.
        progress: called after each measured run with (runs done, runs planned), and with isolation after
            each looped layer (counted on after the runs).
        stage: called with the name of each step as it begins (:data:`STAGES`), from the first.
        example_input: the input of an in-memory model (its shapes are measured; the values are not).
        options: fields of :class:`MeasureOptions`.

    Raises:
        UsageError: a bad option value, or a keyword that is no option.
        OutputExistsError: ``out_dir`` exists and ``force`` is false, or holds foreign files (nothing touched).
        OutputWriteError: the output cannot be written (a full disk, a read-only folder).
        ModelSpecError, InputShapeError: the model cannot be built or run, or the batches differ in shape.
        SensorUnavailable, SensorPermissionError: the named sensor is absent or unreadable.
        MeasurementError: no run completed.
        MeasurementCheckError: ``strict`` and the checks found problems (everything was written; the
            result is the error's ``result``).
        KeyboardInterrupt: re-raised after the completed runs were written (``status: partial``).
    """
    tell = stage or no_stage
    tell("resolving model")
    chosen = _options(model_or_spec, options)
    given = given_inputs(inputs, chosen.runs) if inputs is not None else None
    resolved_options, resolved = _resolve(chosen, example_input, given)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        check_output(out, force)  # before the sensor is opened: nothing to close on refusal
    notes: list[str] = []
    spec: Any = resolved  # the session builds the resolved model (an in-memory one included)
    with open_session(resolved_options, spec, notes, given, tell) as session, SignalGuard() as guard:
        output: OutputDir | None = None
        with guard.deferred():
            start = initial_record(session.options)
            built = session.built
            start["onnx_file"] = _EXPORTED_ONNX if built.exported else None
            start["onnx_sha256"] = file_sha256(built.onnx_path) if built.onnx_path is not None else None
            start["inputs"] = input_record(given, built.input_shapes)
            if out is not None:
                output = OutputDir.claim(out, force)
                output.write_text("run.json", dumps_json(start))
        outcome = measure_runs(session, progress, notes, guard, tell)
        with guard.deferred():
            measured = _finish(session, outcome, output, start, notes, tell)
    measured = _conclude(measured, outcome, notes)
    guard.raise_pending()
    return measured


def _options(model: Any, given: dict[str, Any]) -> MeasureOptions:
    """The options: ``model`` (or the options it is) with the keywords ``given`` in place of their fields."""
    unknown = sorted(set(given) - set(_OPTION_NAMES))
    if unknown:
        raise UsageError(
            f"measure() has no option {unknown[0]!r} (not a field of MeasureOptions): use one of "
            + ", ".join(_OPTION_NAMES)
        )
    if isinstance(model, MeasureOptions):
        return dataclasses.replace(model, **given) if given else model
    if isinstance(model, os.PathLike):
        model = os.fspath(model)
    return MeasureOptions(model=model, **given)


def _resolve(
    options: MeasureOptions, example_input: Any, given: GivenInputs | None = None
) -> tuple[MeasureOptions, ResolvedModel]:
    """The options (an in-memory model named by its class) validated, and the resolved model."""
    if given is not None:
        if example_input is not None:
            raise UsageError("give the inputs or an example input, not both (the inputs set the shapes)")
        if options.input_shape is not None and tuple(map(tuple, options.input_shape)) != given.shapes:
            want = ";".join("x".join(map(str, s)) for s in options.input_shape)
            got = "x".join(map(str, given.shapes[0]))
            raise InputShapeError(f"the inputs have shape {got} but the input shape given is {want}: give one")
    model: Any = options.model
    if not isinstance(model, str):
        resolved = resolve_model(model, given.example() if given is not None else example_input)
        options = dataclasses.replace(options, model=resolved.name)
        options.validate()
        return options, resolved
    if given is not None:
        options = dataclasses.replace(options, input_shape=given.shapes)
    options.validate()
    return options, resolve_model(model)


def _finish(
    session: Session,
    outcome: RunOutcome,
    output: OutputDir | None,
    start: RunJson,
    notes: list[str],
    stage: Stage,
) -> MeasureResult:
    """Attribute, assemble and write everything (signals wait until it is on disk)."""
    if outcome.events.n_runs == 0:
        failed: dict[str, Any] = {**start, "status": "partial" if outcome.interrupted else "failed", "runs": 0}
        if output is not None:
            output.write_text("run.json", dumps_json({**failed, "runtime": outcome.runtime_info}))
        if outcome.interrupted is not None:
            raise outcome.interrupted
        raise MeasurementError("no inference completed; nothing to attribute")
    stage("attributing")
    energy = attribute_energy(session, outcome, notes)
    outcome.sensor_info = session.sensor.describe()  # a meter log's alignment is known only now
    layers = layer_table(session.runtime, outcome.events, session.built.analysis)
    add_energy(layers, energy)
    blocks: dict[str, Any] = {"counters": counter_results(session, outcome, layers)}
    if session.options.isolation:
        blocks["isolation"] = add_isolation(layers, energy, outcome, session)
    _busy_note(session, outcome, blocks["counters"], notes)
    blocks["context"], findings = context_results(session, outcome, layers)
    findings = [*findings, *attribution_findings(energy), *_delay_findings(outcome)]
    failed_checks = session.options.strict and bool(findings) and outcome.interrupted is None
    sampled, reads = context_reads(session, outcome)
    result = MeasureResult(
        output.path if output is not None else None,
        layers,
        {},
        energy.attribution,
        energy.reason,
        outcome.interrupted is not None,
        notes,
        findings,
        session.before,
        **_tables(outcome, energy, sampled),
    )
    result.files = _runtime_files(session)
    png = _plot(session, outcome, layers, energy, list(reads.values()), notes)
    if png is not None:
        result.files["power_profile.png"] = png
    result.run = dict(
        final_record(start, session, outcome, energy, blocks, findings, notes, status_of(outcome, failed_checks))
    )
    if output is not None:
        stage("writing")
        write_result(output, result)
        result.files = {name: output.path / name for name in result.files}
    else:
        result.files = {name: _read(content) for name, content in result.files.items()}
    return result


#: Mean run time over the median beyond which the runs' spread is a finding (energies and times are means).
SKEW_RATIO = 1.25
#: Fewer runs than this say nothing about their spread.
_SKEW_MIN_RUNS = 10


def _delay_findings(outcome: RunOutcome) -> list[Finding]:
    """``runs-delayed`` when other work made the mean run (what energies follow) much longer than the median."""
    durations = outcome.events.run_duration_s()
    if len(durations) < _SKEW_MIN_RUNS:
        return []
    mean_s, median_s = float(durations.mean()), float(np.median(durations))
    if median_s <= 0 or mean_s <= SKEW_RATIO * median_s:
        return []
    return [
        Finding(
            "runs-delayed",
            "runs",
            f"the runs took {mean_s * 1e3:.3g} ms on average, {mean_s / median_s:.2g}× their median "
            f"({median_s * 1e3:.3g} ms): the energy per inference and the layers' times are means and include "
            "the delays",
            "other work delayed some runs: stop it (see 'synergy system') or pin the run with taskset, and "
            "measure again",
        )
    ]


def _busy_note(session: Session, outcome: RunOutcome, counters: dict[str, Any] | None, notes: list[str]) -> None:
    run_s = float(outcome.events.run_duration_s().mean())
    on_cpu = (counters or {}).get("per_inference", {}).get("task_clock_ns")
    if on_cpu is not None and session.options.threads == 1 and on_cpu * 1e-9 < 0.8 * run_s:
        notes.append(
            f"the inference ran on a CPU only {on_cpu * 1e-9 / run_s:.0%} of its wall time: "
            "other work shares the cores (see 'synergy system'); stop it or pin the run with taskset for "
            "stable times and energies"
        )


def _read(content: bytes | Path) -> bytes:
    return content if isinstance(content, bytes) else content.read_bytes()


def _tables(outcome: RunOutcome, energy: Energy, sampled: dict[str, Any]) -> dict[str, Any]:
    """The tables of the result: events, runs, samples, context and isolation (``None`` where absent)."""
    from synergy.alignment.isolation import isolated_frame
    from synergy.context.results import context_frame

    events = outcome.events
    timeline = energy.timeline
    return {
        "events": events.to_frame(),
        "runs": events.runs_frame(),
        "samples": timeline if timeline is not None and len(timeline) > 0 else None,
        "context": context_frame(sampled) if sampled else None,
        "isolated": isolated_frame(energy.isolated) if energy.isolated else None,
    }


def _runtime_files(session: Session) -> dict[str, bytes | Path]:
    """The exported model and ONNX Runtime's profile (and, with ``keep_models``, its optimised graph), from
    the private work folder."""
    built = session.built
    files: dict[str, bytes | Path] = {}
    if built.exported and built.onnx_path is not None and built.onnx_path.is_file():
        files[_EXPORTED_ONNX] = built.onnx_path
    ort = session.work_dir / "ort"
    kept = ("optimized.onnx", "optimized.onnx.data") if session.options.keep_models else ()
    for name in (*kept, "ort_profile.json"):
        if (ort / name).is_file():
            files[f"ort/{name}"] = ort / name
    return files


def _plot(
    session: Session,
    outcome: RunOutcome,
    layers: pd.DataFrame,
    energy: Energy,
    context: list[Any],
    notes: list[str],
) -> Path | None:
    """The power profile, drawn into the work folder (``None``, and a note, when it cannot be drawn)."""
    from synergy.measurement.plot import plot_power_profile

    options = session.options
    path = session.work_dir / "power_profile.png"
    try:
        plot_power_profile(
            path,
            outcome.events,
            list(layers["category"]),
            attribution=energy.attribution,
            timeline=energy.timeline if energy.attribution is not None else None,
            context=context,
            title=f"{options.model} ({options.runtime}, {options.threads} thread(s)): one inference",
        )
    except (ValueError, RuntimeError) as exc:
        notes.append(f"power_profile.png was not drawn: {exc}")
        return None
    return path


def _conclude(measured: MeasureResult, outcome: RunOutcome, notes: list[str]) -> MeasureResult:
    if outcome.interrupted is not None:
        raise outcome.interrupted
    for note in notes:
        warnings.warn(note, SynergyWarning, stacklevel=3)
    if measured.run.get("status") == "failed-checks":
        findings = measured.findings
        codes = ", ".join(sorted({finding.code for finding in findings}))
        where = f"the results were written to {measured.out_dir}" if measured.out_dir else "the results are in memory"
        raise MeasurementCheckError(
            f"{len(findings)} measurement check(s) failed under --strict ({codes}); {where} (this error's "
            "result): fix the conditions listed above and measure again",
            measured,
        )
    return measured
