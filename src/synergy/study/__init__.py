"""``synergy study``: the SyNERGY protocol end to end on a model zoo.

Measure every network layer by layer (:func:`synergy.measurement.measure`), collect per-layer energy (or time,
when no energy sensor exists), MACs and counters, evaluate every predictor of :mod:`synergy.models`
leave-one-network-out, and write a report. See :func:`run_study`.
"""

from __future__ import annotations

from synergy.study.runner import FORMAT_VERSION, StudyOptions, StudyProgress, StudyResult, load_options, run_study

__all__ = ["FORMAT_VERSION", "StudyOptions", "StudyProgress", "StudyResult", "load_options", "run_study"]
