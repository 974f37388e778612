"""Build PyTorch models from MODEL specs, without downloading anything.

A spec resolves to a :class:`ModelSource`: a factory that builds the module (on the meta device when asked,
so that no weight is allocated or initialised) and the model's default input shapes.

- ``torchvision:NAME``: a classification model of torchvision's registry, constructed exactly as its
  ``DEFAULT`` weights define it (number of classes, image size, Inception's input transform and auxiliary
  head) but with ``weights=None``; the default input is the weights' evaluation crop.
- ``package.module:callable``: a callable returning an ``nn.Module`` (or a module instance), importable from
  the current directory or ``PYTHONPATH``. The default input is the module's ``input_shape`` attribute if
  it has one, else ``1×3×224×224``.
- ``nb201:ARCH``: a NAS-Bench-201 cell, built by :mod:`synergy.graph.nb201`.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from synergy.errors import ModelSpecError
from synergy.graph.spec import ModelSpec

__all__ = [
    "DEFAULT_INPUT_SHAPE",
    "ModelSource",
    "build_on_meta",
    "meta_weights",
    "module_input_shapes",
    "one_line",
    "resolve_model",
    "torchvision_models",
]

Shapes = tuple[tuple[int, ...], ...]

#: Input of a ``package.module:callable`` model that declares none.
DEFAULT_INPUT_SHAPE: tuple[int, ...] = (1, 3, 224, 224)


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


def _close(name: str, names: list[str]) -> str:
    matches = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    if not matches:
        matches = [n for n in names if n.startswith(name[:3])][:5]
    return f"did you mean {', '.join(matches)}? " if matches else ""


def _torchvision_source(spec: ModelSpec) -> ModelSource:
    import torchvision

    name = spec.target.strip()
    names = torchvision_models()
    if name not in names:
        raise ModelSpecError(
            f"unknown torchvision model {name!r}: {_close(name, names)}"
            "(classification models: torchvision.models.list_models(module=torchvision.models))"
        )
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

    return ModelSource(spec.text, build, ((1, 3, crop, crop),))


@contextlib.contextmanager
def _cwd_on_path() -> Iterator[None]:
    cwd = os.getcwd()
    added = cwd not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        yield
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(cwd)


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` of an exception, at most 240 characters of message."""
    text = str(exc).strip().splitlines()
    first = text[0].strip() if text else ""
    if len(first) > 240:
        first = first[:237] + "..."
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _callable_source(spec: ModelSpec) -> ModelSource:
    module_name, _, attr_path = spec.target.partition(":")
    with _cwd_on_path():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            missing = exc.name or module_name
            raise ModelSpecError(
                f"cannot import {module_name!r} for MODEL {spec.text}: no module named {missing!r} "
                "(run from the folder that holds it, or add that folder to PYTHONPATH)"
            ) from exc
        except Exception as exc:
            raise ModelSpecError(f"importing {module_name!r} for MODEL {spec.text} failed: {one_line(exc)}") from exc
    obj: Any = module
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            public = [n for n in dir(obj) if not n.startswith("_")]
            raise ModelSpecError(
                f"{module_name!r} has no attribute {attr_path!r}: {_close(part, public)}"
                "(MODEL is package.module:callable)"
            )
        obj = getattr(obj, part)
    target = obj
    if isinstance(target, nn.Module):
        instance = target

        def build_instance(on_meta: bool) -> nn.Module:
            return instance.eval()

        return ModelSource(spec.text, build_instance, None, meta_ok=False)
    if not callable(target):
        raise ModelSpecError(
            f"{spec.target} is a {type(target).__name__}, not a callable: "
            "name a function or class that returns a torch.nn.Module"
        )

    def make() -> nn.Module:
        with _cwd_on_path():
            result = target()
        if not isinstance(result, nn.Module):
            raise ModelSpecError(
                f"{spec.target}() returned a {type(result).__name__}, not a torch.nn.Module: "
                "name a callable that builds the network"
            )
        return result.eval()

    def build(on_meta: bool) -> nn.Module:
        try:
            return build_on_meta(make) if on_meta else make()
        except ModelSpecError:
            raise
        except Exception as exc:
            raise ModelSpecError(f"calling {spec.target}() failed: {one_line(exc)}") from exc

    return ModelSource(spec.text, build, None)


def _nb201_source(spec: ModelSpec, shapes: Shapes | None = None) -> ModelSource:
    try:
        from synergy.graph.nb201 import build_nb201, nb201_input_shapes
    except ImportError as exc:
        raise ModelSpecError(
            f"MODEL {spec.text}: NAS-Bench-201 cells are not available in this installation ({one_line(exc)})"
        ) from exc

    def make() -> nn.Module:
        module: nn.Module = build_nb201(spec.target, shapes)[0]
        return module.eval()

    def build(on_meta: bool) -> nn.Module:
        return build_on_meta(make) if on_meta else make()

    default: Shapes = nb201_input_shapes(spec.target, shapes)
    return ModelSource(spec.text, build, default)


def _as_shapes(value: Any) -> list[Any]:
    if isinstance(value, list | tuple) and value and all(isinstance(d, int) for d in value):
        return [value]
    return list(value)


def module_input_shapes(module: nn.Module) -> Shapes:
    """Default input of a built module: its ``input_shape`` attribute, else :data:`DEFAULT_INPUT_SHAPE`."""
    declared = getattr(module, "input_shape", None)
    if declared is not None:
        try:
            return tuple(tuple(int(d) for d in s) for s in _as_shapes(declared))
        except (TypeError, ValueError):
            pass
    return (DEFAULT_INPUT_SHAPE,)


def resolve_model(spec: ModelSpec, shapes: Shapes | None = None) -> ModelSource:
    """Resolve a ``torchvision``, ``callable`` or ``nb201`` spec into a :class:`ModelSource`.

    Raises:
        ModelSpecError: unknown zoo name, import failure, missing attribute, non-callable.
    """
    if spec.kind == "torchvision":
        return _torchvision_source(spec)
    if spec.kind == "callable":
        return _callable_source(spec)
    if spec.kind == "nb201":
        return _nb201_source(spec, shapes)
    raise ModelSpecError(f"MODEL {spec.text} is not a PyTorch model spec (torchvision:NAME or package.module:callable)")
