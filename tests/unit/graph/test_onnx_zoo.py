"""Exported torchvision models: the ONNX path gives the PyTorch path's MACs, and ORT's own byte counts.

Each model is exported once per session (random weights, eval mode) with the TorchScript exporter
(``dynamo=False``) and the dynamo exporter (``dynamo=True``). The oracle is the one the PyTorch path must
equal: torchvision's published ``_ops`` (GMACs, to ±0.0005e9) and the exact integer FlopCounterMode
total / 2 on the same model; when the PyTorch frontend is installed, its total as well.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode

import synergy
from synergy.graph.onnx_frontend import analyze_onnx_file

MODELS = ("resnet18", "mobilenet_v2", "squeezenet1_1", "googlenet", "efficientnet_b0")
EXPORTERS = ("legacy", "dynamo")

Exporter = Callable[[str, str], Path]


def _build(name: str) -> tuple[torch.nn.Module, torch.Tensor]:
    # GoogLeNet as its default weights define it (transform_input=True), without the slow weight init.
    extra = {"init_weights": False, "transform_input": True} if name == "googlenet" else {}
    model = torchvision.models.get_model(name, weights=None, **extra).eval()
    crop = torchvision.models.get_model_weights(name).DEFAULT.transforms().crop_size[0]
    torch.manual_seed(0)
    return model, torch.randn(1, 3, crop, crop)


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exporter:
    """``exported(name, exporter)`` → the ONNX file (each export done once per session)."""
    folder = tmp_path_factory.mktemp("onnx_zoo")
    cache: dict[tuple[str, str], Path] = {}

    def export(name: str, exporter: str) -> Path:
        if (name, exporter) not in cache:
            model, x = _build(name)
            path = folder / f"{name}_{exporter}.onnx"
            with contextlib.redirect_stdout(io.StringIO()), torch.no_grad(), warnings.catch_warnings():
                warnings.filterwarnings("ignore", "You are using the legacy TorchScript", DeprecationWarning)
                torch.onnx.export(model, (x,), str(path), dynamo=exporter == "dynamo")
            cache[(name, exporter)] = path
        return cache[(name, exporter)]

    return export


@pytest.fixture(scope="session")
def exact_macs() -> Callable[[str], int]:
    """``exact_macs(name)``: FlopCounterMode total / 2 on the model at its weights' evaluation crop."""
    cache: dict[str, int] = {}

    def count(name: str) -> int:
        if name not in cache:
            model, x = _build(name)
            with FlopCounterMode(display=False) as counter, torch.no_grad():
                model(x)
            cache[name] = counter.get_total_flops() // 2
        return cache[name]

    return count


#: The dynamo exports that take seconds each on one core: run by ``make test-all``, not ``make test``.
_SLOW_EXPORTS = {("efficientnet_b0", "dynamo"), ("googlenet", "dynamo")}


def _cases(pairs: list[tuple[str, str]]) -> list[object]:
    return [pytest.param(n, e, marks=pytest.mark.slow) if (n, e) in _SLOW_EXPORTS else (n, e) for n, e in pairs]


@pytest.mark.parametrize(("name", "exporter"), _cases([(n, e) for n in MODELS for e in EXPORTERS]))
def test_exported_macs_equal_the_pytorch_path(
    name: str, exporter: str, exported: Exporter, exact_macs: Callable[[str], int]
) -> None:
    table = analyze_onnx_file(exported(name, exporter))
    published = torchvision.models.get_model_weights(name).DEFAULT.meta["_ops"]
    assert table.unsupported_ops == ()
    assert table.macs == exact_macs(name)
    assert abs(table.macs - published * 1e9) <= 0.0005e9
    if importlib.util.find_spec("synergy.graph.torch_frontend") is not None:
        torch_totals = synergy.analyze(f"torchvision:{name}").totals()
        assert table.macs == torch_totals["macs"]
        # Extra FLOPs agree too, except BN's (folded away by the exporters) and SiLU's (exported as
        # Sigmoid + Mul: one activation and one elementwise FLOP per element instead of one). A reduction
        # such as a functional spatial mean is pooling here and may be elementwise there: compare the sum.
        if name != "efficientnet_b0":
            ours = table.totals()
            assert ours["flops_activation"] == torch_totals["flops_activation"]
            assert (
                ours["flops_pooling"] + ours["flops_elementwise"]
                == torch_totals["flops_pooling"] + torch_totals["flops_elementwise"]
            )


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_module_column_is_the_same_for_both_exporters(exporter: str, exported: Exporter) -> None:
    table = analyze_onnx_file(exported("mobilenet_v2", exporter))
    convs = [layer.module for layer in table if layer.op == "Conv"]
    assert convs[:3] == ["features.0", "features.1.conv.0", "features.1.conv"]
    assert table.layers[-1].module == "classifier"


def test_batch_norm_is_folded_so_params_differ_from_pytorch(exported: Exporter) -> None:
    model, _ = _build("resnet18")
    bn = sum(p.numel() for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d) for p in m.parameters())
    pytorch_params = sum(p.numel() for p in model.parameters())
    dynamo = analyze_onnx_file(exported("resnet18", "dynamo"))
    assert not any(layer.op == "BatchNorm" for layer in dynamo)
    # The dynamo exporter drops the all-zero folded bias: exactly BN's 2C per layer are gone.
    assert dynamo.params == pytorch_params - bn
    legacy = analyze_onnx_file(exported("resnet18", "legacy"))
    # The TorchScript exporter keeps a folded conv bias, shared between convs of equal width.
    assert pytorch_params - bn < legacy.params < pytorch_params


