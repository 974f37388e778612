"""Measuring a network layer by layer: run it repeatedly, record every layer on the monotonic clock while
sampling a power sensor, and give every layer its time and energy.

The controlled setting follows the SyNERGY papers: one fixed input (or the user's batches in turn),
``threads`` intra-op threads (1 by default), warm-up runs, then ``runs`` measured inferences, each after a
small random pause so that sensor updates fall at every phase of an inference. The sensor is sampled from
``idle_s`` seconds before the first run (the idle power) until shortly after the last; energy is attributed
to layers by a joint solve over all runs (:mod:`synergy.alignment.attribute`). A ``trace:FILE`` sensor (an
external meter's log) is read after the runs and aligned by an offset, the wall clock, or a sync pattern
emitted before the runs.

The model is any form :func:`synergy.graph.resolve.resolve_model` takes (``.onnx``, ``torchvision:NAME``,
``nb201:ARCH``, ``package.module:callable``, and in the Python API an in-memory ``nn.Module`` or
``onnx.ModelProto`` with its ``example_input``), resolved and analysed before the output directory exists.

The steps, one module each: :mod:`~synergy.measurement.options` (what to measure; the defaults of every
command), :mod:`~synergy.measurement.build` (the model and its runtime),
:mod:`~synergy.measurement.session` (every resource, opened in one exit stack),
:mod:`~synergy.measurement.run` (idle, runs, isolation loops), :mod:`~synergy.measurement.assemble`
(layer table with the analysis features, energies, context, counters), :mod:`~synergy.measurement.record`
(``run.json``), :mod:`~synergy.measurement.outputs` (the owned output directory) and
:mod:`~synergy.measurement.plot` (the power profile); :mod:`~synergy.measurement.pipeline` runs them.

Outputs (all written atomically into one directory, listed in its manifest): ``layers.csv``, ``run.json``,
``events.parquet`` (per-layer events), ``runs.parquet`` (run windows), ``samples.parquet`` (the sensor's
timeline), ``context.parquet`` (the context channels), ``power_profile.png``, and for ONNX Runtime
``ort/ort_profile.json`` (``ort/optimized.onnx`` too with ``keep_models``) and ``model.onnx`` when a
PyTorch model was exported. Without an output directory the same content stays in the returned
:class:`~synergy.measurement.result.MeasureResult` (its :meth:`~synergy.measurement.result.MeasureResult.save`
writes it).
``run.json`` is written first with ``"status": "running"``; an interruption or a failure leaves the runs
completed so far written with ``"status": "partial"``.
"""

from __future__ import annotations

from typing import Any

from synergy.measurement.options import MeasureOptions

__all__ = ["FORMAT_VERSION", "MeasureOptions", "MeasureResult", "default_output_dir", "measure"]

_LAZY = {
    "FORMAT_VERSION": "synergy.measurement.record",
    "MeasureResult": "synergy.measurement.result",
    "default_output_dir": "synergy.measurement.outputs",
    "measure": "synergy.measurement.pipeline",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'synergy.measurement' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
