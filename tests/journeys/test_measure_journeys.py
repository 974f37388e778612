"""End to end, as a user goes: export → measure → fit → predict, on both runtimes, and bad input."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from journeys.conftest import SHAPE, quick
from synergy.cli import main
from synergy.models.dataset import load_layer_runs
from synergy.results.schema import FEATURE_COLUMNS
from synergy.testing.sysfs import Constant, SysfsWriter, build_rapl


def _exit_code(argv: list[str]) -> int:
    """``synergy ARGV``'s exit code (argparse exits on its own errors)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def test_default_exporter_with_external_data_is_measured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """torch.onnx.export's default (dynamo) writes model.onnx + model.onnx.data; measure reads both."""
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 128, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(128 * 64, 4)
    )
    path = tmp_path / "model.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (torch.randn(1, 3, 8, 8),), str(path))
    assert (tmp_path / "model.onnx.data").is_file()
    out = tmp_path / "run"
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    assert main(["measure", str(path), "--sensor", "none", *quick("-o", str(out))]) == 0
    layers = pd.read_csv(out / "layers.csv")
    conv = layers[layers["op"] == "Conv"].iloc[0]
    assert conv["macs"] == 128 * 8 * 8 * 3 * 9 and conv["output_elems"] > 0 and conv["op_key"] == "Conv3x3"
    assert "Relu" in conv["contains"].lower() or "relu" in conv["contains"]
    assert json.loads((out / "run.json").read_text())["status"] == "complete"
    assert "error" not in capsys.readouterr().err


def test_measure_rapl_then_fit_energy_then_predict(
    net_spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "sys-root"
    tree = build_rapl(root, subzones=())
    runs = []
    with SysfsWriter(tree, {"package-0": Constant(20.0)}, default=Constant(0.0)):
        for seed in (1, 2):
            out = tmp_path / f"run{seed}"
            # layers of a few ms and enough runs for a 1 ms counter to determine the convolutions (the
            # shortest layers may stay undetermined: fit leaves them out)
            args = ["measure", net_spec, "--input-shape", "1,3,96,96", "--runtime", "torch", "--sensor", "rapl"]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a loaded machine may be reported
                options = [*quick("-o", str(out)), "--runs", "40"]
                code = main([*args, "--sysfs-root", str(root), "--seed", str(seed), *options])
            assert code == 0
            runs.append(str(out))
    run = json.loads((Path(runs[0]) / "run.json").read_text())
    assert run["format_version"] == 2 and run["inference_energy_j"] > 0 and "energy_j" not in run
    predictor = tmp_path / "predictor.json"
    # layer-type: non-negative per-op-type costs (a free-form model may extrapolate a 5-layer net to
    # mobilenet_v2 below zero)
    fit = ["fit", *runs, "--target", "energy_j", "--model", "layer-type", "--folds", "2", "-o", str(predictor)]
    assert main(fit) == 0
    assert "(layer level)" in capsys.readouterr().out
    assert main(["predict", str(predictor), "torchvision:mobilenet_v2", "--format", "json"]) == 0
    predicted = json.loads(capsys.readouterr().out)[0]
    assert np.isfinite(predicted["total"]) and predicted["total"] >= 0


def test_fit_energy_without_a_sensor_says_so(net_spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "timeonly"
    assert main(["measure", net_spec, "--input-shape", SHAPE, "--sensor", "none", *quick("-o", str(out))]) == 0
    capsys.readouterr()
    assert main(["fit", str(out), "--target", "energy_j", "-o", str(tmp_path / "p.json")]) == 2
    err = capsys.readouterr().err
    assert "no energy was measured here" in err and "--target duration_s" in err and err.count("\n") == 1
    assert not (tmp_path / "p.json").exists()


def test_a_measured_zero_energy_layer_is_accepted(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "layers.csv").write_text(
        "layer,op,op_key,category,contains,runs,duration_s,macs,params,weight_bytes,input_bytes,output_bytes,"
        "bytes_moved,output_elems,extra_flops,kernel_area,energy_j\n"
        "conv,Conv,Conv3x3,conv,conv,5,0.001,1000,10,40,400,400,840,100,0,9,0.002\n"
        "relu,Relu,Relu,activation,relu,5,0.0001,0,0,0,400,400,800,100,100,0,0.0\n"
    )
    (run / "run.json").write_text(json.dumps({"format_version": 2, "status": "complete"}))
    training = load_layer_runs([run], "energy_j")
    assert list(training.y) == [0.002] and training.dropped == (f"{run}:relu",)


def test_onnxruntime_and_torch_runs_give_the_same_features(
    net_spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = {}
    for runtime in ("onnxruntime", "torch"):
        out = tmp_path / runtime
        args = ["measure", net_spec, "--input-shape", SHAPE, "--runtime", runtime, "--sensor", "none"]
        assert main([*args, *quick("-o", str(out))]) == 0
        frames[runtime] = load_layer_runs([out], "duration_s").data.frame
    ort, eager = frames["onnxruntime"], frames["torch"]
    assert list(ort.columns) == list(eager.columns)
    for frame in (ort, eager):
        assert "DWConv3x3" in set(frame["op_key"]) and "Conv3x3" in set(frame["op_key"])
        assert (frame.loc[frame["op"] != "runtime", "output_elems"] > 0).all()
    # The same work, however the runtime groups it.
    assert ort["macs"].sum() == eager["macs"].sum()
    columns = set(pd.read_csv(tmp_path / "onnxruntime" / "layers.csv").columns)
    assert set(FEATURE_COLUMNS.numeric) <= columns
    predictors = {}
    for runtime in ("onnxruntime", "torch"):
        path = tmp_path / f"{runtime}.json"
        assert main(["fit", str(tmp_path / runtime), str(tmp_path / runtime), "--target", "duration_s",
                     "--model", "layer-type", "--folds", "2", "-o", str(path)]) == 0  # fmt: skip
        predictors[runtime] = json.loads(path.read_text())
    capsys.readouterr()
    assert predictors["onnxruntime"]["features"] == predictors["torch"]["features"]
    keys = {r: set(p["domain"]["op_keys"]) for r, p in predictors.items()}
    assert {"DWConv3x3", "Conv3x3"} <= keys["onnxruntime"] & keys["torch"]
    assert np.isfinite(ort["bytes_moved"]).all()


@pytest.mark.parametrize(
    "argv",
    [
        ["nosuchmodule:build", "--runtime", "torch", "--input-shape", SHAPE],
        ["journey_net:nothere", "--runtime", "torch", "--input-shape", SHAPE],
        ["journey_net:broken", "--runtime", "torch", "--input-shape", SHAPE],
        ["torchvision:no_such_net"],
        ["missing.onnx"],
        ["journey_net:build", "--runtime", "torch", "--input-shape", "1,4,16,16"],
        ["journey_net:build", "--runtime", "torch", "--input-shape", "1,3,0,16"],
        ["journey_net:build", "--runtime", "tensorflow", "--input-shape", SHAPE],
        ["journey_net:build", "--input-shape", SHAPE, "--seed", "-1"],
        ["journey_net:build", "--input-shape", SHAPE, "--seed", "99999999999"],
        ["journey_net:build", "--input-shape", SHAPE, "--runs", "0"],
        ["journey_net:build", "--input-shape", SHAPE, "--threads", "0"],
        ["journey_net:build", "--input-shape", SHAPE, "--bootstrap", "-2"],
        ["journey_net:build", "--input-shape", SHAPE, "--isolation-s", "nan"],
        ["journey_net:build", "--input-shape", SHAPE, "--isolation"],
        ["journey_net:build", "--input-shape", SHAPE, "--sensor", "bogus"],
        ["journey_net:build", "--input-shape", SHAPE, "--sensor", "rapl", "--sysfs-root", "."],
        ["journey_net:build", "--input-shape", SHAPE, "--sysfs-root", "/nonexistent"],
        ["journey_net:build", "--input-shape", SHAPE, "--sensor", "trace:no-such-log.csv"],
        ["journey_net:build", "--input-shape", SHAPE, "--trace-offset", "3"],
        ["journey_net:build", "--input-shape", SHAPE, "--sensor", "trace:log.csv", "--trace-offset", "inf"],
    ],
    ids=lambda argv: " ".join(argv[1:]) or argv[0],
)
def test_bad_input_leaves_no_output_directory(
    net_spec: str, tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "log.csv").write_text("t_s,W\n0,1\n1,1\n")
    out = tmp_path / "out"
    assert _exit_code(["measure", "--runs", "3", "--idle-s", "0", "--no-context", "-o", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert not out.exists()


@pytest.mark.parametrize("idle", ["nan", "inf", "-1"])
def test_bad_idle_time_leaves_no_output_directory(
    net_spec: str, tmp_path: Path, idle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert _exit_code(["measure", net_spec, "--input-shape", SHAPE, "--idle-s", idle, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--idle-s" in err and err.count("\n") == 1
    assert not out.exists()


def test_an_output_under_a_file_is_one_line(net_spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a-file").write_text("mine")
    out = tmp_path / "a-file" / "run"
    assert _exit_code(["measure", net_spec, "--input-shape", SHAPE, *quick("-o", str(out))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "not a directory" in err, err
    assert (tmp_path / "a-file").read_text() == "mine"


def test_fit_refuses_before_fitting(net_spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An existing output, runs of other sensors or machines, a newer run format: one line, nothing written."""
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        argv = ["measure", net_spec, "--input-shape", SHAPE, "--runtime", "torch", "--sensor", "none"]
        assert main([*argv, *quick("-o", str(out))]) == 0
        runs.append(out)
    capsys.readouterr()
    fit = ["fit", *map(str, runs), "--target", "duration_s", "--model", "layer-type", "--folds", "2", "-o"]

    (tmp_path / "taken").mkdir()
    assert _exit_code([*fit, str(tmp_path / "taken")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "exists" in err, err
    assert not any((tmp_path / "taken").iterdir())

    record = json.loads((runs[1] / "run.json").read_text())
    record["system"] = {**record.get("system", {}), "machine": "riscv64"}
    (runs[1] / "run.json").write_text(json.dumps(record))
    assert _exit_code([*fit, str(tmp_path / "p.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "machine" in err and "riscv64" in err, err
    assert not (tmp_path / "p.json").exists()

    record["format_version"] = 99
    (runs[1] / "run.json").write_text(json.dumps(record))
    assert _exit_code([*fit, str(tmp_path / "p.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "newer" in err, err
    assert not (tmp_path / "p.json").exists()
