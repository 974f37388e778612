"""Training data: unit conversion, network-level CSVs, layer-level runs, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from synergy.errors import DatasetError
from synergy.models.dataset import load_layer_runs, load_network_csv, load_training_data, si_target

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("energy_mj", ("energy_j", 1e-3, "J")),
        ("energy_j", ("energy_j", 1.0, "J")),
        ("lat_ms_median", ("lat_s_median", 1e-3, "s")),
        ("power_mw", ("power_w", 1e-3, "W")),
        ("score", ("score", 1.0, "")),
    ],
)
def test_si_target(column: str, expected: tuple[str, float, str]) -> None:
    assert si_target(column) == expected


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("", "is empty"),
        ("model,energy_mj\n", "no data rows"),
        ("model,other\nnb201:x,1\n", "no target column 'energy_mj'"),
        ("name,energy_mj\nx,1\n", "no 'model' column"),
        (f"model,energy_mj\nnb201:{ARCH},\n", "missing or not numbers"),
        (f"model,energy_mj\nnb201:{ARCH},abc\n", "missing or not numbers"),
        (f"model,energy_mj\nnb201:{ARCH},0\n", "not positive"),
        (f"model,energy_mj\nnb201:{ARCH},-2\n", "not positive"),
        ("model,energy_mj\nmissing.onnx,2\n", "does not exist"),
        (f"model,input_shape,energy_mj\nnb201:{ARCH},1;x,2\n", "malformed"),
    ],
)
def test_bad_network_csv(tmp_path: Path, content: str, fragment: str) -> None:
    csv = write(tmp_path / "data.csv", content)
    with pytest.raises(DatasetError, match=fragment):
        load_network_csv(csv, "energy_mj", cache_dir=tmp_path / "cache")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_training_data([tmp_path / "nope.csv"], "energy_j")


def test_relative_model_paths_resolve_against_the_csv(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    csv = write(tmp_path / "sub" / "data.csv", "model,energy_j\nnet.onnx,1\n")
    with pytest.raises(DatasetError, match=str(tmp_path / "sub" / "net.onnx")):
        load_network_csv(csv, "energy_j", cache_dir=tmp_path / "cache")


def test_network_csv_with_shapes(tmp_path: Path) -> None:
    csv = write(
        tmp_path / "data.csv",
        f"model,input_shape,energy_mj\nnb201:{ARCH},,2.0\nnb201:{ARCH},1x1x32x32,1.9\nnb201:{ARCH},,2.1\n",
    )
    ts = load_network_csv(csv, "energy_mj", cache_dir=tmp_path / "cache", workers=1)
    assert ts.target == "energy_j" and ts.unit == "J" and ts.level == "network"
    np.testing.assert_allclose(ts.y, [2e-3, 1.9e-3, 2.1e-3])
    assert list(ts.data.groups) == [0, 1, 0]  # the same network twice is one group
    assert ts.tables[1].input_shapes == ((1, 1, 32, 32),)
    assert ts.data.n_units == 3 and len(ts.data.frame) == 3 * len(ts.tables[0])
    assert any(p.name.endswith(".json.gz") for p in (tmp_path / "cache" / "layer-tables").iterdir())


def test_layer_level_without_run_json(tmp_path: Path) -> None:
    csv = write(
        tmp_path / "layers.csv",
        "layer,op,runs,duration_s,duration_s_std,energy_j,energy_j_std,dynamic_energy_j,power_w,macs\n"
        "conv1,Conv,10,0.001,0.0001,0.002,0.0001,0.001,2.0,1000000\n"
        "relu1,Relu,10,0.0002,0.00001,0.0003,0.00001,0.0001,1.5,0\n",
    )
    ts = load_training_data([csv], "energy_j")
    assert ts.level == "layer" and ts.data.n_units == 2
    assert list(ts.data.frame["op_key"]) == ["Conv", "Relu"]
    assert ts.data.frame.loc[0, "macs"] == 1e6
    np.testing.assert_allclose(ts.y, [0.002, 0.0003])
    timing = load_layer_runs([csv], "duration_s")
    assert timing.target == "duration_s" and timing.unit == "s"


def test_layer_level_run_directory_joins_the_analysis(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    write(
        run / "layers.csv",
        "layer,op,runs,duration_s,energy_j,macs\nstem.conv,Conv,5,0.001,0.003,442368\nstem.bn,BatchNorm,5,0.0001,0.0002,0\n",
    )
    write(
        run / "run.json", json.dumps({"format_version": 1, "model": f"nb201:{ARCH}", "input_shapes": [[1, 3, 32, 32]]})
    )
    ts = load_training_data([run], "energy_j", cache_dir=tmp_path / "cache")
    assert ts.level == "layer"
    frame = ts.data.frame
    assert list(frame["name"]) == ["stem.conv", "stem.bn"]
    assert frame.loc[0, "op_key"] == "Conv3x3" and frame.loc[0, "weight_bytes"] == 4 * 3 * 16 * 9


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("layer,op,energy_j\n", "no data rows"),
        ("op,energy_j\nConv,1\n", "no 'layer' column"),
        ("layer,op,duration_s\nc,Conv,1\n", "no 'energy_j' column"),
        ("layer,op,energy_j\nc,Conv,nan\n", "missing or not numbers"),
    ],
)
def test_bad_layer_data(tmp_path: Path, content: str, fragment: str) -> None:
    csv = write(tmp_path / "layers.csv", content)
    with pytest.raises(DatasetError, match=fragment):
        load_training_data([csv], "energy_j")


def test_directory_without_layers_csv(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"without layers\.csv"):
        load_training_data([tmp_path], "energy_j", level="layer")
