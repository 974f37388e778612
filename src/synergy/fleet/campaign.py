"""``run_campaign``: a zoo measured on every board that can run it, results stored as they arrive.

The campaign directory::

    campaign.json                     format version, settings, boards and their capabilities, every key
    boards/BOARD/repeat-R/            a study directory (the layout of ``synergy study``):
        networks/NAME/                one finished ``synergy measure`` directory from the board, plus
                                      features.csv and task.json (key, board, host, start and end)
        study.json, evaluation.csv, report.html, ...   the study evaluation, run here on the coordinator
    campaign.csv                      one row per key: board, network, repeat, status, time, energy

Every measurement has a deterministic key (:func:`synergy.fleet.names.task_key`), also its task id on the
broker. A result is unpacked beside its folder and renamed into place in one step; a key already stored
keeps its first result (a duplicate delivery is counted, never stored). ``resume=True`` collects results
that arrived while no coordinator ran and enqueues only keys neither stored, queued nor running.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synergy.atomic import write_text_atomic
from synergy.clock import unix_time_s
from synergy.errors import FleetError, OutputExistsError, SynergyError, UsageError
from synergy.fleet.archive import unpack
from synergy.fleet.broker import Broker
from synergy.fleet.names import TaskKey, check_board, check_network, inside, task_key
from synergy.measurement.options import MeasureOptions
from synergy.study.files import read_json, write_json
from synergy.zoo import ZooEntry

__all__ = ["FORMAT_VERSION", "CampaignProgress", "CampaignResult", "CampaignSettings", "run_campaign"]

#: Version of the ``campaign.json`` layout.
FORMAT_VERSION = 1

_FIELDS = ("runs", "warmup", "threads", "idle_s", "seed")


@dataclass(frozen=True)
class CampaignSettings:
    """What a campaign measures, where, how often and how.

    Attributes:
        zoo: the networks.
        zoo_name: the zoo's name or file, for the record.
        boards: the boards' names.
        repeats: how many times each network is measured on each board.
        runs, warmup, threads, idle_s, seed: the settings of every ``synergy measure``.
    """

    zoo: tuple[ZooEntry, ...]
    boards: tuple[str, ...]
    zoo_name: str = "default"
    repeats: int = 1
    # every measurement's settings default to those of ``synergy measure``
    runs: int = MeasureOptions.runs
    warmup: int = MeasureOptions.warmup
    threads: int = MeasureOptions.threads
    idle_s: float = MeasureOptions.idle_s
    seed: int = MeasureOptions.seed

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "zoo_name": self.zoo_name,
            "zoo": [e.to_dict() for e in self.zoo],
            "boards": list(self.boards),
            "repeats": self.repeats,
            **{name: getattr(self, name) for name in _FIELDS},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CampaignSettings:
        """Inverse of :meth:`to_dict`."""
        return cls(
            zoo=tuple(ZooEntry.from_dict(e) for e in data["zoo"]),
            boards=tuple(check_board(str(b)) for b in data["boards"]),
            zoo_name=str(data.get("zoo_name", "")),
            repeats=int(data["repeats"]),
            runs=int(data["runs"]),
            warmup=int(data["warmup"]),
            threads=int(data["threads"]),
            idle_s=float(data["idle_s"]),
            seed=int(data["seed"]),
        )

    def check(self) -> None:
        """Refuse settings no campaign can run (``UsageError``)."""
        if not self.zoo:
            raise UsageError("the zoo is empty: give at least one network")
        if not self.boards:
            raise UsageError("no board given: list the boards as a,b,c")
        for board in self.boards:
            check_board(board)
        for entry in self.zoo:
            check_network(entry.name)
        if self.repeats < 1 or self.runs < 2 or self.warmup < 0 or self.threads < 1 or self.idle_s < 0:
            raise UsageError("--repeats must be at least 1, --runs at least 2, --warmup and --idle-s at least 0")


class CampaignProgress:
    """Callbacks of a running campaign (the library never prints). All no-ops here."""

    def planned(self, board: str, total: int, done: int, note: str | None) -> None:
        """``board`` has ``total`` keys, ``done`` of them stored; ``note`` says why some are not enqueued."""

    def enqueued(self, enqueued: int, collected: int, in_flight: int) -> None:
        """Keys sent now, results found waiting on the broker, keys already queued or running."""

    def stored(self, key: TaskKey, status: str, error: str | None, wall_s: float | None) -> None:
        """A result arrived: ``done``, ``failed`` or ``duplicate``."""

    def phase(self, name: str) -> None:
        """A phase after measuring: ``evaluate BOARD rN``."""


@dataclass
class CampaignResult:
    """What a campaign produced.

    Attributes:
        out_dir: the campaign directory.
        state: the ``campaign.json`` content.
        rows: one dict per key (``campaign.csv``).
        enqueued: keys sent to the boards in this run.
        pending: keys not stored at the end, per board.
        failed: failed keys (label → error).
        reports: study reports written (``board/rN`` → path).
        notes: things the user should know.
    """

    out_dir: Path
    state: dict[str, Any]
    rows: list[dict[str, Any]]
    enqueued: int = 0
    pending: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    reports: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def feasible(entry: ZooEntry, caps: dict[str, Any]) -> str | None:
    """Why ``entry`` cannot run on a board with ``caps`` (``None`` when it can)."""
    from synergy.graph.spec import parse_model_spec

    runtime = caps.get("runtime")
    packages = caps.get("packages") or {}
    kind = parse_model_spec(entry.model).kind
    if kind == "onnx":
        return "an ONNX file of the coordinator is not shipped to boards"
    if runtime not in (caps.get("runtimes") or []):
        return f"the {runtime} runtime is not installed on the board"
    if not packages.get("torch"):
        return "PyTorch (which builds every non-ONNX model) is not installed on the board"
    if kind == "torchvision" and not packages.get("torchvision"):
        return "torchvision is not installed on the board"
    return None


def plan_keys(settings: CampaignSettings, board: str, caps: dict[str, Any]) -> list[tuple[TaskKey, ZooEntry]]:
    """Every key of ``board`` (zoo × repeats), deterministic in the settings and the board's capabilities."""
    keys = []
    for repeat in range(1, settings.repeats + 1):
        for entry in settings.zoo:
            fields = {
                "model": entry.model,
                "input_shape": list(entry.input_shape) if entry.input_shape is not None else None,
                "network": entry.name,
                "board": board,
                "runtime": caps.get("runtime"),
                "sensor": caps.get("sensor"),
                "sensor_opened": caps.get("sensor_opened"),
                "synergy": caps.get("synergy"),
                "repeat": repeat,
                **{name: getattr(settings, name) for name in _FIELDS},
            }
            keys.append((task_key(fields), entry))
    return keys


