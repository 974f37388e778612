"""Analyse many networks once: deduplication, a JSON cache on disk, and a process pool.

Training data often names the same network many times (one row per framework or per repetition), and
analysing a network takes a noticeable fraction of a second. :func:`analyze_many` analyses each distinct
``(spec, input shape)`` once, keeps the layer tables as gzip-compressed JSON under the cache folder, and
spreads the rest over worker processes.

The cache folder is ``$SYNERGY_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/synergy`` (``~/.cache/synergy``),
and the tables live in its ``layer-tables/`` subfolder, one ``<hash>.json.gz`` per network. The hash covers
the model's content (:attr:`synergy.graph.resolve.ResolvedModel.fingerprint`: an ONNX file's size and
modification time, a ``module:callable``'s module file hash, the torch and torchvision versions), the input
shape, the SyNERGY version and the source of the analysis code, so an edited model or a changed frontend
never serves old tables. Deleting the folder is always safe.

Specs read from data files are resolved with their ``origin``: one that would import code is refused
before anything is analysed, unless ``trust_code`` is given.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from synergy.atomic import write_bytes_atomic
from synergy.graph.layers import LayerTable
from synergy.graph.resolve import resolve_model

__all__ = ["analyze_many", "default_cache_dir"]

Shapes = tuple[tuple[int, ...], ...]
Item = tuple[str, Shapes | None]

#: Bumped whenever the cached content changes meaning.
CACHE_FORMAT = 2
#: Below this many networks to analyse, no worker processes are started.
_POOL_THRESHOLD = 64


def default_cache_dir() -> Path:
    """The cache folder (see the module docstring)."""
    env = os.environ.get("SYNERGY_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "synergy"


@functools.cache
def _code_fingerprint() -> str:
    """Hash of the analysis code (``synergy/graph``): tables from other code are never reused."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _key(spec: str, shapes: Shapes | None, origin: str | None = None, trust_code: bool = False) -> str:
    """The cache key of a network: its content, not its spec text (see the module docstring).

    Raises:
        ModelSpecError: the spec cannot be resolved (``UntrustedCodeError``: code from a data file).
    """
    from synergy import __version__

    parts: list[object] = [
        CACHE_FORMAT,
        __version__,
        _code_fingerprint(),
        spec,
        resolve_model(spec, origin=origin, trust_code=trust_code).fingerprint,
        [list(s) for s in shapes] if shapes else None,
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:40]


def _read(path: Path) -> LayerTable | None:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return LayerTable.from_dict(json.load(fh))
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        return None  # a damaged entry is recomputed


def _write(path: Path, table: LayerTable) -> None:
    data = gzip.compress(json.dumps(table.to_dict(), separators=(",", ":")).encode(), compresslevel=6)
    write_bytes_atomic(path, data)


def _analyze_one(item: Item) -> LayerTable:
    from synergy.graph.analysis import analyze

    spec, shapes = item
    return analyze(spec, shapes)


def analyze_many(
    items: Sequence[Item],
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    origin: str | None = None,
    trust_code: bool = False,
) -> list[LayerTable]:
    """Analyse every ``(spec, input shapes)`` pair, each distinct one once.

    Args:
        items: the networks, as MODEL spec and input shapes (``None``: the model's default input).
        cache_dir: cache folder; default :func:`default_cache_dir`.
        use_cache: read and write the on-disk cache.
        workers: worker processes for networks not in the cache; default: the CPU count (at most 8);
            1 analyses in this process.
        progress: called as ``progress(done, total)`` over the distinct networks.
        origin: where the specs were read from (a data file), in words; ``None`` when the user gave them.
        trust_code: with ``origin``, allow specs that import Python code.

    Returns:
        One layer table per item, in order (identical items share one table object).

    Raises:
        ModelSpecError, InputShapeError, GraphError: as :func:`synergy.analyze` for the first failing item.
        UntrustedCodeError: a spec from ``origin`` would import code (checked before any analysis).
    """
    distinct: dict[Item, LayerTable | None] = dict.fromkeys(items)
    total = len(distinct)
    folder = (cache_dir or default_cache_dir()) / "layer-tables"
    paths: dict[Item, Path] = {}
    done = 0
    for item in distinct:  # every key first: a refused or unknown spec stops before any work
        paths[item] = folder / f"{_key(*item, origin=origin, trust_code=trust_code)}.json.gz"
    for item in distinct:
        if use_cache and paths[item].is_file():
            distinct[item] = _read(paths[item])
            if distinct[item] is not None:
                done += 1
    if progress:
        progress(done, total)
    missing = [item for item, table in distinct.items() if table is None]
    n_workers = workers if workers is not None else min(8, os.cpu_count() or 1)
    with contextlib.ExitStack() as stack:
        results: Iterator[LayerTable]
        if len(missing) < _POOL_THRESHOLD or n_workers <= 1:
            results = map(_analyze_one, missing)
        else:
            pool = stack.enter_context(ProcessPoolExecutor(max_workers=n_workers, mp_context=get_context("spawn")))
            results = pool.map(_analyze_one, missing, chunksize=16)
        for item, table in zip(missing, results, strict=True):
            distinct[item] = table
            if use_cache:
                _write(paths[item], table)
            done += 1
            if progress:
                progress(done, total)
    out: list[LayerTable] = []
    for item in items:
        found = distinct[item]
        assert found is not None
        out.append(found)
    return out
