"""The layer-table cache: each distinct network analysed once, tables reused from disk."""

from __future__ import annotations

from pathlib import Path

import pytest

import synergy.tablecache as tablecache
from synergy.layers import LayerTable
from synthetic_nets import networks


def test_analyses_each_network_once_and_reuses_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tables, _ = networks(2, seed=3)
    calls: list[tuple[str, object]] = []

    def fake(item: tuple[str, object]) -> LayerTable:
        calls.append(item)
        return tables[0] if item[0] == "a" else tables[1]

    monkeypatch.setattr(tablecache, "_analyze_one", fake)
    items = [("a", None), ("b", ((1, 3, 8, 8),)), ("a", None)]
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