def study_dir(out: Path, board: str, repeat: int) -> Path:
    """The study directory of one board and one repeat."""
    return inside(out, "boards", check_board(board), f"repeat-{int(repeat)}")


def result_dir(out: Path, key: TaskKey) -> Path:
    """Where ``key``'s result is stored."""
    return inside(study_dir(out, key.board, key.repeat), "networks", check_network(key.network))


def stored_key(out: Path, key: TaskKey) -> str | None:
    """The key of the result stored in ``key``'s folder (``None`` when nothing complete is there)."""
    folder = result_dir(out, key)
    try:
        task = read_json(folder / "task.json")
        complete = read_json(folder / "run.json").get("status") == "complete"
    except (OSError, ValueError):
        return None
    found = task.get("key")
    return str(found) if complete and (folder / "features.csv").is_file() and isinstance(found, str) else None


def _prepare(out: Path, settings: CampaignSettings, resume: bool) -> dict[str, Any]:
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} is a file: choose a campaign directory with -o")
    if resume:
        path = out / "campaign.json"
        if not path.is_file():
            raise UsageError(f"{out} holds no campaign (no campaign.json): start one without --resume")
        try:
            state = read_json(path)
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path} is not readable ({exc}): start a new campaign with another -o") from exc
        if state.get("format_version") != FORMAT_VERSION:
            raise UsageError(f"{path} has format version {state.get('format_version')}, this synergy writes 1")
        stored = CampaignSettings.from_dict(state["settings"]).to_dict()
        given = settings.to_dict()
        differ = [k for k in stored if k != "zoo_name" and stored[k] != given[k]]
        if differ:
            raise UsageError(
                f"the campaign was started with other {', '.join(differ)}: resume with its own settings (omit "
                "them) or start a new campaign with -o"
            )
        state["resumed"] = int(state.get("resumed", 0)) + 1
        return state
    if out.exists() and any(out.iterdir()):
        raise OutputExistsError(f"campaign directory {out} exists: continue it with --resume, or choose -o")
    return {
        "format_version": FORMAT_VERSION,
        "settings": settings.to_dict(),
        "started_unix_s": unix_time_s(),
        "resumed": 0,
        "boards": {},
        "keys": {},
    }


def _features(folder: Path, entry: ZooEntry, runtime: str) -> str | None:
    from synergy.study.collect import layer_features

    features, note = layer_features(folder, entry, runtime)
    write_text_atomic(folder / "features.csv", features.to_csv(index=False))
    return note


