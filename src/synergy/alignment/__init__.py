"""Putting layer events and sensor readings on one clock, and giving every layer its energy."""

from __future__ import annotations

from synergy.alignment.attribute import Attribution, attribute
from synergy.alignment.events import LayerEvents, RunRecord

__all__ = ["Attribution", "LayerEvents", "RunRecord", "attribute"]
