"""``synergy analyze`` through ``synergy.cli.main``: formats, and one-line errors with exit code 2."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from synergy.cli import main


def test_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "torchvision:resnet18", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["macs"] == 1_814_073_344
    assert data["totals"]["params"] == 11_689_512
    assert data["unsupported_ops"] == []
    first = data["layers"][0]
    assert {"name", "op", "macs", "params", "input_shapes", "output_shapes", "weight_bytes"} <= set(first)
    assert (first["name"], first["op"], first["macs"]) == ("conv1", "Conv", 118_013_952)
    assert (first["weight_bytes"], first["input_bytes"], first["output_bytes"]) == (37_632, 602_112, 3_211_264)


def test_csv(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "torchvision:resnet18", "--format", "csv", "--input-shape", "2,3,112,112"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert frame.loc[0, "name"] == "conv1"
    assert frame.loc[0, "output_shapes"] == "2x64x56x56"
    assert frame.loc[0, "macs"] == 2 * 118_013_952 // 4


def test_table_fits_100_columns(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["analyze", "torchvision:resnet18"]) == 0
    out = capsys.readouterr().out
    assert "layer1.0.conv1" in out and "by layer type" in out
    assert "total: 1,814,073,344 MACs, 11,689,512 params" in out
    assert max(len(line) for line in out.splitlines()) <= 100


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["analyze", "torchvision:resnet19"], "resnet18"),
        (["analyze", "torchvision:resnet18", "--input-shape", "1,3,2,2"], "smaller than"),
        (["analyze", "torchvision:resnet18", "--input-shape", "1,4,224,224"], "expects 3 input channels"),
        (["analyze", "torchvision:resnet18", "--input-shape", "1,3,a,2"], "malformed"),
        (["analyze", "no_such_module_xyz:build"], "no module named"),
    ],
)
def test_bad_input_is_one_line_exit_2(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse rejects malformed options itself
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ") and words in lines[0]
    assert "Traceback" not in captured.err


def test_top_and_sort(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "torchvision:resnet18", "--top", "3", "--sort", "params"]) == 0
    out = capsys.readouterr().out
    rows = [line.split()[0] for line in out.split("FLOP/B")[1].split("more layer")[0].splitlines()[2:] if line.strip()]
    assert rows[:3] == ["layer4.0.conv2", "layer4.1.conv1", "layer4.1.conv2"]  # 2.4M params each, graph order kept
    assert "… 66 more layer(s) not shown (of 69" in out
    assert "11,689,512 params" in out  # totals still count every layer
    assert main(["analyze", "torchvision:resnet18", "--format", "csv", "--top", "2", "--sort", "macs"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3


def test_sort_by_an_unknown_column_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "torchvision:resnet18", "--sort", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot sort by 'nope'") and "macs" in err
