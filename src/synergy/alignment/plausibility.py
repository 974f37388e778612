"""Plausibility checks of an attribution, each finding with its remedy.

The attribution already refuses what the readings cannot determine (:mod:`synergy.alignment.identifiability`);
these checks look at what it did give and say when a number deserves doubt:

* ``layers-undetermined``: some layers got NaN (with the reasons);
* ``layer-power-implausible``: a layer's power is negative or several times the highest power any reading saw;
* ``residual-large``: the fit leaves residuals large against the mean power read (beyond what the timing
  of the readings explains);
* ``readings-downweighted``: the robust fit set aside a large share of the readings (published late,
  stamped wrongly, or a sensor the model does not describe);
* ``sum-vs-direct``: layers plus overhead disagree with the whole-inference energy read directly from the
  sensor by more than their standard errors allow;
* ``idle-drift``: the idle power before the runs and after them differ;
* ``idle-mismatch``: the idle power fitted from the pauses between runs differs from the one measured before.

Each is a :class:`synergy.context.Finding`, so it reaches ``run.json``'s ``checks`` and fails the measurement
under strict checking like the checks of the measurement conditions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from synergy.alignment.attribute import Attribution
from synergy.alignment.identifiability import UNDETERMINED_REMEDY
from synergy.context.checks import Finding

__all__ = ["PlausibilityThresholds", "plausibility_findings"]


@dataclass(frozen=True)
class PlausibilityThresholds:
    """When a plausibility check fires.

    Attributes:
        power_factor: a layer above this many times the highest power observed is implausible.
        residual_fraction: residual RMS over the mean power read.
        downweighted_fraction: share of readings the robust fit down-weighted (Huber's loss down-weights
            about 18 % of Gaussian residuals by design).
        check_sigma: standard errors that layers + overhead may differ from the direct figure by.
        check_relative: and the relative difference it must also exceed.
        idle_fraction: relative difference of two idle powers.
        idle_floor_w: and the absolute one, W.
    """

    power_factor: float = 3.0
    residual_fraction: float = 0.2
    downweighted_fraction: float = 0.5
    check_sigma: float = 3.0
    check_relative: float = 0.05
    idle_fraction: float = 0.1
    idle_floor_w: float = 0.2


_MORE_DATA = "measure more runs, or loop each layer alone (isolation mode)"


def _finite(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def _names(names: list[str], limit: int = 3) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def plausibility_findings(attribution: Attribution, thresholds: PlausibilityThresholds | None = None) -> list[Finding]:
    """The plausibility findings of one attribution (empty when nothing is doubtful)."""
    th = thresholds or PlausibilityThresholds()
    x = attribution.extras
    findings: list[Finding] = []

    undetermined = [n for n, ok in zip(attribution.layers, attribution.determined, strict=True) if not ok]
    if undetermined:
        reasons = dict(zip(attribution.layers, attribution.reasons, strict=False))
        first = undetermined[0]
        findings.append(
            Finding(
                "layers-undetermined",
                "attribution",
                f"the readings do not determine {len(undetermined)} of {len(attribution.layers)} layers "
                f"({_names(undetermined)}); {first}: {reasons.get(first) or 'undetermined'}",
                UNDETERMINED_REMEDY,
            )
        )

    highest = _finite(x.get("highest_power_w"))
    if math.isfinite(highest) and highest > 0:
        power = np.asarray(attribution.power_w, dtype=float)
        bad = [
            f"{n} {p:.3g} W"
            for n, p in zip(attribution.layers, power.tolist(), strict=True)
            if math.isfinite(p) and (p < 0 or p > th.power_factor * highest)
        ]
        if bad:
            findings.append(
                Finding(
                    "layer-power-implausible",
                    "attribution",
                    f"{len(bad)} layer power(s) outside [0, {th.power_factor:g} × the highest power observed "
                    f"({highest:.3g} W)]: {_names(bad)}",
                    f"the readings hardly see these layers; {_MORE_DATA}",
                )
            )

    mean = _finite(x.get("mean_power_w"))
    rms = _finite(attribution.residual_rms_w)
    # What the readings' timing alone explains (a counter change known only to lie in its bracket) is
    # noise the error bars carry, not a model the readings contradict.
    timing = np.nan_to_num(_finite(x.get("timing_noise_w")))
    allowed = math.hypot(th.residual_fraction * mean, timing) if math.isfinite(mean) else math.nan
    if math.isfinite(mean) and mean > 0 and math.isfinite(rms) and rms > allowed:
        findings.append(
            Finding(
                "residual-large",
                "attribution",
                f"the fit leaves a residual of {rms:.3g} W RMS against a mean power of {mean:.3g} W read"
                + (f" ({timing:.3g} W of it explained by the readings' timing)" if timing > 0 else ""),
                "the sensor's readings do not follow the layer model: check that nothing else ran, that the "
                "sensor's update period is right, and measure again on a quieter machine",
            )
        )

    down = _finite(x.get("downweighted_fraction"))
    if math.isfinite(down) and down > th.downweighted_fraction:
        findings.append(
            Finding(
                "readings-downweighted",
                "attribution",
                f"the robust fit down-weighted {down:.0%} of the readings (above {th.downweighted_fraction:.0%})",
                "readings were published late or stamped wrongly (a busy machine), or the sensor is polled "
                "no faster than it updates; measure on a quieter machine",
            )
        )

    direct = _finite(attribution.direct_inference_energy_j)
    model = _finite(attribution.inference_energy_j)
    if math.isfinite(direct) and math.isfinite(model) and direct > 0:
        se = math.hypot(
            np.nan_to_num(_finite(x.get("inference_energy_j_se"))),
            np.nan_to_num(_finite(x.get("direct_inference_energy_j_se"))),
        )
        gap = model - direct
        if abs(gap) > th.check_sigma * se and abs(gap) > th.check_relative * direct:
            findings.append(
                Finding(
                    "sum-vs-direct",
                    "attribution",
                    f"layers + overhead give {model:.4g} J per inference, the sensor directly {direct:.4g} J "
                    f"({gap / direct:+.1%}, {abs(gap) / se if se > 0 else math.inf:.1f} standard errors)",
                    f"the layer model misses energy the sensor saw; {_MORE_DATA}",
                )
            )

    before = _finite(x.get("idle_measured_w"))
    after = _finite(x.get("idle_after_w"))
    fitted = _finite(attribution.idle_power_w)

    def differ(a: float, b: float) -> bool:
        return abs(a - b) > max(th.idle_fraction * abs(a), th.idle_floor_w)

    if math.isfinite(before) and math.isfinite(after) and differ(before, after):
        findings.append(
            Finding(
                "idle-drift",
                "idle",
                f"the idle power was {before:.3g} W before the runs and {after:.3g} W after them",
                "the machine's background power changed during the measurement (thermals, other work, clocks); "
                "let it settle and fix its clocks before measuring again",
            )
        )
    if math.isfinite(before) and math.isfinite(fitted) and differ(before, fitted):
        findings.append(
            Finding(
                "idle-mismatch",
                "idle",
                f"the idle power fitted from the pauses between runs is {fitted:.3g} W, the one measured "
                f"before the runs {before:.3g} W",
                f"the pauses do not return to idle, or the readings cannot tell idle from the layers; {_MORE_DATA}",
            )
        )
    return findings
