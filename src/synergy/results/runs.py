"""Reading a run directory through the schema: ``run.json`` checked and upgraded, ``layers.csv`` typed,
and the check that runs are comparable before they are merged (as pyperf refuses to compare benchmarks
whose metadata differ)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synergy.errors import IncomparableRunsError, ResultFormatError
from synergy.results.jsonio import read_json
from synergy.results.schema import RUN_FORMAT_VERSION

__all__ = ["check_comparable", "comparison_keys", "inference_energy_j", "read_run_json", "upgrade_run"]


def upgrade_run(data: dict[str, Any]) -> dict[str, Any]:
    """An older ``run.json`` in the current layout (a new dict; version 1: ``energy_j`` → ``inference_energy_j``)."""
    out = dict(data)
    if int(out.get("format_version", 1)) < 2 and "inference_energy_j" not in out:
        out["inference_energy_j"] = out.pop("energy_j", None)
    out["format_version"] = RUN_FORMAT_VERSION
    return out


def read_run_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``run.json`` (a run directory or the file itself), checked and upgraded to the current layout.

    Raises:
        ResultFormatError: not a readable JSON object, no valid ``format_version``, or a newer one.
    """
    target = Path(path)
    if target.is_dir():
        target = target / "run.json"
    try:
        data = read_json(target)
    except (OSError, ValueError) as exc:
        raise ResultFormatError(f"{target} is not a readable run description ({exc}): measure again") from exc
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ResultFormatError(f"{target} has no valid format_version: it was not written by 'synergy measure'")
    if version > RUN_FORMAT_VERSION:
        raise ResultFormatError(
            f"{target} has run format {version}, newer than this SyNERGY reads ({RUN_FORMAT_VERSION}): "
            "upgrade synergy-nn to read it"
        )
    return upgrade_run(data)


def inference_energy_j(run: Mapping[str, Any]) -> float | None:
    """The whole inference's energy of a run record of any version, J (``None`` when not measured)."""
    value = run.get("inference_energy_j", run.get("energy_j") if int(run.get("format_version", 1)) < 2 else None)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def comparison_keys(run: Mapping[str, Any]) -> dict[str, Any]:
    """What must agree between runs that are merged: the sensor kind, the runtime, the machine."""
    sensor = run.get("sensor") or {}
    runtime = run.get("runtime") or {}
    system = run.get("system") or {}
    return {
        "sensor": sensor.get("name") if isinstance(sensor, dict) else None,
        "runtime": runtime.get("name") if isinstance(runtime, dict) else None,
        "machine": system.get("machine") if isinstance(system, dict) else None,
        "cpu_model": system.get("cpu_model") if isinstance(system, dict) else None,
    }


def check_comparable(runs: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse to merge runs whose sensor, runtime or machine differ.

    Args:
        runs: label (a path, a network name) → its run record.

    Raises:
        IncomparableRunsError: the runs differ; the message names each differing key and its values.
    """
    if len(runs) < 2:
        return
    keys = {label: comparison_keys(run) for label, run in runs.items()}
    first_label, first = next(iter(keys.items()))
    differ = []
    for name in first:
        values = {label: k[name] for label, k in keys.items()}
        if len({repr(v) for v in values.values()}) > 1:
            other = next(label for label, v in values.items() if v != first[name])
            differ.append(f"{name} is {first[name]!r} in {first_label} but {values[other]!r} in {other}")
    if differ:
        raise IncomparableRunsError("the runs are not comparable: " + "; ".join(differ))
