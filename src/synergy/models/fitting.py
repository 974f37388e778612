"""Choose, evaluate and fit a model form on training data, producing a :class:`~synergy.models.predictor.Predictor`."""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synergy.errors import DatasetError
from synergy.models import BASELINE, COUNTER_MODELS, MODELS
from synergy.models.counters import CounterSupport, counter_support
from synergy.models.dataset import TrainingSet
from synergy.models.evaluate import Evaluation, grouped_cv, scores_frame
from synergy.models.predictor import Predictor, training_domain

__all__ = ["FitResult", "fit_predictor", "offered_models"]


@dataclass(frozen=True)
class FitResult:
    """A fitted predictor with the evaluations that chose it.

    Attributes:
        predictor: the model fitted on all the data.
        evaluations: grouped cross-validation of every model tried (the baseline included).
        chosen: the model form fitted.
        auto: whether it was chosen by the evaluation.
        counters: which counters the counter models use on this data, or why they are not offered.
    """

    predictor: Predictor
    evaluations: tuple[Evaluation, ...]
    chosen: str
    auto: bool
    counters: CounterSupport | None = None

    def table(self) -> pd.DataFrame:
        """The cross-validated scores, one row per model."""
        return scores_frame(list(self.evaluations))


def offered_models(training: TrainingSet) -> tuple[list[str], CounterSupport]:
    """The model forms ``training`` can fit, in table order, and the counters it offers.

    Every form of :data:`~synergy.models.MODELS`; those of :data:`~synergy.models.COUNTER_MODELS` only
    for layer-level data with per-layer hardware counters (see
    :func:`~synergy.models.counters.counter_support`).
    """
    support = counter_support(training.data)
    names = list(MODELS)
    if support.available:
        names.extend(COUNTER_MODELS)
    return names, support


def _check_represented(name: str, predicted: Any, y: Any) -> None:
    """Refuse a fit whose own training predictions are not finite, or nowhere near the targets: a
    predictor that cannot represent its data would write confident wrong numbers."""
    p = np.asarray(predicted, dtype=float)
    target = np.asarray(y, dtype=float)
    if not np.all(np.isfinite(p)):
        raise DatasetError(f"the {name} model fitted to these targets predicts non-finite values: check the targets")
    ratio = np.median(p / target)
    if not 0.5 <= ratio <= 2.0:
        raise DatasetError(
            f"the {name} model cannot represent these targets (its predictions of the training data are "
            f"{ratio:.3g} × the targets at the median): check the target column and its unit"
        )


def _factory(name: str, support: CounterSupport) -> Callable[[], Any]:
    if name in COUNTER_MODELS:
        # the columns are chosen once on all the data, so that every fold fits the same model form
        return functools.partial(COUNTER_MODELS[name][0], counters=support.columns)
    return MODELS[name][0]


def fit_predictor(
    training: TrainingSet,
    model: str | None = None,
    *,
    folds: int = 5,
    candidates: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> FitResult:
    """Evaluate model forms with grouped K-fold CV and fit the chosen one on all the data.

    Args:
        training: the data (see :mod:`synergy.models.dataset`).
        model: the form to fit; ``None`` picks the lowest mean relative error among ``candidates``.
        folds: folds of the grouped cross-validation.
        candidates: forms evaluated when choosing (default: every form the data offers, see
            :func:`offered_models`).
        progress: called with the name of each model before it is evaluated.

    Raises:
        DatasetError: an unknown model name, a counter model without per-layer counters in the data, or
            too little data to cross-validate.
    """
    known = {**MODELS, **COUNTER_MODELS}
    offered, support = offered_models(training)
    for name in [*(candidates or ()), *([model] if model is not None else [])]:
        if name not in known:
            raise DatasetError(f"unknown model {name!r}: choose one of {', '.join(known)}")
        if name in COUNTER_MODELS:
            support.require(name)
    names = list(candidates) if candidates is not None else offered
    to_run = names if model is None else [BASELINE, model] if model != BASELINE else [BASELINE]
    data, y = training.data, training.y
    evaluations = []
    for name in to_run:
        if progress:
            progress(name)
        evaluations.append(grouped_cv(name, _factory(name, support), data, y, n_splits=folds))
    if model is None:
        chosen = min(evaluations, key=lambda ev: (ev.scores["mean_err"], ev.scores["rmspe"])).model
    else:
        chosen = model
    estimator = _factory(chosen, support)().fit(data, y)
    _check_represented(chosen, estimator.predict(data), y)
    by_name = {ev.model: ev for ev in evaluations}
    evaluation = {
        "protocol": by_name[chosen].protocol,
        "grouped_by": "network",
        "scores": {ev.model: ev.scores for ev in evaluations},
        "chosen_by": "lowest mean relative error" if model is None else "given",
    }
    domain = training_domain(data)
    if chosen in COUNTER_MODELS:
        domain["counters"] = dict(estimator.counter_ranges_)
    predictor = Predictor(
        name=chosen,
        estimator=estimator,
        target=training.target,
        unit=training.unit,
        column=training.column,
        domain=domain,
        evaluation=evaluation,
        training={
            "sources": list(training.sources),
            "units": int(data.n_units),
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        },
    )
    return FitResult(predictor, tuple(evaluations), chosen, model is None, support)
