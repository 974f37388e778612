"""Accuracy of ``synergy measure``'s attribution through real files, readers, sampler and runtime marks.

A network whose layers announce which one is running through shared memory
(:mod:`synergy.testing.announce`) runs under the PyTorch eager runtime; a separate process writes fake
sysfs files laid out as the kernel lays them out (:class:`synergy.testing.sysfs.SysfsWriter`) with the
known power of the announced layer: a RAPL ``energy_uj`` counter ticking every 1 ms, or a Jetson Orin NX
INA3221 hwmon device latching 10 ms box averages (``samples`` 4, 416 µs conversions, 3 channels). The real
sensor backend reads the files from the real background sampler, and the per-layer energies are compared
with the energy delivered during each layer's own marks (from the announce log).

Two writers: the *punctual* one stages each value ahead of its instant and renames it into place; the
*in-place* one (:class:`synergy.testing.inplace.InPlaceWriter`, counters only) publishes ``energy_uj`` with
``pwrite`` over the old text at its own pace (its clock 30 ppm fast, 5 µs mean jitter, and as late as the
scheduler runs it), as a loaded machine does. The counter's period is ``--period-us`` of the writer's clock:
1000 µs, or 976 µs (Intel's nominal period, which the RAPL backend states).

A fake writer that the scheduler runs late publishes values late, which real hardware never does; where
permitted the writer process and the sampling thread get real-time priority (``SCHED_FIFO``), and the
achieved publication and poll rates are printed, with the load average, so a busy machine can be told
from an attribution error.

Usage: ``python benchmarks/harness_accuracy.py [--sensor rapl|jetson] [--writer inplace|punctual]
[--period-us 1000|976] [--runs N] [--layers N] [--seeds 0 1 2]``
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from synergy.alignment.attribute import Attribution, attribute_observations, attribute_timeline
from synergy.alignment.design import FloatArray, Observations, observations_from_changes
from synergy.alignment.events import LayerEvents
from synergy.alignment.plausibility import plausibility_findings
from synergy.runtime.base import MeasureSettings
from synergy.runtime.torch_eager import TorchEagerRuntime
from synergy.sampling.sampler import Sampler
from synergy.sampling.timeline import Timeline
from synergy.sensors.base import SensorKind
from synergy.sensors.discovery import open_sensor
from synergy.testing.announce import IDLE, AnnounceBoard, AnnouncedPower, announcing_model
from synergy.testing.inplace import InPlaceWriter
from synergy.testing.sysfs import Constant, CounterDriver, FakeTree, SysfsWriter, build_jetson_hwmon, build_rapl


def _fine_timer_slack() -> bool:
    """Let this thread's sleeps end within about a microsecond of their time (Linux ``PR_SET_TIMERSLACK``)."""
    try:
        import ctypes

        return int(ctypes.CDLL(None, use_errno=True).prctl(29, 1000, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _realtime(pid: int) -> bool:
    try:
        os.sched_setscheduler(pid, os.SCHED_FIFO, os.sched_param(20))
        return True
    except (OSError, AttributeError):
        return False


def _normal_priority() -> None:
    """Return the calling thread to the normal time-sharing class."""
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_OTHER, os.sched_param(0))


def _latch_offsets_us(timeline: Timeline, events: LayerEvents, stats: dict[str, float], period_s: float) -> FloatArray:
    """How far the attribution's fitted latch instants lie from the fake hardware's real grid, µs."""
    origin = int(min(int(timeline.t_ns[0]), int(events.run_start_ns.min())))
    cols = [timeline.rails.index(r) for r in timeline.total_rails]
    obs = observations_from_changes(
        timeline.t_ns,
        timeline.t_prev_ns,
        timeline.values[:, cols].sum(axis=1),
        t_end_ns=timeline.t_end_ns,
        counter=timeline.kind is SensorKind.ENERGY,
        filter_model=timeline.filter_model,
        update_period_s=timeline.update_period_s,
        origin_ns=origin,
    )
    assert obs.knot_t_s is not None
    period_ns = period_s * 1e9
    since = origin - stats["grid_origin_ns"] + obs.knot_t_s * 1e9
    offset = (since + period_ns / 2) % period_ns - period_ns / 2
    return np.asarray(offset / 1e3, dtype=np.float64)


def _with_true_latches(
    timeline: Timeline, events: LayerEvents, stats: dict[str, float], period_s: float
) -> Attribution:
    """The same readings attributed with the fake hardware's real latch instants (a diagnostic only).

    Each change is put on the last instant of the fake's grid before its first read; for a box rail the
    value held at every instant of the grid is used. This shows what the readings allow when latch
    instants are known, separating errors of the latch fit from everything else.
    """
    origin = int(min(int(timeline.t_ns[0]), int(events.run_start_ns.min())))
    cols = [timeline.rails.index(r) for r in timeline.total_rails]
    values = timeline.values[:, cols].sum(axis=1)
    changed = np.flatnonzero(np.diff(values) != 0) + 1
    period_ns = period_s * 1e9
    tick = np.floor((timeline.t_ns[changed] - stats["grid_origin_ns"]) / period_ns)
    last = np.r_[tick[1:] != tick[:-1], True]  # one change per instant: the last one read
    tick, value = tick[last], values[changed][last]

    def seconds(ticks: FloatArray) -> FloatArray:
        return np.asarray((stats["grid_origin_ns"] + ticks * period_ns - origin) * 1e-9, dtype=np.float64)

    if timeline.kind is SensorKind.ENERGY:
        t = seconds(tick)
        obs = Observations("counter", t[:-1], t[1:], np.diff(value), knot_t_s=t, knot_value=value)
    else:
        every = np.arange(tick[0], tick[-1] + 1)
        held = value[np.searchsorted(tick, every, side="right") - 1]
        t = seconds(every)
        obs = Observations("box", t - period_s, t, held, knot_t_s=t, knot_value=held)
    return attribute_observations(events, obs, origin, period_s, latch_lag_s=0.0)


def _announced_events(board: AnnounceBoard, events: LayerEvents) -> LayerEvents:
    """The same runs with every window where the announce log puts it: a layer from its announcement to the
    next entry, a run from the network's first announcement to its idle one (a diagnostic only)."""
    t, state = board.log()
    layer_at = np.flatnonzero(state >= 0)
    layer_at = layer_at[t[layer_at] >= events.run_start_ns.min()]
    run = np.searchsorted(events.run_start_ns, t[layer_at], side="right") - 1
    index = {f"layer{i}": events.layers.index(f"layer{i}") for i in range(len(events.layers))}
    layer = np.asarray([index[f"layer{s}"] for s in state[layer_at]], dtype=np.int64)
    entry = np.searchsorted(t, events.run_start_ns, side="left")
    exit_ = np.searchsorted(t, events.run_end_ns, side="right") - 1
    return LayerEvents(events.layers, run.astype(np.int64), layer, t[layer_at], t[layer_at + 1], t[entry], t[exit_])


def _ideal_readings(
    events: LayerEvents,
    board: AnnounceBoard,
    powers: dict[int, float],
    stats: dict[str, float],
    period_s: float,
    box: bool,
) -> Observations:
    """Exact readings on the fake's grid computed from the announce log: what a perfect sensor and reader see."""
    origin = int(events.run_start_ns.min())
    period_ns = period_s * 1e9
    first = np.ceil((events.run_start_ns.min() - stats["grid_origin_ns"]) / period_ns)
    last = np.floor((events.run_end_ns.max() + 0.2e9 - stats["grid_origin_ns"]) / period_ns)
    grid = (stats["grid_origin_ns"] + np.arange(first, last + 1) * period_ns).astype(np.int64)
    cumulative = board.energy_j(np.full(len(grid), grid[0]), grid, powers)
    t = (grid - origin) * 1e-9
    if box:
        watts = np.diff(cumulative) / period_s
        return Observations("box", t[1:] - period_s, t[1:], watts, knot_t_s=t[1:], knot_value=watts)
    return Observations("counter", t[:-1], t[1:], np.diff(cumulative), knot_t_s=t, knot_value=cumulative)


def run(
    sensor_name: str,
    runs: int,
    n_layers: int,
    seed: int,
    realtime: bool = True,
    writer_kind: str = "inplace",
    period_us: float = 1000.0,
) -> dict[str, object]:
    """One harness measurement; returns errors and diagnostics."""
    rng = np.random.default_rng(seed)
    duration = np.exp(rng.uniform(np.log(0.3e-3), np.log(10e-3), n_layers))
    duration[0], duration[-1] = 0.3e-3, 10e-3
    power_w = tuple(float(p) for p in rng.uniform(8.0, 25.0, n_layers))
    # sysfs lives in memory: put the fake tree on a memory file system where there is one
    shm = Path("/dev/shm")
    root = Path(tempfile.mkdtemp(prefix="synergy-harness-", dir=shm if shm.is_dir() else None))
    with AnnounceBoard() as board:
        board.announce(IDLE)
        power = AnnouncedPower(board.name, power_w, overhead_w=12.0, idle_w=5.0)
        tree: FakeTree
        writer: SysfsWriter | InPlaceWriter
        if sensor_name == "rapl":
            tree = build_rapl(root, subzones=())
            driver = tree.drivers["package-0"]
            assert isinstance(driver, CounterDriver)
            driver.period_s = period_us * 1e-6
            if writer_kind == "inplace":
                writer = InPlaceWriter(
                    driver.path,
                    power,
                    period_s=period_us * 1e-6,
                    drift_ppm=30.0,
                    jitter_s=5e-6,
                    seed=seed,
                    max_range_uj=driver.max_range_uj,
                    initial_uj=driver.initial_uj,
                )
            else:
                writer = SysfsWriter(tree, {"package-0": power}, default=Constant(0.0), mode="process")
        else:
            tree = build_jetson_hwmon(root, "orin_nx", samples=4, conversion_us=416)
            writer = SysfsWriter(tree, {"VDD_IN": power}, default=Constant(0.0), mode="process")
        with writer:
            prioritised = realtime and all(_realtime(c.pid or 0) for c in multiprocessing.active_children())
            sensor = open_sensor(sensor_name, root=root)
            # Layers sleep rather than spin: a spinning Python layer would hold the interpreter lock the
            # sampling thread needs between its file reads, which real layers (native code) release.
            _fine_timer_slack()
            model = announcing_model(board, list(duration), busy_below_s=0.0)
            runtime = TorchEagerRuntime(model, (1,))
            # The sampler as ``synergy measure`` configures it (a counter is read four times per update).
            sampler = Sampler(sensor, jitter=0.1, jitter_seed=seed)
            with sampler:
                if realtime:
                    for thread in threading.enumerate():
                        if thread.name == "synergy-sampler" and thread.native_id is not None:
                            prioritised &= _realtime(thread.native_id)
                    # The network runs at the same priority: otherwise the other real-time threads and the
                    # machine's other work preempt it between a mark and its layer's announcement,
                    # tens of microseconds that a dedicated measuring machine does not see.
                    prioritised &= _realtime(threading.get_native_id())
                time.sleep(0.5)
                try:
                    records = runtime.measure(MeasureSettings(runs=runs, warmup=5, pause_s=(1e-3, 10e-3), seed=seed))
                finally:
                    _normal_priority()
                time.sleep(0.3)
            assert sampler.result is not None
            timeline = sampler.result.timeline()
            report = sampler.result.channels[sensor.name]
        events = LayerEvents.from_runs(runtime.layers, records)
        result = attribute_timeline(events, timeline)
        stats = writer.stats
        period_s = stats.get("grid_period_ns", next(iter(tree.drivers.values())).update_s * 1e9) / 1e9
        latch_offset_us = _latch_offsets_us(timeline, events, stats, period_s)
        oracle = _with_true_latches(timeline, events, stats, period_s)
        ideal = attribute_observations(
            events,
            _ideal_readings(events, board, power.powers(), stats, period_s, sensor_name != "rapl"),
            int(events.run_start_ns.min()),
            period_s,
            latch_lag_s=0.0,
        )
        announced = _announced_events(board, events)
        at_announcements = attribute_timeline(announced, timeline)
        announced_truth = np.zeros(len(events.layers))
        np.add.at(
            announced_truth, announced.layer, board.energy_j(announced.start_ns, announced.end_ns, power.powers())
        )
        announced_truth /= announced.n_runs
        truth = board.energy_j(events.start_ns, events.end_ns, power.powers())
        true_energy = np.zeros(len(events.layers))
        np.add.at(true_energy, events.layer, truth)
        true_energy /= events.n_runs
        true_inference = float(board.energy_j(events.run_start_ns, events.run_end_ns, power.powers()).mean())
    shutil.rmtree(root, ignore_errors=True)
    order = [events.layers.index(f"layer{i}") for i in range(n_layers)]
    errors = (result.energy_j[order] - true_energy[order]) / true_energy[order]
    oracle_errors = (oracle.energy_j[order] - true_energy[order]) / true_energy[order]
    ideal_errors = (ideal.energy_j[order] - true_energy[order]) / true_energy[order]
    announced_errors = (at_announcements.energy_j[order] - announced_truth[order]) / announced_truth[order]
    span_s = (int(timeline.t_ns[-1]) - int(timeline.t_ns[0])) / 1e9
    return {
        "errors": errors,
        "durations_s": result.duration_s[order],
        "se": result.energy_j_se[order] / true_energy[order],
        "check": result.check_relative,
        "modelled_vs_true_inference": (result.inference_energy_j - true_inference) / true_inference,
        "changes_per_s": len(timeline) / span_s if span_s > 0 else 0.0,
        "polls_per_s": report.achieved_rate_hz,
        "realtime": prioritised,
        "writer": stats,
        "findings": [f.code for f in plausibility_findings(result)],
        "undetermined": int(np.count_nonzero(~result.determined)),
        "summary": {**result.summary(), **result.extras},
        "latch_offset_us": latch_offset_us,
        "oracle_errors": oracle_errors,
        "ideal_errors": ideal_errors,
        "announced_errors": announced_errors,
        "announced_latch_lag_us": float(at_announcements.extras.get("latch_lag_s", 0.0)) * 1e6,
        "latch_lag_us": float(result.extras.get("latch_lag_s", 0.0)) * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sensor", choices=("rapl", "jetson"), default="rapl")
    parser.add_argument("--runs", type=int, default=600)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--writer", choices=("inplace", "punctual"), default="inplace", help="RAPL only")
    parser.add_argument("--period-us", type=float, default=1000.0, help="the fake RAPL counter's update period")
    parser.add_argument("--no-realtime", action="store_true", help="leave the writer and sampler unprioritised")
    args = parser.parse_args()
    sys.setswitchinterval(1e-4)
    worst = []
    for seed in args.seeds:
        worst.append(_report(args, seed))
    print(f"worst layer error per seed (%): {' '.join(f'{w * 100:.2f}' for w in worst)}")


def _report(args: argparse.Namespace, seed: int) -> float:
    """Measure once with ``seed`` and print the report; the largest layer error."""
    writer = args.writer if args.sensor == "rapl" else "punctual"
    out = run(
        args.sensor,
        args.runs,
        args.layers,
        seed,
        realtime=not args.no_realtime,
        writer_kind=writer,
        period_us=args.period_us,
    )
    errors = np.asarray(out["errors"])
    counter = f", {writer} writer, {args.period_us:g} µs" if args.sensor == "rapl" else ""
    print(
        f"sensor {args.sensor}{counter}, seed {seed}, {args.runs} runs, {args.layers} layers, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"real-time priority for writer and sampler: {out['realtime']}")
    print(f"sensor values changed {out['changes_per_s']:.0f}/s, polled {out['polls_per_s']:.0f}/s")
    stats = out["writer"]
    assert isinstance(stats, dict)
    print(
        "writer: {published:.0f} values, {late:.0f} more than half a period late, {skipped:.0f} counter updates "
        "merged into the next, {recomputed:.0f} recomputed; "
        "publication delay µs: min {delay_min_us:.1f}, median {delay_median_us:.1f}, p90 {delay_p90_us:.1f}, "
        "p99 {delay_p99_us:.1f}, max {delay_max_us:.0f}".format(**stats)
    )
    offset = np.asarray(out["latch_offset_us"])
    q = np.quantile(offset, [0.1, 0.5, 0.9])
    print(f"fitted latch instants − fake hardware's grid, µs: p10 {q[0]:+.1f}, median {q[1]:+.1f}, p90 {q[2]:+.1f}")
    print(f"latch lag estimated from the readings: {float(out['latch_lag_us']):+.1f} µs")  # type: ignore[arg-type]
    print("layer durations (ms):", " ".join(f"{d * 1e3:.2f}" for d in np.asarray(out["durations_s"])))
    print("layer energy error (%):", " ".join(f"{e * 100:+.2f}" for e in errors))
    print("standard error (%):   ", " ".join(f"{e * 100:.2f}" for e in np.asarray(out["se"])))
    print(f"largest layer error: {np.abs(errors).max() * 100:.2f} %")
    print(f"median layer error: {np.median(np.abs(errors)) * 100:.2f} %")
    oracle = np.asarray(out["oracle_errors"])
    print(
        "with the fake's true latch instants (diagnostic):",
        " ".join(f"{e * 100:+.2f}" for e in oracle),
        f"| worst {np.abs(oracle).max() * 100:.2f} %",
    )
    ideal = np.asarray(out["ideal_errors"])
    print(
        "exact readings on the fake's grid, same marks (diagnostic):",
        " ".join(f"{e * 100:+.2f}" for e in ideal),
        f"| worst {np.abs(ideal).max() * 100:.2f} %",
    )
    announced = np.asarray(out["announced_errors"])
    print(
        "same readings, windows at the announcements (diagnostic):",
        " ".join(f"{e * 100:+.2f}" for e in announced),
        f"| worst {np.abs(announced).max() * 100:.2f} %, latch lag {float(out['announced_latch_lag_us']):+.1f} µs",  # type: ignore[arg-type]
    )
    print(f"layers + overhead vs direct sensor energy: {float(out['check']) * 100:+.2f} %")  # type: ignore[arg-type]
    print(f"modelled vs true whole inference: {float(out['modelled_vs_true_inference']) * 100:+.2f} %")  # type: ignore[arg-type]
    print(f"undetermined layers: {out['undetermined']}; plausibility findings: {out['findings'] or 'none'}")
    print(
        "idle measured before {idle_measured_w:.3f} W, after {idle_after_w:.3f} W, fitted {idle_fitted_w:.3f} W "
        "(true 5 W); down-weighted readings {downweighted_fraction:.0%}".format(**out["summary"])  # type: ignore[arg-type]
    )
    print()
    return float(np.nanmax(np.abs(errors)))


if __name__ == "__main__":
    main()
