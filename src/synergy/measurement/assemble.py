"""From what the runs left to the results: the layer table (times, the analysis features of every
measured layer, energies, isolation, context and counters) and the run record, in the schema's terms
(:mod:`synergy.results.schema`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synergy.alignment.attribute import Attribution, attribute_timeline
from synergy.alignment.events import LayerEvents
from synergy.alignment.identifiability import UNDETERMINED_REMEDY
from synergy.alignment.isolation import IsolatedLayer, attribute_isolated
from synergy.alignment.plausibility import plausibility_findings
from synergy.context import Finding, check, collect_context, summarize
from synergy.context import Timeline as ContextTimeline
from synergy.context.results import LAYER_RAILS, from_sampler, layer_spans, summary_rails
from synergy.errors import AlignmentError, DatasetError, SamplingError, UndeterminedError
from synergy.graph.layers import LayerTable, op_category
from synergy.measurement.run import RunOutcome
from synergy.measurement.session import Session
from synergy.models.features import FEATURES, layer_frame
from synergy.results.schema import context_column_names, layer_column_names
from synergy.runtime.base import Runtime
from synergy.sampling.idle import IdlePower, idle_from_timeline
from synergy.sampling.timeline import Timeline

__all__ = ["Energy", "attribute_energy", "attribution_findings", "context_results", "counter_results", "layer_table"]

_ENERGY_COLUMNS = layer_column_names("energy")


def _shape_text(shapes: Any) -> str:
    return ";".join("x".join(str(d) for d in shape) for shape in shapes)


def _feature_row(members: pd.DataFrame, shapes: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """The features of a measured layer: the sums of its analysis layers', the labels of the largest."""
    row: dict[str, Any] = {f: float(members[f].sum()) for f in FEATURES}
    primary = members.iloc[int(np.argmax(members["macs"].to_numpy(dtype=float)))]
    row.update(op=str(primary["op"]), op_key=str(primary["op_key"]), category=str(primary["category"]))
    row["kernel_area"] = float(primary["kernel_area"])
    row["input_shapes"], row["output_shapes"] = shapes[str(primary["name"])]
    row["flops"] = float(members["flops"].sum())
    return row


def _analysis_frame(analysis: LayerTable | None) -> tuple[pd.DataFrame, dict[str, tuple[str, str]]]:
    if analysis is None:
        return pd.DataFrame(columns=["name", "op", "category", "op_key", *FEATURES, "flops"]).set_index("name"), {}
    frame = layer_frame(analysis)
    frame["flops"] = [float(layer.flops) for layer in analysis.layers]
    shapes = {
        layer.name: (_shape_text(layer.input_shapes), _shape_text(layer.output_shapes)) for layer in analysis.layers
    }
    return frame.drop_duplicates("name").set_index("name", drop=False), shapes


def layer_table(runtime: Runtime, events: LayerEvents, analysis: LayerTable | None) -> pd.DataFrame:
    """One row per measured layer: labels, run count, times and every analysis feature of the layers it
    contains (the one join of measured layers to the analysis)."""
    full, shapes = _analysis_frame(analysis)
    ran = np.zeros(len(events.layers), dtype=np.int64)
    if len(events.layer):
        pairs = np.unique(np.stack([events.run, events.layer]), axis=1)
        np.add.at(ran, pairs[1], 1)
    rows = []
    for index, name in enumerate(events.layers):
        contains = runtime.contains.get(name, ())
        present = [m for m in contains if m in full.index]
        row: dict[str, Any] = {"layer": name, "contains": ";".join(contains), "runs": int(ran[index])}
        if present:
            row.update(_feature_row(full.loc[present], shapes))
        else:
            op = "runtime" if not contains else "unknown"
            row.update({f: 0.0 for f in (*FEATURES, "flops")}, op=op, op_key=op, category=op_category(op))
            row.update(input_shapes="", output_shapes="")
        rows.append(row)
    layers = pd.DataFrame(rows, columns=[*layer_column_names("label"), "runs", *layer_column_names("feature")])
    durations = events.duration_matrix_s()
    layers["duration_s"] = durations.mean(axis=0)
    layers["duration_s_std"] = durations.std(axis=0, ddof=1) if events.n_runs > 1 else 0.0
    return layers


@dataclass
class Energy:
    """The energy side of a measurement.

    Attributes:
        timeline: the power sensor's timeline (``None`` without one).
        attribution: the joint fit, or ``None``.
        idle: the idle power before the runs, or ``None``.
        isolated: the isolated layers.
        reason: why there is no energy (``None`` when there is).
        refusal: the finding of an attribution that refused (the readings determine no layer), or ``None``.
    """

    timeline: Timeline | None
    attribution: Attribution | None
    idle: IdlePower | None
    isolated: list[IsolatedLayer] = field(default_factory=list)
    reason: str | None = None
    refusal: Finding | None = None


