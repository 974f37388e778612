"""``synergy fit`` and ``synergy predict`` end to end on small NAS-Bench-201 data with known energies."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from synergy.cli import main
from synergy.graph.nb201 import EDGE_OPS

#: Energy per edge op per cell (J), plus a fixed cost: an additive ground truth.
EDGE_J = {"none": 1e-6, "skip_connect": 0.0, "nor_conv_1x1": 2e-5, "nor_conv_3x3": 8e-5, "avg_pool_3x3": 1e-5}


def archs(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    out = set()
    while len(out) < n:
        o = rng.choice(EDGE_OPS, 6)
        out.add(f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|")
    return sorted(out)


def energy_mj(arch: str) -> float:
    ops = re.findall(r"([a-z_0-9]+)~\d", arch)
    return 1e3 * (2e-4 + 15 * sum(EDGE_J[o] for o in ops))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fit")


@pytest.fixture(autouse=True)
def cache(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNERGY_CACHE_DIR", str(workdir / "cache"))


@pytest.fixture(scope="module")
def data_csv(workdir: Path) -> Path:
    rows = ["model,energy_mj"] + [f"nb201:{a},{energy_mj(a):.6f}" for a in archs(14)]
    path = workdir / "data.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def predictor(workdir: Path, data_csv: Path) -> Path:
    out = workdir / "p.json"
    assert main(["fit", str(data_csv), "--target", "energy_mj", "-o", str(out), "--workers", "1"]) == 0
    return out


def test_fit_prints_the_table_and_writes_the_predictor(
    predictor: Path, data_csv: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(predictor.read_text())
    assert doc["target"] == {"name": "energy_j", "unit": "J", "column": "energy_mj", "level": "network"}
    out = workdir / "q.json"
    code = main(
        [
            "fit",
            str(data_csv),
            "--target",
            "energy_mj",
            "--model",
            "layer-type",
            "-o",
            str(out),
            "--plot",
            str(workdir / "cv.png"),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0
    assert "grouped 5-fold" in text and "layer-type" in text and "op-mean" in text
    assert "fitted: layer-type" in text and "energy_mj → energy_j (J)" in text
    assert json.loads(out.read_text())["model"]["name"] == "layer-type"
    assert (workdir / "cv.png").read_bytes()[:4] == b"\x89PNG"


def test_fit_refuses_existing_output(predictor: Path, data_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = predictor.read_bytes()
    assert main(["fit", str(data_csv), "--target", "energy_mj", "-o", str(predictor)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--force" in err and err.count("\n") == 1
    assert predictor.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("", "is empty"),
        ("model,other\nnb201:|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,1\n", "no target column"),
        ("model,energy_mj\nnb201:|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,nan\n", "not numbers"),
        ("model,energy_mj\nnb201:|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,0\n", "not positive"),
        ("model,energy_mj\nnet.onnx,1\n", "does not exist"),
    ],
)
def test_fit_bad_input(tmp_path: Path, content: str, fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "d.csv"
    csv.write_text(content)
    out = tmp_path / "p.json"
    assert main(["fit", str(csv), "--target", "energy_mj", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment in err and err.count("\n") == 1
    assert not out.exists()


def test_predict_formats(predictor: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|skip_connect~2|"
    assert main(["predict", str(predictor), f"nb201:{arch}", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc) == 1 and doc[0]["target"] == "energy_j" and doc[0]["model"] == f"nb201:{arch}"
    assert doc[0]["total"] == pytest.approx(energy_mj(arch) * 1e-3, rel=0.05)
    assert {"name", "op", "prediction"} <= set(doc[0]["layers"][0])
    assert sum(layer["prediction"] for layer in doc[0]["layers"]) + doc[0]["overhead"] == pytest.approx(doc[0]["total"])
    assert main(["predict", str(predictor), f"nb201:{arch}"]) == 0
    assert "stem.conv" in capsys.readouterr().out
    assert main(["predict", str(predictor), f"nb201:{arch}", f"nb201:{arch},classes=10", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("model,energy_j") and len(lines) == 3


def test_predict_other_inputs(predictor: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    totals = {}
    for shape in ("1,3,32,32", "1,1,32,32", "1,3,64,64"):
        assert main(["predict", str(predictor), f"nb201:{arch}", "--input-shape", shape, "--format", "json"]) == 0
        captured = capsys.readouterr()
        totals[shape] = json.loads(captured.out)[0]["total"]
        if shape == "1,3,64,64":
            assert "outside the training range" in captured.err
    assert all(np.isfinite(v) and v > 0 for v in totals.values())
    assert 0.8 < totals["1,1,32,32"] / totals["1,3,32,32"] <= 1.0
    assert 2.5 < totals["1,3,64,64"] / totals["1,3,32,32"] < 4.5


def test_predict_bad_predictor(tmp_path: Path, predictor: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    future = tmp_path / "future.json"
    doc = json.loads(predictor.read_text())
    doc["format_version"] = 99
    future.write_text(json.dumps(doc))
    for path, fragment in ((bad, "not valid JSON"), (future, "upgrade synergy-nn"), (tmp_path / "nope", "neither")):
        assert main(["predict", str(path), "nb201:|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and fragment in err and err.count("\n") == 1


def test_fit_on_layer_level_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    header = (
        "layer,op,runs,duration_s,duration_s_std,energy_j,energy_j_std,dynamic_energy_j,power_w,macs,output_bytes\n"
    )
    rng = np.random.default_rng(0)
    runs = []
    for r in range(4):
        lines = []
        for i in range(8):
            macs = int(rng.integers(1e5, 1e7))
            out_bytes = int(rng.integers(1e3, 1e5))
            lines.append(f"conv{i},Conv,10,0.001,0.0001,{2e-6 + 3e-11 * macs:.6g},1e-7,1e-6,2.0,{macs},{out_bytes}")
            lines.append(f"relu{i},Relu,10,0.0001,0.00001,{1e-6 + 1e-9 * out_bytes:.6g},1e-8,1e-7,1.5,0,{out_bytes}")
        folder = tmp_path / f"run{r}"
        folder.mkdir()
        (folder / "layers.csv").write_text(header + "\n".join(lines) + "\n")
        runs.append(str(folder))
    out = tmp_path / "layers.json"
    assert main(["fit", *runs, "--target", "energy_j", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "(layer level)" in text and "per layer type" in text and "chosen:" in text
    doc = json.loads(out.read_text())
    assert doc["target"]["level"] == "layer"
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|none~2|"
    assert main(["predict", str(out), f"nb201:{arch}", "--format", "json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)[0]
    assert result["total"] > 0 and result["overhead"] == pytest.approx(0.0, abs=1e-15)
    assert any("never seen" in w for w in result["warnings"])
