"""PyTorch eager mode with per-layer marks read around every leaf module's ``forward``.

Every leaf module (:mod:`synergy.graph.leaves`: a module without children, or an ``nn.MultiheadAttention``,
the layers of the analysis) gets its ``forward`` wrapped (an instance attribute, removed
again by :meth:`TorchEagerRuntime.close`): the wrapper reads :func:`synergy.clock.now_ns` just before and
just after the original ``forward`` runs, so the measured layers are the leaf modules' qualified names
(``layer1.0.conv1``), the names the analysis of a PyTorch model uses; the second and later calls of a
module within one inference are layers of their own, ``layer1.0.relu#2``, as in the analysis. Reading the
clock inside the call rather than in forward hooks keeps PyTorch's hook dispatch out of the layers'
windows: a hook reads the clock 2–25 µs before ``forward`` begins or after it returns (more when the thread
has just woken), which is a tenth of a 0.3 ms layer's window at the edges where its power is not the
layer's. Work done outside any leaf module (functional calls in ``forward`` such as the residual ``+=`` or
``torch.flatten``) falls in the gaps between layers and is attributed to the runtime's overhead.

On CUDA the device is synchronised before each clock read, so a mark is the moment the layer's kernels
have finished; this perturbs the workload (no overlap of launches and execution) but puts GPU layers on the
host's monotonic clock. That code path cannot be exercised on a machine without a GPU.

Leaf modules that no run has called (a branch the input never takes, a head built but unused) are listed
by :attr:`TorchEagerRuntime.uncalled_layers`. The random input is allocated only after its memory is known
to fit in the machine's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from synergy.alignment.events import RunRecord
from synergy.alignment.isolation import LoopRecord
from synergy.clock import now_ns
from synergy.graph.leaves import leaf_modules
from synergy.graph.spec import check_memory, input_bytes
from synergy.runtime.base import BatchCycle, MeasureSettings, Progress, Runtime, check_batch, pause
from synergy.runtime.counters import PerfCounters

__all__ = ["TorchEagerRuntime"]


class TorchEagerRuntime(Runtime):
    """A ``torch.nn.Module`` run eagerly under ``torch.inference_mode`` with marks around its leaf modules' forward.

    Args:
        model: the module (put in eval mode here).
        input_shape: shape of the single input tensor.
        threads: ``torch.set_num_threads`` (1: one core).
        device: ``cpu`` or ``cuda``.
        seed: seed of the random input.
        counters: event counters read at every layer boundary (per-layer increments), or ``None``.

    Raises:
        InputShapeError: the input cannot fit in this machine's memory (nothing is allocated).
    """

    name = "torch"

    def __init__(
        self,
        model: Any,
        input_shape: tuple[int, ...],
        *,
        threads: int = 1,
        device: str = "cpu",
        seed: int = 0,
        counters: PerfCounters | None = None,
    ) -> None:
        import torch

        text = ",".join(map(str, input_shape))
        check_memory(input_bytes((input_shape,)), f"input shape {text}")
        self.counters = counters if counters is not None and counters.names else None
        torch.set_num_threads(threads)
        self.threads = threads
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        generator = torch.Generator().manual_seed(seed)
        self.input = torch.randn(*input_shape, generator=generator).to(self.device)
        self._inputs: BatchCycle[Any] = BatchCycle([self.input])
        self._sync = torch.cuda.synchronize if self.device.type == "cuda" else None
        leaves = leaf_modules(self.model)
        self._module_names = [name for name, _ in leaves]
        self._modules_by_name = dict(leaves)
        self._ever_called: set[int] = set()
        self._layer_ids: dict[tuple[int, int], int] = {}
        self.layers = ()
        self.contains = {}
        self._marks: list[tuple[int, int, int]] = []
        self._mark_counts: list[tuple[int, ...]] = []
        self._calls: dict[int, int] = {}
        self._recording = True
        self._wrapped: list[tuple[Any, bool, Any]] = []  # (module, had its own forward, that forward)
        self._run_span = [0, 0]
        self._run_counts: tuple[int, ...] = ()
        for index, (_, module) in enumerate(leaves):
            self._wrap(module, self._marked(index, module.forward))
        self._wrap(self.model, self._run_marked(self.model.forward))
        self._records: list[RunRecord] = []
        self._torch_version = torch.__version__

    def set_input(self, batches: Sequence[Sequence[npt.NDArray[Any]]]) -> None:
        """Feed the user's batches (copied onto the device) instead of the random input; run *i* takes
        batch *i* mod *n*.

        Raises:
            InputShapeError: a batch of another shape than the input prepared, or of several inputs.
        """
        import torch

        shape = tuple(self.input.shape)
        for index, batch in enumerate(batches):
            check_batch(index, batch, [shape])
        if not batches:
            return
        self._inputs = BatchCycle([torch.from_numpy(np.array(batch[0])).to(self.device) for batch in batches])
        self.input = self._inputs.first

    def _wrap(self, module: Any, forward: Any) -> None:
        """Make ``forward`` the module's own (remembering what :meth:`close` restores)."""
        own = "forward" in vars(module)
        self._wrapped.append((module, own, vars(module).get("forward")))
        module.forward = forward

    def _timed(self, forward: Any, args: Any, kwargs: Any) -> tuple[Any, int, int, tuple[int, ...]]:
        """Run ``forward`` between two clock reads (after a device synchronisation each) and counter reads.

        Returns:
            ``(output, start_ns, end_ns, counter increments)``; the increments are empty without counters.
        """
        if self._sync is not None:
            self._sync()
        before = self.counters.read() if self.counters is not None else ()
        start = now_ns()
        output = forward(*args, **kwargs)
        if self._sync is not None:
            self._sync()
        end = now_ns()
        counts = self.counters.delta(before, self.counters.read()) if self.counters is not None else ()
        return output, start, end, counts

    def _run_marked(self, forward: Any) -> Any:
        """The model's ``forward`` with the run's start and end read just around it (and counters)."""

        def marked(*args: Any, **kwargs: Any) -> Any:
            output, self._run_span[0], self._run_span[1], self._run_counts = self._timed(forward, args, kwargs)
            return output

        return marked

    def _marked(self, index: int, forward: Any) -> Any:
        """``forward`` with the clock read (and counters) just before and just after it runs."""

        def marked(*args: Any, **kwargs: Any) -> Any:
            if not self._recording:
                return forward(*args, **kwargs)
            output, start, end, counts = self._timed(forward, args, kwargs)
            if self.counters is not None:
                self._mark_counts.append(counts)
            call = self._calls.get(index, 0) + 1
            self._calls[index] = call
            self._ever_called.add(index)
            self._marks.append((self._layer_id(index, call), start, end))
            return output

        return marked

    def _layer_id(self, module: int, call: int) -> int:
        key = (module, call)
        if key not in self._layer_ids:
            name = self._module_names[module] + (f"#{call}" if call > 1 else "")
            self._layer_ids[key] = len(self.layers)
            self.layers = (*self.layers, name)
            self.contains[name] = (name,)
        return self._layer_ids[key]

    @property
    def uncalled_layers(self) -> tuple[str, ...]:
        """Leaf modules that no run so far has called, in registration order."""
        return tuple(name for i, name in enumerate(self._module_names) if i not in self._ever_called)

    def run_once(self) -> RunRecord:
        """One inference with marks (layers met for the first time are added to :attr:`layers`)."""
        import torch

        self._marks = []
        self._mark_counts = []
        self._calls = {}
        self._run_counts = ()
        with torch.inference_mode():
            self.model(self._inputs.next())
        before, after = self._run_span
        run_counts = self._run_counts
        order = sorted(range(len(self._marks)), key=lambda i: self._marks[i][1])
        marks = [self._marks[i] for i in order]
        return RunRecord(
            before,
            after,
            tuple(m[0] for m in marks),
            tuple(m[1] for m in marks),
            tuple(m[2] for m in marks),
            counters=run_counts,
            layer_counters=tuple(self._mark_counts[i] for i in order) if self.counters else (),
        )

    def isolate(
        self, settle_s: float, measure_s: float, layers: list[str] | None = None, progress: Progress | None = None
    ) -> list[LoopRecord]:
        """Run each leaf module alone, on the input it receives in the network, for ``settle_s + measure_s``.

        Args:
            settle_s: looping time before measuring starts, s (≥ 5 sensor time constants).
            measure_s: measuring time, s.
            layers: the leaf modules to loop (default: every one, in execution order; a module called
                several times per inference is looped on its first call's input).
            progress: called after each layer with (layers done, layers planned).
        """
        import torch

        inputs: dict[str, tuple[Any, ...]] = {}
        names = self._modules_by_name
        captures = []
        for name in self._module_names:

            def capture(module: Any, args: Any, _name: str = name) -> None:
                inputs.setdefault(_name, args)

            captures.append(names[name].register_forward_pre_hook(capture))
        try:
            self.run_once()
        finally:
            for handle in captures:
                handle.remove()
        wanted = [n for n in self._module_names if n in inputs] if layers is None else list(layers)
        records = []
        self._recording = False
        try:
            with torch.inference_mode():
                for done, name in enumerate(wanted, start=1):
                    module, args = names[name], inputs[name]
                    start = now_ns()
                    measure_from = start + int(settle_s * 1e9)
                    end_at = measure_from + int(measure_s * 1e9)
                    while now_ns() < measure_from:
                        module(*args)
                    calls = 0
                    begin = now_ns()
                    while True:
                        module(*args)
                        if self._sync is not None:
                            self._sync()
                        calls += 1
                        if now_ns() >= end_at:
                            break
                    records.append(LoopRecord(name, start, begin, now_ns(), calls))
                    if progress is not None:
                        progress(done, len(wanted))
        finally:
            self._recording = True
        return records

    def measure(self, settings: MeasureSettings, progress: Progress | None = None) -> list[RunRecord]:
        """Warm up, then run with random pauses; records are kept as they complete."""
        rng = np.random.default_rng(settings.seed)
        self._records = []
        for _ in range(max(settings.warmup, 1)):
            self.run_once()
        self._inputs.restart()  # measured run i takes batch i mod n
        for i in range(settings.runs):
            pause(rng, settings.pause_s)
            self._records.append(self.run_once())
            if progress is not None:
                progress(i + 1, settings.runs)
        return self._records

    def completed(self) -> list[RunRecord]:
        """The runs completed so far."""
        return list(self._records)

    def describe(self) -> dict[str, Any]:
        """Runtime, version, device, threads, number of marked leaf modules."""
        return {
            "name": self.name,
            "version": self._torch_version,
            "device": str(self.device),
            "threads": self.threads,
            "mode": "eager, inference_mode",
            "marks": "clock read around every leaf module's forward" + (", synchronised" if self._sync else ""),
            "measured_layers": len(self.layers),
            "counters": "per layer" if self.counters is not None else None,
        }

    def close(self) -> None:
        """Give every leaf module its own ``forward`` back (last wrapped first: the model may be a leaf)."""
        for module, own, forward in reversed(self._wrapped):
            if own:
                module.forward = forward
            else:
                vars(module).pop("forward", None)
        self._wrapped = []
