"""From a MODEL spec to a prepared runtime and the layer table of what it runs: the one place that
resolves models for ``measure``.

A PyTorch model measured on ONNX Runtime is exported afresh into the session's private work folder,
never taken from a file of the same name (another model's ``model.onnx`` would be measured instead).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from synergy.counters import PerfCounters
from synergy.errors import InputShapeError, SynergyError, UsageError
from synergy.graph.spec import ModelSpec
from synergy.layers import LayerTable
from synergy.measurement.options import MeasureOptions
from synergy.runtime.base import Runtime

__all__ = ["BuiltModel", "build_runtime"]

Shapes = tuple[tuple[int, ...], ...]


class BuiltModel:
    """A prepared runtime, the layer table of the graph it runs, and the ONNX file it ran (if any).

    Attributes:
        runtime: the runtime, ready to measure.
        analysis: the layer table (``None`` when it could not be built; layers then have no features).
        onnx_path: the ``.onnx`` file ONNX Runtime loaded (the user's, or the export in the work folder).
        exported: whether ``onnx_path`` was exported here (it is then kept in the output as ``model.onnx``).
    """

    def __init__(self, runtime: Runtime, analysis: LayerTable | None, onnx_path: Path | None, exported: bool) -> None:
        self.runtime = runtime
        self.analysis = analysis
        self.onnx_path = onnx_path
        self.exported = exported


def _shapes(spec: ModelSpec, options: MeasureOptions) -> Shapes | None:
    from synergy.runtime.models import default_input_shape

    if options.input_shape is not None:
        return options.input_shape
    if spec.kind == "torchvision":
        return (default_input_shape(spec),)
    return None


def _analyze(model: str, shapes: Shapes | None, warn: Callable[[str], None]) -> LayerTable | None:
    """The layer table; a shape the model cannot take is an error, anything else a warning."""
    from synergy.analysis import analyze

    try:
        return analyze(model, shapes)
    except InputShapeError:
        raise
    except SynergyError as exc:
        warn(f"the layer table could not be built ({exc}); layers have no MACs")
        return None


def build_runtime(
    spec: ModelSpec,
    options: MeasureOptions,
    work_dir: Path,
    warn: Callable[[str], None],
    counters: PerfCounters | None,
) -> BuiltModel:
    """The runtime ``options.runtime`` prepared for ``spec``, and its layer table.

    Args:
        spec: the parsed MODEL.
        options: the measurement options (runtime, threads, shapes, optimisation, seed).
        work_dir: a private folder for the export and ONNX Runtime's files.
        warn: called with a note when the layer table cannot be built.
        counters: opened event counters, or ``None``.

    Raises:
        ModelSpecError, InputShapeError, UsageError: the model cannot be built, exported or run as asked.
    """
    from synergy.runtime.models import build_torch_model, export_onnx

    shapes = _shapes(spec, options)
    if options.runtime == "onnxruntime":
        from synergy.runtime.onnxruntime import OnnxRuntime

        exported = spec.kind != "onnx"
        if not exported:
            onnx_path = Path(spec.target)
        elif shapes is None:
            raise UsageError(f"{spec.text} needs --input-shape to be exported to ONNX")
        else:
            onnx_path = export_onnx(spec, shapes[0], work_dir / "model.onnx")
        analysis = _analyze(str(onnx_path), shapes, warn)
        runtime: Runtime = OnnxRuntime(
            onnx_path,
            work_dir / "ort",
            threads=options.threads,
            optimization=options.optimization,
            input_shape=shapes,
            seed=options.seed,
            counters=counters,
        )
        return BuiltModel(runtime, analysis, onnx_path, exported)
    from synergy.runtime.torch_eager import TorchEagerRuntime

    if spec.kind == "onnx":
        raise UsageError("the torch runtime runs PyTorch models: give torchvision:NAME or module:callable")
    if shapes is None:
        raise UsageError(f"{spec.text} has no default input: give --input-shape N,C,H,W")
    model = build_torch_model(spec)
    analysis = _analyze(spec.text, shapes, warn)
    runtime = TorchEagerRuntime(model, shapes[0], threads=options.threads, seed=options.seed, counters=counters)
    return BuiltModel(runtime, analysis, None, False)
