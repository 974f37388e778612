"""Training data for the energy models, at two levels.

**Network level**: a CSV with a ``model`` column (a MODEL spec; relative paths resolve against the CSV's
folder), an optional ``input_shape`` column (``1,3,32,32``) and the target column: one measured total per
network, which is all most public data and most external meters give. Each network is analysed (through
the cache of :mod:`synergy.graph.tablecache`) and the models fit the *sum* of their per-layer predictions to the
total, so per-layer estimates come out of whole-network data.

**Layer level**: ``layers.csv`` files or run directories written by ``synergy measure``. Since run format 2
``layers.csv`` carries every analysis feature of its layers (:mod:`synergy.results.schema`), for either
runtime, and they are read as they are: nothing is analysed or joined again. Older or hand-written tables
(``layer``, ``op``, the target such as ``energy_j`` or ``duration_s``, ``macs`` ...; ``run.json`` with the
``model`` spec and its input shape) are joined by layer name to the layer table of the model ``run.json``
names; otherwise (or when the MACs of the join disagree with the CSV's) the features come from the CSV's
own columns (missing ones are 0). Runs read together must be comparable (same sensor, runtime and
machine: :func:`synergy.results.runs.check_comparable`). A layer of a measured run may have a zero energy
(the attribution is non-negative); a run without energy is refused with the reason it has none.
Counter columns (:data:`~synergy.models.counters.COUNTER_COLUMNS`: ``ase_spec``, ``bus_access``,
``instructions`` ...) are kept beside the features, for the counter models.

Both produce a :class:`TrainingSet`: a :class:`LayerData` (layers with the target *unit* each belongs to:
its network at network level, itself at layer level), the targets in SI units, and the network of each
unit for grouped cross-validation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synergy.errors import DatasetError, NoEnergyError, ResultFormatError, SynergyError
from synergy.graph.layers import LayerTable
from synergy.graph.spec import parse_input_shape
from synergy.graph.tablecache import analyze_many
from synergy.models.counters import COUNTER_COLUMNS
from synergy.models.data import LayerData
from synergy.models.features import layer_frame, rows_frame
from synergy.results.runs import read_run_json

__all__ = [
    "LayerData",
    "TrainingSet",
    "load_layer_runs",
    "load_measured_layers",
    "load_network_csv",
    "load_training_data",
    "network_frame",
    "result_layers",
    "si_target",
]

#: Unit suffix → (SI suffix, factor to SI, SI unit).
_UNITS: dict[str, tuple[str, float, str]] = {
    "j": ("j", 1.0, "J"),
    "mj": ("j", 1e-3, "J"),
    "uj": ("j", 1e-6, "J"),
    "nj": ("j", 1e-9, "J"),
    "kj": ("j", 1e3, "J"),
    "s": ("s", 1.0, "s"),
    "ms": ("s", 1e-3, "s"),
    "us": ("s", 1e-6, "s"),
    "ns": ("s", 1e-9, "s"),
    "w": ("w", 1.0, "W"),
    "mw": ("w", 1e-3, "W"),
    "uw": ("w", 1e-6, "W"),
}


def si_target(column: str) -> tuple[str, float, str]:
    """The SI name, conversion factor and unit of a target column named with a unit suffix.

    ``energy_mj`` → ``("energy_j", 1e-3, "J")``; ``lat_ms_median`` → ``("lat_s_median", 1e-3, "s")``;
    a name without a known unit is kept with factor 1 and unit ``""``.
    """
    parts = column.split("_")
    for i in range(len(parts) - 1, 0, -1):
        unit = _UNITS.get(parts[i].lower())
        if unit is not None:
            suffix, factor, symbol = unit
            return "_".join([*parts[:i], suffix, *parts[i + 1 :]]), factor, symbol
    return column, 1.0, ""


@dataclass(frozen=True)
class TrainingSet:
    """Data to fit on: layers, targets in SI units, and where they came from.

    Attributes:
        data: the layers and their units.
        y: one target per unit, SI.
        target: the SI name of the target (``energy_j``).
        unit: its SI unit (``J``), ``""`` when unknown.
        column: the column it was read from (``energy_mj``).
        sources: the files read.
        tables: the layer table of every network (network level), for per-layer output.
        dropped: layers of measured runs left out because their target is 0 (an attribution puts a layer
            the sensor cannot tell from idle at 0 J; a relative error needs a positive target).
    """

    data: LayerData
    y: np.ndarray
    target: str
    unit: str
    column: str
    sources: tuple[str, ...] = ()
    tables: tuple[LayerTable, ...] = field(default=(), repr=False)
    dropped: tuple[str, ...] = ()

    @property
    def level(self) -> str:
        """``network`` or ``layer``."""
        return self.data.level


def _check_targets(
    values: pd.Series, column: str, where: str, names: Sequence[str], *, zero_ok: bool = False
) -> np.ndarray:
    y = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(y)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DatasetError(
            f"{where}: {int(bad.sum())} {column!r} value(s) are missing or not numbers (first: {names[i]}): "
            "remove or fix those rows"
        )
    nonpos = (y < 0) if zero_ok else (y <= 0)
    if nonpos.any():
        i = int(np.flatnonzero(nonpos)[0])
        bound = "negative" if zero_ok else "not positive"
        raise DatasetError(
            f"{where}: {int(nonpos.sum())} {column!r} value(s) are {bound} (first: {names[i]} = {y[i]:g}): "
            f"targets must be measured energies or times {'>= 0' if zero_ok else '> 0'}"
        )
    return y


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DatasetError(f"data file {path} does not exist: check the path")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DatasetError(f"{path} is empty: give a CSV with a header and at least one row") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path} is not a readable CSV ({exc}): check the file") from exc
    if frame.empty:
        raise DatasetError(f"{path} has no data rows: give at least one measured row")
    return frame


def _shape_cell(value: Any, path: Path, row: int) -> tuple[tuple[int, ...], ...] | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == "":
        return None
    try:
        return parse_input_shape(str(value))
    except SynergyError as exc:
        raise DatasetError(f"{path} row {row + 2}: {exc}") from exc


def _resolve_model(spec: str, folder: Path) -> str:
    spec = spec.strip()
    if ":" in spec and not spec.lower().endswith(".onnx"):
        return spec
    path = Path(spec)
    if not path.is_absolute():
        path = folder / path
    if path.suffix.lower() == ".onnx" and not path.is_file():
        raise DatasetError(f"model file {spec} (resolved to {path}) does not exist: fix the 'model' column")
    return str(path)


def load_network_csv(
    path: Path,
    target: str,
    *,
    use_cache: bool = True,
    cache_dir: Path | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    trust_code: bool = False,
) -> TrainingSet:
    """Read network-level data (see the module docstring).

    A ``module:callable`` in the ``model`` column imports and runs Python code: it is refused unless
    ``trust_code`` (the networks of :mod:`synergy.zoo` are always allowed).

    Raises:
        DatasetError: the file is missing, empty or unreadable; a column is missing; a target is missing,
            not a number or not positive; a model file does not exist.
        UntrustedCodeError: the ``model`` column names Python code and ``trust_code`` is false (nothing runs).
    """
    frame = _read_csv(path)
    if "model" not in frame.columns:
        raise DatasetError(
            f"{path} has no 'model' column: network-level data needs one MODEL spec per row "
            "(layer-level data is a layers.csv or a run directory)"
        )
    if target not in frame.columns:
        raise DatasetError(
            f"{path} has no target column {target!r}: choose --target from {', '.join(map(str, frame.columns))}"
        )
    models = [_resolve_model(str(m), path.parent) for m in frame["model"]]
    shapes = (
        [_shape_cell(v, path, i) for i, v in enumerate(frame["input_shape"])]
        if "input_shape" in frame.columns
        else [None] * len(frame)
    )
    names = [m if s is None else f"{m}@{'x'.join(map(str, s[0]))}" for m, s in zip(models, shapes, strict=True)]
    y_raw = _check_targets(frame[target], target, str(path), names)
    name, factor, unit = si_target(target)
    tables = analyze_many(
        list(zip(models, shapes, strict=True)),
        use_cache=use_cache,
        cache_dir=cache_dir,
        workers=workers,
        progress=progress,
        origin=f"column 'model' of {path}",
        trust_code=trust_code,
    )
    data = LayerData.from_tables(tables, names)
    # the same network measured several times is one group
    first: dict[str, int] = {}
    groups = np.array([first.setdefault(n, len(first)) for n in names])
    data = LayerData(data.frame, data.n_units, groups, tuple(first), data.units, "network")
    return TrainingSet(data, y_raw * factor, name, unit, target, (str(path),), tuple(tables))


def _run_paths(path: Path) -> tuple[Path, Path | None]:
    if path.is_dir():
        csv = path / "layers.csv"
        if not csv.is_file():
            raise DatasetError(f"{path} is a directory without layers.csv: give a run directory from 'synergy measure'")
        run = path / "run.json"
        return csv, run if run.is_file() else None
    run = path.parent / "run.json"
    return path, run if run.is_file() else None


def _run_meta(run: Path | None) -> dict[str, Any] | None:
    if run is None:
        return None
    try:
        return read_run_json(run)
    except ResultFormatError as exc:
        raise DatasetError(str(exc)) from exc


def _run_model(meta: dict[str, Any] | None) -> tuple[str | None, tuple[tuple[int, ...], ...] | None]:
    if meta is None:
        return None, None
    model = meta.get("model")
    if isinstance(model, dict):
        model = model.get("spec") or model.get("model")
    options = meta.get("options")
    shapes = meta.get("input_shapes") or meta.get("input_shape")
    if not shapes and isinstance(options, dict):
        # 'synergy measure' records the --input-shape it was given among its options
        shapes = options.get("input_shape")
    parsed: tuple[tuple[int, ...], ...] | None = None
    if isinstance(shapes, list) and shapes:
        items = shapes if isinstance(shapes[0], list) else [shapes]
        try:
            parsed = tuple(tuple(int(d) for d in s) for s in items)
        except (TypeError, ValueError) as exc:
            raise DatasetError(f"run.json's input shape {shapes!r} is not whole numbers: measure again") from exc
    return (str(model) if model else None), parsed


def _joined(full: pd.DataFrame, rows: pd.DataFrame, names: list[str]) -> pd.DataFrame | None:
    """The analysed layers named in ``rows``, in their order; ``None`` when they do not match the rows."""
    if not set(names) <= set(full.index):
        return None
    layers = full.loc[names].reset_index(drop=True)
    if "macs" in rows.columns:
        measured = pd.to_numeric(rows["macs"], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(measured)
        # a run measured at another input shape than the analysis: the CSV's own columns are right
        if not np.allclose(layers["macs"].to_numpy(dtype=float)[ok], measured[ok], rtol=1e-6, atol=0.5):
            return None
    return layers


@dataclass(frozen=True)
class _Run:
    """One layers.csv (or run directory) read: its path, rows, layer frame, layer table and run record."""

    csv: Path
    rows: pd.DataFrame
    layers: pd.DataFrame
    table: LayerTable | None
    meta: dict[str, Any] | None


def _read_rows(csv: Path) -> pd.DataFrame:
    try:
        from synergy.results.layers import read_layers

        rows = read_layers(csv)
    except ResultFormatError as exc:
        raise DatasetError(str(exc)) from exc
    if rows.empty:
        raise DatasetError(f"{csv} has no data rows: give at least one measured row")
    return rows


def _read_run(
    given: Path, *, use_cache: bool, cache_dir: Path | None, workers: int | None, trust_code: bool = False
) -> _Run:
    """One layers.csv (or run directory): its rows, their layer frame (with counter columns), and the
    analysed layer table of its model where the table carries no features of its own."""
    from synergy.results.layers import feature_frame, has_features

    if not given.exists():
        raise DatasetError(f"{given} does not exist: give layers.csv files or run directories")
    csv, run = _run_paths(given)
    if not csv.is_file():
        raise DatasetError(f"data file {csv} does not exist: check the path")
    rows = _read_rows(csv)
    meta = _run_meta(run)
    names = [str(n) for n in rows["layer"]]
    layers: pd.DataFrame | None = None
    table: LayerTable | None = None
    if has_features(rows):
        layers = feature_frame(rows)
    else:
        model, shapes = _run_model(meta)
        if model is not None:
            table = analyze_many(
                [(model, shapes)],
                use_cache=use_cache,
                cache_dir=cache_dir,
                workers=workers,
                origin=str(run),
                trust_code=trust_code,
            )[0]
            layers = _joined(layer_frame(table).set_index("name", drop=False), rows, names)
    if layers is None:
        records = [{str(k): v for k, v in r.items()} for r in rows.rename(columns={"layer": "name"}).to_dict("records")]
        layers = rows_frame(records)
    return _Run(csv, rows, _with_counters(layers, rows), table, meta)


def _with_counters(layers: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """``layers`` with the counter columns of the measured ``rows``."""
    for column in COUNTER_COLUMNS:
        if column in rows.columns:
            layers[column] = pd.to_numeric(rows[column], errors="coerce").to_numpy(dtype=float)
    return layers


def result_layers(rows: pd.DataFrame, name: str) -> pd.DataFrame:
    """The layer frame of a measurement held in memory (``MeasureResult.layers``), as
    :func:`load_measured_layers` reads it from a run directory, counter columns included.

    Raises:
        DatasetError: the rows are empty, or carry no analysis features (the model could not be analysed).
    """
    from synergy.results.layers import feature_frame, has_features

    if rows.empty:
        raise DatasetError(f"the measurement of {name} has no layers")
    if not has_features(rows):
        raise DatasetError(f"the layers measured of {name} carry no analysis features: the model could not be analysed")
    return _with_counters(feature_frame(rows), rows)


def _run_targets(read: _Run, target: str) -> np.ndarray:
    """The target of every row; a run without energy says why, and a measured zero is a value."""
    rows, csv, meta = read.rows, read.csv, read.meta
    if target not in rows.columns:
        raise DatasetError(f"{csv} has no {target!r} column: choose --target from {', '.join(map(str, rows.columns))}")
    names = [str(n) for n in rows["layer"]]
    measured = meta is not None
    if measured and target.startswith("energy") and pd.to_numeric(rows[target], errors="coerce").isna().all():
        reason = (meta or {}).get("energy_unavailable") or "the energy could not be attributed"
        raise NoEnergyError(f"{csv}: no energy was measured here ({reason})")
    values = rows[target]
    if measured and "undetermined_reason" in rows.columns:
        # A layer the readings could not determine has no value, and says why: it is left out like a 0 J
        # layer (listed among the dropped), not taken for a damaged row.
        reasons = rows["undetermined_reason"].astype(object).fillna("").astype(str).str.strip()  # all NaN: floats
        undetermined = pd.to_numeric(values, errors="coerce").isna() & (reasons != "")
        values = values.mask(undetermined, 0.0)
    return _check_targets(values, target, str(csv), names, zero_ok=measured)


def _check_comparable(metas: dict[str, dict[str, Any]]) -> None:
    from synergy.results.runs import check_comparable

    written = {k: m for k, m in metas.items() if m.get("sensor") or m.get("runtime") or m.get("system")}
    check_comparable(written)


def load_measured_layers(
    path: Path, *, use_cache: bool = True, cache_dir: Path | None = None, trust_code: bool = False
) -> pd.DataFrame:
    """The layer frame of one measured run (a run directory or ``layers.csv``), counter columns included.

    What :class:`~synergy.models.predictor.Predictor` needs to predict a run with a model of measured counters.
    ``trust_code``: see :func:`load_layer_runs`.

    Raises:
        DatasetError: the path is missing, not a run, or its ``layers.csv`` is empty or unreadable.
        UntrustedCodeError: see :func:`load_layer_runs`.
    """
    return _read_run(path, use_cache=use_cache, cache_dir=cache_dir, workers=1, trust_code=trust_code).layers


def load_layer_runs(
    paths: Sequence[Path],
    target: str,
    *,
    use_cache: bool = True,
    cache_dir: Path | None = None,
    workers: int | None = 1,
    trust_code: bool = False,
) -> TrainingSet:
    """Read layer-level data: ``layers.csv`` files or run directories (see the module docstring).

    A run whose ``layers.csv`` carries no features is analysed from the model its ``run.json`` names; a
    ``module:callable`` there imports Python code and is refused unless ``trust_code``.

    Raises:
        DatasetError: a path is missing, a file empty, the ``layer`` or target column missing, a target
            missing, not a number or not positive.
        UntrustedCodeError: a ``run.json`` names Python code and ``trust_code`` is false (nothing runs).
    """
    frames: list[pd.DataFrame] = []
    targets: list[np.ndarray] = []
    networks: list[str] = []
    units: list[str] = []
    tables: list[LayerTable] = []
    dropped: list[str] = []
    metas: dict[str, dict[str, Any]] = {}
    offset = 0
    for net_index, given in enumerate(paths):
        read = _read_run(given, use_cache=use_cache, cache_dir=cache_dir, workers=workers, trust_code=trust_code)
        y = _run_targets(read, target)
        if read.meta is not None:
            metas[str(given)] = read.meta
        if read.table is not None:
            tables.append(read.table)
        label = str(given)
        names = read.rows["layer"].astype(str).to_numpy()
        keep = y > 0
        dropped.extend(f"{label}:{n}" for n in names[~keep])
        layers = read.layers.loc[keep].reset_index(drop=True)
        layers["unit"] = np.arange(len(layers)) + offset
        layers["network"] = net_index
        offset += len(layers)
        frames.append(layers)
        targets.append(y[keep])
        networks.append(label)
        units.extend(f"{label}:{n}" for n in names[keep])
    _check_comparable(metas)
    if not frames:
        raise DatasetError("no layer-level data given: pass layers.csv files or run directories")
    if offset == 0:
        raise DatasetError(f"every layer's {target!r} is 0: there is nothing to fit")
    frame = pd.concat(frames, ignore_index=True)
    groups = frame["network"].to_numpy()
    data = LayerData(frame, len(frame), groups, tuple(networks), tuple(units), "layer")
    name, factor, unit = si_target(target)
    y = np.concatenate(targets) * factor
    return TrainingSet(data, y, name, unit, target, tuple(map(str, paths)), tuple(tables), tuple(dropped))


def _is_layer_source(path: Path) -> bool:
    if path.is_dir() or path.name == "layers.csv":
        return True
    if path.is_file():
        try:
            header = pd.read_csv(path, nrows=0).columns
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
            return False
        return "layer" in header and "model" not in header
    return False


def load_training_data(
    paths: Sequence[Path],
    target: str,
    level: str | None = None,
    *,
    use_cache: bool = True,
    cache_dir: Path | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    trust_code: bool = False,
) -> TrainingSet:
    """Read training data of either level; ``level=None`` decides from the files.

    Several network-level CSVs are concatenated. ``trust_code``: let MODEL specs read from the files
    import Python code (see :func:`load_network_csv`).

    Raises:
        DatasetError: see :func:`load_network_csv` and :func:`load_layer_runs`; mixed levels.
        UntrustedCodeError: a MODEL spec in the files names Python code and ``trust_code`` is false.
    """
    if not paths:
        raise DatasetError("no training data given: pass a network-level CSV or layer-level runs")
    for path in paths:
        if not path.exists():
            raise DatasetError(f"data {path} does not exist: check the path")
    if level is None:
        kinds = {_is_layer_source(p) for p in paths}
        if len(kinds) > 1:
            raise DatasetError("the data mixes layer-level runs and network-level CSVs: fit them separately")
        level = "layer" if kinds.pop() else "network"
    if level == "layer":
        return load_layer_runs(paths, target, use_cache=use_cache, cache_dir=cache_dir, trust_code=trust_code)
    if level != "network":
        raise DatasetError(f"unknown data level {level!r}: use 'layer' or 'network'")
    sets = [
        load_network_csv(
            p,
            target,
            use_cache=use_cache,
            cache_dir=cache_dir,
            workers=workers,
            progress=progress,
            trust_code=trust_code,
        )
        for p in paths
    ]
    if len(sets) == 1:
        return sets[0]
    tables = [t for s in sets for t in s.tables]
    names = [u for s in sets for u in s.data.units]
    data = LayerData.from_tables(tables, names)
    first: dict[str, int] = {}
    groups = np.array([first.setdefault(n, len(first)) for n in names])
    data = LayerData(data.frame, data.n_units, groups, tuple(first), data.units, "network")
    y = np.concatenate([s.y for s in sets])
    s0 = sets[0]
    return TrainingSet(data, y, s0.target, s0.unit, s0.column, tuple(str(p) for p in paths), tuple(tables))


def network_frame(tables: Sequence[LayerTable], names: Sequence[str] | None = None) -> LayerData:
    """Layer data of networks to predict (no targets)."""
    return LayerData.from_tables(tables, names)
