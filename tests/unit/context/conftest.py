"""Fixtures for the context tests: fake trees."""

from __future__ import annotations

from pathlib import Path

import pytest

from synergy.testing.context import ContextTree, make_orin_tree, make_x86_tree


@pytest.fixture
def x86(tmp_path: Path) -> ContextTree:
    """A 4-CPU intel_pstate machine, governor powersave, turbo on."""
    return make_x86_tree(tmp_path / "x86", pid=1000)


@pytest.fixture
def orin(tmp_path: Path) -> ContextTree:
    """A Jetson AGX Orin on L4T 36 in MAXN, clocks not locked."""
    return make_orin_tree(tmp_path / "orin", pid=1000)
