"""The one model resolver: every accepted form, its defaults, its errors, and code from data files."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

import synergy
from synergy.errors import InputShapeError, ModelSpecError, UntrustedCodeError
from synergy.graph.resolve import DEFAULT_INPUT_SHAPE, ResolvedModel, as_shapes, resolve_model
from synergy.graph.spec import check_memory

NB201 = "nb201:|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"

_NETS = """
from torch import nn

class Declared(nn.Module):
    input_shape = (1, 3, 8, 8)

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 5, 1)

    def forward(self, x):
        return self.conv(x)

def plain():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())

def explodes():
    raise RuntimeError("no weights here\\nsecond line")
"""


@pytest.fixture
def nets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "resolve_nets.py").write_text(textwrap.dedent(_NETS))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "resolve_nets", raising=False)
    return tmp_path


def test_module_callable_takes_its_declared_input_shape(nets: Path) -> None:
    model = resolve_model("resolve_nets:Declared")
    assert model.kind == "callable" and model.input_shapes() == ((1, 3, 8, 8),)
    assert synergy.analyze("resolve_nets:Declared").input_shapes == ((1, 3, 8, 8),)
    assert isinstance(model.build_torch(), nn.Module)
    # without a declaration: the documented default
    assert resolve_model("resolve_nets:plain").input_shapes() == (DEFAULT_INPUT_SHAPE,)


@pytest.mark.parametrize("name", ["all_cnn_c", "nin"])
def test_builtin_cifar_nets_need_no_input_shape(name: str) -> None:
    model = resolve_model(f"synergy.zoo.cifar:{name}")
    assert model.input_shapes() == ((1, 3, 32, 32),)
    assert model.analyze().input_shapes == ((1, 3, 32, 32),)


def test_in_memory_module_with_an_example_input() -> None:
    module = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    table = synergy.analyze(module, torch.randn(1, 3, 8, 8))
    assert table.model == "Sequential" and table.input_shapes == ((1, 3, 8, 8),)
    assert table["0"].macs == 4 * 36 * 27 and table["3"].macs == 144 * 2
    assert synergy.analyze(module, (torch.randn(2, 3, 8, 8),)).input_shapes == ((2, 3, 8, 8),)
    assert synergy.analyze(module, [(1, 3, 8, 8)]).macs == table.macs
    resolved = resolve_model(module, torch.randn(1, 3, 8, 8))
    assert resolved.build_torch() is module and resolved.input_shapes() == ((1, 3, 8, 8),)
    with pytest.raises(InputShapeError, match=r"input shape 1,3,9,9 does not fit Sequential: layer 3"):
        synergy.analyze(module, torch.randn(1, 3, 9, 9))
    with pytest.raises(ModelSpecError, match="cannot analyse a int"):
        synergy.analyze(42)


def test_in_memory_model_proto_and_str_or_path(tmp_path: Path) -> None:
    module = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()).eval()
    path = resolve_model(module, torch.randn(1, 3, 8, 8)).onnx_file(tmp_path)  # an in-memory module exported
    by_path, by_str = synergy.analyze(path), synergy.analyze(str(path))
    assert by_path.macs == by_str.macs == 4 * 36 * 27
    proto = onnx.load(str(path))
    table = synergy.analyze(proto)
    assert table.macs == by_path.macs and resolve_model(proto).kind == "proto"
    copy = resolve_model(proto).onnx_file(tmp_path / "out")
    assert copy.parent == tmp_path / "out" and onnx.load(str(copy)).graph.node


@pytest.fixture(scope="module")
def dynamo_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What ``torch.onnx.export`` writes by default in torch 2.14: the graph plus ``model.onnx.data``."""
    folder = tmp_path_factory.mktemp("dynamo")
    module = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 4)).eval()
    torch.onnx.export(module, (torch.randn(1, 3, 8, 8),), str(folder / "model.onnx"))
    return folder / "model.onnx"


