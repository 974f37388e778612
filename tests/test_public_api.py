"""The public surface is exactly what ``__all__`` lists, and every name resolves."""

from __future__ import annotations

import synergy


def test_all_names_resolve() -> None:
    for name in synergy.__all__:
        assert hasattr(synergy, name), name


def test_all_is_sorted_and_unique() -> None:
    assert len(set(synergy.__all__)) == len(synergy.__all__)
    assert list(synergy.__all__) == sorted(synergy.__all__)


def test_errors_share_one_base() -> None:
    for name in synergy.__all__:
        obj = getattr(synergy, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, synergy.SynergyError), name
