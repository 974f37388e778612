"""Accuracy of ``synergy measure``'s attribution through real files, readers, sampler and runtime marks.

A network whose layers announce which one is running through shared memory
(:mod:`synergy.testing.announce`) runs under the PyTorch eager runtime; a separate process writes fake
sysfs files laid out as the kernel lays them out (:class:`synergy.testing.sysfs.SysfsWriter`) with the
known power of the announced layer: a RAPL ``energy_uj`` counter ticking every 1 ms, or a Jetson Orin NX
INA3221 hwmon device latching 10 ms box averages (``samples`` 4, 416 µs conversions, 3 channels). The real
sensor backend reads the files from the real background sampler, and the per-layer energies are compared
with the energy delivered during each layer's own marks (from the announce log).

A fake writer that the scheduler runs late publishes values late, which real hardware never does; where
permitted the writer process and the sampling thread get real-time priority (``SCHED_FIFO``), and the
achieved publication and poll rates are printed, with the load average, so a busy machine can be told
from an attribution error.

Usage: ``python benchmarks/harness_accuracy.py [--sensor rapl|jetson] [--runs N] [--layers N]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from synergy.alignment.attribute import attribute_timeline
from synergy.alignment.events import LayerEvents
from synergy.runtime.base import MeasureSettings
from synergy.runtime.torch_eager import TorchEagerRuntime
from synergy.sampling.sampler import Sampler
from synergy.sensors.discovery import open_sensor
from synergy.testing.announce import AnnounceBoard, AnnouncedPower, announcing_model
from synergy.testing.sysfs import Constant, SysfsWriter, build_jetson_hwmon, build_rapl


def _realtime(pid: int) -> bool:
    try:
        os.sched_setscheduler(pid, os.SCHED_FIFO, os.sched_param(20))
        return True
    except (OSError, AttributeError):
        return False


def run(sensor_name: str, runs: int, n_layers: int, seed: int, realtime: bool = True) -> dict[str, object]:
    """One harness measurement; returns errors and diagnostics."""
    rng = np.random.default_rng(seed)
    duration = np.exp(rng.uniform(np.log(0.3e-3), np.log(10e-3), n_layers))
    duration[0], duration[-1] = 0.3e-3, 10e-3
    power_w = tuple(float(p) for p in rng.uniform(8.0, 25.0, n_layers))
    root = Path(tempfile.mkdtemp(prefix="synergy-harness-"))
    with AnnounceBoard() as board:
        power = AnnouncedPower(board.name, power_w, overhead_w=12.0, idle_w=5.0)
        if sensor_name == "rapl":
            tree = build_rapl(root, subzones=())
            rails = {"package-0": power}
        else:
            tree = build_jetson_hwmon(root, "orin_nx", samples=4, conversion_us=416)
            rails = {"VDD_IN": power}
        with SysfsWriter(tree, rails, default=Constant(0.0), mode="process"):
            prioritised = realtime and all(_realtime(c.pid or 0) for c in multiprocessing.active_children())
            sensor = open_sensor(sensor_name, root=root)
            model = announcing_model(board, list(duration), busy_below_s=2e-3)
            runtime = TorchEagerRuntime(model, (1,))
            sampler = Sampler(sensor, max_rate_hz=4000, jitter=0.1, jitter_seed=seed)
            with sampler:
                if realtime:
                    for thread in threading.enumerate():
                        if thread.name == "synergy-sampler" and thread.native_id is not None:
                            prioritised &= _realtime(thread.native_id)
                time.sleep(0.5)
                records = runtime.measure(MeasureSettings(runs=runs, warmup=5, pause_s=(1e-3, 10e-3), seed=seed))
                time.sleep(0.3)
            assert sampler.result is not None
            timeline = sampler.result.timeline()
            report = sampler.result.channels[sensor.name]
        events = LayerEvents.from_runs(runtime.layers, records)
        result = attribute_timeline(events, timeline)
        truth = board.energy_j(events.start_ns, events.end_ns, power.powers())
        true_energy = np.zeros(len(events.layers))
        np.add.at(true_energy, events.layer, truth)
        true_energy /= events.n_runs
        true_inference = float(board.energy_j(events.run_start_ns, events.run_end_ns, power.powers()).mean())
    order = [events.layers.index(f"layer{i}") for i in range(n_layers)]
    errors = (result.energy_j[order] - true_energy[order]) / true_energy[order]
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
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sensor", choices=("rapl", "jetson"), default="rapl")
    parser.add_argument("--runs", type=int, default=600)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-realtime", action="store_true", help="leave the writer and sampler unprioritised")
    args = parser.parse_args()
    sys.setswitchinterval(1e-4)
    out = run(args.sensor, args.runs, args.layers, args.seed, realtime=not args.no_realtime)
    errors = np.asarray(out["errors"])
    print(f"sensor {args.sensor}, {args.runs} runs, {args.layers} layers, load average {os.getloadavg()[0]:.1f}")
    print(f"real-time priority for writer and sampler: {out['realtime']}")
    print(f"sensor values changed {out['changes_per_s']:.0f}/s, polled {out['polls_per_s']:.0f}/s")
    print("layer durations (ms):", " ".join(f"{d * 1e3:.2f}" for d in np.asarray(out["durations_s"])))
    print("layer energy error (%):", " ".join(f"{e * 100:+.2f}" for e in errors))
    print("standard error (%):   ", " ".join(f"{e * 100:.2f}" for e in np.asarray(out["se"])))
    print(f"largest layer error: {np.abs(errors).max() * 100:.2f} %")
    print(f"layers + overhead vs direct sensor energy: {float(out['check']) * 100:+.2f} %")  # type: ignore[arg-type]
    print(f"modelled vs true whole inference: {float(out['modelled_vs_true_inference']) * 100:+.2f} %")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