def test_dynamo_export_with_external_data_is_analysed_and_loadable(dynamo_export: Path, tmp_path: Path) -> None:
    if not dynamo_export.with_name("model.onnx.data").is_file():
        pytest.skip("this torch keeps the weights inside model.onnx")
    model = resolve_model(str(dynamo_export))
    assert model.default_input_shapes() == ((1, 3, 8, 8),)
    assert model.analyze().macs == 8 * 36 * 27 + 288 * 4
    assert len(model.load_onnx().graph.initializer) >= 4
    single = model.onnx_file(tmp_path)
    assert single != dynamo_export and not list(tmp_path.glob("*.data"))
    assert model.onnx_file(tmp_path) == single  # the same content: the same file, reused
    session = ort.InferenceSession(str(single), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {session.get_inputs()[0].name: torch.randn(1, 3, 8, 8).numpy()})
    assert out.shape == (1, 4)


def test_exports_are_keyed_by_content_and_input(tmp_path: Path) -> None:
    model = resolve_model("synergy.zoo.cifar:nin")
    first = model.onnx_file(tmp_path)
    stamp = first.stat().st_mtime_ns
    assert model.onnx_file(tmp_path) == first and first.stat().st_mtime_ns == stamp
    other_input = model.onnx_file(tmp_path, [(1, 3, 16, 16)])
    other_model = resolve_model("synergy.zoo.cifar:all_cnn_c").onnx_file(tmp_path)
    assert len({first, other_input, other_model}) == 3


def test_nb201_resolves_for_the_analysis_and_the_runtimes(tmp_path: Path) -> None:
    model = resolve_model(NB201)
    assert model.input_shapes() == ((1, 3, 32, 32),)
    table = model.analyze()
    assert table.macs > 0
    one_channel = model.build_torch(((1, 1, 32, 32),))
    assert one_channel.get_submodule("stem.conv").in_channels == 1
    exported = model.onnx_file(tmp_path)
    assert synergy.analyze(exported).macs == table.macs


def test_unbounded_work_is_refused_up_front() -> None:
    with pytest.raises(ModelSpecError, match="cells=100000 is above the bound of 64"):
        resolve_model(NB201 + ",cells=100000")
    with pytest.raises(ModelSpecError, match="above the bound"):
        resolve_model(NB201 + ",channels=" + "9" * 5000)
    model = resolve_model("torchvision:resnet18")
    with pytest.raises(InputShapeError, match=r"1,3,100000,100000 of torchvision:resnet18 needs about 111\.8 GiB"):
        model.check_memory(((1, 3, 100000, 100000),))
    assert model.check_memory(((1, 3, 224, 224),)) == 3 * 224 * 224 * 4
    with pytest.raises(InputShapeError, match=r"needs about 2\.0 GiB of memory, more than this machine's 1\.0 GiB"):
        check_memory(2**31, "this", limit_bytes=2**30)
    with pytest.raises(InputShapeError, match="needs about"):  # the CPU path of the analysis, before allocating
        synergy.analyze(nn.Linear(100_000, 2), [(2**22, 100_000)])


def test_errors_are_the_same_everywhere(nets: Path) -> None:
    typo = resolve_model("torchvision:resnt18")
    for attempt in (lambda: synergy.analyze("torchvision:resnt18"), typo.build_torch):
        with pytest.raises(ModelSpecError, match="did you mean resnet18"):
            attempt()
    with pytest.raises(ModelSpecError, match="did you mean plain") as info:
        resolve_model("resolve_nets:plan").build_torch()
    with pytest.raises(ModelSpecError, match=r"calling resolve_nets:explodes\(\) failed: RuntimeError") as info:
        resolve_model("resolve_nets:explodes").build_torch()
    assert "\n" not in str(info.value)
    with pytest.raises(ModelSpecError, match="is an ONNX model, not a PyTorch one"):
        ResolvedModel("m.onnx", "onnx", "x", spec=None).build_torch()
    # a shape the model cannot take, in the analysis's words, on the export path too
    nin = resolve_model("synergy.zoo.cifar:nin")
    with pytest.raises(InputShapeError, match=r"input shape 1,1,32,32 does not fit synergy\.zoo\.cifar:nin"):
        nin.export_onnx(((1, 1, 32, 32),), nets / "model.onnx")


