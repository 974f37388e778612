"""The run record (``run.json``, keys of :class:`synergy.results.schema.RunJson`) of a measurement."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import numpy as np

from synergy.clock import wall_offset_ns
from synergy.context import Finding
from synergy.context.metadata import system_metadata
from synergy.measurement.assemble import Energy
from synergy.measurement.options import MeasureOptions
from synergy.measurement.run import RunOutcome, settings_of
from synergy.measurement.session import Session
from synergy.results.schema import RUN_FORMAT_VERSION, RunJson

#: Version of the ``run.json`` layout (:data:`synergy.results.schema.RUN_FORMAT_VERSION`).
FORMAT_VERSION = RUN_FORMAT_VERSION

__all__ = ["FORMAT_VERSION", "file_sha256", "final_record", "initial_record", "status_of"]


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's content, hex (read in blocks: a model may be large)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def initial_record(options: MeasureOptions) -> RunJson:
    """What ``run.json`` holds while the runs go on (``status: running``)."""
    return {
        "format_version": RUN_FORMAT_VERSION,
        "status": "running",
        "model": options.model,
        "options": options.to_dict(),
        "started_unix_ns": wall_offset_ns() + time.monotonic_ns(),
    }


def status_of(outcome: RunOutcome, failed_checks: bool) -> str:
    """``partial`` (interrupted), ``failed-checks`` (strict and findings) or ``complete``."""
    if outcome.interrupted is not None:
        return "partial"
    return "failed-checks" if failed_checks else "complete"


def _inference_energy(energy: Energy) -> tuple[float | None, str | None]:
    attribution = energy.attribution
    if attribution is None:
        return None, None
    direct = attribution.direct_inference_energy_j
    if np.isfinite(direct):
        return direct, attribution.direct_method
    model = attribution.inference_energy_j  # NaN when a layer is undetermined: then there is no headline
    return (model, "model") if np.isfinite(model) else (None, None)


def _timing(outcome: RunOutcome) -> dict[str, Any]:
    run_s = outcome.events.run_duration_s()
    return {
        "runs": outcome.events.n_runs,
        "inference_s": float(np.median(run_s)),
        "inference_s_mean": float(np.mean(run_s)),
        "inference_s_std": float(np.std(run_s, ddof=1)) if len(run_s) > 1 else 0.0,
        "layers_s": float(outcome.events.duration_matrix_s().sum(axis=1).mean()),
    }


def final_record(
    start: RunJson,
    session: Session,
    outcome: RunOutcome,
    energy: Energy,
    blocks: dict[str, Any],
    findings: list[Finding],
    notes: list[str],
    status: str,
) -> RunJson:
    """The complete ``run.json`` of a measurement with at least one run.

    Args:
        start: the record written when the runs began.
        blocks: the ``counters``, ``isolation`` and ``context`` blocks.
    """
    options, timeline, analysis = session.options, energy.timeline, session.built.analysis
    inference_energy_j, source = _inference_energy(energy)
    record: RunJson = {
        **start,
        "status": status,
        "interrupted_by": type(outcome.interrupted).__name__ if outcome.interrupted is not None else None,
        "runtime": outcome.runtime_info,
        "settings": settings_of(session).to_dict(),
        "sensor": outcome.sensor_info,
        "sampler": outcome.sampled.to_dict() if outcome.sampled is not None else None,
        "sensor_gaps": [g.to_dict() for g in timeline.gaps] if timeline is not None else [],
        "sensor_end_reason": timeline.end_reason if timeline is not None else None,
        "energy_unavailable": energy.reason,
        "idle": energy.idle.to_dict() if energy.idle is not None else None,
        **_timing(outcome),  # type: ignore[typeddict-item]
        "inference_energy_j": inference_energy_j,
        "energy_source": source,
        "counters": blocks.get("counters"),
        "attribution": energy.attribution.summary() if energy.attribution is not None else None,
        "check": energy.attribution.check() if energy.attribution is not None else None,
        "isolation": blocks.get("isolation"),
        "uncalled_layers": session.built.uncalled_layers,
        "trace": outcome.sync.to_dict() if outcome.sync is not None else None,
        "analysis": (
            {"layers": len(analysis), "macs": analysis.macs, "frontend": analysis.frontend}
            if analysis is not None
            else None
        ),
        "system": {
            **system_metadata(),
            "frequencies_before_hz": session.frequencies_before,
            "threads": options.threads,
        },
        "context": blocks.get("context"),
        "checks": [finding.to_dict() for finding in findings],
        "warnings": notes,
    }
    return record
