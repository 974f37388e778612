"""A measurement directory as a Chrome trace (JSON trace event format), for Perfetto and chrome://tracing.

Structure of the trace (one process, named after the model):

* thread 1, named after the runtime (``onnxruntime``, ``torch``): one slice ``run N`` per measured
  inference, and inside it one slice per layer (``cat`` is the layer's category; ``args`` carry its op
  and, from ``layers.csv``, its mean time and energy per inference);
* thread 2, ``phases``: ``idle`` slices where the sensor was sampled before the first run and after the
  last, with the idle power from ``run.json`` in ``args``;
* one counter track per sensor rail (``power <rail> (W)``) and the total (``power total (W)``), one point
  per sensor update, at the update's start: the mean power of the interval that follows.

Times are microseconds from the first timestamp in the directory (the monotonic clock of the
measurement). The directory is read, never written; names from its files are data.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from synergy.errors import DatasetError

__all__ = ["TRACE_FORMAT", "chrome_trace", "write_chrome_trace"]

#: Version of the trace's ``metadata`` block.
TRACE_FORMAT = 1

_PID = 1
_RUNTIME_TID = 1
_PHASES_TID = 2


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"cannot read {path} ({exc}); give a directory written by 'synergy measure'") from exc
    if not isinstance(data, dict):
        raise DatasetError(f"{path} is not a run description (a JSON object); give a 'synergy measure' directory")
    return data


def _frame(path: Path, columns: tuple[str, ...]) -> Any:
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read {path} ({exc}); give a directory written by 'synergy measure'") from exc
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DatasetError(f"{path} lacks columns {missing}; it was not written by 'synergy measure'")
    return frame


def _layer_info(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Per layer name: op, category, mean duration and energy, from ``layers.csv`` when present."""
    import pandas as pd

    path = run_dir / "layers.csv"
    if not path.is_file():
        return {}
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError):
        return {}
    if "layer" not in frame:
        return {}
    keep = [c for c in ("op", "category", "duration_s", "energy_j", "dynamic_energy_j") if c in frame]
    info: dict[str, dict[str, Any]] = {}
    for record in frame[["layer", *keep]].to_dict("records"):
        name = str(record.pop("layer"))
        info[name] = {str(k): _scalar(v) for k, v in record.items()}
    return info