def _idle(timeline: Timeline, t_end_ns: int, idle_s: float) -> IdlePower | None:
    lo = max(timeline.coverage_ns[0], t_end_ns - round(idle_s * 1e9))
    if t_end_ns - lo < 50_000_000:
        return None
    try:
        return idle_from_timeline(timeline, lo, t_end_ns)
    except (SamplingError, ValueError, AlignmentError):
        return None


def _sensor_timeline(session: Session, outcome: RunOutcome, notes: list[str]) -> tuple[Timeline | None, str | None]:
    if session.energy_reason is not None:
        return None, session.energy_reason
    if session.live_power:
        sampled = outcome.sampled
        return (sampled.timeline(session.sensor.name) if sampled is not None else None), None
    try:  # a meter's log, read now that the runs are over
        return session.sensor.timeline(outcome.sync), None  # type: ignore[attr-defined]
    except (AlignmentError, DatasetError) as exc:
        return None, f"the meter's log could not be aligned: {exc}"


def attribute_energy(session: Session, outcome: RunOutcome, notes: list[str]) -> Energy:
    """Attribute the sensor's energy to the layers (and the isolation loops), or say why not."""
    options = session.options
    timeline, reason = _sensor_timeline(session, outcome, notes)
    energy = Energy(timeline, None, None, reason=reason)
    if timeline is None:
        energy.reason = energy.reason or "the sensor gave no readings"
        return energy
    if timeline.end_reason is not None:
        notes.append(f"the sensor stopped during the measurement ({timeline.end_reason}); runs after it have time only")
    if len(timeline) < 2 or timeline.kind is None:
        energy.reason = timeline.end_reason or "the sensor gave fewer than two readings"
        return energy
    try:
        energy.attribution = attribute_timeline(
            outcome.events,
            timeline,
            bootstrap=options.bootstrap,
            seed=options.seed,
            until_ns=outcome.isolation_from_ns,
        )
    except UndeterminedError as exc:
        # What the readings do determine (the idle power, the whole inference read directly) is kept.
        energy.attribution = exc.attribution if isinstance(exc.attribution, Attribution) else None
        said = str(exc).removesuffix(UNDETERMINED_REMEDY).rstrip(" ;:")  # the remedy is the finding's own
        energy.refusal = Finding("layers-undetermined", "attribution", said, UNDETERMINED_REMEDY)
        if energy.attribution is None:
            energy.reason = str(exc)
    except AlignmentError as exc:
        energy.reason = f"energy could not be attributed: {exc}"
    _covered_note(energy.attribution, notes)
    if options.idle_s > 0:
        energy.idle = _idle(timeline, outcome.idle_end_ns, options.idle_s)
    if outcome.loops:
        idle_w = energy.attribution.idle_power_w if energy.attribution is not None else np.nan
        if not np.isfinite(idle_w):
            idle_w = energy.idle.mean_w if energy.idle is not None else 0.0
        try:
            energy.isolated = attribute_isolated(timeline, outcome.loops, idle_w if np.isfinite(idle_w) else 0.0)
        except (AlignmentError, SamplingError) as exc:
            notes.append(f"isolation mode gave no energies: {exc}")
    return energy


def _covered_note(attribution: Attribution | None, notes: list[str]) -> None:
    missed = int(attribution.extras.get("runs_not_covered", 0) or 0) if attribution is not None else 0
    if attribution is not None and missed > 0:
        notes.append(
            f"the sensor's readings cover {attribution.runs} of {attribution.runs + missed} runs: the energies "
            f"come from those {attribution.runs}, the times from all"
        )


def attribution_findings(energy: Energy) -> list[Finding]:
    """The attribution's refusal, or its plausibility findings (none without an attribution)."""
    if energy.refusal is not None:
        return [energy.refusal]
    return plausibility_findings(energy.attribution) if energy.attribution is not None else []


def add_energy(layers: pd.DataFrame, energy: Energy) -> None:
    """The energy columns of ``layers`` (NaN without an attribution), in place."""
    fit = energy.attribution.to_frame() if energy.attribution is not None else None
    for column in _ENERGY_COLUMNS:
        layers[column] = fit[column].to_numpy() if fit is not None else np.nan
    if fit is None:  # every layer undetermined, for the one reason (no sensor, too few readings)
        layers["undetermined_reason"] = energy.reason or ""