def _ort_profile(path: Path, tmp_path: Path) -> list[dict[str, object]]:
    options = ort.SessionOptions()
    options.enable_profiling = True
    options.profile_file_prefix = str(tmp_path / "profile")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0]
    session.run(None, {feed.name: np.zeros((1, 3, 224, 224), dtype=np.float32)})
    events = json.loads(Path(session.end_profiling()).read_text())
    return [e for e in events if e.get("cat") == "Node" and str(e["name"]).endswith("_kernel_time")]


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_bytes_equal_onnx_runtime_profiler(exporter: str, exported: Exporter, tmp_path: Path) -> None:
    path = exported("resnet18", exporter)
    table = analyze_onnx_file(path)
    checked = 0
    for event in _ort_profile(path, tmp_path):
        args = event["args"]
        assert isinstance(args, dict)
        # Gemm is left out: ORT pre-packs its weight and drops it from the profiled inputs.
        if args["op_name"] not in {"Conv", "Relu", "MaxPool", "Add", "GlobalAveragePool", "Flatten"}:
            continue
        layer = table[str(event["name"]).removesuffix("_kernel_time")]
        ours = (layer.input_bytes, layer.weight_bytes, layer.output_bytes)
        theirs = (int(args["activation_size"]), int(args["parameter_size"]), int(args["output_size"]))
        if exporter == "dynamo":
            assert ours == theirs, layer.name
        else:
            # The TorchScript exporter shares equal folded biases through Identity nodes; ORT counts such a
            # bias as an activation, the analysis as a weight (it is a constant). The bytes read agree.
            assert (ours[0] + ours[1], ours[2]) == (theirs[0] + theirs[1], theirs[2]), layer.name
        checked += 1
    assert checked >= 46  # 20 Conv, 17 Relu, 8 Add, MaxPool


def test_resnet18_conv1_bytes(exported: Exporter) -> None:
    dynamo = analyze_onnx_file(exported("resnet18", "dynamo")).layers[0]
    assert dynamo.op == "Conv"
    assert dynamo.macs == 118_013_952
    assert (dynamo.weight_bytes, dynamo.input_bytes, dynamo.output_bytes) == (37_632, 602_112, 3_211_264)
    legacy = analyze_onnx_file(exported("resnet18", "legacy")).layers[0]
    assert legacy.name == "/conv1/Conv" and legacy.module == ""
    assert (legacy.weight_bytes, legacy.input_bytes, legacy.output_bytes) == (37_632 + 256, 602_112, 3_211_264)
    assert round(dynamo.arithmetic_intensity, 1) == 61.3


def test_analyze_dispatches_onnx_files(exported: Exporter) -> None:
    path = exported("squeezenet1_1", "legacy")
    table = synergy.analyze(str(path))
    assert table.frontend == "onnx"
    assert table.model == str(path)
    assert table.input_shapes == ((1, 3, 224, 224),)
    assert table.macs == analyze_onnx_file(path).macs


def test_pinned_dynamic_export_equals_pytorch_at_that_shape(tmp_path: Path) -> None:
    model, x = _build("resnet18")
    path = tmp_path / "dynamic.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.filterwarnings("ignore", "You are using the legacy TorchScript", DeprecationWarning)
        torch.onnx.export(
            model,
            (x,),
            str(path),
            dynamo=False,
            input_names=["input"],
            dynamic_axes={"input": {0: "batch", 2: "height", 3: "width"}},
        )
    shape = (2, 3, 256, 192)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(shape))
    table = analyze_onnx_file(path, (shape,))
    assert table.input_shapes == (shape,)
    assert table.macs == counter.get_total_flops() // 2
    assert table.layers[-1].input_shapes == ((2, 512),)


@pytest.mark.parametrize(("name", "exporter"), _cases([("resnet18", "legacy"), ("efficientnet_b0", "dynamo")]))
def test_onnx_runtime_optimised_graph_keeps_the_macs(
    name: str, exporter: str, exported: Exporter, exact_macs: Callable[[str], int], tmp_path: Path
) -> None:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(tmp_path / "optimised.onnx")
    ort.InferenceSession(str(exported(name, exporter)), options, providers=["CPUExecutionProvider"])
    table = analyze_onnx_file(tmp_path / "optimised.onnx")
    assert table.unsupported_ops == ()
    assert "FusedConv" in {layer.kind for layer in table}  # Conv + activation fused by ORT
    assert table.macs == exact_macs(name)


def test_unfolded_batch_norm_export(tmp_path: Path, exact_macs: Callable[[str], int]) -> None:
    model, x = _build("resnet18")
    path = tmp_path / "unfolded.onnx"
    with contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
        torch.onnx.export(model, (x,), str(path), dynamo=True, optimize=False)  # keeps BatchNormalization
    table = analyze_onnx_file(path)
    norms = [layer for layer in table if layer.op == "BatchNorm"]
    assert len(norms) == 20
    first = norms[0]
    assert first.macs == 0 and first.flops_norm == 2 * 64 * 112 * 112  # x·a_c + b_c per element
    assert first.params == 128 and first.weight_bytes == 4 * 4 * 64  # running statistics are buffers
    assert table.macs == exact_macs("resnet18")
    assert table.params == sum(p.numel() for p in model.parameters())  # nothing folded away
    assert table.unsupported_ops == ()