def _scalar(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def chrome_trace(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The trace of a ``synergy measure`` directory, as a JSON-ready dict (``traceEvents`` and ``metadata``).

    Raises:
        DatasetError: the directory lacks ``run.json`` or ``events.parquet``, or they are unreadable.
    """
    root = Path(run_dir)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a directory; give a directory written by 'synergy measure'")
    for required in ("run.json", "events.parquet"):
        if not (root / required).is_file():
            raise DatasetError(f"{root} has no {required}; give a directory written by 'synergy measure'")
    run = _read_json(root / "run.json")
    events = _frame(root / "events.parquet", ("run", "name", "start_ns", "end_ns"))
    runs = (
        _frame(root / "runs.parquet", ("run", "start_ns", "end_ns"))
        if (root / "runs.parquet").is_file()
        else _runs_from_events(events)
    )
    timeline = _timeline(root / "samples.parquet")
    starts = [int(events["start_ns"].min())] if len(events) else []
    starts += [int(runs["start_ns"].min())] if len(runs) else []
    if timeline is not None and len(timeline) > 1:
        starts.append(int(timeline.coverage_ns[0]))
    if not starts:
        raise DatasetError(f"{root} holds no event; nothing to trace")
    origin = min(starts)

    def us(t_ns: int) -> float:
        return round((int(t_ns) - origin) / 1e3, 3)

    runtime = run.get("runtime") if isinstance(run.get("runtime"), dict) else {}
    runtime_name = str((runtime or {}).get("name") or (run.get("options") or {}).get("runtime") or "runtime")
    model = str(run.get("model", root.name))
    out: list[dict[str, Any]] = [
        _meta("process_name", _PID, 0, {"name": f"synergy measure: {model}"}),
        _meta("thread_name", _PID, _RUNTIME_TID, {"name": runtime_name}),
        _meta("thread_name", _PID, _PHASES_TID, {"name": "phases"}),
    ]
    layers = _layer_info(root)
    for row in runs.itertuples(index=False):
        out.append(_slice(f"run {int(row.run)}", "run", us(row.start_ns), us(row.end_ns), _RUNTIME_TID, {}))
    for row in events.itertuples(index=False):
        name = str(row.name)
        info = layers.get(name, {})
        args = {"run": int(row.run), **{k: v for k, v in info.items() if k not in ("category",)}}
        out.append(
            _slice(name, str(info.get("category") or "layer"), us(row.start_ns), us(row.end_ns), _RUNTIME_TID, args)
        )
    out.extend(_idle_slices(run, runs, timeline, us))
    if timeline is not None:
        out.extend(_counters(timeline, us))
    metadata = {
        "synergy_trace_format": TRACE_FORMAT,
        "model": model,
        "runtime": runtime_name,
        "runs": len(runs),
        "time_origin_monotonic_ns": origin,
        "energy_unavailable": run.get("energy_unavailable"),
    }
    return {"traceEvents": out, "displayTimeUnit": "ms", "metadata": metadata}


def _runs_from_events(events: Any) -> Any:
    grouped = events.groupby("run").agg(start_ns=("start_ns", "min"), end_ns=("end_ns", "max")).reset_index()
    return grouped


def _timeline(path: Path) -> Any:
    if not path.is_file():
        return None
    from synergy.sampling.timeline import Timeline

    timeline = Timeline.from_parquet(path)
    return timeline if timeline.kind is not None and len(timeline) > 1 else None


def _meta(name: str, pid: int, tid: int, args: dict[str, Any]) -> dict[str, Any]:
    return {"ph": "M", "name": name, "pid": pid, "tid": tid, "args": args}


def _slice(name: str, cat: str, ts: float, end: float, tid: int, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "ph": "X",
        "name": name,
        "cat": cat,
        "ts": ts,
        "dur": round(max(end - ts, 0.0), 3),
        "pid": _PID,
        "tid": tid,
        "args": args,
    }


def _idle_slices(run: dict[str, Any], runs: Any, timeline: Any, us: Any) -> Iterator[dict[str, Any]]:
    if timeline is None or not len(runs):
        return
    lo, hi = timeline.coverage_ns
    first, last = int(runs["start_ns"].min()), int(runs["end_ns"].max())
    idle = run.get("idle") if isinstance(run.get("idle"), dict) else None
    args = {"idle_w": _scalar(idle.get("mean_w")), "idle_std_w": _scalar(idle.get("std_w"))} if idle else {}
    if lo < first:
        end = int(idle["t1_ns"]) if idle and isinstance(idle.get("t1_ns"), int) else first
        yield _slice("idle", "idle", us(lo), us(min(end, first)), _PHASES_TID, args)
    if hi > last:
        yield _slice("after the runs", "idle", us(last), us(hi), _PHASES_TID, {})


def _counters(timeline: Any, us: Any) -> Iterator[dict[str, Any]]:
    power = timeline.to_power()
    c = power.t_change_ns
    values = power.values
    total_cols = [power.rails.index(r) for r in power.total_rails]
    # Box (and counter) row k is the mean power of (c[k-1], c[k]]: the track steps to it at c[k-1].
    starts, rows = (c, values) if power.model == "point" else (c[:-1], values[1:])
    for k in range(len(rows)):
        ts = us(int(starts[k]))
        args = {f"{rail}": round(float(rows[k, j]), 6) for j, rail in enumerate(power.rails)}
        for rail, value in args.items():
            yield {"ph": "C", "name": f"power {rail} (W)", "ts": ts, "pid": _PID, "args": {"W": value}}
        total = round(float(rows[k, total_cols].sum()), 6)
        yield {"ph": "C", "name": "power total (W)", "ts": ts, "pid": _PID, "args": {"W": total}}


def write_chrome_trace(run_dir: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """Write :func:`chrome_trace` of ``run_dir`` to ``path`` atomically; returns the path."""
    from synergy.atomic import write_text_atomic

    trace = chrome_trace(run_dir)
    return write_text_atomic(Path(path), json.dumps(trace, separators=(",", ":")) + "\n")