def add_isolation(layers: pd.DataFrame, energy: Energy, outcome: RunOutcome, session: Session) -> dict[str, Any]:
    """The isolation columns of ``layers`` (in place) and the ``isolation`` block of ``run.json``."""
    by_layer = {layer.layer: layer for layer in energy.isolated}
    for column, attr in (
        ("isolated_duration_s", "duration_s"),
        ("isolated_power_w", "power_w"),
        ("isolated_energy_j", "energy_j"),
    ):
        layers[column] = [getattr(by_layer[n], attr) if n in by_layer else np.nan for n in layers["layer"]]
    return {
        "settle_s": outcome.plan[0],
        "measure_s": outcome.plan[1],
        "time_constant_s": session.time_constant_s,
        "layers": len(energy.isolated),
        "energy_j": float(sum(layer.energy_j for layer in energy.isolated)) if energy.isolated else None,
        "file": "isolated.csv" if energy.isolated else None,
    }


def counter_results(session: Session, outcome: RunOutcome, layers: pd.DataFrame) -> dict[str, Any] | None:
    """Mean counter increments per inference (run.json) and per layer (columns of ``layers``, in place)."""
    counters, records, events = session.counters, outcome.records, outcome.events
    if counters is None:
        return None
    info: dict[str, Any] = counters.describe()
    names = list(counters.names)
    per_run = [r.counters for r in records if len(r.counters) == len(names)]
    if names and per_run:
        means = np.asarray(per_run, dtype=np.float64).mean(axis=0)
        info["per_inference"] = {name: float(v) for name, v in zip(names, means, strict=True)}
    if names and records and all(len(r.layer_counters) == len(r.layer_index) for r in records):
        values = np.asarray([c for r in records for c in r.layer_counters], dtype=np.float64)
        if len(values) == len(events.layer):
            for k, name in enumerate(names):
                total = np.zeros(len(events.layers))
                np.add.at(total, events.layer, values[:, k])
                layers[name] = total / events.n_runs
            info["per_layer"] = True
    return info


def context_reads(session: Session, outcome: RunOutcome) -> tuple[dict[str, Timeline], dict[str, ContextTimeline]]:
    """The sampled channels' timelines, raw and as context timelines."""
    if outcome.sampled is None:
        return {}, {}
    sampled = {c.name: outcome.sampled.timelines[c.name] for c in session.channels}
    reads = {name: from_sampler(t, outcome.sampled.channels[name].poll_period_s) for name, t in sampled.items()}
    return sampled, reads


def _layer_context(
    timelines: list[ContextTimeline], events: LayerEvents, run_spans: Any, layers: pd.DataFrame
) -> dict[str, Any]:
    derived = summary_rails(timelines)
    if derived is None:
        return {}
    spans = layer_spans(events.layers, events.layer, events.start_ns, events.end_ns)
    summary = summarize(derived, {"runs": run_spans, **spans})
    per_layer = summary.to_dict()
    frame = summary.to_frame(stats=("min", "median", "max"))
    for rail in LAYER_RAILS:
        if rail in derived.rails:
            column = context_column_names([rail])[0]
            values = frame[column] if column in frame else pd.Series(dtype=float)
            layers[column] = [float(values.get(name, np.nan)) for name in layers["layer"]]
    return {"runs": per_layer.pop("runs"), "layers": per_layer, "layer_rails": list(derived.rails)}


def context_results(
    session: Session, outcome: RunOutcome, layers: pd.DataFrame
) -> tuple[dict[str, Any] | None, list[Finding]]:
    """The ``context`` block of ``run.json``, the channel columns of ``layers`` (added in place), the findings."""
    options, events, sampled_result = session.options, outcome.events, outcome.sampled
    if not options.context:
        return None, []
    sampled, reads = context_reads(session, outcome)
    after = collect_context(options.sysfs_root, use_nvml=Path(options.sysfs_root) == Path("/"), top_interval_s=0)
    timelines = list(reads.values())
    run_spans = [(int(a), int(b)) for a, b in zip(events.run_start_ns, events.run_end_ns, strict=True)]
    info: dict[str, Any] = {
        "channels": session.channels.describe(),
        "sampler": {n: sampled_result.channels[n].to_dict() for n in sampled} if sampled_result is not None else {},
        "gaps": {name: [g.to_dict() for g in t.gaps] for name, t in sampled.items() if t.gaps},
        "before": session.before.to_dict() if session.before is not None else None,
        "after": after.to_dict(),
        "runs": summarize(timelines, {"runs": run_spans}).to_dict()["runs"] if timelines else {},
        "layers": {},
        "layer_rails": [],
    }
    per_layer = _layer_context(timelines, events, run_spans, layers)
    if per_layer:
        info["runs"] = {**per_layer["runs"], **info["runs"]}
        info["layers"], info["layer_rails"] = per_layer["layers"], per_layer["layer_rails"]
    return info, check(session.before, timelines, run_spans, context_after=after)
