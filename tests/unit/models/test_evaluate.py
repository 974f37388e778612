"""Metrics, grouped cross-validation, the small-training-set protocol and the plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synergy.errors import DatasetError
from synergy.models import LayerTypeModel, OpMeanBaseline
from synergy.models.data import LayerData
from synergy.models.evaluate import grouped_cv, metrics, plot_predictions, scores_frame, small_train
from synthetic_nets import networks


def test_metrics_by_hand() -> None:
    y = np.array([1.0, 2.0, 4.0, 8.0])
    p = np.array([1.1, 2.0, 3.6, 8.0])
    m = metrics(y, p)
    assert m["mean_err"] == pytest.approx((0.1 + 0 + 0.1 + 0) / 4)
    assert m["rmspe"] == pytest.approx(np.sqrt((0.01 + 0.01) / 4))
    assert m["within_5"] == 0.5 and m["within_10"] == pytest.approx(1.0)
    assert m["kendall_tau"] == pytest.approx(1.0)


def test_grouped_cv_never_sees_the_test_network() -> None:
    tables, y = networks(30, seed=7)
    data = LayerData.from_tables(tables + tables[:5])  # networks measured twice share a group
    y2 = np.concatenate([y, y[:5] * 1.02])
    groups = np.concatenate([np.arange(30), np.arange(5)])
    data = LayerData(data.frame, data.n_units, groups, data.networks[:30], data.units, "network")
    ev = grouped_cv("layer-type", LayerTypeModel, data, y2, n_splits=5)
    assert ev.predicted.shape == y2.shape and ev.scores["mean_err"] < 0.05
    assert ev.protocol == "grouped 5-fold"
    with pytest.raises(DatasetError):
        grouped_cv("x", LayerTypeModel, data.subset([0]), y2[:1])


def test_small_train_protocol(tmp_path: Path) -> None:
    tables, y = networks(40, seed=8)
    data = LayerData.from_tables(tables)
    ev = small_train("layer-type", LayerTypeModel, data, y, n_train=25, repeats=3)
    assert len(ev.measured) == 3 * 15 and ev.scores["n"] == 15
    base = small_train("op-mean", OpMeanBaseline, data, y, n_train=25, repeats=3)
    frame = scores_frame([ev, base])
    assert list(frame["model"]) == ["layer-type", "op-mean"]
    with pytest.raises(DatasetError, match="more than 40"):
        small_train("x", LayerTypeModel, data, y, n_train=40)
    png = plot_predictions([ev, base], tmp_path / "p.png", "J", "test")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
