"""Plausibility findings of an attribution: quiet on a clean fit, one finding per kind of doubt."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from synergy.alignment.attribute import Attribution, attribute
from synergy.alignment.plausibility import plausibility_findings
from synergy.alignment.simulate import Workload, simulate_counter, simulate_runs
from synergy.context import Finding
from synergy.sensors.base import FilterModel


@pytest.fixture(scope="module")
def clean() -> Attribution:
    rng = np.random.default_rng(0)
    workload = dataclasses.replace(Workload.random(6, rng, min_s=0.5e-3), power_jitter=0.0)
    sim = simulate_runs(workload, 150, rng)
    t_ns, joules = simulate_counter(sim.trace, rng, tick_s=1e-3, poll_s=0.25e-3)
    return attribute(
        sim.events,
        t_ns,
        joules,
        counter=True,
        filter_model=FilterModel("counter"),
        update_period_s=1e-3,
        latch_lag_s=0.0,
    )


def _codes(attribution: Attribution) -> list[str]:
    return [f.code for f in plausibility_findings(attribution)]


def test_a_clean_fit_has_no_finding(clean: Attribution) -> None:
    assert _codes(clean) == []
    summary = clean.summary()
    assert summary["idle_measured_w"] == pytest.approx(summary["idle_fitted_w"], rel=0.02)


def test_each_doubt_is_one_finding_with_a_remedy(clean: Attribution) -> None:
    power = clean.power_w.copy()
    power[0] = 10 * clean.extras["highest_power_w"]
    cases = {
        "layer-power-implausible": dataclasses.replace(clean, power_w=power),
        "residual-large": dataclasses.replace(clean, residual_rms_w=clean.extras["mean_power_w"]),
        "readings-downweighted": dataclasses.replace(clean, extras={**clean.extras, "downweighted_fraction": 0.6}),
        "sum-vs-direct": dataclasses.replace(clean, direct_inference_energy_j=1.3 * clean.inference_energy_j),
        "idle-drift": dataclasses.replace(clean, extras={**clean.extras, "idle_after_w": 2 * clean.idle_power_w}),
        "idle-mismatch": dataclasses.replace(clean, idle_power_w=32.1),
    }
    for code, attribution in cases.items():
        findings = plausibility_findings(attribution)
        assert [f.code for f in findings] == [code], code
        finding = findings[0]
        assert isinstance(finding, Finding) and finding.remedy and "--" not in str(finding)
        assert finding.to_dict()["code"] == code


def test_undetermined_layers_are_a_finding_naming_the_remedy(clean: Attribution) -> None:
    determined = clean.determined.copy()
    determined[1] = False
    reasons = tuple("no sensor reading overlaps it" if not ok else "" for ok in determined)
    finding = plausibility_findings(dataclasses.replace(clean, determined=determined, reasons=reasons))[0]
    assert finding.code == "layers-undetermined"
    assert clean.layers[1] in finding.message and "no sensor reading" in finding.message
    assert "isolation mode" in finding.remedy
