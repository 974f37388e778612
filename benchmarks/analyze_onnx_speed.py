"""Speed of ``synergy.analyze`` on an ONNX file, against PyTorch's FlopCounterMode on the same model.

Exports torchvision's resnet152 (random weights, eval mode) once to a temporary folder, then times, in
the same run, the median of several repetitions of:

* ``synergy.analyze(path)`` on the ONNX file (load, shape inference, per-node counting);
* one forward pass of the PyTorch model under ``torch.utils.flop_counter.FlopCounterMode``, on CPU
  (real arithmetic) and on the meta device (shapes only, the fair comparison for a static analysis).

Prints both medians, their ratio, and checks that the two MAC totals agree. The goal is an ONNX
analysis under 1 s and no slower than FlopCounterMode.

Usage: ``python benchmarks/analyze_onnx_speed.py [--model resnet152] [--exporter legacy|dynamo] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode

import synergy


def _median_s(action: Callable[[], object], repeat: int) -> tuple[float, object]:
    action()  # warm-up: imports, caches
    times: list[float] = []
    result: object = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet152", help="torchvision model name (default: %(default)s)")
    parser.add_argument("--exporter", choices=("legacy", "dynamo"), default="legacy")
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions (default: %(default)s)")
    args = parser.parse_args()

    model = torchvision.models.get_model(args.model, weights=None).eval()
    crop = torchvision.models.get_model_weights(args.model).DEFAULT.transforms().crop_size[0]
    x = torch.randn(1, 3, crop, crop)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{args.model}.onnx"
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (x,), str(path), dynamo=args.exporter == "dynamo")
        size_mb = sum(p.stat().st_size for p in Path(folder).iterdir()) / 1e6

        onnx_s, table = _median_s(lambda: synergy.analyze(str(path)), args.repeat)

        def flop_counter() -> int:
            with FlopCounterMode(display=False) as counter, torch.no_grad():
                model(x)
            return int(counter.get_total_flops()) // 2

        torch_s, exact = _median_s(flop_counter, args.repeat)

        meta_model = copy.deepcopy(model).to("meta")
        meta_x = x.to("meta")

        def flop_counter_meta() -> int:
            with FlopCounterMode(display=False) as counter, torch.no_grad():
                meta_model(meta_x)
            return int(counter.get_total_flops()) // 2

        meta_s, meta_exact = _median_s(flop_counter_meta, args.repeat)

    assert isinstance(table, synergy.LayerTable)
    print(f"model: {args.model} ({args.exporter} export, {size_mb:.0f} MB on disk), input 1x3x{crop}x{crop}")
    print(f"threads: {torch.get_num_threads()}, repetitions: {args.repeat} (median)")
    print(f"synergy.analyze(onnx):   {onnx_s * 1e3:9.1f} ms   {table.macs:,} MACs, {len(table)} layers")
    print(f"FlopCounterMode (torch): {torch_s * 1e3:9.1f} ms   {exact:,} MACs")
    print(f"FlopCounterMode (meta):  {meta_s * 1e3:9.1f} ms   {meta_exact:,} MACs")
    print(f"ratio analyze/FlopCounterMode: {onnx_s / torch_s:.3f} (CPU forward), {onnx_s / meta_s:.3f} (meta device)")
    print(f"MACs agree: {table.macs == exact == meta_exact}")


if __name__ == "__main__":
    main()
