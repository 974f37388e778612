"""The accuracy harness end to end: announcing layers, a writer process, real readers, sampler and marks."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from synergy.alignment.attribute import attribute_timeline
from synergy.alignment.events import LayerEvents
from synergy.runtime.base import MeasureSettings
from synergy.runtime.torch_eager import TorchEagerRuntime
from synergy.sampling.sampler import Sampler
from synergy.sensors.rapl import RaplSensor
from synergy.testing.announce import AnnounceBoard, AnnouncedPower, announcing_model
from synergy.testing.sysfs import Constant, SysfsWriter, build_rapl


@pytest.fixture
def memory_root(tmp_path: Path) -> Iterator[Path]:
    """A root on a memory file system where there is one: sysfs lives in memory, and a rename on a disk
    file system can take milliseconds, which would make the fake hardware publish late."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    root = Path(tempfile.mkdtemp(prefix="synergy-test-", dir=shm))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _harness_errors(root: Path) -> tuple[float, float, bool]:
    """One pass: relative errors of the direct and the fitted inference energy, and finiteness."""
    powers = (22.0, 9.0, 16.0, 12.0)
    with AnnounceBoard() as board:
        power = AnnouncedPower(board.name, powers, overhead_w=10.0, idle_w=4.0)
        tree = build_rapl(root, subzones=())
        with SysfsWriter(tree, {"package-0": power}, default=Constant(0.0), mode="process"):
            for child in multiprocessing.active_children():  # punctual fake hardware where permitted
                with contextlib.suppress(OSError, AttributeError):
                    os.sched_setscheduler(child.pid or 0, os.SCHED_FIFO, os.sched_param(10))
            runtime = TorchEagerRuntime(announcing_model(board, [4e-3, 2e-3, 8e-3, 3e-3]), (1,))
            with Sampler(RaplSensor(root), max_rate_hz=4000, jitter=0.1, jitter_seed=0) as sampler:
                time.sleep(0.3)
                records = runtime.measure(MeasureSettings(runs=60, warmup=2, pause_s=(1e-3, 5e-3)))
                time.sleep(0.1)
        assert sampler.result is not None
        events = LayerEvents.from_runs(runtime.layers, records)
        result = attribute_timeline(events, sampler.result.timeline())
        truth = float(board.energy_j(events.run_start_ns, events.run_end_ns, power.powers()).mean())
    direct = abs(result.direct_inference_energy_j - truth) / truth
    fitted = abs(result.inference_energy_j - truth) / truth
    return direct, fitted, bool(np.isfinite(result.energy_j).all())


def test_rapl_tree_written_from_announced_layers(memory_root: Path) -> None:
    # The fake hardware is a real-time process on a shared machine: an attempt in which the scheduler
    # starved it is repeated (at most three), but every attempt runs the whole real chain.
    attempts = []
    for attempt in range(3):
        root = memory_root / f"attempt{attempt}"
        root.mkdir()
        direct, fitted, finite = _harness_errors(root)
        attempts.append((round(direct, 3), round(fitted, 3)))
        # Model-free: the counter over the inference windows carries the announced energy; the joint fit
        # puts the layers back together (per-layer accuracy is a benchmark: docs/measure.md).
        if direct < 0.25 and fitted < 0.3 and finite:
            return
    pytest.fail(f"inference energy off in every attempt (direct, fitted relative errors): {attempts}")
