"""``power_profile.png``: power over one inference, with a band for every layer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from synergy.alignment.attribute import Attribution
from synergy.alignment.events import LayerEvents
from synergy.atomic import atomic_path
from synergy.context.timeline import Timeline as ContextTimeline
from synergy.sampling.timeline import Timeline

__all__ = ["plot_power_profile"]

_COLOURS = {
    "conv": "#4c72b0",
    "fc": "#dd8452",
    "pooling": "#55a868",
    "norm": "#8172b3",
    "activation": "#937860",
    "other": "#8c8c8c",
}


def plot_power_profile(
    path: Path,
    events: LayerEvents,
    categories: list[str],
    *,
    attribution: Attribution | None = None,
    timeline: Timeline | None = None,
    context: Sequence[ContextTimeline] = (),
    title: str = "",
) -> Path:
    """Draw the median-length inference: layer bands, the fitted layer powers and the sensor's readings.

    Args:
        path: the PNG to write (atomically).
        events: layer events of every run.
        categories: category of each measured layer (colours the bands).
        attribution: fitted powers (drawn as a step line) when energy was measured.
        timeline: the sensor's readings (drawn as points at the middle of each reading's window).
        context: context timelines on the same clock: clocks on a second y axis, the hottest temperature on a
            third (:func:`synergy.context.plot.add_context_axes`), over the same window.
        title: the figure title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    durations = events.run_duration_s()
    run = int(np.argsort(durations)[len(durations) // 2])
    fig, ax = plt.subplots(figsize=(11, 4.2), dpi=110)
    view = _RunView(events, run)
    _draw_bands(ax, view, categories)
    if attribution is not None:
        _draw_fit(ax, view, attribution)
    if timeline is not None and timeline.kind is not None and len(timeline) > 2:
        _draw_readings(ax, view, timeline)
    ax.set_xlabel("time since the start of the inference (ms)")
    ax.set_ylabel("power (W)" if attribution is not None or timeline is not None else "")
    if attribution is None and timeline is None:
        ax.set_yticks([])
    ax.set_title(title or f"run {run}: {durations[run] * 1e3:.2f} ms")
    ax.legend(loc="upper left", fontsize=8, ncols=3)
    if context:
        _draw_context(ax, view, context)
    fig.tight_layout()
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    return path


class _RunView:
    """The run drawn: its start, its layer events and their times in ms since that start."""

    def __init__(self, events: LayerEvents, run: int) -> None:
        self.events = events
        self.t0_ns = int(events.run_start_ns[run])
        self.end_ns = int(events.run_end_ns[run])
        self.mine: list[int] = np.flatnonzero(events.run == run).tolist()

    def span_ms(self, i: int) -> tuple[float, float]:
        return (self.events.start_ns[i] - self.t0_ns) * 1e-6, (self.events.end_ns[i] - self.t0_ns) * 1e-6

    def layer(self, i: int) -> int:
        return int(self.events.layer[i])


def _draw_bands(ax: Any, view: _RunView, categories: list[str]) -> None:
    """One band per layer, coloured by its category (each category in the legend once)."""
    seen: set[str] = set()
    for i in view.mine:
        a, b = view.span_ms(i)
        category = categories[view.layer(i)]
        colour = _COLOURS.get(category, "#8c8c8c")
        ax.axvspan(a, b, color=colour, alpha=0.25, lw=0, label=None if category in seen else category)
        seen.add(category)


def _draw_fit(ax: Any, view: _RunView, attribution: Attribution) -> None:
    """The fitted layer powers as a step line, the idle power, and a y range the layers that matter fill."""
    xs: list[float] = []
    ys: list[float] = []
    for i in view.mine:
        p = attribution.power_w[view.layer(i)]
        xs += list(view.span_ms(i))
        ys += [p, p]
    ax.plot(xs, ys, color="black", lw=1.2, label="fitted layer power")
    ax.axhline(attribution.idle_power_w, color="grey", ls=":", lw=1, label="idle power")
    # Layers of a few µs can get wild powers with wide errors: scale to the layers that matter.
    events, span = view.events, view.end_ns - view.t0_ns
    long_enough = [
        attribution.power_w[view.layer(i)] for i in view.mine if events.end_ns[i] - events.start_ns[i] > 0.01 * span
    ]
    top = max([attribution.idle_power_w, *[p for p in long_enough if np.isfinite(p)]], default=1.0)
    ax.set_ylim(0, 1.5 * max(top, 1e-3))


def _draw_readings(ax: Any, view: _RunView, timeline: Timeline) -> None:
    """The sensor's readings around the run, at the middle of each reading's window."""
    t_ns, watts = timeline.power_w()
    margin = 0.25 * (view.end_ns - view.t0_ns)
    keep = (t_ns >= view.t0_ns - margin) & (t_ns <= view.end_ns + margin)
    ax.plot((t_ns[keep] - view.t0_ns) * 1e-6, watts[keep], "o", ms=3, color="#c44e52", label="sensor readings")


def _draw_context(ax: Any, view: _RunView, context: Sequence[ContextTimeline]) -> None:
    """Clocks and the hottest temperature on their own axes, over the window drawn."""
    from synergy.context.plot import add_context_axes

    x_limits = ax.get_xlim()
    lo_ms, hi_ms = x_limits
    window = (view.t0_ns + int(lo_ms * 1e6), view.t0_ns + int(hi_ms * 1e6))
    axes = add_context_axes(ax, [_clip(c, *window) for c in context], t0_ns=view.t0_ns, x_unit_s=1e-3)
    if "clock" in axes:  # from zero: a small change must not look like a large one
        axes["clock"].set_ylim(0, 1.15 * max(axes["clock"].get_ylim()[1], 1e-3))
    if "temperature" in axes:  # at least 10 °C tall, so a tenth of a degree does not fill the figure
        low, high = axes["temperature"].get_ylim()
        if high - low < 10.0:
            middle = (low + high) / 2
            axes["temperature"].set_ylim(middle - 5.0, middle + 5.0)
    ax.set_xlim(*x_limits)


def _clip(timeline: ContextTimeline, lo_ns: int, hi_ns: int) -> ContextTimeline:
    """The samples inside ``[lo_ns, hi_ns]``, with the values in force at both ends (steps span the window)."""
    t_ns, values = timeline.t_ns, timeline.values
    first = int(np.searchsorted(t_ns, lo_ns, side="right")) - 1
    last = int(np.searchsorted(t_ns, hi_ns, side="right"))
    inside = slice(max(first + 1, 0), last)
    stamps = [t_ns[inside]]
    rows = [values[inside]]
    if first >= 0:
        stamps.insert(0, np.array([lo_ns]))
        rows.insert(0, values[first : first + 1])
    if last > 0:
        stamps.append(np.array([hi_ns]))
        rows.append(values[last - 1 : last])
    return ContextTimeline(timeline.rails, np.concatenate(stamps), np.concatenate(rows))
