"""From a model to a prepared runtime and the layer table of what it runs: the one place where ``measure``
turns its model into a runtime, through :func:`synergy.graph.resolve.resolve_model`.

The model is resolved and analysed before anything else is opened or written: a bad spec, a typo, a shape
the model cannot take is reported in the analysis's words, and no output directory exists yet. A PyTorch
model measured on ONNX Runtime is exported into the session's private work folder under a name keyed by
its content and input (``model-<hash>.onnx``), never taken from a file of the same name. The user's own
batches, when given, replace the runtime's random input (:meth:`~synergy.runtime.base.Runtime.set_input`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from synergy.errors import InputShapeError, ModelSpecError, SynergyError
from synergy.graph.layers import LayerTable
from synergy.graph.resolve import ResolvedModel, resolve_model
from synergy.graph.spec import ModelSpec
from synergy.measurement.inputs import GivenInputs
from synergy.measurement.options import MeasureOptions
from synergy.runtime.base import Runtime
from synergy.runtime.counters import PerfCounters

__all__ = ["BuiltModel", "Stage", "build_runtime", "no_stage"]

Shapes = tuple[tuple[int, ...], ...]

#: Told the name of each step as it begins (``"exporting to ONNX"``).
Stage = Callable[[str], None]


def no_stage(name: str) -> None:
    """A stage callback that reports nothing."""


class BuiltModel:
    """A prepared runtime, the layer table of the graph it runs, and the ONNX file it ran (if any).

    Attributes:
        runtime: the runtime, ready to measure.
        analysis: the layer table (``None`` when it could not be built; layers then have no features).
        onnx_path: the ``.onnx`` file ONNX Runtime loaded (the user's, a self-contained copy of it, or the
            export in the work folder).
        exported: whether ``onnx_path`` was exported here (it is then kept in the output as ``model.onnx``).
        model: the resolved model.
        input_shapes: the input shapes measured.
    """

    def __init__(
        self,
        runtime: Runtime,
        analysis: LayerTable | None,
        onnx_path: Path | None,
        exported: bool,
        model: ResolvedModel | None = None,
        input_shapes: Shapes | None = None,
    ) -> None:
        self.runtime = runtime
        self.analysis = analysis
        self.onnx_path = onnx_path
        self.exported = exported
        self.model = model
        self.input_shapes = input_shapes

    @property
    def uncalled_layers(self) -> list[str]:
        """Leaf modules that no run called (PyTorch runtime; empty elsewhere)."""
        return list(getattr(self.runtime, "uncalled_layers", ()))


def _analyze(model: ResolvedModel, shapes: Shapes, warn: Callable[[str], None]) -> LayerTable | None:
    """The layer table; a bad model or a shape it cannot take is an error, anything else a warning."""
    try:
        return model.analyze(shapes)
    except (ModelSpecError, InputShapeError):
        raise
    except SynergyError as exc:
        warn(f"the layer table could not be built ({exc}); layers have no MACs")
        return None


def _resolved(model: ModelSpec | ResolvedModel | Any, options: MeasureOptions) -> ResolvedModel:
    if isinstance(model, ModelSpec):
        return resolve_model(model.text)
    return resolve_model(model if model is not None else options.model)


def build_runtime(
    model: ModelSpec | ResolvedModel | Any,
    options: MeasureOptions,
    work_dir: Path,
    warn: Callable[[str], None],
    counters: PerfCounters | None,
    inputs: GivenInputs | None = None,
    stage: Stage = no_stage,
) -> BuiltModel:
    """The runtime ``options.runtime`` prepared for ``model``, and its layer table.

    Args:
        model: the parsed MODEL, a resolved model, or anything :func:`resolve_model` takes.
        options: the measurement options (runtime, threads, shapes, optimisation, seed).
        work_dir: a private folder for the export and ONNX Runtime's files.
        warn: called with a note when the layer table cannot be built.
        counters: opened event counters, or ``None``.
        inputs: the user's batches (``None``: a random input of the model's shapes).
        stage: told each step as it begins.

    Raises:
        ModelSpecError, InputShapeError: the model cannot be resolved, built, exported or run as asked.
    """
    stage("analysing model")
    resolved = _resolved(model, options)
    shapes = resolved.input_shapes(options.input_shape)
    table = _analyze(resolved, shapes, warn)
    resolved.check_memory(shapes, table)
    if options.runtime == "onnxruntime":
        from synergy.runtime.onnxruntime import OnnxRuntime

        exported = not resolved.is_onnx
        if exported:
            stage("exporting to ONNX")
        onnx_path = resolved.onnx_file(work_dir, shapes)
        stage("loading ONNX Runtime")
        analysis = table if resolved.is_onnx else _analyze(resolve_model(onnx_path), shapes, warn)
        runtime: Runtime = OnnxRuntime(
            onnx_path,
            work_dir / "ort",
            threads=options.threads,
            optimization=options.optimization,
            input_shape=shapes,
            seed=options.seed,
            counters=counters,
        )
        return _fed(BuiltModel(runtime, analysis, onnx_path, exported, resolved, shapes), inputs)
    from synergy.runtime.torch_eager import TorchEagerRuntime

    stage("loading PyTorch")
    runtime = TorchEagerRuntime(
        resolved.build_torch(shapes), shapes[0], threads=options.threads, seed=options.seed, counters=counters
    )
    return _fed(BuiltModel(runtime, table, None, False, resolved, shapes), inputs)


def _fed(built: BuiltModel, inputs: GivenInputs | None) -> BuiltModel:
    """``built`` with the user's batches as its runtime's input (the runtime is closed if they do not fit)."""
    if inputs is not None:
        try:
            built.runtime.set_input(inputs.arrays())
        except BaseException:
            built.runtime.close()
            raise
    return built
