"""``run_study``: measure a zoo network by network, keep every finished one, then evaluate and report.

The study directory::

    study.json              format version, options, the zoo, each network's status, the target
    networks/NAME/          one finished ``synergy measure`` directory per network, plus features.csv
    networks/.partial-NAME/ the network in progress (removed and measured again on resume)
    layers.csv              every measured layer of every network, its target and model features
    networks.csv            per network: totals and shares by layer type
    evaluation.csv          every model, leave-one-network-out: per-layer and per-network errors
    evaluation_by_type.csv  per-layer-type errors of every model
    predictions.csv         every layer's out-of-sample prediction by every model
    report.html, img/       the report (self-contained HTML; the same images as PNG files)

A network is measured into ``.partial-NAME`` and renamed to ``NAME`` once complete (an atomic rename), so
an interruption or a crash loses at most the network in progress; ``resume=True`` measures what is
missing. Measurement settings of a resumed study must be the ones it was started with.

Safety: every setting and every network name is checked before anything is written (a name is a plain
folder name or the study is refused, whether it comes from a zoo or from ``study.json``); a study holds
``.synergy-study.lock`` while it writes, so a second process on the same directory is refused; ``force``
refuses a non-empty directory that holds no study and removes only what a study writes (its files, its
networks' folders, its report's images), never anything else.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synergy.clock import unix_time_s
from synergy.errors import OutputExistsError, SynergyError, UsageError
from synergy.measurement.options import MeasureOptions
from synergy.measurement.signals import SignalGuard
from synergy.study.collect import (
    TARGET_CHOICES,
    TARGET_TEXT,
    TARGETS,
    counter_columns,
    layer_features,
    median_durations,
    network_row,
)
from synergy.study.files import LOCK_NAME, StudyLock, read_json, remove_inside, safe_name, write_csv, write_json
from synergy.zoo import ZooEntry

__all__ = ["FORMAT_VERSION", "StudyOptions", "StudyProgress", "StudyResult", "load_options", "run_study"]

#: Version of the ``study.json`` layout.
FORMAT_VERSION = 1

#: Files a study writes at its top level (removed by ``force``, ``study.json`` last).
_OWNED_FILES = (
    "layers.csv",
    "networks.csv",
    "evaluation.csv",
    "evaluation_by_type.csv",
    "predictions.csv",
    "report.html",
    "study.json",
)


@dataclass(frozen=True)
class StudyOptions:
    """What to measure and how (the settings of every network's ``synergy measure``).

    The defaults are :class:`~synergy.measurement.MeasureOptions`'s, but for ``runtime``, which a study
    sets on its own (``torch``: every layer a leaf module, with its on-CPU time counted per layer, which the
    study's ``cpu-time`` target needs).

    Attributes:
        zoo: the networks.
        zoo_name: the zoo's name or file, for the record.
        runtime: ``torch`` (layers are leaf modules, counted per layer) or ``onnxruntime`` (fused nodes).
        sensor: ``auto``, ``none``, a backend name or ``trace:FILE``.
        sysfs_root: the directory that replaces ``/`` for sysfs sensors.
        runs: measured inferences per network.
        warmup: discarded inferences first.
        threads: intra-op threads.
        idle_s: idle time sampled before each network, s.
        seed: seed of pauses and inputs.
        trust_code: let the MODEL specs of a zoo or study file import Python code (a permission of this
            invocation, not a setting: it is not recorded in ``study.json``).
    """

    zoo: tuple[ZooEntry, ...]
    zoo_name: str = "default"
    runtime: str = "torch"
    sensor: str = MeasureOptions.sensor
    sysfs_root: Path = MeasureOptions.sysfs_root
    runs: int = MeasureOptions.runs
    warmup: int = MeasureOptions.warmup
    threads: int = MeasureOptions.threads
    idle_s: float = MeasureOptions.idle_s
    seed: int = MeasureOptions.seed
    trust_code: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "zoo_name": self.zoo_name,
            "zoo": [e.to_dict() for e in self.zoo],
            "runtime": self.runtime,
            "sensor": self.sensor,
            "sysfs_root": str(self.sysfs_root),
            "runs": self.runs,
            "warmup": self.warmup,
            "threads": self.threads,
            "idle_s": self.idle_s,
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, origin: str = "a study file", trust_code: bool = False) -> StudyOptions:
        """Inverse of :meth:`to_dict`, for options read from ``origin``.

        Raises:
            UntrustedCodeError: a network's MODEL would import Python code and ``trust_code`` is false.
        """
        return cls(
            zoo=tuple(ZooEntry.from_dict(e, origin=origin, trust_code=trust_code) for e in data["zoo"]),
            zoo_name=str(data.get("zoo_name", "")),
            runtime=str(data["runtime"]),
            sensor=str(data["sensor"]),
            sysfs_root=Path(data.get("sysfs_root", "/")),
            runs=int(data["runs"]),
            warmup=int(data["warmup"]),
            threads=int(data["threads"]),
            idle_s=float(data["idle_s"]),
            seed=int(data.get("seed", 0)),
            trust_code=trust_code,
        )


class StudyProgress:
    """Callbacks of a running study (the library never prints: the CLI draws these). All no-ops here."""

    def start(self, total: int, done: int, runs: int) -> None:
        """The study starts: ``total`` networks, ``done`` of them already stored, ``runs`` per network."""

    def network(self, entry: ZooEntry, index: int) -> None:
        """Network ``index`` (0-based) starts."""

    def run(self, done: int, total: int) -> None:
        """A measured inference of the current network finished."""

    def network_done(self, entry: ZooEntry, status: str, wall_s: float, error: str | None) -> None:
        """The current network finished (``status``: ``done`` or ``failed``)."""

    def phase(self, name: str) -> None:
        """A phase after measuring starts: ``collect``, ``evaluate MODEL``, ``report``."""


@dataclass
class StudyResult:
    """What a study produced.

    Attributes:
        out_dir: the study directory.
        state: the ``study.json`` content.
        networks: ``networks.csv``.
        evaluation: ``evaluation.csv`` (``None`` with fewer than 2 networks).
        failed: networks that failed, with their errors.
        notes: things the user should know.
        report: the report's path.
    """

    out_dir: Path
    state: dict[str, Any]
    networks: pd.DataFrame
    evaluation: pd.DataFrame | None
    failed: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    report: Path | None = None


def load_options(out_dir: Path | str, *, trust_code: bool = False) -> StudyOptions:
    """The options a study directory was started with.

    Raises:
        UsageError: the directory holds no readable study, or its ``study.json`` names a network unsafely.
        UntrustedCodeError: its ``study.json`` names Python code as a MODEL and ``trust_code`` is false.
    """
    path = Path(out_dir) / "study.json"
    return _stored_options(_load_state(Path(out_dir), trust_code), path, trust_code)


def _load_state(out: Path, trust_code: bool = False) -> dict[str, Any]:
    path = out / "study.json"
    if not path.is_file():
        raise UsageError(f"{out} holds no study (no study.json): start one without --resume")
    try:
        state = read_json(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} is not readable ({exc}): start a new study with another -o") from exc
    version = state.get("format_version")
    if version != FORMAT_VERSION:
        raise UsageError(
            f"{path} has format version {version}, this synergy writes {FORMAT_VERSION}: start a new study with -o"
        )
    options = _stored_options(state, path, trust_code)
    networks = state.get("networks")
    if not isinstance(networks, dict) or set(networks) != {e.name for e in options.zoo}:
        raise UsageError(f"{path} is damaged (its networks do not match its zoo): start a new study with -o")
    return state


def _stored_options(state: dict[str, Any], path: Path, trust_code: bool = False) -> StudyOptions:
    """The options recorded in a ``study.json``, every network name checked."""
    try:
        options = StudyOptions.from_dict(state["options"], origin=f"study file {path}", trust_code=trust_code)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"{path} is damaged ({type(exc).__name__}: {exc}): start a new study with -o") from exc
    try:
        _check_names(options.zoo)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None
    return options


def _check_names(zoo: tuple[ZooEntry, ...]) -> None:
    """Every network name is a safe folder name, and no two are the same (on a case-blind file system too)."""
    seen: set[str] = set()
    for entry in zoo:
        safe_name(entry.name)
        if entry.name.lower() in seen:
            raise UsageError(f"network name {entry.name!r} appears twice in the zoo: give each network its own name")
        seen.add(entry.name.lower())


def _validate(options: StudyOptions, target: str) -> None:
    """Every setting, before anything is written."""
    if target not in TARGET_CHOICES:
        raise UsageError(f"unknown target {target!r}: use one of {', '.join(TARGET_CHOICES)}")
    if not options.zoo:
        raise UsageError("the zoo is empty: give at least one network")
    if options.runs < 2 or options.warmup < 0 or options.threads < 1:
        raise UsageError("--runs must be at least 2, --warmup at least 0 and --threads at least 1")
    if not math.isfinite(options.idle_s) or options.idle_s < 0:
        raise UsageError(f"--idle-s {options.idle_s:g} is not a duration: give seconds >= 0")
    if options.seed < 0:
        raise UsageError(f"--seed {options.seed} is negative: give a seed >= 0")
    _check_names(options.zoo)


def _compatible(stored: StudyOptions, given: StudyOptions) -> None:
    a, b = stored.to_dict(), given.to_dict()
    a.pop("zoo_name")
    b.pop("zoo_name")
    differ = [k for k in a if a[k] != b[k]]
    if differ:
        what = ", ".join(f"{k} {a[k]!r} (given {b[k]!r})" for k in differ if k != "zoo")
        if "zoo" in differ:
            what = (what + ", " if what else "") + "a different zoo"
        raise UsageError(
            f"the study was started with {what}: resume with its own settings (omit them) or start a new study with -o"
        )


def _holds_files(out: Path) -> bool:
    return out.is_dir() and any(p.name != LOCK_NAME for p in out.iterdir())


def _check_target(out: Path, options: StudyOptions, resume: bool, force: bool) -> None:
    """Refuse a study directory that cannot be used, before anything is written into it."""
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} is a file: choose a study directory with -o")
    for name in ("networks", "img", *_OWNED_FILES):
        if (out / name).is_symlink():
            raise UsageError(
                f"{out / name} is a symbolic link: a study writes only inside its own directory; remove the link "
                "or choose another -o"
            )
    if resume:
        stored = _stored_options(_load_state(out, options.trust_code), out / "study.json", options.trust_code)
        _compatible(stored, options)
        return
    if not _holds_files(out):
        return
    if not force:
        raise OutputExistsError(
            f"study directory {out} exists: continue it with --resume, overwrite it with --force, or choose -o"
        )
    if not (out / "study.json").is_file():
        raise OutputExistsError(
            f"{out} holds files synergy did not write (no study.json): --force replaces only a study; "
            "choose another -o or an empty directory"
        )
    try:
        _load_state(out, trust_code=True)  # read for its network names only: nothing of it runs
    except UsageError as exc:
        raise OutputExistsError(
            f"{out} holds a study.json synergy cannot read ({exc}); nothing was removed: choose another -o"
        ) from None


def _remove_study(out: Path) -> None:
    """Remove what the study in ``out`` wrote, and nothing else (``study.json`` last, so that an
    interrupted removal can be repeated)."""
    from synergy.study.report import report_images

    names = list(_load_state(out, trust_code=True)["networks"])  # the names only: nothing of it runs
    networks = out / "networks"
    for name in names:
        for folder in (networks / name, networks / f".partial-{name}"):
            if folder.exists() or folder.is_symlink():
                remove_inside(out, folder)
    img = out / "img"
    if img.is_dir() and not img.is_symlink():
        for image in report_images(names):
            if (img / image).is_file():
                remove_inside(out, img / image)
    for name in _OWNED_FILES:
        if (out / name).is_file():
            remove_inside(out, out / name)


def _prepare(out: Path, options: StudyOptions, resume: bool, force: bool) -> dict[str, Any]:
    """The state to start from (called with the directory locked: ``_check_target`` is repeated under it)."""
    _check_target(out, options, resume, force)
    if resume:
        state = _load_state(out, options.trust_code)
        state["status"] = "running"
        state["resumed"] = int(state.get("resumed", 0)) + 1
        return state
    if _holds_files(out):
        _remove_study(out)
    return {
        "format_version": FORMAT_VERSION,
        "status": "running",
        "options": options.to_dict(),
        "started_unix_s": unix_time_s(),
        "resumed": 0,
        "networks": {e.name: {"model": e.model, "status": "pending"} for e in options.zoo},
    }


def _is_done(out: Path, entry: ZooEntry) -> bool:
    run_dir = out / "networks" / entry.name
    if not (run_dir / "layers.csv").is_file() or not (run_dir / "features.csv").is_file():
        return False
    try:
        return read_json(run_dir / "run.json").get("status") == "complete"
    except (OSError, ValueError):
        return False


def _measure_one(out: Path, entry: ZooEntry, options: StudyOptions, progress: StudyProgress) -> list[str]:
    from synergy.measurement import MeasureOptions, measure

    final = out / "networks" / safe_name(entry.name)
    partial = out / "networks" / f".partial-{entry.name}"
    for stale in (partial, final):
        if stale.exists() or stale.is_symlink():
            remove_inside(out, stale)
    measure_options = MeasureOptions(
        model=entry.model,
        runtime=options.runtime,
        sensor=options.sensor,
        sysfs_root=options.sysfs_root,
        runs=options.runs,
        warmup=options.warmup,
        threads=options.threads,
        idle_s=options.idle_s,
        input_shape=(entry.input_shape,) if entry.input_shape is not None else None,
        seed=options.seed,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        measure(measure_options, partial, progress=progress.run)
        features, note = layer_features(partial, entry, options.runtime)
    write_csv(partial / "features.csv", features)
    partial.replace(final)
    notes = [f"{entry.name}: {w.message}" for w in caught]
    return [*notes, note] if note else notes


#: Columns every stored network's ``layers.csv`` has (a file without them is not a measured network).
_LAYER_COLUMNS = ("layer", "duration_s_std")


def _read_network(out: Path, entry: ZooEntry) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """A finished network's layers, features and run record.

    Raises:
        UsageError: a file is unreadable, or its tables do not fit together (edited or damaged).
    """
    run_dir = out / "networks" / entry.name
    try:
        measured = pd.read_csv(run_dir / "layers.csv")
        features = pd.read_csv(run_dir / "features.csv")
        run = read_json(run_dir / "run.json")
        missing = [c for c in _LAYER_COLUMNS if c not in measured.columns]
        if missing:
            raise ValueError(f"layers.csv has no column {missing[0]!r}")
        if len(features) != len(measured):
            raise ValueError(f"features.csv has {len(features)} rows for {len(measured)} layers")
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UsageError(
            f"the stored network {entry.name!r} in {run_dir} is damaged ({exc}): remove that folder to measure "
            "it again with --resume"
        ) from None
    return measured, features, run


def _collect(out: Path, done: list[ZooEntry]) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """Join every finished network's layers and features (and the on-CPU time where counted)."""
    frames, runs = [], {}
    for entry in done:
        run_dir = out / "networks" / entry.name
        measured, features, runs[entry.name] = _read_network(out, entry)
        frame = measured.copy()
        frame.insert(0, "network", entry.name)
        position = list(frame.columns).index("duration_s_std") + 1
        frame.insert(position, "duration_s_median", median_durations(run_dir, measured))
        for column in features.columns:
            if column not in ("name", "op", "category"):
                frame[column] = features[column].to_numpy()
        frames.append(frame)
    layers = pd.concat(frames, ignore_index=True)
    if "task_clock_ns" in layers.columns:
        position = list(layers.columns).index("duration_s_median") + 1
        layers.insert(position, "cpu_time_s", pd.to_numeric(layers["task_clock_ns"], errors="coerce") * 1e-9)
    return layers, runs


def _has(layers: pd.DataFrame, column: str) -> bool:
    return column in layers.columns and bool(pd.to_numeric(layers[column], errors="coerce").notna().all())


def _undetermined(layers: pd.DataFrame) -> pd.Series:
    """Layers without an energy whose run says why (the readings could not determine them)."""
    energy = pd.to_numeric(layers.get("energy_j", pd.Series(float("nan"), index=layers.index)), errors="coerce")
    if "undetermined_reason" not in layers.columns:
        return pd.Series(False, index=layers.index)
    reasons = layers["undetermined_reason"].astype(object).fillna("").astype(str).str.strip()
    return energy.isna() & (reasons != "")


def _energy_usable(layers: pd.DataFrame, undetermined: pd.Series) -> bool:
    """Every layer has an energy, or a reason why the readings could not determine it, and some have one."""
    if "energy_j" not in layers.columns:
        return False
    energy = pd.to_numeric(layers["energy_j"], errors="coerce")
    return bool((energy.notna() | undetermined).all() and energy.notna().any())


def _choose_target(
    layers: pd.DataFrame, runs: dict[str, dict[str, Any]], wanted: str
) -> tuple[str, str | None, list[str]]:
    """The target column, why it is not energy (``None`` when it is), and notes."""
    missing = [n for n, r in runs.items() if r.get("energy_unavailable")]
    undetermined = _undetermined(layers)
    if not missing and _energy_usable(layers, undetermined):
        if wanted in ("auto", "energy"):
            left_out = int(undetermined.sum())
            notes = (
                [f"{left_out} layer(s) the readings could not determine are left out of the energy fit"]
                if left_out
                else []
            )
            return "energy_j", None, notes
        why = f"--target {wanted} was asked"
    else:
        reasons = {str(runs[n].get("energy_unavailable") or "energy could not be attributed") for n in missing}
        why = "; ".join(sorted(reasons)) or "energy could not be attributed to every layer"
    notes = []
    if wanted == "energy":
        notes.append(f"--target energy: no energy for every network ({why}); using time instead")
    cpu = _has(layers, "cpu_time_s")
    if wanted in ("auto", "cpu-time", "energy") and cpu:
        return "cpu_time_s", why, notes
    if wanted == "cpu-time":
        notes.append("--target cpu-time: no per-layer task-clock (it comes from the torch runtime); using wall time")
    return "duration_s_median", why, notes


def run_study(
    options: StudyOptions,
    out_dir: Path | str,
    *,
    resume: bool = False,
    force: bool = False,
    target: str = "auto",
    progress: StudyProgress | None = None,
) -> StudyResult:
    """Measure every network of the zoo, evaluate every predictor leave-one-network-out, write the report.

    Args:
        options: the zoo and the measurement settings.
        out_dir: the study directory.
        resume: continue the study in ``out_dir`` (its settings must match ``options``).
        force: start afresh in an existing study directory (removing only what a study writes; a non-empty
            directory without a study is refused).
        target: ``auto`` (energy when every network has it, else the on-CPU time where the runtime counts it
            per layer, else the wall time), ``energy``, ``cpu-time`` or ``time``.
        progress: callbacks for a progress display.

    Raises:
        OutputExistsError: ``out_dir`` exists and neither ``resume`` nor ``force`` is given; ``force`` on a
            directory synergy did not write; another process is running a study in ``out_dir``.
        UsageError: a bad setting or an unsafe network name; ``resume`` on a directory without a study,
            with other settings, or with a damaged stored network.
        SensorUnavailable, SensorPermissionError: the named sensor is absent or unreadable.
        KeyboardInterrupt: re-raised once the networks finished so far are stored (``status: partial``);
            SIGTERM and SIGHUP end a study as Ctrl-C does (:class:`~synergy.measurement.signals.Interrupted`).
    """
    from synergy.sensors.discovery import open_sensor

    _validate(options, target)
    out = Path(out_dir)
    _check_target(out, options, resume, force)
    open_sensor(options.sensor, root=options.sysfs_root).close()  # fail before touching anything
    out.mkdir(parents=True, exist_ok=True)
    with StudyLock(out), SignalGuard() as guard:
        result = _run_locked(options, out, resume, force, target, progress or StudyProgress(), guard)
        guard.raise_pending()
    return result


def _run_locked(
    options: StudyOptions,
    out: Path,
    resume: bool,
    force: bool,
    target: str,
    progress: StudyProgress,
    guard: SignalGuard,
) -> StudyResult:
    state = _prepare(out, options, resume, force)
    done = [e for e in options.zoo if _is_done(out, e)]
    for entry in done:
        _read_network(out, entry)  # a damaged stored network is refused before anything is written
    (out / "networks").mkdir(exist_ok=True)
    write_json(out / "study.json", state)
    notes: list[str] = []
    failed: dict[str, str] = {}
    for entry in done:
        state["networks"][entry.name]["status"] = "done"
    progress.start(len(options.zoo), len(done), options.runs)
    started = time.monotonic()
    try:
        for index, entry in enumerate(options.zoo):
            if entry in done:
                continue
            progress.network(entry, index)
            t0 = time.monotonic()
            record = state["networks"][entry.name]
            try:
                notes.extend(_measure_one(out, entry, options, progress))
            except Exception as exc:  # one network failing must not lose the others
                message = str(exc) if isinstance(exc, SynergyError) else f"{type(exc).__name__}: {exc}"
                record.update({"status": "failed", "error": message, "wall_s": time.monotonic() - t0})
                failed[entry.name] = message
                write_json(out / "study.json", state)
                progress.network_done(entry, "failed", time.monotonic() - t0, message)
                continue
            record.update({"status": "done", "error": None, "wall_s": time.monotonic() - t0})
            done.append(entry)
            write_json(out / "study.json", state)
            progress.network_done(entry, "done", time.monotonic() - t0, None)
    except KeyboardInterrupt:
        with guard.deferred():  # a second signal waits until the partial state is on disk
            state["status"] = "partial"
            state["measure_wall_s"] = float(state.get("measure_wall_s", 0.0)) + time.monotonic() - started
            write_json(out / "study.json", state)
        raise
    state["measure_wall_s"] = float(state.get("measure_wall_s", 0.0)) + time.monotonic() - started
    write_json(out / "study.json", state)
    done = [e for e in options.zoo if e in done]
    return _finish(out, options, state, done, failed, notes, progress, target)


def _finish(
    out: Path,
    options: StudyOptions,
    state: dict[str, Any],
    done: list[ZooEntry],
    failed: dict[str, str],
    notes: list[str],
    progress: StudyProgress,
    wanted: str,
) -> StudyResult:
    from synergy.study.evaluation import evaluate_models, networks_with_target
    from synergy.study.report import write_report

    if not done:
        state["status"] = "failed"
        write_json(out / "study.json", state)
        return StudyResult(out, state, pd.DataFrame(), None, failed, notes)
    progress.phase("collect")
    layers, runs = _collect(out, done)
    target, why, target_notes = _choose_target(layers, runs, wanted)
    notes.extend(target_notes)
    label, unit = TARGETS[target]
    if why is not None:
        notes.append(f"the target is {TARGET_TEXT[target]}, not energy: {why}")
    networks = pd.DataFrame([network_row(e, layers[layers["network"] == e.name], runs[e.name], target) for e in done])
    write_csv(out / "layers.csv", layers)
    write_csv(out / "networks.csv", networks)
    evaluation = None
    study_eval = None
    usable = networks_with_target(layers, target)
    if len(usable) >= 2:
        study_eval = evaluate_models(layers, target, unit, progress=lambda m: progress.phase(f"evaluate {m}"))
        evaluation = study_eval.table()
        write_csv(out / "evaluation.csv", evaluation)
        by_type = pd.concat(
            [study_eval.by_type(ev.model).assign(model=ev.model) for ev in study_eval.layers], ignore_index=True
        )
        write_csv(out / "evaluation_by_type.csv", by_type[["model", *[c for c in by_type if c != "model"]]])
        write_csv(out / "predictions.csv", study_eval.predictions())
        if study_eval.dropped:
            notes.append(f"{study_eval.dropped} layer(s) with a zero {label} were left out of the evaluation")
    elif len(done) < 2:
        notes.append("the evaluation needs at least 2 measured networks")
    else:
        without = [e.name for e in done if e.name not in usable]
        notes.append(
            f"the evaluation needs at least 2 networks with a determined {label}: the readings determined"
            f" no layer of {', '.join(without)}; more runs, or a sensor that updates faster, would determine them"
        )
    state.update(
        {
            "status": "complete" if not failed and len(done) == len(options.zoo) else "incomplete",
            "target": target,
            "target_label": label,
            "target_unit": unit,
            "target_reason": why,
            "counters": sorted(
                {c for e in done for c in counter_columns(pd.read_csv(out / "networks" / e.name / "layers.csv"))}
            ),
            "best_model": study_eval.best() if study_eval is not None else None,
            "finished_unix_s": unix_time_s(),
            "notes": notes,
        }
    )
    progress.phase("report")
    report = write_report(out, state, layers, networks, study_eval, runs)
    write_json(out / "study.json", state)
    return StudyResult(out, state, networks, evaluation, failed, notes, report)
