from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synergy.errors import InputShapeError, ModelSpecError
from synergy.graph.spec import parse_input_shape, parse_model_spec


@given(st.lists(st.lists(st.integers(1, 10_000), min_size=1, max_size=6), min_size=1, max_size=3))
def test_input_shape_round_trip(shapes: list[list[int]]) -> None:
    text = ";".join(",".join(map(str, s)) for s in shapes)
    assert parse_input_shape(text) == tuple(tuple(s) for s in shapes)


@pytest.mark.parametrize("text", ["", " ", "1,,a", "1,3,-2", "1,0,4", "abc", "1.5,2"])
def test_bad_input_shapes(text: str) -> None:
    with pytest.raises(InputShapeError):
        parse_input_shape(text)


def test_spec_kinds(tmp_path: Path) -> None:
    onnx_file = tmp_path / "m.onnx"
    onnx_file.write_bytes(b"")
    assert parse_model_spec("torchvision:resnet18").kind == "torchvision"
    assert parse_model_spec("nb201:|skip_connect~0|").kind == "nb201"
    assert parse_model_spec(str(onnx_file)).kind == "onnx"
    assert parse_model_spec("pkg.mod:make").kind == "callable"


@pytest.mark.parametrize("text", ["", "missing.onnx", "not a model"])
def test_bad_specs(text: str) -> None:
    with pytest.raises(ModelSpecError):
        parse_model_spec(text)
