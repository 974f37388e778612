"""The layer-table cache: each distinct network analysed once, tables reused from disk, keyed by content."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

import synergy.graph.tablecache as tablecache
from synergy.errors import UntrustedCodeError
from synergy.graph.layers import LayerTable
from synthetic_nets import networks

A, B = "torchvision:resnet18", "torchvision:alexnet"


def test_analyses_each_network_once_and_reuses_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tables, _ = networks(2, seed=3)
    calls: list[tuple[str, object]] = []

    def fake(item: tuple[str, object]) -> LayerTable:
        calls.append(item)
        return tables[0] if item[0] == A else tables[1]

    monkeypatch.setattr(tablecache, "_analyze_one", fake)
    items = [(A, None), (B, ((1, 3, 8, 8),)), (A, None)]
    seen: list[tuple[int, int]] = []
    out = tablecache.analyze_many(items, cache_dir=tmp_path, workers=1, progress=lambda d, t: seen.append((d, t)))
    assert len(calls) == 2 and out[0] is out[2]
    assert out[0].layers == tables[0].layers and out[1].layers == tables[1].layers
    assert seen[-1] == (2, 2)
    again = tablecache.analyze_many(items, cache_dir=tmp_path, workers=1)
    assert len(calls) == 2 and again[1].layers == tables[1].layers
    assert len(list((tmp_path / "layer-tables").glob("*.json.gz"))) == 2
    # a damaged entry is recomputed, never an error
    for path in (tmp_path / "layer-tables").glob("*.json.gz"):
        path.write_bytes(b"not gzip")
    tablecache.analyze_many(items, cache_dir=tmp_path, workers=1)
    assert len(calls) == 4
    tablecache.analyze_many(items, cache_dir=tmp_path, workers=1, use_cache=False)
    assert len(calls) == 6


def test_cache_folder_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNERGY_CACHE_DIR", str(tmp_path))
    assert tablecache.default_cache_dir() == tmp_path
    monkeypatch.delenv("SYNERGY_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert tablecache.default_cache_dir() == tmp_path / "xdg" / "synergy"


_NET = """
from torch import nn

def build():
    return nn.Sequential(nn.Conv2d(3, {width}, 3), nn.ReLU())

build.input_shape = (1, 3, 8, 8)
"""


def test_editing_a_callables_file_invalidates_its_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "edited_net.py").write_text(textwrap.dedent(_NET.format(width=4)))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "edited_net", raising=False)
    cache = tmp_path / "cache"
    first = tablecache.analyze_many([("edited_net:build", None)], cache_dir=cache, workers=1)[0]
    assert first.macs == 4 * 36 * 27
    (tmp_path / "edited_net.py").write_text(textwrap.dedent(_NET.format(width=8)))
    second = tablecache.analyze_many([("edited_net:build", None)], cache_dir=cache, workers=1)[0]
    # the same spec text, another file content: a new table, from the edited code (re-imported)
    assert second.macs == 8 * 36 * 27
    assert len(list((cache / "layer-tables").glob("*.json.gz"))) == 2
    assert tablecache.analyze_many([("edited_net:build", None)], cache_dir=cache, workers=1)[0].macs == second.macs


def test_key_follows_content_and_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    onnx_file = tmp_path / "m.onnx"
    onnx_file.write_bytes(b"x" * 10)
    before = tablecache._key(str(onnx_file), None)
    onnx_file.write_bytes(b"x" * 11)
    assert tablecache._key(str(onnx_file), None) != before
    data = tmp_path / "m.onnx.data"  # external weights beside the graph count too
    with_data = tablecache._key(str(onnx_file), None)
    data.write_bytes(b"w")
    assert tablecache._key(str(onnx_file), None) != with_data
    key = tablecache._key(A, None)
    import synergy.graph.resolve as resolve

    monkeypatch.setattr(resolve, "_version", lambda package: "0.0-other")
    assert tablecache._key(A, None) != key


def test_specs_from_data_files_do_not_import_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "evil_net.py").write_text("import pathlib\npathlib.Path('ran').write_text('yes')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "evil_net", raising=False)
    path_before = list(sys.path)
    with pytest.raises(UntrustedCodeError, match=r"column 'model' of runs\.csv.*evil_net"):
        tablecache.analyze_many(
            [(A, None), ("evil_net:build", None)], cache_dir=tmp_path, workers=1, origin="column 'model' of runs.csv"
        )
    assert not (tmp_path / "ran").exists() and "evil_net" not in sys.modules
    assert not (tmp_path / "layer-tables").exists()  # refused before any work
    assert sys.path == path_before
