"""How fast is ``synergy.analyze`` compared with PyTorch's own FlopCounterMode, on the same model, in one run?

Timed (one warm-up, then the median of ``--repeat`` runs, each in this process):

- ``synergy (torch)``: ``synergy.analyze("torchvision:NAME")`` end to end: build the model from its spec
  (meta device) and count every layer;
- ``synergy (onnx)``: ``synergy.analyze("model.onnx")`` on a file exported once beforehand (skipped when
  the ONNX frontend is not installed);
- ``FlopCounterMode (cpu)``: one forward pass of the already built model (random weights, CPU) under
  ``torch.utils.flop_counter.FlopCounterMode``: the usual way of counting;
- ``FlopCounterMode (meta)``: the same on an already built meta-device model: FlopCounterMode's best case.

Ratios are to ``FlopCounterMode (cpu)`` and ``FlopCounterMode (meta)``; below 1 is faster. The goal is
``synergy`` no slower than FlopCounterMode, and under 1 s for the ONNX path.

Usage: ``python benchmarks/analyze_speed.py [--model resnet152] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode

import synergy


def _timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and minimum wall time of ``fn`` in seconds, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def _flop_counter(model: torch.nn.Module, x: torch.Tensor) -> Callable[[], int]:
    def run() -> int:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
        return int(counter.get_total_flops()) // 2

    return run


def _export(name: str, folder: Path) -> Path:
    model = torchvision.models.get_model(name).eval()
    path = folder / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, 3, 224, 224),), str(path), dynamo=False)
    return path


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", default="resnet152", help="torchvision classification model (default: resnet152)")
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions per method (default: 5)")
    args = parser.parse_args(argv)
    name, repeat = args.model, args.repeat
    warnings.simplefilter("ignore")

    print(
        f"# python {platform.python_version()}, torch {torch.__version__}, torchvision {torchvision.__version__}, "
        f"{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, {platform.machine()}"
    )
    print(f"# model {name}, 1x3x224x224, one warm-up then median of {repeat} runs; shared machines are noisy")

    results: dict[str, tuple[float, float] | None] = {}
    macs: dict[str, int] = {}
    spec = f"torchvision:{name}"
    macs["synergy (torch)"] = synergy.analyze(spec).macs
    results["synergy (torch)"] = _timed(lambda: synergy.analyze(spec), repeat)

    if importlib.util.find_spec("synergy.graph.onnx_frontend") is None:
        results["synergy (onnx)"] = None
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = str(_export(name, Path(folder)))
            macs["synergy (onnx)"] = synergy.analyze(path).macs
            results["synergy (onnx)"] = _timed(lambda: synergy.analyze(path), repeat)

    cpu_model = torchvision.models.get_model(name).eval()
    cpu_count = _flop_counter(cpu_model, torch.randn(1, 3, 224, 224))
    macs["FlopCounterMode (cpu)"] = cpu_count()
    results["FlopCounterMode (cpu)"] = _timed(cpu_count, repeat)
    with torch.device("meta"):
        meta_model = torchvision.models.get_model(name).eval()
    meta_count = _flop_counter(meta_model, torch.empty(1, 3, 224, 224, device="meta"))
    macs["FlopCounterMode (meta)"] = meta_count()
    results["FlopCounterMode (meta)"] = _timed(meta_count, repeat)

    base_cpu = results["FlopCounterMode (cpu)"]
    base_meta = results["FlopCounterMode (meta)"]
    assert base_cpu is not None and base_meta is not None
    print(f"{'method':24} {'median s':>9} {'min s':>8} {'/ FCM cpu':>10} {'/ FCM meta':>11} {'MACs':>16}")
    for method, timing in results.items():
        if timing is None:
            print(f"{method:24} {'skipped: synergy.graph.onnx_frontend is not installed':>56}")
            continue
        median, best = timing
        print(
            f"{method:24} {median:9.3f} {best:8.3f} {median / base_cpu[0]:10.2f} {median / base_meta[0]:11.2f} "
            f"{macs.get(method, 0):16,}"
        )
    agree = len(set(macs.values())) == 1
    print(f"# MAC counts {'agree' if agree else 'DIFFER'}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
