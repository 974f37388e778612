"""Building PyTorch modules cheaply: the :class:`ModelSource` factories of :mod:`synergy.graph.resolve`.

A :class:`ModelSource` builds the module (on the meta device when asked, so that no weight is allocated or
initialised) and knows the model's default input shapes. ``torchvision:NAME`` is constructed exactly as its
``DEFAULT`` weights define it (number of classes, image size, Inception's input transform and auxiliary
head) but with ``weights=None``; its default input is the weights' evaluation crop. Which model a spec
names is decided by :func:`synergy.graph.resolve.resolve_model`, the only resolver.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from synergy.errors import ModelSpecError
from synergy.graph.resolve import DEFAULT_INPUT_SHAPE, declared_input_shapes, one_line

__all__ = [
    "DEFAULT_INPUT_SHAPE",
    "ModelSource",
    "build_on_meta",
    "meta_weights",
    "module_input_shapes",
    "one_line",
    "torchvision_models",
    "torchvision_source",
]

Shapes = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class ModelSource:
    """How to build one model, and its default input.

    Attributes:
        spec: the MODEL spec text.
        build: ``build(meta)`` returns the module in eval mode; with ``meta=True`` it is built under
            ``torch.device("meta")`` (no memory, no initialisation), which may fail for some models.
        default_shapes: the model's default input shapes (``None``: ask the built module, see
            :func:`module_input_shapes`).
        meta_ok: whether building on the meta device is worth trying.
    """

    spec: str
    build: Callable[[bool], nn.Module]
    default_shapes: Shapes | None
    meta_ok: bool = True


@contextlib.contextmanager
def meta_weights() -> Iterator[None]:
    """Move every parameter and buffer to the meta device as modules register them.

    Unlike ``torch.device("meta")``, other tensors a constructor computes stay on the CPU, so builders that
    read tensor values (RegNet's block widths, for instance) still work; each weight is allocated (not
    initialised) only until it is registered, and initialisers then run on meta tensors at no cost.
    """
    register_parameter = nn.Module.register_parameter
    register_buffer = nn.Module.register_buffer

    def parameter_to_meta(self: nn.Module, name: str, param: nn.Parameter | None) -> None:
        if param is not None and type(param) is nn.Parameter and not param.is_meta:
            param = nn.Parameter(param.detach().to("meta"), requires_grad=param.requires_grad)
        register_parameter(self, name, param)

    def buffer_to_meta(self: nn.Module, name: str, tensor: torch.Tensor | None, persistent: bool = True) -> None:
        if tensor is not None and not tensor.is_meta:
            tensor = tensor.to("meta")
        register_buffer(self, name, tensor, persistent)

    nn.Module.register_parameter = parameter_to_meta  # type: ignore[method-assign]
    nn.Module.register_buffer = buffer_to_meta  # type: ignore[method-assign]
    try:
        yield
    finally:
        nn.Module.register_parameter = register_parameter  # type: ignore[method-assign]
        nn.Module.register_buffer = register_buffer  # type: ignore[method-assign]


#: In-place initialisers that only write values: on a meta tensor they have nothing to do.
_INIT_OPS = frozenset(
    f"aten.{name}"
    for name in (
        "normal_",
        "uniform_",
        "fill_",
        "zero_",
        "erfinv_",
        "mul_",
        "add_",
        "sub_",
        "div_",
        "clamp_",
        "copy_",
        "exponential_",
        "bernoulli_",
        "random_",
        "log_normal_",
        "cauchy_",
        "geometric_",
    )
)


class _SkipMetaInit(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Skip weight initialisation on meta tensors (PyTorch runs it through slow Python meta kernels)."""

    def __torch_dispatch__(
        self, func: Any, types: Any, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        if args and isinstance(args[0], torch.Tensor) and args[0].is_meta and str(func.overloadpacket) in _INIT_OPS:
            return args[0]
        return func(*args, **(kwargs or {}))


def build_on_meta(factory: Callable[[], nn.Module]) -> nn.Module:
    """Build a module with meta weights: under ``torch.device("meta")``, else under :func:`meta_weights`.

    Initialisers are skipped (meta tensors hold no values), which makes building large models cheap.
    """
    try:
        with torch.device("meta"), _SkipMetaInit():  # type: ignore[no-untyped-call]
            return factory()
    except ModelSpecError:
        raise
    except Exception:
        with meta_weights(), _SkipMetaInit():  # type: ignore[no-untyped-call]
            return factory()


def torchvision_models() -> list[str]:
    """Names of torchvision's classification models (``torchvision.models.list_models``)."""
    import torchvision

    return list(torchvision.models.list_models(module=torchvision.models))


def torchvision_source(spec: str, name: str) -> ModelSource:
    """How to build torchvision's classification model ``name`` (a name :func:`torchvision_models` lists)."""
    import torchvision

    weights = torchvision.models.get_model_weights(name).DEFAULT
    meta = weights.meta
    kwargs: dict[str, Any] = {"num_classes": len(meta["categories"])}
    # What each builder overrides when given its weights (torchvision/models/*.py, `_ovewrite_named_param`).
    if name.startswith("vit_"):
        kwargs["image_size"] = int(meta["min_size"][0])
    elif name.startswith("maxvit_"):
        kwargs["input_size"] = tuple(meta["min_size"])
    elif name == "inception_v3":
        kwargs.update(transform_input=True, aux_logits=True, init_weights=False)
    elif name == "googlenet":
        # The builder constructs the auxiliary heads to load the checkpoint, then drops them.
        kwargs.update(transform_input=True, aux_logits=False, init_weights=False)
    crop = int(weights.transforms().crop_size[0])

    def make() -> nn.Module:
        model: nn.Module = torchvision.models.get_model(name, weights=None, **kwargs)
        return model.eval()

    def build(on_meta: bool) -> nn.Module:
        return build_on_meta(make) if on_meta else make()

    return ModelSource(spec, build, ((1, 3, crop, crop),))


def module_input_shapes(module: nn.Module) -> tuple[tuple[int, ...], ...]:
    """Default input of a built module: its ``input_shape`` attribute, else :data:`DEFAULT_INPUT_SHAPE`."""
    return declared_input_shapes(module) or (DEFAULT_INPUT_SHAPE,)
