"""Layer-level runs: counter columns kept beside the features, the measured input shape, safe joins."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from synergy.models.dataset import load_layer_runs, load_measured_layers
from synthetic_counters import write_runs

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
#: MACs of the nb201 stem (3→16 channels, 3x3) at 32x32 and 64x64.
STEM_32, STEM_64 = 16 * 32 * 32 * 3 * 9, 16 * 64 * 64 * 3 * 9


def test_counter_columns_are_kept(tmp_path: Path) -> None:
    runs = write_runs(tmp_path, 3, seed=1)
    ts = load_layer_runs(runs, "energy_j")
    frame = ts.data.frame
    assert {"ase_spec", "bus_access", "task_clock_ns"} <= set(frame.columns)
    assert np.all(np.isfinite(frame["ase_spec"])) and frame["ase_spec"].sum() > 0
    # a run without counters: NaN there, values elsewhere
    more = write_runs(tmp_path / "more", 1, seed=2, drop=("ase_spec", "bus_access"))
    mixed = load_layer_runs([*runs, *more], "energy_j").data.frame
    assert mixed.loc[mixed["network"] == 3, "ase_spec"].isna().all()
    assert mixed.loc[mixed["network"] < 3, "ase_spec"].notna().all()


def measure_like(folder: Path, csv_macs: int, options_shape: list[int] | None, top_shape: list[int] | None) -> Path:
    folder.mkdir()
    (folder / "layers.csv").write_text(
        "layer,op,duration_s,macs,ase_spec,bus_access\n"
        f"stem.conv,Conv,0.001,{csv_macs},{csv_macs // 4},{csv_macs // 200}\n"
        "stem.bn,BatchNorm,0.0001,0,1000,200\n"
    )
    run: dict[str, object] = {"format_version": 1, "model": f"nb201:{ARCH}"}
    if options_shape is not None:
        run["options"] = {"model": f"nb201:{ARCH}", "input_shape": [options_shape]}
    if top_shape is not None:
        run["input_shapes"] = [top_shape]
    (folder / "run.json").write_text(json.dumps(run))
    return folder


def test_the_input_shape_measure_records_in_its_options_is_analysed(tmp_path: Path) -> None:
    run = measure_like(tmp_path / "run", STEM_64, [1, 3, 64, 64], None)
    frame = load_layer_runs([run], "duration_s", cache_dir=tmp_path / "cache").data.frame
    assert frame.loc[0, "macs"] == STEM_64 and frame.loc[0, "op_key"] == "Conv3x3"
    assert frame.loc[0, "ase_spec"] == STEM_64 // 4


def test_a_join_whose_macs_disagree_falls_back_to_the_csv(tmp_path: Path) -> None:
    # run.json says 32x32, the layers were measured at 64x64: the analysis at 32x32 must not be used
    run = measure_like(tmp_path / "run", STEM_64, None, [1, 3, 32, 32])
    frame = load_layer_runs([run], "duration_s", cache_dir=tmp_path / "cache").data.frame
    assert frame.loc[0, "macs"] == STEM_64 and frame.loc[0, "op_key"] == "Conv"
    agreeing = measure_like(tmp_path / "ok", STEM_32, None, [1, 3, 32, 32])
    assert load_layer_runs([agreeing], "duration_s", cache_dir=tmp_path / "cache").data.frame.loc[0, "op_key"] == (
        "Conv3x3"
    )


def test_measured_layers_for_prediction(tmp_path: Path) -> None:
    run = measure_like(tmp_path / "run", STEM_32, [1, 3, 32, 32], None)
    frame = load_measured_layers(run, cache_dir=tmp_path / "cache")
    assert list(frame["name"]) == ["stem.conv", "stem.bn"]
    assert list(frame["bus_access"]) == [STEM_32 // 200, 200]
    assert "unit" not in frame.columns