def store_result(out: Path, key: TaskKey, entry: ZooEntry, payload: Any) -> tuple[str, str | None]:
    """Store one task's result; ``(status, error)`` with status ``done``, ``failed`` or ``duplicate``.

    The result is checked (its key and board are this key's, its archive unpacks safely, its measurement
    is complete), unpacked beside its folder and renamed into place. A folder already there is never
    replaced: a second delivery of a key is a duplicate.
    """
    final = result_dir(out, key)
    if not isinstance(payload, dict) or payload.get("key") != key.id or payload.get("board") != key.board:
        return "failed", "the result does not belong to this key (another key or board): ignored"
    if stored_key(out, key) is not None:
        return "duplicate", None
    if payload.get("status") != "done":
        return "failed", str(payload.get("error") or "the board reported a failure without a message")
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = inside(final.parent, f".fleet-{key.network}-{uuid.uuid4().hex[:8]}")
    try:
        unpack(payload, partial)
        run = read_json(partial / "run.json")
        if run.get("status") != "complete":
            raise FleetError(f"the board's measurement is {run.get('status')!r}, not complete")
        note = _features(partial, entry, str(key.fields.get("runtime") or "torch"))
        task = {
            "key": key.id,
            "label": key.label,
            "fields": key.fields,
            "note": note,
            **{k: payload.get(k) for k in ("hostname", "synergy", "python", "command", "exit_code")},
            **{k: payload.get(k) for k in ("started_unix_s", "finished_unix_s")},
            **{k: payload.get(k) for k in ("started_monotonic_s", "finished_monotonic_s")},
        }
        write_json(partial / "task.json", task)
        if final.exists():
            return "duplicate", None
        partial.rename(final)
    except (SynergyError, OSError, ValueError, KeyError) as exc:
        if final.is_dir() and stored_key(out, key) is not None:
            return "duplicate", None
        return "failed", f"the result could not be stored ({exc})"
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    return "done", None


def _capabilities(broker: Broker, boards: tuple[str, ...], state: dict[str, Any], ask_s: float) -> dict[str, Any]:
    """Each board's capabilities: asked now, else as its worker last announced, else as last recorded."""
    found = broker.ask(boards, ask_s)
    caps: dict[str, Any] = {}
    for board in boards:
        if board in found:
            caps[board], how = found[board], "answered"
        elif (record := broker.board_record(board)) is not None:
            caps[board], how = record, "announced"
        elif (state["boards"].get(board) or {}).get("capabilities"):
            caps[board], how = state["boards"][board]["capabilities"], "recorded"
        else:
            caps[board], how = None, "offline"
        state["boards"][board] = {"capabilities": caps[board], "seen": how, "asked_unix_s": unix_time_s()}
    return caps


def _row(out: Path, key: TaskKey, record: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "board": key.board,
        "network": key.network,
        "repeat": key.repeat,
        "status": record["status"],
        "key": key.id,
        "inference_s": None,
        "energy_j": None,
        "sensor": key.fields.get("sensor_opened"),
        "wall_s": None,
        "error": record.get("error"),
    }
    if record["status"] == "done":
        folder = result_dir(out, key)
        run, task = read_json(folder / "run.json"), read_json(folder / "task.json")
        row["inference_s"] = run.get("inference_s")
        energy = run.get("energy_j")
        row["energy_j"] = energy if isinstance(energy, int | float) else None
        if isinstance(task.get("finished_unix_s"), int | float) and isinstance(task.get("started_unix_s"), int | float):
            row["wall_s"] = float(task["finished_unix_s"]) - float(task["started_unix_s"])
    return row


def _no_local_measuring() -> Any:
    from synergy.study import StudyProgress

    class Guard(StudyProgress):
        """The evaluation must never measure on the coordinator: a network to measure is an error."""

        def network(self, entry: ZooEntry, index: int) -> None:
            raise FleetError(f"the study evaluation found {entry.name} unmeasured: it is never measured here")

    return Guard()


