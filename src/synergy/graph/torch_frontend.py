"""PyTorch frontend: count a network's work per layer at the dispatcher, on the meta device when possible.

The model runs once under a :class:`~torch.utils._python_dispatch.TorchDispatchMode` that sees every aten
op after autograd and composite decomposition, so functional code (``x + y``, ``torch.cat``, ``F.relu``,
``F.scaled_dot_product_attention``) is counted like module code. Forward hooks on every module say which
module is running:

- a *leaf* module (:mod:`synergy.graph.leaves`: one without child modules, or an ``nn.MultiheadAttention``;
  the measurement's layers are the same modules) is one row, named by its qualified name
  (``layer1.0.conv1``), holding every op dispatched while it runs. Its op type comes from
  its class (``Conv2d`` → ``Conv``); an unknown class takes the type of its heaviest op;
- an op outside any leaf module is a row of its own, named ``<enclosing module>.<op>`` with the op type in
  lower case (``layer1.0.add``; ``add`` at the top level), of kind ``aten.<op>``;
- a name met again (a module called twice, a second ``add`` in the same block) gets ``#2``, ``#3``...
  appended, so names are unique and stable from run to run.

The model is first built and run on the meta device (no memory, no initialisation, shapes only). Models
that cannot run there (data-dependent control flow, explicit CPU tensors) are rebuilt with random weights
and run on the CPU under ``torch.no_grad()``, after a check that the inputs fit in memory. Leaf modules
that never ran are listed in the table's ``meta["uncalled_layers"]``.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from synergy.errors import GraphError, InputShapeError, ModelSpecError, SynergyError, UnsupportedOpWarning
from synergy.graph import formulas as f
from synergy.graph.layers import Layer, LayerTable, op_category
from synergy.graph.leaves import is_leaf, leaf_modules
from synergy.graph.spec import check_memory, input_bytes
from synergy.graph.torch_models import ModelSource, module_input_shapes, one_line
from synergy.graph.torch_ops import FREE_OPS, HANDLERS, HIDDEN_OPS, OpCost, OpHandler, canonical_op

__all__ = ["analyze_module", "analyze_source", "module_op"]

Shape = tuple[int, ...]
Shapes = tuple[Shape, ...]

_M = nn.modules
#: Module class → canonical op type, first match wins (ReLU6 before its base class Hardtanh).
_MODULE_OPS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (_M.conv._ConvTransposeNd, "ConvTranspose"),
    (_M.conv._ConvNd, "Conv"),
    ((nn.Linear, nn.Bilinear, nn.LazyLinear), "Linear"),
    (nn.MultiheadAttention, "Attention"),
    (_M.batchnorm._BatchNorm, "BatchNorm"),
    (nn.LayerNorm, "LayerNorm"),
    (nn.GroupNorm, "GroupNorm"),
    (_M.instancenorm._InstanceNorm, "InstanceNorm"),
    (nn.LocalResponseNorm, "LocalResponseNorm"),
    (nn.RMSNorm, "RMSNorm"),
    (nn.ReLU6, "Relu6"),
    (nn.ReLU, "Relu"),
    (nn.LeakyReLU, "LeakyRelu"),
    (nn.Hardtanh, "Clip"),
    (nn.Sigmoid, "Sigmoid"),
    (nn.Tanh, "Tanh"),
    (nn.SiLU, "Silu"),
    (nn.GELU, "Gelu"),
    (nn.Hardswish, "HardSwish"),
    (nn.Hardsigmoid, "HardSigmoid"),
    (nn.ELU, "Elu"),
    (nn.SELU, "Selu"),
    (nn.CELU, "Celu"),
    (nn.Mish, "Mish"),
    (nn.Softplus, "Softplus"),
    (nn.PReLU, "PRelu"),
    ((nn.Softmax, nn.Softmax2d), "Softmax"),
    (nn.LogSoftmax, "LogSoftmax"),
    (_M.pooling._MaxPoolNd, "MaxPool"),
    (_M.pooling._AvgPoolNd, "AveragePool"),
    (_M.pooling._AdaptiveAvgPoolNd, "AdaptiveAvgPool"),
    (_M.pooling._AdaptiveMaxPoolNd, "AdaptiveMaxPool"),
    (_M.pooling._LPPoolNd, "LpPool"),
    (_M.dropout._DropoutNd, "Dropout"),
    (nn.Identity, "Identity"),
    (nn.Flatten, "Flatten"),
    (nn.Unflatten, "Reshape"),
    (
        (
            _M.padding._ConstantPadNd,
            _M.padding._ReflectionPadNd,
            _M.padding._ReplicationPadNd,
            _M.padding._CircularPadNd,
        ),
        "Pad",
    ),
    (nn.Upsample, "Upsample"),
    (nn.Embedding, "Gather"),
    (nn.ChannelShuffle, "ChannelShuffle"),
    (nn.PixelShuffle, "DepthToSpace"),
    (nn.PixelUnshuffle, "SpaceToDepth"),
)
#: Modules outside torch.nn known by class name.
_NAMED_MODULE_OPS = {"StochasticDepth": "Dropout"}
#: Extra FLOPs of a leaf module of these categories all belong to the category's class.
_CLASS_OF_CATEGORY = {"norm": "norm", "activation": "activation", "pooling": "pooling"}


def module_op(module: nn.Module) -> str | None:
    """Canonical op type of a leaf module from its class, or ``None`` when the class is unknown."""
    for types, op in _MODULE_OPS:
        if isinstance(module, types):
            return op
    return _NAMED_MODULE_OPS.get(type(module).__name__)


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


def _shape(t: torch.Tensor) -> Shape:
    return tuple(int(d) for d in t.shape)


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


class _Row:
    """A layer row being accumulated while the model runs."""

    __slots__ = (
        "activation",
        "elementwise",
        "input_bytes",
        "input_shapes",
        "kind",
        "macs",
        "module",
        "name",
        "norm",
        "op",
        "ops",
        "output_bytes",
        "output_shapes",
        "params",
        "pooling",
        "unsupported",
        "weight_bytes",
    )

    def __init__(self, name: str, op: str, kind: str, module: str) -> None:
        self.name, self.op, self.kind, self.module = name, op, kind, module
        self.input_shapes: list[Shape] = []
        self.output_shapes: list[Shape] = []
        self.macs = self.norm = self.activation = self.pooling = self.elementwise = 0
        self.params = self.weight_bytes = self.input_bytes = self.output_bytes = 0
        self.ops: list[str] = []
        self.unsupported: list[str] = []

    def add(self, cost: OpCost) -> None:
        self.macs += cost.macs
        self.norm += cost.norm
        self.activation += cost.activation
        self.pooling += cost.pooling
        self.elementwise += cost.elementwise

    def to_layer(self) -> Layer:
        norm, activation, pooling, elementwise = self.norm, self.activation, self.pooling, self.elementwise
        target = _CLASS_OF_CATEGORY.get(op_category(self.op))
        if target is not None:
            total = norm + activation + pooling + elementwise
            norm = total if target == "norm" else 0
            activation = total if target == "activation" else 0
            pooling = total if target == "pooling" else 0
            elementwise = 0
        return Layer(
            name=self.name,
            op=self.op,
            kind=self.kind,
            module=self.module,
            input_shapes=tuple(self.input_shapes),
            output_shapes=tuple(self.output_shapes),
            macs=self.macs,
            params=self.params,
            weight_bytes=self.weight_bytes,
            input_bytes=self.input_bytes,
            output_bytes=self.output_bytes,
            flops_norm=norm,
            flops_activation=activation,
            flops_pooling=pooling,
            flops_elementwise=elementwise,
            ops=tuple(self.ops),
            unsupported=tuple(dict.fromkeys(self.unsupported)),
        )


_COUNTED, _FREE, _HIDDEN, _UNSUPPORTED = 0, 1, 2, 3

#: Sliding-window layers: the network input must cover the window of the first one that runs.
_WINDOW_MODULES = (_M.conv.Conv1d, _M.conv.Conv2d, _M.conv.Conv3d, _M.pooling._MaxPoolNd, _M.pooling._AvgPoolNd)

MetaKernel = Callable[[Sequence[Any], dict[str, Any]], Any]


def _like(x: torch.Tensor) -> torch.Tensor:
    return x.new_empty(x.shape) if x.is_contiguous() else torch.empty_like(x)


def _meta_convolution(args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    if len(args) != 9:
        return NotImplemented
    x, weight, _, stride, padding, dilation, transposed, _, groups = args
    rank = weight.dim() - 2
    if (
        transposed
        or x.dim() != weight.dim()
        or not x.is_contiguous()
        or x.shape[1] != weight.shape[1] * groups
        or not (len(stride) == len(padding) == len(dilation) == rank)
    ):
        return NotImplemented  # PyTorch's own meta kernel computes (or rejects) the rest
    spatial = [
        f.conv_output_size(int(size), int(k), int(s), int(p), int(p), int(d))
        for size, k, s, p, d in zip(x.shape[2:], weight.shape[2:], stride, padding, dilation, strict=True)
    ]
    if any(n <= 0 for n in spatial):
        return NotImplemented
    return x.new_empty((x.shape[0], weight.shape[0], *spatial))


def _meta_batch_norm(args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    x, weight = args[0], args[1]
    training = args[5] if len(args) > 5 and isinstance(args[5], bool) else False
    channels = x.shape[1] if x.dim() > 1 else 1
    if training or (weight is not None and weight.shape[0] != channels):
        return NotImplemented  # let PyTorch's own meta kernel compute (or reject) it
    return _like(x), x.new_empty((channels,)), x.new_empty((channels,))


def _meta_unary(args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    return _like(args[0])


def _meta_unary_(args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    return args[0]


#: Shortcuts for common ops on meta tensors (convolution, batch norm, activations: most of a CNN's ops),
#: whose PyTorch meta kernels are slow Python decompositions; anything unusual goes to PyTorch's own.
_META_KERNELS: dict[str, MetaKernel] = {
    "aten.convolution": _meta_convolution,
    "aten.native_batch_norm": _meta_batch_norm,
    "aten._native_batch_norm_legit_no_training": lambda args, kwargs: _meta_batch_norm(
        (*args[:5], False, *args[5:]), kwargs
    ),
}
for _name in ("relu", "hardtanh", "silu", "sigmoid", "hardswish", "hardsigmoid", "gelu", "tanh"):
    _META_KERNELS[f"aten.{_name}"] = _meta_unary
    _META_KERNELS[f"aten.{_name}_"] = _meta_unary_


class _Recorder(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Dispatch mode plus module hooks that build the rows of one forward pass."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.names: dict[int, str] = {id(m): name for name, m in model.named_modules()}
        self.weights: dict[int, torch.Tensor] = {}
        for tensor in [*model.parameters(), *model.buffers()]:
            self.weights[id(tensor)] = tensor
        self.rows: list[_Row] = []
        self.seen: dict[str, int] = {}
        self.enclosing: list[str] = []
        self.leaf: _Row | None = None
        self.leaf_module: nn.Module | None = None
        self.leaf_depth = 0
        self.handler_errors: dict[str, str] = {}
        self._ops: dict[Any, tuple[str, int, OpHandler | None, MetaKernel | None]] = {}
        self.on_meta = False
        self.failed_in: tuple[str, nn.Module] | None = None
        self._weight_cache: dict[int, tuple[int, int]] = {}
        self.first_window: tuple[str, nn.Module, torch.Tensor | None] | None = None
        self.input_shapes: list[Shape] = []
        self.called: set[int] = set()

    # --- naming -------------------------------------------------------------------------------------

    def _unique(self, base: str) -> str:
        count = self.seen.get(base, 0) + 1
        self.seen[base] = count
        return base if count == 1 else f"{base}#{count}"

    # --- module hooks ------------------------------------------------------------------------------------

    def pre_hook(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if self.leaf_depth:
            self.leaf_depth += 1
            return
        name = self.names.get(id(module), "")
        if is_leaf(module):
            self.called.add(id(module))
            op = module_op(module) or ""
            row = _Row(self._unique(name or type(module).__name__), op, type(module).__name__, name.rpartition(".")[0])
            if self.first_window is None and isinstance(module, _WINDOW_MODULES):
                self.first_window = (row.name, module, next(_tensors((args, kwargs)), None))
            for t in _tensors((args, kwargs)):
                row.input_shapes.append(_shape(t))
                row.input_bytes += _nbytes(t)
            row.params, row.weight_bytes = self._weights_of(module)
            self.rows.append(row)
            self.leaf, self.leaf_module, self.leaf_depth = row, module, 1
        else:
            self.enclosing.append(name)

    def _weights_of(self, module: nn.Module) -> tuple[int, int]:
        """Parameters (count) and weight bytes (parameters and buffers, BN's step counter excepted)."""
        cached = self._weight_cache.get(id(module))
        if cached is None:
            params = nbytes = 0
            seen: set[int] = set()
            for key, tensor in [*module.named_parameters(), *module.named_buffers()]:
                if id(tensor) in seen or key.endswith("num_batches_tracked"):
                    continue
                seen.add(id(tensor))
                nbytes += _nbytes(tensor)
                if isinstance(tensor, nn.Parameter):
                    params += tensor.numel()
            cached = self._weight_cache[id(module)] = (params, nbytes)
        return cached

    def post_hook(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> None:
        if self.leaf_depth > 1:
            self.leaf_depth -= 1
            return
        if self.leaf_depth == 1 and module is self.leaf_module and self.leaf is not None:
            for t in _tensors(output):
                self.leaf.output_shapes.append(_shape(t))
                self.leaf.output_bytes += _nbytes(t)
            if not self.leaf.op:  # an unknown class without MACs: the type of its first op
                self.leaf.op = canonical_op(self.leaf.ops[0]) if self.leaf.ops else "Identity"
            self.leaf, self.leaf_module, self.leaf_depth = None, None, 0
            return
        if self.enclosing:
            self.enclosing.pop()

    # --- dispatch ---------------------------------------------------------------------------------------

    def _classify(self, func: Any) -> tuple[str, int, OpHandler | None, MetaKernel | None]:
        packet = str(func.overloadpacket)
        handler = HANDLERS.get(packet)
        if handler is not None:
            kind = _COUNTED
        elif packet in HIDDEN_OPS:
            kind = _HIDDEN
        elif packet in FREE_OPS:
            kind = _FREE
        else:
            kind = _UNSUPPORTED
        # only the default overload: others (out=, ...) have other signatures
        meta_kernel = _META_KERNELS.get(packet) if func._overloadname == "default" else None
        info = (packet, kind, handler, meta_kernel)
        self._ops[func] = info
        return info

    def __torch_dispatch__(
        self, func: Any, types: Any, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        kwargs = kwargs or {}
        packet, kind, handler, meta_kernel = self._ops.get(func) or self._classify(func)
        out = NotImplemented
        if meta_kernel is not None and self.on_meta and not kwargs:
            out = meta_kernel(args, kwargs)
        if out is NotImplemented:
            try:
                out = func(*args, **kwargs)
            except Exception:
                if self.failed_in is None and self.leaf is not None and self.leaf_module is not None:
                    self.failed_in = (self.leaf.name, self.leaf_module)
                raise
        if kind == _HIDDEN:
            return out
        cost: OpCost | None = None
        if handler is not None:
            try:
                cost = handler(args, kwargs, out)
            except Exception as exc:  # a handler must never break an analysis
                self.handler_errors.setdefault(packet, one_line(exc))
                kind = _UNSUPPORTED
        row = self.leaf
        if row is None:
            row = self._functional_row(packet, args, kwargs, out)
        row.ops.append(packet)
        if cost is not None:
            row.add(cost)
        if kind == _UNSUPPORTED:
            row.unsupported.append(packet)
        if self.leaf is not None and not self.leaf.op and cost is not None and cost.macs:
            # an unknown leaf class takes the type of its first MAC-carrying op
            self.leaf.op = canonical_op(packet, args)
        return out

    def _functional_row(self, packet: str, args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> _Row:
        op = canonical_op(packet, args)
        enclosing = self.enclosing[-1] if self.enclosing else ""
        base = f"{enclosing}.{op.lower()}" if enclosing else op.lower()
        row = _Row(self._unique(base), op, packet, enclosing)
        seen: set[int] = set()
        for t in _tensors((list(args), kwargs)):
            if id(t) in seen:
                continue
            seen.add(id(t))
            if id(t) in self.weights:
                row.weight_bytes += _nbytes(t)
                if isinstance(t, nn.Parameter):
                    row.params += t.numel()
            else:
                row.input_shapes.append(_shape(t))
                row.input_bytes += _nbytes(t)
        for t in _tensors(out):
            row.output_shapes.append(_shape(t))
            row.output_bytes += _nbytes(t)
        self.rows.append(row)
        return row


def _expects(module: nn.Module) -> str:
    """What a leaf module expects of its input, in words."""
    kind = type(module).__name__
    if isinstance(module, _M.conv._ConvNd):
        return f"{kind}, expects {module.in_channels} input channels"
    if isinstance(module, nn.Linear):
        return f"{kind}, expects {module.in_features} input features"
    if isinstance(module, _M.batchnorm._BatchNorm | _M.instancenorm._InstanceNorm):
        return f"{kind}, expects {module.num_features} channels"
    if isinstance(module, nn.LayerNorm):
        return f"{kind}, expects trailing dims {tuple(module.normalized_shape)}"
    return kind


def _window_error(recorder: _Recorder) -> str | None:
    """Why the network input is smaller than the window of its first convolution or pooling, if it is.

    PyTorch runs a padded convolution on an input smaller than its kernel (ResNet-18 takes a 2×2 image),
    but a network whose first window layer cannot fit once inside its input is meaningless to analyse.
    """
    if recorder.first_window is None:
        return None
    name, module, x = recorder.first_window
    if x is None:
        return None
    kernel, dilation = getattr(module, "kernel_size", 1), getattr(module, "dilation", 1)
    rank = x.dim() - 2 if x.dim() > 2 else 1
    kernels = (kernel,) * rank if isinstance(kernel, int) else tuple(kernel)
    dilations = (dilation,) * rank if isinstance(dilation, int) else tuple(dilation)
    extents = tuple(d * (k - 1) + 1 for k, d in zip(kernels, dilations, strict=False))
    spatial = tuple(int(d) for d in x.shape[-len(extents) :])
    if all(s >= e for s, e in zip(spatial, extents, strict=True)):
        return None
    if not any(shape[-len(spatial) :] == spatial for shape in recorder.input_shapes):
        return None  # the layer does not see the network input at full size: a design, not an input error
    window = "x".join(map(str, extents))
    size = "x".join(map(str, spatial))
    return f"its {size} input to layer {name} is smaller than that layer's {window} window"


class _ForwardError(Exception):
    """The model's forward pass raised; ``__cause__`` holds the original error."""


def _run(model: nn.Module, inputs: Sequence[torch.Tensor], on_meta: bool) -> _Recorder:
    recorder = _Recorder(model)
    recorder.on_meta = on_meta and all(t.is_meta for t in inputs)
    recorder.input_shapes = [_shape(t) for t in inputs]
    handles = []
    for module in model.modules():
        handles.append(module.register_forward_pre_hook(recorder.pre_hook, with_kwargs=True))
        handles.append(module.register_forward_hook(recorder.post_hook, with_kwargs=True, always_call=True))
    fastpath = torch.backends.mha.get_fastpath_enabled()
    try:
        torch.backends.mha.set_fastpath_enabled(False)  # see attention as projections + SDPA
        with (
            torch.no_grad(),
            torch.device("meta") if on_meta else contextlib.nullcontext(),
            recorder,
        ):
            try:
                model(*inputs)
            except Exception as exc:
                where = ""
                if recorder.failed_in is not None:
                    name, module = recorder.failed_in
                    where = f"layer {name} ({_expects(module)}) failed: "
                raise _ForwardError(where + one_line(exc)) from exc
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
        for handle in handles:
            handle.remove()
    return recorder


def _inputs(model: nn.Module, shapes: Shapes, on_meta: bool) -> list[torch.Tensor]:
    dtype, device = torch.float32, torch.device("meta" if on_meta else "cpu")
    for p in model.parameters():
        if p.is_floating_point():
            dtype = p.dtype
            if not on_meta:
                device = p.device
            break
    if on_meta:
        return [torch.empty(s, dtype=dtype, device="meta") for s in shapes]
    generator = torch.Generator().manual_seed(0)
    return [torch.randn(s, dtype=dtype, generator=generator).to(device) for s in shapes]


def _all_meta(model: nn.Module) -> bool:
    return all(t.is_meta for t in [*model.parameters(), *model.buffers()])


_META_WORDS = ("meta", "device", "data-dependent", "data dependent", "item()", "numpy", "not implemented")
_SHAPE_WORDS = (
    "size",
    "shape",
    "channel",
    "dimension",
    "expected",
    "mat1",
    "too small",
    "must match",
    "wrong image",
)


def _looks_like_shape_error(exc: BaseException | None) -> bool:
    if isinstance(exc, TypeError):  # too many or too few inputs for forward()
        return "argument" in str(exc)
    if not isinstance(exc, RuntimeError | ValueError | IndexError | AssertionError) or isinstance(
        exc, NotImplementedError
    ):
        return False
    text = str(exc).lower()
    return not any(w in text for w in _META_WORDS) and any(w in text for w in _SHAPE_WORDS)


def _fmt(shapes: Shapes) -> str:
    return ";".join(",".join(str(d) for d in s) for s in shapes)


def _shape_error(
    source: ModelSource, shapes: Shapes, default: Shapes | None, given: bool, error: str
) -> InputShapeError:
    what = f"input shape {_fmt(shapes)}" if given else f"default input shape {_fmt(shapes)}"
    hint = (
        f"the model's default input is {_fmt(default)}; give an --input-shape it accepts"
        if default is not None and given
        else "give an --input-shape the model accepts"
    )
    return InputShapeError(f"{what} does not fit {source.spec}: {error} ({hint})")


def analyze_module(
    model: nn.Module, input_shapes: Sequence[Sequence[int]], name: str = "module", on_meta: bool | None = None
) -> LayerTable:
    """Analyse an already built module.

    Args:
        model: the network (put in eval mode by the caller if it should be analysed in eval mode).
        input_shapes: shapes of its inputs.
        name: the ``model`` field of the table.
        on_meta: run on the meta device (default: when every parameter and buffer is on it).

    Returns:
        The layer table.

    Raises:
        InputShapeError: the forward pass failed for these shapes.
    """
    shapes = tuple(tuple(int(d) for d in s) for s in input_shapes)
    tensors = [*model.parameters(), *model.buffers()]
    meta = bool(tensors) and all(t.is_meta for t in tensors) if on_meta is None else on_meta
    try:
        inputs = _inputs(model, shapes, True) if meta else _cpu_inputs(model, shapes, name)
        recorder = _run(model, inputs, meta)
    except _ForwardError as exc:
        raise InputShapeError(f"input shape {_fmt(shapes)} does not fit {name}: {exc}") from exc.__cause__
    too_small = _window_error(recorder)
    if too_small:
        raise InputShapeError(f"input shape {_fmt(shapes)} does not fit {name}: {too_small}")
    return _table(name, shapes, model, recorder, "meta" if meta else "cpu")


def _cpu_inputs(model: nn.Module, shapes: Shapes, what: str) -> list[torch.Tensor]:
    """Random inputs on the model's device, once their memory is known to fit."""
    text = ";".join(",".join(map(str, s)) for s in shapes)
    check_memory(input_bytes(shapes), f"input shape {text} of {what}")
    return _inputs(model, shapes, False)


def _table(spec: str, shapes: Shapes, model: nn.Module, recorder: _Recorder, device: str) -> LayerTable:
    layers = tuple(row.to_layer() for row in recorder.rows)
    unsupported = sorted({op for layer in layers for op in layer.unsupported})
    if unsupported:
        where: dict[str, list[str]] = {}
        for layer in layers:
            for op in layer.unsupported:
                where.setdefault(op, []).append(layer.name)
        detail = "; ".join(
            f"{op} in {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}"
            + (f" (handler failed: {recorder.handler_errors[op]})" if op in recorder.handler_errors else "")
            for op, names in where.items()
        )
        warnings.warn(
            f"{spec}: {len(unsupported)} op type(s) have no counting formula, their work is not counted: {detail}",
            UnsupportedOpWarning,
            stacklevel=3,
        )
    params = sum(p.numel() for p in model.parameters())
    meta: dict[str, object] = {"device": device}
    uncalled = [name for name, module in leaf_modules(model) if id(module) not in recorder.called]
    if uncalled:
        meta["uncalled_layers"] = uncalled
    return LayerTable(
        model=spec,
        input_shapes=shapes,
        layers=layers,
        params=params,
        unsupported_ops=tuple(unsupported),
        frontend="torch",
        meta=meta,
    )


def analyze_source(
    source: ModelSource, shapes: Shapes | None, examples: Sequence[torch.Tensor] | None = None
) -> LayerTable:
    """Analyse a PyTorch model that :func:`synergy.graph.resolve.resolve_model` resolved.

    Args:
        source: how to build it (:meth:`synergy.graph.resolve.ResolvedModel.source`).
        shapes: input shapes; ``None`` for the model's default (torchvision: the weights' eval crop).
        examples: example input tensors to run the model on (their dtypes kept: token ids stay integers);
            they replace random inputs of ``shapes``.

    Returns:
        The layer table, rows in execution order.

    Raises:
        ModelSpecError: the spec cannot be resolved or the model cannot be built.
        InputShapeError: the model cannot run on the given (or default) input shape.
        GraphError: the analysis failed for another reason.
    """
    try:
        if examples is not None:
            return _analyze_examples(source, examples)
        return _analyze(source, shapes)
    except SynergyError:
        raise
    except Exception as exc:  # never a traceback for a model that builds
        raise GraphError(f"analysis of {source.spec} failed: {one_line(exc)}") from exc


def _analyze(source: ModelSource, shapes: Shapes | None) -> LayerTable:
    given = shapes is not None
    build_error: ModelSpecError | None = None
    if source.meta_ok:
        try:
            model: nn.Module | None = source.build(True)
        except ModelSpecError as exc:
            build_error, model = exc, None
        except Exception as exc:
            build_error, model = ModelSpecError(f"building {source.spec} failed: {one_line(exc)}"), None
        if model is not None and _all_meta(model):
            default = source.default_shapes or module_input_shapes(model)
            use = shapes or default
            try:
                recorder = _run(model, _inputs(model, use, True), True)
            except _ForwardError as exc:
                if _looks_like_shape_error(exc.__cause__):
                    raise _shape_error(source, use, source.default_shapes, given, str(exc)) from exc.__cause__
            else:
                return _checked_table(source, use, given, model, recorder, "meta")
    try:
        model = source.build(False)
    except ModelSpecError:
        raise
    except Exception as exc:
        raise build_error or ModelSpecError(f"building {source.spec} failed: {one_line(exc)}") from exc
    default = source.default_shapes or module_input_shapes(model)
    use = shapes or default
    try:
        recorder = _run(model, _cpu_inputs(model, use, source.spec), False)
    except _ForwardError as exc:
        raise _shape_error(source, use, source.default_shapes, given, str(exc)) from exc.__cause__
    return _checked_table(source, use, given, model, recorder, "cpu")


def _analyze_examples(source: ModelSource, examples: Sequence[torch.Tensor]) -> LayerTable:
    model = source.build(False)
    use = tuple(_shape(t) for t in examples)
    meta = bool(examples) and all(t.is_meta for t in examples)
    try:
        recorder = _run(model, list(examples), meta)
    except _ForwardError as exc:
        raise _shape_error(source, use, source.default_shapes, True, str(exc)) from exc.__cause__
    return _checked_table(source, use, True, model, recorder, "meta" if meta else "cpu")


def _checked_table(
    source: ModelSource, shapes: Shapes, given: bool, model: nn.Module, recorder: _Recorder, device: str
) -> LayerTable:
    too_small = _window_error(recorder)
    if too_small:
        raise _shape_error(source, shapes, source.default_shapes, given, too_small)
    return _table(source.spec, shapes, model, recorder, device)
