"""Isolation mode: each layer alone in a loop, long enough for a slow sensor to settle.

When the sensor is far slower than the layers (a Jetson rail averaging 512 samples updates every ~0.4 s,
NVML's counter every ~100 ms), phase-locked attribution needs very many runs. Isolation mode instead runs
each layer by itself, on the input it receives in the network, back to back for ``settle + measure``
seconds: the first ``settle`` seconds (at least 5 sensor time constants) let the sensor's filter forget
the previous layer, the mean power over the remaining ``measure`` seconds is the layer's steady power, and
its energy per call is that power times its mean time per call (SyNERGY's repetition method). Dynamic
energy subtracts the idle power. The loop includes the framework's per-call overhead, and a layer in a
loop may run warmer in the caches than inside the network: both are reported, not corrected.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from synergy.errors import AlignmentError
from synergy.sampling.timeline import Timeline

__all__ = ["IsolatedLayer", "LoopRecord", "attribute_isolated", "isolated_frame", "loop_plan"]


def loop_plan(
    time_constant_s: float | None, *, settle_constants: float = 5.0, measure_s: float = 1.0
) -> tuple[float, float]:
    """How long to loop each layer: ``(settle_s, measure_s)``.

    Args:
        time_constant_s: the sensor's averaging window or update period, s (``None``: assume 0.1 s).
        settle_constants: time constants to wait before measuring (5 leaves e^-5 < 1 % of an EMA's past).
        measure_s: measuring time, s; at least 10 time constants are used so a box filter's quantisation
            averages out.
    """
    tau = time_constant_s if time_constant_s and time_constant_s > 0 else 0.1
    return settle_constants * tau, max(measure_s, 10.0 * tau)


@dataclass(frozen=True)
class LoopRecord:
    """One layer's loop.

    Attributes:
        layer: the layer's name.
        t_start_ns: when the loop started, monotonic ns.
        t_measure_ns: end of the settling time, monotonic ns.
        t_end_ns: when the loop ended, monotonic ns.
        calls: calls made after ``t_measure_ns``.
    """

    layer: str
    t_start_ns: int
    t_measure_ns: int
    t_end_ns: int
    calls: int


@dataclass(frozen=True)
class IsolatedLayer:
    """A layer's isolated measurement.

    Attributes:
        layer: the layer's name.
        calls: calls in the measuring window.
        duration_s: mean time per call (framework call overhead included), s.
        power_w: mean power over the measuring window, W.
        energy_j: ``power_w × duration_s``, J.
        dynamic_energy_j: ``(power_w − idle) × duration_s``, J.
        window_s: length of the measuring window, s.
        gaps: sensor read failures inside the window.
    """

    layer: str
    calls: int
    duration_s: float
    power_w: float
    energy_j: float
    dynamic_energy_j: float
    window_s: float
    gaps: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def attribute_isolated(timeline: Timeline, loops: list[LoopRecord], idle_w: float) -> list[IsolatedLayer]:
    """Each looped layer's power and energy per call from the sensor's timeline.

    Raises:
        AlignmentError: a loop's measuring window lies outside the sensor's coverage, or has no call.
    """
    lo, hi = timeline.coverage_ns
    out = []
    for loop in loops:
        if loop.calls <= 0:
            raise AlignmentError(f"layer {loop.layer} was not called in its measuring window; loop longer")
        if loop.t_measure_ns < lo or loop.t_end_ns > hi:
            raise AlignmentError(
                f"the sensor does not cover layer {loop.layer}'s loop; keep sampling until every loop ended"
            )
        window_s = (loop.t_end_ns - loop.t_measure_ns) / 1e9
        # Readings are placed on the clock to within a poll interval (more when the sampling thread was
        # held up); the mean power skips two update periods at each edge of the window.
        period = timeline.update_period_s or timeline.sensor_period_s() or 0.0
        margin_ns = int(min(2.0 * period, window_s / 4) * 1e9)
        power = float(timeline.mean_power_w(loop.t_measure_ns + margin_ns, loop.t_end_ns - margin_ns))
        duration = window_s / loop.calls
        out.append(
            IsolatedLayer(
                layer=loop.layer,
                calls=loop.calls,
                duration_s=duration,
                power_w=power,
                energy_j=power * duration,
                dynamic_energy_j=(power - idle_w) * duration,
                window_s=window_s,
                gaps=len(timeline.gaps_in(loop.t_measure_ns, loop.t_end_ns)),
            )
        )
    return out


def isolated_frame(layers: list[IsolatedLayer]) -> pd.DataFrame:
    """The isolated measurements as a table."""
    return pd.DataFrame([layer.to_dict() for layer in layers])
