"""Runtimes that execute a network and record every layer's start and end on the monotonic clock."""

from __future__ import annotations

from synergy.runtime.base import MeasureSettings, Runtime

__all__ = ["MeasureSettings", "Runtime"]