def test_code_named_by_a_data_file_is_refused_and_sys_path_restored(nets: Path) -> None:
    (nets / "evil_build.py").write_text("import pathlib\npathlib.Path('ran').write_text('yes')\n")
    sys.modules.pop("evil_build", None)
    before = list(sys.path)
    for spec in ("evil_build:build", "os:abort"):
        with pytest.raises(UntrustedCodeError, match=r"from run\.json would import and run the Python module"):
            synergy.analyze(spec, origin="run.json")
    assert not (nets / "ran").exists() and "evil_build" not in sys.modules
    # the package's own networks, and any code the user asks for
    assert resolve_model("synergy.zoo.cifar:nin", origin="run.json").kind == "callable"
    assert synergy.analyze("resolve_nets:Declared", origin="run.json", trust_code=True).macs > 0
    resolve_model("resolve_nets:plain").build_torch()
    # after an import from the current directory, sys.path is what it was
    assert sys.path == before
    assert str(nets) not in sys.path


def test_edited_module_file_is_imported_again(nets: Path) -> None:
    assert synergy.analyze("resolve_nets:plain", [(1, 3, 8, 8)]).macs == 4 * 36 * 27
    fingerprint = resolve_model("resolve_nets:plain").fingerprint
    (nets / "resolve_nets.py").write_text(textwrap.dedent(_NETS).replace("nn.Conv2d(3, 4, 3)", "nn.Conv2d(3, 6, 3)"))
    assert resolve_model("resolve_nets:plain").fingerprint != fingerprint
    assert synergy.analyze("resolve_nets:plain", [(1, 3, 8, 8)]).macs == 6 * 36 * 27


def test_a_module_of_the_same_name_in_another_folder_is_not_taken_for_it(
    nets: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert synergy.analyze("resolve_nets:plain", [(1, 3, 8, 8)]).macs == 4 * 36 * 27
    other = tmp_path_factory.mktemp("other")
    (other / "resolve_nets.py").write_text(textwrap.dedent(_NETS).replace("nn.Conv2d(3, 4, 3)", "nn.Conv2d(3, 7, 3)"))
    monkeypatch.chdir(other)
    assert synergy.analyze("resolve_nets:plain", [(1, 3, 8, 8)]).macs == 7 * 36 * 27
    assert Path(sys.modules["resolve_nets"].__file__ or "").parent == other


def test_as_shapes_accepts_shapes_and_tensors() -> None:
    assert as_shapes(None) is None
    assert as_shapes((1, 3, 8, 8)) == ((1, 3, 8, 8),)
    assert as_shapes([[1, 3], [2, 4]]) == ((1, 3), (2, 4))
    assert as_shapes((torch.empty(1, 2), torch.empty(3))) == ((1, 2), (3,))
    with pytest.raises(InputShapeError, match="dimension below 1"):
        as_shapes([(1, 0)])
    with pytest.raises(InputShapeError, match="neither shapes"):
        as_shapes(["a"])


def test_example_tensors_keep_their_dtype_and_the_module_its_mode() -> None:
    module = nn.Sequential(nn.Embedding(100, 8), nn.Linear(8, 4)).train()
    tokens = torch.randint(0, 100, (2, 5))
    table = synergy.analyze(module, tokens)  # integer token ids: random floats would not do
    assert table.input_shapes == ((2, 5),) and table["1"].macs == 2 * 5 * 8 * 4
    assert module.training and all(m.training for m in module.modules())
    assert resolve_model(module, tokens).analyze().macs == table.macs


def test_an_in_memory_modules_fingerprint_follows_its_weights() -> None:
    module = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).to(torch.bfloat16)
    before = resolve_model(module).fingerprint
    assert resolve_model(module).fingerprint == before
    with torch.no_grad():
        module[0].weight[0, 0] += 1
    assert resolve_model(module).fingerprint != before
