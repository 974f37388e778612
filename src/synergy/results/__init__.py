"""What ``synergy measure`` writes, defined once: the run record (``run.json``), the layer record
(``layers.csv``), how both are written and read, and when runs may be merged.

Every writer and reader of a run directory goes through this package: :mod:`~synergy.results.schema`
names the keys and columns, :mod:`~synergy.results.jsonio` is the one JSON encoder (NaN becomes ``null``,
numpy scalars become numbers), :mod:`~synergy.results.runs` reads ``run.json``, checks its
``format_version`` and upgrades older layouts, and :func:`~synergy.results.runs.check_comparable` refuses
to merge runs of different sensors, runtimes or machines, saying what differs.
"""

from __future__ import annotations

from typing import Any

_LAZY: dict[str, str] = {
    "FEATURE_COLUMNS": "synergy.results.schema",
    "LAYER_COLUMNS": "synergy.results.schema",
    "RUN_FORMAT_VERSION": "synergy.results.schema",
    "RUN_KEYS": "synergy.results.schema",
    "LayerColumn": "synergy.results.schema",
    "RunJson": "synergy.results.schema",
    "check_comparable": "synergy.results.runs",
    "clean_json": "synergy.results.jsonio",
    "counter_columns": "synergy.results.schema",
    "dumps_json": "synergy.results.jsonio",
    "inference_energy_j": "synergy.results.runs",
    "is_context_column": "synergy.results.schema",
    "read_json": "synergy.results.jsonio",
    "read_layers": "synergy.results.layers",
    "read_run_json": "synergy.results.runs",
    "upgrade_run": "synergy.results.runs",
    "write_json": "synergy.results.jsonio",
    "write_layers": "synergy.results.layers",
}

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


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'synergy.results' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
