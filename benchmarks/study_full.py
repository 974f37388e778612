"""The full study: every network of the default zoo (the SyNERGY paper's networks), measured layer by layer,
every predictor evaluated leave-one-network-out, the report written.

On a machine without an energy sensor the target is the per-layer time. Prints the wall time, the shares
by layer type and the evaluation table; the study directory (report.html, CSVs) stays in ``--output``.
An interrupted run continues with ``--resume``.

Usage: ``python benchmarks/study_full.py [--zoo default] [--runs 30] [--warmup 3] [--output DIR] [--resume]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from synergy.cli.common import render_frame
from synergy.study import StudyOptions, StudyProgress, run_study
from synergy.zoo import ZooEntry, load_zoo


class _Lines(StudyProgress):
    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def network(self, entry: ZooEntry, index: int) -> None:
        print(f"[{time.monotonic() - self.t0:7.1f} s] measuring {entry.name}", file=sys.stderr, flush=True)

    def network_done(self, entry: ZooEntry, status: str, wall_s: float, error: str | None) -> None:
        print(
            f"[{time.monotonic() - self.t0:7.1f} s] {entry.name}: {status} in {wall_s:.1f} s {error or ''}",
            file=sys.stderr,
            flush=True,
        )

    def phase(self, name: str) -> None:
        print(f"[{time.monotonic() - self.t0:7.1f} s] {name}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", default="default", help="zoo name or file (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=30, help="measured inferences per network (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up inferences (default: %(default)s)")
    parser.add_argument("--runtime", default="torch", choices=("onnxruntime", "torch"))
    parser.add_argument("--output", type=Path, default=Path("results/study-full"), help="study directory")
    parser.add_argument("--target", default="auto", choices=("auto", "energy", "cpu-time", "time"))
    parser.add_argument("--resume", action="store_true", help="continue the study in --output")
    parser.add_argument("--force", action="store_true", help="start afresh in --output")
    args = parser.parse_args()

    options = StudyOptions(
        zoo=load_zoo(args.zoo), zoo_name=args.zoo, runtime=args.runtime, runs=args.runs, warmup=args.warmup
    )
    t0 = time.monotonic()
    result = run_study(
        options, args.output, resume=args.resume, force=args.force, target=args.target, progress=_Lines()
    )
    wall_s = time.monotonic() - t0
    state = result.state
    print(f"study of {len(result.networks)} networks in {wall_s / 60:.1f} min (this run), target {state['target']}")
    print(render_frame(result.networks[["network", "macs", "target_total", "conv_share", "fc_share"]]))
    if result.evaluation is not None:
        print(render_frame(result.evaluation.drop(columns=["description"]), title="leave one network out (%)"))
    for note in result.notes:
        print(f"note: {note}")
    print(f"report: {result.report}")


if __name__ == "__main__":
    main()
