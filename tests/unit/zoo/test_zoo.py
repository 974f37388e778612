"""Zoos: the built-in ones and zoo files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synergy.errors import UntrustedCodeError, UsageError
from synergy.graph.spec import parse_model_spec
from synergy.zoo import DEFAULT, SMALL, ZooEntry, load_zoo, zoo_from_text

PAPER = {
    "AlexNet",
    "SqueezeNet 1.0",
    "SqueezeNet 1.1",
    "ResNet-50",
    "GoogLeNet",
    "VGG (small)",
    "Inception-v3",
    "MobileNet",
    "DenseNet-121",
    "WRN-50-2",
    "ResNeXt",
    "All-CNN-C (CIFAR-10)",
    "Network in Network (CIFAR-10)",
}


def test_default_zoo_is_the_papers_networks() -> None:
    assert {e.paper for e in DEFAULT} == PAPER
    assert len({e.name for e in DEFAULT}) == len(DEFAULT)
    for entry in DEFAULT:
        parse_model_spec(entry.model)
        assert entry.input_shape is not None and entry.input_shape[:2] == (1, 3)
    inception = next(e for e in DEFAULT if e.name == "inception_v3")
    assert inception.input_shape == (1, 3, 299, 299)


def test_builtin_names() -> None:
    assert load_zoo(None) == DEFAULT
    assert load_zoo("default") == DEFAULT
    assert load_zoo("small") == SMALL
    assert 2 <= len(SMALL) <= 5


def test_zoo_file(tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_bytes(b"")
    path = tmp_path / "zoo.txt"
    path.write_text(
        "# my networks\n"
        "torchvision:resnet18\n"
        "\n"
        "torchvision:resnet18   1,3,112,112   # a smaller input\n"
        "synergy.zoo.cifar:nin 1x3x32x32\n"
        "m.onnx\n"
    )
    zoo = load_zoo(str(path))
    assert [e.name for e in zoo] == ["resnet18", "resnet18-2", "nin", "m"]
    assert zoo[0].input_shape is None
    assert zoo[1].input_shape == (1, 3, 112, 112)
    assert zoo[3].model == str(tmp_path / "m.onnx")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "lists no network"),
        ("# only a comment\n", "lists no network"),
        ("torchvision:resnet18 1,3,0,224\n", "line 1"),
        ("torchvision:resnet18\nnot a spec at all here\n", "line 2"),
        ("torchvision:resnet18 1,3,224,224;1,3,8,8\n", "one input"),
        ("missing.onnx\n", "line 1"),
    ],
)
def test_bad_zoo_files(text: str, fragment: str, tmp_path: Path) -> None:
    path = tmp_path / "zoo.txt"
    path.write_text(text)
    with pytest.raises(UsageError, match=fragment):
        load_zoo(str(path))


def test_unknown_zoo_names_the_choices() -> None:
    with pytest.raises(UsageError, match="default, small"):
        load_zoo("no-such-zoo")


def test_entry_round_trip() -> None:
    for entry in (*DEFAULT, ZooEntry("x", "m.onnx")):
        assert ZooEntry.from_dict(entry.to_dict()) == entry


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("abc:._ ,x1230#\n\t-/;"), max_size=80))
def test_parser_raises_only_usage_errors(text: str) -> None:
    try:
        zoo = zoo_from_text(text)
    except UsageError:
        return
    assert zoo and len({e.name for e in zoo}) == len(zoo)


def test_zoo_and_study_files_do_not_import_code(tmp_path: Path) -> None:
    (tmp_path / "evil.py").write_text("raise SystemExit('ran')\n")
    path = tmp_path / "zoo.txt"
    path.write_text("synergy.zoo.cifar:nin\nevil:build 1,3,32,32\n")
    with pytest.raises(UntrustedCodeError, match=r"zoo\.txt line 2 would import and run the Python module 'evil'"):
        load_zoo(str(path))
    zoo = load_zoo(str(path), trust_code=True)  # the caller trusts it: nothing is imported yet either
    assert [e.model for e in zoo] == ["synergy.zoo.cifar:nin", "evil:build"]
    with pytest.raises(UntrustedCodeError, match="a study file"):
        ZooEntry.from_dict({"name": "n", "model": "os:abort"})
    assert ZooEntry.from_dict({"name": "n", "model": "os:abort"}, trust_code=True).model == "os:abort"
    # the package's own networks are no foreign code
    assert ZooEntry.from_dict({"name": "nin", "model": "synergy.zoo.cifar:nin"}).model == "synergy.zoo.cifar:nin"
