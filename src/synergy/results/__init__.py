"""What ``synergy measure`` writes, defined once: the run record (``run.json``), the layer record
(``layers.csv``), how both are written and read, and when runs may be merged.

Every writer and reader of a run directory goes through this package: :mod:`~synergy.results.schema`
names the keys and columns, :mod:`~synergy.results.jsonio` is the one JSON encoder (NaN becomes ``null``,
numpy scalars become numbers), :mod:`~synergy.results.runs` reads ``run.json``, checks its
``format_version`` and upgrades older layouts, and :func:`~synergy.results.runs.check_comparable` refuses
to merge runs of different sensors, runtimes or machines, saying what differs.
"""

from __future__ import annotations

from synergy.results.jsonio import clean_json, dumps_json, read_json, write_json
from synergy.results.layers import read_layers, write_layers
from synergy.results.runs import check_comparable, inference_energy_j, read_run_json, upgrade_run
from synergy.results.schema import (
    FEATURE_COLUMNS,
    LAYER_COLUMNS,
    RUN_FORMAT_VERSION,
    RUN_KEYS,
    LayerColumn,
    RunJson,
    counter_columns,
    is_context_column,
)

__all__ = [
    "FEATURE_COLUMNS",
    "LAYER_COLUMNS",
    "RUN_FORMAT_VERSION",
    "RUN_KEYS",
    "LayerColumn",
    "RunJson",
    "check_comparable",
    "clean_json",
    "counter_columns",
    "dumps_json",
    "inference_energy_j",
    "is_context_column",
    "read_json",
    "read_layers",
    "read_run_json",
    "upgrade_run",
    "write_json",
    "write_layers",
]
