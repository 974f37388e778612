"""The layout of a run directory, defined once: the keys of ``run.json`` and the columns of ``layers.csv``.

``run.json`` format history:

- **1**: the first layout; the whole inference's energy was ``energy_j``.
- **2**: ``energy_j`` is ``inference_energy_j`` (``energy_j`` is a *layer's* energy in ``layers.csv``);
  ``layers.csv`` carries every analysis feature of its layers (:data:`FEATURE_COLUMNS`), so nothing
  downstream analyses the model again. Added since, optional (absent from older files of this version):
  ``inputs`` (the values fed: ``source`` ``given`` or ``random``, ``batches``, ``shapes``) and
  ``onnx_sha256`` (the ONNX file ONNX Runtime ran; ``ort/optimized.onnx`` is kept only when asked).

Readers (:mod:`synergy.results.runs`) accept every version up to :data:`RUN_FORMAT_VERSION`, upgrade the
older ones in memory and refuse a newer one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypedDict

from synergy.models.features import FEATURES
from synergy.runtime.counters import DEFAULT_EVENTS

__all__ = [
    "COUNTER_NAMES",
    "FEATURE_COLUMNS",
    "LAYER_COLUMNS",
    "RUN_FORMAT_VERSION",
    "RUN_KEYS",
    "FeatureColumns",
    "LayerColumn",
    "RunJson",
    "context_column_names",
    "counter_columns",
    "is_context_column",
    "layer_column_names",
]

#: Version of the ``run.json`` layout this SyNERGY writes (and the newest it reads).
RUN_FORMAT_VERSION = 2


class RunJson(TypedDict, total=False):
    """The keys of ``run.json`` (all optional while a run is in progress; ``None`` where not measured)."""

    format_version: int
    status: str  # running | complete | partial | failed | failed-checks
    interrupted_by: str | None
    model: str
    options: dict[str, Any]
    started_unix_ns: int
    runtime: dict[str, Any]
    settings: dict[str, Any]
    sensor: dict[str, Any]
    sampler: dict[str, Any] | None
    sensor_gaps: list[dict[str, Any]]
    sensor_end_reason: str | None
    energy_unavailable: str | None
    idle: dict[str, Any] | None
    runs: int
    inference_s: float
    inference_s_mean: float
    inference_s_std: float
    layers_s: float
    inference_energy_j: float | None
    energy_source: str | None
    counters: dict[str, Any] | None
    attribution: dict[str, Any] | None
    check: dict[str, Any] | None
    isolation: dict[str, Any] | None
    trace: dict[str, Any] | None
    analysis: dict[str, Any] | None
    onnx_file: str | None  # the export ONNX Runtime ran, in the run directory (None: the user's file, or torch)
    onnx_sha256: str | None  # the SHA-256 of the ONNX file ONNX Runtime ran (None: torch)
    inputs: dict[str, Any]  # the values fed: source (given | random), batches, shapes
    uncalled_layers: list[str]  # leaf modules no run called (torch runtime; their work is in no layer)
    system: dict[str, Any]
    context: dict[str, Any] | None
    checks: list[dict[str, Any]]
    warnings: list[str]


#: Every key of ``run.json``, in the order it is written.
RUN_KEYS: tuple[str, ...] = tuple(RunJson.__annotations__)


@dataclass(frozen=True)
class LayerColumn:
    """One column of ``layers.csv``.

    Attributes:
        name: the column name (with its unit).
        kind: ``label`` (text), ``measured`` (times, run counts), ``feature`` (from the analysis of the
            layers it contains), ``energy`` (attributed; NaN without a sensor) or ``isolation``
            (with isolation mode only).
        doc: one line.
    """

    name: str
    kind: str
    doc: str


#: The fixed columns of ``layers.csv``, in order. Context columns (:func:`is_context_column`) and counter
#: columns (:data:`COUNTER_NAMES`) follow when they were sampled or counted.
LAYER_COLUMNS: tuple[LayerColumn, ...] = (
    LayerColumn("layer", "label", "measured layer: a PyTorch leaf module, or an ONNX Runtime node"),
    LayerColumn("op", "label", "op of its largest analysis layer (runtime for runtime-only nodes)"),
    LayerColumn("op_key", "label", "op refined by kernel size and depthwise (Conv3x3, DWConv3x3)"),
    LayerColumn("category", "label", "conv, fc, pooling, norm, activation, elementwise, other"),
    LayerColumn("contains", "label", "analysis layers it executes, ';'-separated"),
    LayerColumn("input_shapes", "label", "input shapes of its largest analysis layer (1x3x224x224;...)"),
    LayerColumn("output_shapes", "label", "output shapes of its largest analysis layer"),
    LayerColumn("runs", "measured", "runs in which it was recorded"),
    LayerColumn("duration_s", "measured", "mean time per inference, s"),
    LayerColumn("duration_s_std", "measured", "standard deviation of that time over the runs, s"),
    LayerColumn("macs", "feature", "multiply-accumulates"),
    LayerColumn("params", "feature", "parameters executed"),
    LayerColumn("flops", "feature", "floating-point operations"),
    LayerColumn("weight_bytes", "feature", "bytes of weights and biases read"),
    LayerColumn("input_bytes", "feature", "bytes of activation inputs read"),
    LayerColumn("output_bytes", "feature", "bytes of outputs written"),
    LayerColumn("bytes_moved", "feature", "weight_bytes + input_bytes + output_bytes"),
    LayerColumn("output_elems", "feature", "elements written"),
    LayerColumn("extra_flops", "feature", "normalisation, activation, pooling and elementwise FLOPs"),
    LayerColumn("kernel_area", "feature", "kh*kw of its largest convolution, 0 otherwise"),
    LayerColumn("energy_j", "energy", "attributed energy per inference, J"),
    LayerColumn("energy_j_se", "energy", "its standard error, J"),
    LayerColumn("dynamic_energy_j", "energy", "energy above idle power, J"),
    LayerColumn("power_w", "energy", "mean power while it ran, W"),
    LayerColumn("power_w_se", "energy", "its standard error, W"),
    LayerColumn("effective_readings", "energy", "whole-window readings of it alone that would determine it as well"),
    LayerColumn("undetermined_reason", "energy", "why the readings do not determine it (empty where they do)"),
    LayerColumn("isolated_duration_s", "isolation", "time per call when looped alone, s"),
    LayerColumn("isolated_power_w", "isolation", "steady power when looped alone, W"),
    LayerColumn("isolated_energy_j", "isolation", "energy per call when looped alone, J"),
)

_BY_NAME = {column.name: column for column in LAYER_COLUMNS}

#: Counter columns (per layer per inference) that ``measure`` may add: the perf events it counts.
COUNTER_NAMES: tuple[str, ...] = tuple(event.name for event in DEFAULT_EVENTS)

#: Context rails summarised per layer, and the statistic kept of each (the hottest temperature, the
#: median clock).
_CONTEXT_RAILS: dict[str, str] = {
    "cpu_freq_hz": "median",
    "gpu_freq_hz": "median",
    "emc_freq_hz": "median",
    "temp_c": "max",
}


def layer_column_names(kind: str | None = None) -> tuple[str, ...]:
    """The fixed columns of ``layers.csv`` (of one ``kind``, or all), in order."""
    return tuple(c.name for c in LAYER_COLUMNS if kind is None or c.kind == kind)


@dataclass(frozen=True)
class FeatureColumns:
    """The analysis features ``layers.csv`` carries (those of :mod:`synergy.models.features`)."""

    numeric: tuple[str, ...]
    labels: tuple[str, ...] = ("op", "category", "op_key")


#: The feature columns of ``layers.csv`` (numeric ones are :data:`synergy.models.features.FEATURES`).
FEATURE_COLUMNS = FeatureColumns(numeric=FEATURES)


def context_column_names(rails: Iterable[str] | None = None) -> tuple[str, ...]:
    """The context columns of ``layers.csv`` for ``rails`` (default: every rail summarised per layer)."""
    chosen = _CONTEXT_RAILS if rails is None else {r: _CONTEXT_RAILS[r] for r in rails if r in _CONTEXT_RAILS}
    return tuple(f"{rail}_{stat}" for rail, stat in chosen.items())


def is_context_column(name: str) -> bool:
    """Whether ``name`` is a context column (a clock or temperature summary over the layer's spans)."""
    return name in context_column_names()


def counter_columns(columns: Iterable[str]) -> list[str]:
    """The counter columns among ``columns`` (never a context, feature or measured column)."""
    return [c for c in columns if c in COUNTER_NAMES and c not in _BY_NAME]