def evaluate(out: Path, settings: CampaignSettings, board: str, repeat: int, caps: dict[str, Any]) -> Path | None:
    """Run the study evaluation (predictors, leave one network out, the report) on one board and repeat.

    The study directory holds the board's networks; its ``study.json`` lists the stored ones (the board's
    own sensor and settings are in each ``run.json`` and under ``fleet``). Returns the report, or ``None``
    with fewer than two networks stored.
    """
    from synergy.study import FORMAT_VERSION as STUDY_VERSION
    from synergy.study import StudyOptions, run_study

    folder = study_dir(out, board, repeat)
    entries = []
    for entry in settings.zoo:
        key = next(k for k, e in plan_keys(settings, board, caps) if e == entry and k.repeat == repeat)
        if stored_key(out, key) == key.id:
            entries.append(entry)
    if len(entries) < 2:
        return None
    options = StudyOptions(
        zoo=tuple(entries),
        zoo_name=f"{settings.zoo_name} on {board}, repeat {repeat}",
        runtime=str(caps.get("runtime") or "torch"),
        sensor="none",
        sysfs_root=Path("/"),
        **{name: getattr(settings, name) for name in _FIELDS},
    )
    state = {
        "format_version": STUDY_VERSION,
        "status": "running",
        "options": options.to_dict(),
        "started_unix_s": unix_time_s(),
        "resumed": 0,
        "networks": {e.name: {"model": e.model, "status": "done"} for e in entries},
        "fleet": {
            "board": board,
            "repeat": repeat,
            "capabilities": caps,
            "why_sensor_none": "measured on the board with its own sensor (see each run.json); the evaluation "
            "runs on the coordinator, which measures nothing",
        },
    }
    write_json(folder / "study.json", state)
    result = run_study(options, folder, resume=True, progress=_no_local_measuring())
    return result.report


