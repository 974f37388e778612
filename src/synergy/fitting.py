"""Choose, evaluate and fit a model form on training data, producing a :class:`~synergy.predictor.Predictor`."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from synergy.dataset import TrainingSet
from synergy.errors import DatasetError
from synergy.models import BASELINE, MODELS
from synergy.models.evaluate import Evaluation, grouped_cv, scores_frame
from synergy.predictor import Predictor, training_domain

__all__ = ["FitResult", "fit_predictor"]


@dataclass(frozen=True)
class FitResult:
    """A fitted predictor with the evaluations that chose it.

    Attributes:
        predictor: the model fitted on all the data.
        evaluations: grouped cross-validation of every model tried (the baseline included).
        chosen: the model form fitted.
        auto: whether it was chosen by the evaluation.
    """

    predictor: Predictor
    evaluations: tuple[Evaluation, ...]
    chosen: str
    auto: bool

    def table(self) -> pd.DataFrame:
        """The cross-validated scores, one row per model."""
        return scores_frame(list(self.evaluations))


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
        training: the data (see :mod:`synergy.dataset`).
        model: the form to fit; ``None`` picks the lowest mean relative error among ``candidates``.
        folds: folds of the grouped cross-validation.
        candidates: forms evaluated when choosing (default: every form in :data:`~synergy.models.MODELS`).
        progress: called with the name of each model before it is evaluated.

    Raises:
        DatasetError: an unknown model name, or too little data to cross-validate.
    """
    names = list(candidates) if candidates is not None else list(MODELS)
    if model is not None and model not in MODELS:
        raise DatasetError(f"unknown model {model!r}: choose one of {', '.join(MODELS)}")
    for name in names:
        if name not in MODELS:
            raise DatasetError(f"unknown model {name!r}: choose from {', '.join(MODELS)}")
    to_run = names if model is None else [BASELINE, model] if model != BASELINE else [BASELINE]
    data, y = training.data, training.y
    evaluations = []
    for name in to_run:
        if progress:
            progress(name)
        evaluations.append(grouped_cv(name, MODELS[name][0], data, y, n_splits=folds))
    if model is None:
        chosen = min(evaluations, key=lambda ev: (ev.scores["mean_err"], ev.scores["rmspe"])).model
    else:
        chosen = model
    estimator = MODELS[chosen][0]().fit(data, y)
    by_name = {ev.model: ev for ev in evaluations}
    evaluation = {
        "protocol": by_name[chosen].protocol,
        "grouped_by": "network",
        "scores": {ev.model: ev.scores for ev in evaluations},
        "chosen_by": "lowest mean relative error" if model is None else "given",
    }
    predictor = Predictor(
        name=chosen,
        estimator=estimator,
        target=training.target,
        unit=training.unit,
        column=training.column,
        domain=training_domain(data),
        evaluation=evaluation,
        training={
            "sources": list(training.sources),
            "units": int(data.n_units),
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        },
    )
    return FitResult(predictor, tuple(evaluations), chosen, model is None)
