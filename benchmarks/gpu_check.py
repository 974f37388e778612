"""A real-GPU check of the NVML sensor and the CUDA path, in under five minutes.

On a machine with an NVIDIA GPU, the CUDA build of PyTorch and ``nvidia-ml-py``, it measures ResNet-18 with
the PyTorch runtime on CUDA and reports:

1. NVML's update period, probed for the total-energy counter (``nvmlDeviceGetTotalEnergyConsumption``) and
   for the instant power field (``NVML_FI_DEV_POWER_INSTANT``): the median time between value changes;
2. the counter against the integrated power field over the same window of back-to-back inferences;
3. per-layer energy from the counter with the CUDA-synchronised marks (``synergy`` attribution), the ten
   largest layers and the sum of layers against the directly integrated inference energy;
4. the overhead of the marks: the median inference with a synchronised clock read around every leaf module
   against the median plain inference (one synchronisation at the end).

Without CUDA or NVML it prints one line saying what is missing and exits 0, so it can run anywhere.

Usage: ``python benchmarks/gpu_check.py [--runs N] [--window-s S] [--gpu I]``
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from typing import Any

__all__ = ["main", "missing_requirement"]


def missing_requirement() -> str | None:
    """Why this machine cannot run the check (no CUDA build or device, no NVML), or ``None``."""
    try:
        import torch
    except ImportError:
        return "PyTorch is not installed"
    if not torch.cuda.is_available():
        return f"CUDA is not available to PyTorch {torch.__version__} (no NVIDIA GPU, driver or CUDA build)"
    from synergy.errors import SensorError
    from synergy.sensors.nvml import NvmlSensor

    try:
        NvmlSensor(mode="energy").close()
    except SensorError as exc:
        return f"NVML energy counter unusable: {exc}"
    return None


def _changes(read: Any, budget_s: float) -> float | None:
    """Median time between changes of ``read()``, s, over ``budget_s`` of back-to-back reads."""
    times: list[float] = []
    last = read()
    end = time.monotonic() + budget_s
    while time.monotonic() < end:
        value = read()
        if value != last:
            times.append(time.monotonic())
            last = value
    gaps = [b - a for a, b in itertools.pairwise(times)]
    return statistics.median(gaps) if gaps else None


def _ms(seconds: float | None) -> str:
    return "no change seen" if seconds is None else f"{seconds * 1e3:.1f} ms"


def _median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1e3


def main(argv: list[str] | None = None) -> int:
    """Run the check; 0 when done or when the machine lacks CUDA/NVML, 1 when a step fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="measured inferences (default: %(default)s)")
    parser.add_argument("--window-s", type=float, default=20.0, help="counter vs power window (default: %(default)s)")
    parser.add_argument(
        "--probe-s", type=float, default=3.0, help="update-period probe per source (default: %(default)s)"
    )
    parser.add_argument("--gpu", type=int, default=0, help="GPU index (default: %(default)s)")
    args = parser.parse_args(argv)
    reason = missing_requirement()
    if reason is not None:
        print(f"gpu_check: skipped: {reason}")
        return 0

    import numpy as np
    import torch
    import torchvision

    from synergy.alignment.attribute import attribute_timeline
    from synergy.alignment.events import LayerEvents
    from synergy.runtime.base import MeasureSettings
    from synergy.runtime.torch_eager import TorchEagerRuntime
    from synergy.sampling.sampler import Sampler
    from synergy.sensors.nvml import NvmlSensor

    started = time.monotonic()
    energy = NvmlSensor(gpus=[args.gpu], mode="energy")
    power = NvmlSensor(gpus=[args.gpu], mode="power")
    power.name = "nvml-power"  # two channels of one sampler need two names
    print(f"GPU {args.gpu}: {energy.gpu_names[0]}; torch {torch.__version__}, CUDA {torch.version.cuda}")

    # 1. update periods, at idle
    counter_period = _changes(lambda: energy.read().values[0], args.probe_s)
    power_period = _changes(lambda: power.read().values[0], args.probe_s)
    print(f"NVML update period: energy counter {_ms(counter_period)}, instant power {_ms(power_period)}")

    model = torchvision.models.resnet18(weights=None)
    runtime = TorchEagerRuntime(model, (1, 3, 224, 224), device="cuda")
    net = runtime.model
    x = runtime.input
    with torch.inference_mode():
        for _ in range(20):
            net(x)
        torch.cuda.synchronize()

    # 2. counter vs integrated power over the same window of back-to-back inferences
    with Sampler([energy, power], probe_s=0.5) as sampler, torch.inference_mode():
        time.sleep(0.5)
        t0 = time.monotonic_ns()
        while (time.monotonic_ns() - t0) / 1e9 < args.window_s:
            net(x)
            torch.cuda.synchronize()
        t1 = time.monotonic_ns()
        time.sleep(0.5)
    counter_j = sampler.timeline(energy.name).energy_j(t0, t1)
    integrated_j = sampler.timeline(power.name).energy_j(t0, t1)
    window = (t1 - t0) / 1e9
    print(
        f"window {window:.1f} s: counter {counter_j:.2f} J ({counter_j / window:.1f} W), integrated power "
        f"{integrated_j:.2f} J ({integrated_j / window:.1f} W), ratio {integrated_j / counter_j:.4f}"
    )

    # 3. per-layer energy with the CUDA-synchronised marks
    with Sampler(NvmlSensor(gpus=[args.gpu], mode="energy"), probe_s=0.5) as sampler:
        time.sleep(0.5)
        records = runtime.measure(MeasureSettings(runs=args.runs, warmup=10, pause_s=(5e-3, 20e-3)))
        time.sleep(0.5)
    assert sampler.result is not None
    events = LayerEvents.from_runs(runtime.layers, records)
    result = attribute_timeline(events, sampler.result.timeline())
    order = np.argsort(result.energy_j)[::-1][:10]
    print(f"per-layer energy, {result.runs} runs, idle {result.idle_power_w:.1f} W; largest ten:")
    for i in order:
        print(
            f"  {result.layers[i]:<28} {result.energy_j[i] * 1e3:9.3f} mJ  {result.power_w[i]:7.1f} W  "
            f"{result.duration_s[i] * 1e3:7.3f} ms"
        )
    print(
        f"sum of layers {float(np.nansum(result.energy_j)):.4f} J + overhead vs direct "
        f"{result.direct_inference_energy_j:.4f} J per inference ({result.direct_method})"
    )

    # 4. the marks' overhead: marked runs against plain synchronised inferences, interleaved
    marked = [(r.end_ns - r.start_ns) / 1e9 for r in records]
    plain: list[float] = []
    with torch.inference_mode():
        for _ in range(args.runs):
            a = time.monotonic_ns()
            net(x)
            torch.cuda.synchronize()
            plain.append((time.monotonic_ns() - a) / 1e9)
    ratio = statistics.median(marked) / statistics.median(plain)
    print(f"inference: plain {_median_ms(plain):.3f} ms, marked {_median_ms(marked):.3f} ms, overhead x{ratio:.3f}")
    print(f"gpu_check: done in {time.monotonic() - started:.0f} s")
    energy.close()
    power.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