def run_campaign(
    settings: CampaignSettings,
    out_dir: Path | str,
    broker: Broker,
    *,
    resume: bool = False,
    ask_s: float = 3.0,
    poll_s: float = 0.5,
    timeout_s: float | None = None,
    evaluate_studies: bool = True,
    progress: CampaignProgress | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> CampaignResult:
    """Plan, enqueue, collect and evaluate a campaign.

    Args:
        settings: the zoo, the boards, repeats and measurement settings.
        out_dir: the campaign directory.
        broker: the fleet's broker.
        resume: continue the campaign in ``out_dir`` (its settings must match).
        ask_s: how long boards have to report their capabilities.
        poll_s: pause between looks at the results.
        timeout_s: stop waiting after this long (keys still queued stay pending; ``None``: wait for all).
        evaluate_studies: run the study evaluation per board and repeat at the end.
        progress: callbacks for a display.
        clock: monotonic seconds (injectable).

    Raises:
        OutputExistsError: ``out_dir`` exists and ``resume`` is not given.
        UsageError: bad settings, or ``resume`` without a campaign or with other settings.
        FleetError: the broker cannot be reached.
        KeyboardInterrupt: re-raised once every result so far is stored (the rest stays queued).
    """
    settings.check()
    progress = progress or CampaignProgress()
    out = Path(out_dir)
    state = _prepare(out, settings, resume)
    caps = _capabilities(broker, settings.boards, state, ask_s)
    plan: dict[str, tuple[TaskKey, ZooEntry]] = {}
    notes: list[str] = []
    records: dict[str, dict[str, Any]] = {}
    offline_keys: dict[str, int] = {}
    infeasible: dict[str, str] = {}
    for board in settings.boards:
        if caps[board] is None:
            offline_keys[board] = len(settings.zoo) * settings.repeats
            progress.planned(board, offline_keys[board], 0, "offline: no worker has announced this board")
            continue
        keys = plan_keys(settings, board, caps[board])
        for key, entry in keys:
            plan[key.id] = (key, entry)
            found = stored_key(out, key)
            if found is not None and found != key.id:
                raise UsageError(
                    f"{key.label} is stored with other settings (board {board} now runs synergy "
                    f"{caps[board].get('synergy')}, {caps[board].get('runtime')}, sensor {caps[board].get('sensor')}): "
                    "start a new campaign with -o"
                )
            reason = feasible(entry, caps[board])
            status = "done" if found else ("infeasible" if reason else "pending")
            records[key.id] = {"label": key.label, "board": board, "status": status, "error": reason}
            if reason:
                infeasible[key.label] = reason
        done = sum(1 for k, _ in keys if records[k.id]["status"] == "done")
        skipped = sum(1 for k, _ in keys if records[k.id]["status"] == "infeasible")
        note = f"{skipped} infeasible on this board" if skipped else None
        progress.planned(board, len(keys) - skipped, done, note)
    out.mkdir(parents=True, exist_ok=True)
    state["keys"] = records
    write_json(out / "campaign.json", state)

    # Enqueue what is neither stored, queued nor running; collect what arrived while no coordinator ran.
    missing = [kid for kid, r in records.items() if r["status"] == "pending"]
    backend = broker.results(missing)
    queued: set[str] = set()
    for board in settings.boards:
        if caps[board] is not None:
            waiting, taken = broker.queued(board)
            queued |= waiting | taken
    enqueued = in_flight = 0
    outstanding: set[str] = set()
    for kid in missing:
        key, entry = plan[kid]
        status, _ = backend.get(kid, ("PENDING", None))
        outstanding.add(kid)
        if status == "SUCCESS" or kid in queued or status == "STARTED":
            in_flight += status != "SUCCESS"
            continue
        if status in ("FAILURE", "REVOKED"):
            broker.forget(kid)
        request = {
            "key": kid,
            "label": key.label,
            "model": entry.model,
            "input_shape": list(entry.input_shape) if entry.input_shape is not None else None,
            "fields": key.fields,
            **{name: getattr(settings, name) for name in _FIELDS},
        }
        broker.enqueue(key.board, kid, request)
        records[kid]["status"] = "queued"
        enqueued += 1
    collected = sum(1 for kid in missing if backend.get(kid, ("",))[0] == "SUCCESS")
    write_json(out / "campaign.json", state)
    progress.enqueued(enqueued, collected, in_flight)

    started = clock()
    try:
        while outstanding:
            for kid, (status, payload) in broker.results(sorted(outstanding)).items():
                if status not in ("SUCCESS", "FAILURE"):
                    continue
                key, entry = plan[kid]
                error: str | None
                if status == "FAILURE" and stored_key(out, key) == key.id:
                    stored, error = "duplicate", None  # a late failure of a key already stored changes nothing
                elif status == "FAILURE":
                    stored, error = "failed", f"the task raised on the board: {payload}"
                else:
                    stored, error = store_result(out, key, entry, payload)
                wall = None
                if isinstance(payload, dict) and isinstance(payload.get("finished_unix_s"), int | float):
                    wall = float(payload["finished_unix_s"]) - float(payload.get("started_unix_s") or 0.0)
                if stored == "duplicate":
                    records[kid]["duplicates"] = int(records[kid].get("duplicates", 0)) + 1
                    records[kid]["status"] = "done"
                else:
                    records[kid].update({"status": stored, "error": error})
                broker.forget(kid)
                outstanding.discard(kid)
                write_json(out / "campaign.json", state)
                progress.stored(key, stored, error, wall)
            if not outstanding or (timeout_s is not None and clock() - started > timeout_s):
                break
            broker.wait(poll_s)
    finally:
        state["updated_unix_s"] = unix_time_s()
        write_json(out / "campaign.json", state)
    result = _finish(out, settings, state, plan, caps, offline_keys, infeasible, notes, evaluate_studies, progress)
    result.enqueued = enqueued
    return result


def _finish(
    out: Path,
    settings: CampaignSettings,
    state: dict[str, Any],
    plan: dict[str, tuple[TaskKey, ZooEntry]],
    caps: dict[str, Any],
    offline_keys: dict[str, int],
    infeasible: dict[str, str],
    notes: list[str],
    evaluate_studies: bool,
    progress: CampaignProgress,
) -> CampaignResult:
    import pandas as pd

    records = state["keys"]
    rows = [_row(out, key, records[kid]) for kid, (key, _) in plan.items()]
    write_text_atomic(out / "campaign.csv", pd.DataFrame(rows).to_csv(index=False))
    pending = dict(offline_keys)
    failed: dict[str, str] = {}
    for kid, (key, _) in plan.items():
        status = records[kid]["status"]
        if status in ("pending", "queued"):
            pending[key.board] = pending.get(key.board, 0) + 1
        elif status == "failed":
            failed[key.label] = str(records[kid].get("error"))
    for board, count in offline_keys.items():
        notes.append(f"board {board} is offline: its {count} keys stay pending (start its worker, then --resume)")
    for label, reason in infeasible.items():
        notes.append(f"{label} is not measured: {reason}")
    reports: dict[str, Path] = {}
    if evaluate_studies:
        for board in settings.boards:
            if caps[board] is None:
                continue
            for repeat in range(1, settings.repeats + 1):
                progress.phase(f"evaluate {board} r{repeat}")
                report = evaluate(out, settings, board, repeat, caps[board])
                if report is not None:
                    reports[f"{board}/r{repeat}"] = report
                else:
                    notes.append(f"{board} r{repeat}: the study evaluation needs at least 2 stored networks")
    state["status"] = "complete" if not pending and not failed else "incomplete"
    state["finished_unix_s"] = unix_time_s()
    write_json(out / "campaign.json", state)
    return CampaignResult(out, state, rows, 0, pending, failed, reports, notes)
