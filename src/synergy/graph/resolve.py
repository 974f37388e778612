"""The one MODEL resolver: every command, runtime and the Python API turn a model into a :class:`ResolvedModel` here.

Accepted models:

- ``path.onnx`` (a ``str`` or a path; weights may sit in external data files beside it, as PyTorch's
  default exporter writes them: ``model.onnx`` + ``model.onnx.data``);
- ``torchvision:NAME``: a classification model of torchvision, built as its default weights define it, with
  random weights (nothing is downloaded); default input: the weights' evaluation crop;
- ``nb201:ARCH[,classes=K,channels=C,cells=N]``: a NAS-Bench-201 network (:mod:`synergy.graph.nb201`);
- ``package.module:callable``: a callable returning an ``nn.Module`` (or a module instance), imported from
  the current directory or ``PYTHONPATH``; default input: the ``input_shape`` attribute of the callable or
  of the module it builds (the built-in CIFAR nets declare theirs), else ``1×3×224×224``;
- in the Python API, an ``nn.Module`` or an ``onnx.ModelProto`` object (with an example input or shapes).

A ``module:callable`` imports and runs Python code. A spec read from a data file (``origin`` names it: a
CSV's ``model`` column, ``run.json``, a zoo or study file) is refused with :class:`UntrustedCodeError` unless
the caller passes ``trust_code=True``; the networks of :mod:`synergy.zoo` are part of this package and always
allowed. ``sys.path`` is restored after every import.

Every resolved model has a content :attr:`~ResolvedModel.fingerprint` (the ONNX file's size and modification
time, the module file's hash, the torch and torchvision versions), which keys cached layer tables and
exported ONNX files, so that an edited model is never served from a stale file.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import hashlib
import importlib
import importlib.metadata
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synergy.atomic import atomic_path
from synergy.errors import InputShapeError, ModelSpecError, SynergyError, UntrustedCodeError
from synergy.graph.spec import ModelSpec, check_memory, input_bytes, parse_model_spec

if TYPE_CHECKING:
    from torch import nn

    from synergy.graph.layers import LayerTable
    from synergy.graph.torch_models import ModelSource

__all__ = [
    "DEFAULT_INPUT_SHAPE",
    "TRUSTED_PACKAGES",
    "ResolvedModel",
    "as_shapes",
    "check_code_trust",
    "declared_input_shapes",
    "one_line",
    "resolve_model",
]

Shape = tuple[int, ...]
Shapes = tuple[Shape, ...]

#: Input of a ``package.module:callable`` model that declares none.
DEFAULT_INPUT_SHAPE: Shape = (1, 3, 224, 224)

#: Packages whose callables a data file may name: they ship with SyNERGY.
TRUSTED_PACKAGES: tuple[str, ...] = ("synergy.zoo",)

#: Opset of the ONNX files exported from PyTorch models.
EXPORT_OPSET = 17


@functools.cache
def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return ""


def _digest(parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _close(name: str, names: Sequence[str]) -> str:
    matches = difflib.get_close_matches(name, list(names), n=5, cutoff=0.5)
    if not matches:
        matches = [n for n in names if n.startswith(name[:3])][:5]
    return f"did you mean {', '.join(matches)}? " if matches else ""


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` of an exception, at most 240 characters of message."""
    text = str(exc).strip().splitlines()
    first = text[0].strip() if text else ""
    if len(first) > 240:
        first = first[:237] + "..."
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def as_shapes(value: Any) -> Shapes | None:
    """Input shapes from shapes, one shape, a tensor, or a tuple/list of tensors (``None`` stays ``None``).

    Raises:
        InputShapeError: something that is neither shapes nor tensors, or a non-positive dimension.
    """
    if value is None:
        return None
    if hasattr(value, "shape") and not isinstance(value, list | tuple):
        value = (value,)
    items = list(value)
    if items and all(isinstance(d, int) for d in items):
        items = [items]
    try:
        shapes = tuple(tuple(int(d) for d in (s.shape if hasattr(s, "shape") else s)) for s in items)
    except (TypeError, ValueError) as exc:
        raise InputShapeError(
            f"input {value!r} is neither shapes like [(1, 3, 224, 224)] nor example tensors: {one_line(exc)}"
        ) from exc
    if not shapes or any(not s or min(s) < 1 for s in shapes):
        raise InputShapeError(f"input shapes {shapes} are empty or have a dimension below 1")
    return shapes


# --------------------------------------------------------------------------------------- code from data
def _trusted_module(module_name: str) -> bool:
    return any(module_name == p or module_name.startswith(p + ".") for p in TRUSTED_PACKAGES)


def _check_trust(spec: ModelSpec, origin: str | None, trust_code: bool) -> None:
    if spec.kind != "callable" or origin is None or trust_code:
        return
    module_name = spec.target.partition(":")[0]
    if not _trusted_module(module_name):
        raise UntrustedCodeError(
            f"MODEL {spec.text!r} from {origin} would import and run the Python module {module_name!r}: "
            "code named in a data file runs only when code from data files is trusted"
        )


def check_code_trust(model: str, origin: str | None, trust_code: bool = False) -> None:
    """Refuse a MODEL spec read from ``origin`` that would import Python code, unless ``trust_code``.

    Only the kind of the spec is looked at: nothing is imported, and a spec that matches no form is left to
    :func:`resolve_model` to report.

    Raises:
        UntrustedCodeError: a ``module:callable`` outside :data:`TRUSTED_PACKAGES`, from a data file.
    """
    try:
        spec = parse_model_spec(model)
    except ModelSpecError:
        return
    _check_trust(spec, origin, trust_code)


@contextlib.contextmanager
def _import_path() -> Iterator[None]:
    """The current directory first on ``sys.path`` while importing; ``sys.path`` restored afterwards."""
    saved = list(sys.path)
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        yield
    finally:
        sys.path[:] = saved


#: Hash of each module's file when this resolver imported it: a changed file is imported again.
_IMPORTED: dict[str, str] = {}


def _module_file(module_name: str) -> Path | None:
    """The file a module would be imported from, found without importing anything.

    A module imported by someone else (the user's own ``import``) is that module's file; one this resolver
    imported, or none yet, is the file the search path finds now (the current directory first), so that a
    module of the same name in another folder is not taken for it."""
    loaded = sys.modules.get(module_name)
    if loaded is not None and module_name not in _IMPORTED and getattr(loaded, "__file__", None):
        return Path(str(loaded.__file__))
    parts = module_name.split(".")
    for entry in [os.getcwd(), *sys.path]:
        base = Path(entry or os.getcwd()).joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def _file_hash(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def _import(spec: ModelSpec, module_name: str) -> Any:
    importlib.invalidate_caches()
    with _import_path():
        try:
            module = sys.modules.get(module_name)
            if module is not None and module_name in _IMPORTED:
                found = _module_file(module_name)
                loaded = getattr(module, "__file__", None)
                if found is not None and (loaded is None or Path(loaded).resolve() != found.resolve()):
                    del sys.modules[module_name]  # a module of that name in another folder now
                    module = importlib.import_module(module_name)
                elif _file_hash(found) != _IMPORTED[module_name]:
                    module = importlib.reload(module)
            else:
                module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            missing = exc.name or module_name
            raise ModelSpecError(
                f"cannot import {module_name!r} for MODEL {spec.text}: no module named {missing!r} "
                "(run from the folder that holds it, or add that folder to PYTHONPATH)"
            ) from exc
        except Exception as exc:  # an import runs arbitrary code
            raise ModelSpecError(f"importing {module_name!r} for MODEL {spec.text} failed: {one_line(exc)}") from exc
    _IMPORTED[module_name] = _file_hash(_module_file(module_name))
    return module


# ------------------------------------------------------------------------------------------ sources
def _torchvision_source(spec: ModelSpec) -> ModelSource:
    from synergy.graph.torch_models import torchvision_models, torchvision_source

    name = spec.target.strip()
    names = torchvision_models()
    if name not in names:
        raise ModelSpecError(
            f"unknown torchvision model {name!r}: {_close(name, names)}"
            "(classification models: torchvision.models.list_models(module=torchvision.models))"
        )
    return torchvision_source(spec.text, name)


def declared_input_shapes(obj: Any) -> Shapes | None:
    """The ``input_shape`` attribute of a model, its callable or its class, as shapes (``None``: none usable)."""
    declared = getattr(obj, "input_shape", None)
    if declared is None:
        return None
    try:
        return as_shapes(declared)
    except InputShapeError:
        return None


def _callable_source(spec: ModelSpec) -> ModelSource:
    from torch import nn

    from synergy.graph.torch_models import ModelSource, build_on_meta

    module_name, _, attr_path = spec.target.partition(":")
    obj: Any = _import(spec, module_name)
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
        return ModelSource(spec.text, lambda on_meta: instance.eval(), declared_input_shapes(instance), meta_ok=False)
    if not callable(target):
        raise ModelSpecError(
            f"{spec.target} is a {type(target).__name__}, not a callable: "
            "name a function or class that returns a torch.nn.Module"
        )

    def make() -> nn.Module:
        with _import_path():
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
        except Exception as exc:  # the user's code may raise anything
            raise ModelSpecError(f"calling {spec.target}() failed: {one_line(exc)}") from exc

    return ModelSource(spec.text, build, declared_input_shapes(target))


def _nb201_source(spec: ModelSpec, shapes: Shapes | None) -> ModelSource:
    from synergy.graph.nb201 import build_nb201, nb201_input_shapes
    from synergy.graph.torch_models import ModelSource, build_on_meta

    default: Shapes = nb201_input_shapes(spec.target, shapes)

    def make() -> nn.Module:
        module: nn.Module = build_nb201(spec.target, shapes)[0]
        return module.eval()

    def build(on_meta: bool) -> nn.Module:
        return build_on_meta(make) if on_meta else make()

    return ModelSource(spec.text, build, default)


# ------------------------------------------------------------------------------------------ the model
class ResolvedModel:
    """A model ready for the analysis and the runtimes.

    Attributes:
        name: the spec text (``torchvision:resnet18``), or the class name of an in-memory model.
        kind: ``onnx`` (a file), ``torchvision``, ``nb201``, ``callable``, ``module`` (an in-memory
            ``nn.Module``) or ``proto`` (an in-memory ``onnx.ModelProto``).
        example_shapes: the shapes of the example input given with an in-memory model, if any.
    """

    def __init__(
        self,
        name: str,
        kind: str,
        fingerprint: str | Callable[[], str],
        *,
        spec: ModelSpec | None = None,
        obj: Any = None,
        example_shapes: Shapes | None = None,
    ) -> None:
        self.name, self.kind = name, kind
        self._fingerprint = fingerprint
        self.spec = spec
        self.example_shapes = example_shapes
        self._examples: tuple[Any, ...] | None = None
        self._obj = obj
        self._sources: dict[Shapes | None, ModelSource] = {}
        self._defaults: Shapes | None = None

    @property
    def fingerprint(self) -> str:
        """A hash of everything the model's content depends on (see the module docstring)."""
        if callable(self._fingerprint):
            self._fingerprint = self._fingerprint()
        return self._fingerprint

    def __repr__(self) -> str:
        return f"ResolvedModel({self.name!r}, kind={self.kind!r})"

    @property
    def is_onnx(self) -> bool:
        """Whether the model is an ONNX graph (a file or a ``ModelProto``), not a PyTorch module."""
        return self.kind in ("onnx", "proto")

    @property
    def onnx_path(self) -> Path | None:
        """The ONNX file of an ``onnx`` model."""
        return Path(self.spec.target) if self.kind == "onnx" and self.spec is not None else None

    # --- PyTorch ----------------------------------------------------------------------------------
    def source(self, shapes: Shapes | None = None) -> ModelSource:
        """How to build the PyTorch module (imports a ``module:callable`` on first use).

        Raises:
            ModelSpecError: an ONNX model, an unknown name, a failed import, a missing attribute.
        """
        key = shapes if self.kind == "nb201" else None
        if key not in self._sources:
            self._sources[key] = self._make_source(key)
        return self._sources[key]

    def _make_source(self, shapes: Shapes | None) -> ModelSource:
        from synergy.graph.torch_models import ModelSource

        if self.kind == "module":
            module = self._obj
            return ModelSource(self.name, lambda on_meta: module.eval(), self.example_shapes, meta_ok=False)
        makers = {"torchvision": _torchvision_source, "callable": _callable_source}
        if self.spec is not None and self.kind in makers:
            return makers[self.kind](self.spec)
        if self.spec is not None and self.kind == "nb201":
            return _nb201_source(self.spec, shapes)
        raise ModelSpecError(
            f"{self.name} is an ONNX model, not a PyTorch one: the PyTorch runtime needs torchvision:NAME, "
            "nb201:ARCH, package.module:callable or an nn.Module"
        )

    def build_torch(self, shapes: Shapes | None = None, *, on_meta: bool = False) -> nn.Module:
        """The PyTorch module in eval mode (random weights; ``on_meta``: no memory, no initialisation).

        Raises:
            ModelSpecError: the model is ONNX, cannot be imported or built, or its callable raised.
        """
        source = self.source(shapes)
        try:
            return source.build(on_meta)
        except SynergyError:
            raise
        except Exception as exc:  # a builder may raise anything
            raise ModelSpecError(f"building {self.name} failed: {one_line(exc)}") from exc

    # --- inputs -------------------------------------------------------------------------------------
    def default_input_shapes(self) -> Shapes | None:
        """The model's own input: the example's, the declared ``input_shape``, the zoo default (torchvision's
        crop, NAS-Bench-201's 32×32), ``1×3×224×224`` for a module that declares none; for ONNX, the graph's
        static input shapes (``None`` when one of them is dynamic).

        Raises:
            ModelSpecError: the model cannot be resolved or built.
        """
        if self._defaults is None:
            self._defaults = self._find_defaults()
        return self._defaults

    def _find_defaults(self) -> Shapes | None:
        if self.example_shapes is not None:
            return self.example_shapes
        if self.is_onnx:
            return _onnx_static_shapes(self._proto_skeleton())
        declared = self.source().default_shapes
        if declared is not None:
            return declared
        try:
            module = self.build_torch(on_meta=True)
        except ModelSpecError:
            module = self.build_torch()
        return declared_input_shapes(module) or (DEFAULT_INPUT_SHAPE,)

    def input_shapes(self, given: Any = None) -> Shapes:
        """``given`` (shapes or example tensors) checked, else :meth:`default_input_shapes`.

        Raises:
            InputShapeError: malformed shapes, or an ONNX model with dynamic inputs and no shapes given.
        """
        shapes = as_shapes(given)
        if shapes is not None:
            if self.kind == "nb201" and self.spec is not None:
                from synergy.graph.nb201 import nb201_input_shapes

                return nb201_input_shapes(self.spec.target, shapes)
            return shapes
        default = self.default_input_shapes()
        if default is None:
            raise InputShapeError(f"{self.name} has a dynamic input dimension: give its input shapes")
        return default

    def check_memory(self, shapes: Shapes, table: LayerTable | None = None, limit_bytes: int | None = None) -> int:
        """Estimate the memory one inference needs and refuse it when it cannot fit, before any allocation.

        The estimate is the inputs, plus (given the layer table) the weights and the largest layer's input
        and output together.

        Returns:
            The estimate, bytes.

        Raises:
            InputShapeError: the estimate is above the machine's memory (or ``limit_bytes``).
        """
        needed = input_bytes(shapes)
        if table is not None:
            weights = sum(layer.weight_bytes for layer in table.layers)
            largest = max((layer.input_bytes + layer.output_bytes for layer in table.layers), default=0)
            needed += weights + largest
        text = ";".join(",".join(map(str, s)) for s in shapes)
        check_memory(needed, f"input shape {text} of {self.name}", limit_bytes)
        return needed

    # --- analysis -----------------------------------------------------------------------------------
    def analyze(self, shapes: Any = None) -> LayerTable:
        """The layer table of the model (see :func:`synergy.analyze`).

        Raises:
            ModelSpecError, InputShapeError, GraphError: as :func:`synergy.analyze`.
        """
        given = as_shapes(shapes)
        if self.kind == "onnx" and self.spec is not None:
            from synergy.graph.onnx_frontend import analyze_onnx

            table: LayerTable = analyze_onnx(self.spec, given)
            return table
        if self.kind == "proto":
            from synergy.graph.onnx_frontend import analyze_onnx_file

            with tempfile.TemporaryDirectory(prefix="synergy-onnx-") as folder:
                table = analyze_onnx_file(self.onnx_file(Path(folder)), given, model_name=self.name)
            return table
        from synergy.graph.torch_frontend import analyze_source

        examples = _tensors(shapes)
        if self.kind != "module":
            return analyze_source(self.source(given), given, examples)
        modes = [(m, m.training) for m in self._obj.modules()]
        try:  # the caller's module is left in the mode it was in
            return analyze_source(self.source(), given or self.example_shapes, examples or self._examples)
        finally:
            for module, training in modes:
                module.training = training

    # --- ONNX ------------------------------------------------------------------------------------------
    def onnx_file(self, folder: Path, shapes: Any = None) -> Path:
        """An ONNX file of the model, self-contained where it can be: a file in ``folder`` named by the model's
        content and input (``model-<hash>.onnx``), written atomically, reused only when that content matches
        (a stale export of another model or input is never reused). An ``onnx`` model is its own file, or,
        when its weights are external data (PyTorch's default exporter), a single-file copy with the weights
        inline (below 2 GiB; above, its own file).

        PyTorch models are exported with the TorchScript exporter (opset 17, input ``input``, output
        ``output``): fast, and node names such as ``/layer1/layer1.0/conv1/Conv``.

        Raises:
            ModelSpecError: the model cannot be built or exported.
            InputShapeError: the shapes do not fit the model, or cannot fit in memory.
        """
        folder = Path(folder)
        if self.kind == "onnx" and self.onnx_path is not None:
            own = self.onnx_path
            if not _has_external_data(self._proto_skeleton()) or _external_bytes(own) >= _INLINE_BELOW_BYTES:
                return own
        if self.is_onnx:
            path = folder / f"model-{_digest([self.fingerprint])[:16]}.onnx"
            if not path.is_file():
                proto = self.load_onnx()
                folder.mkdir(parents=True, exist_ok=True)
                with atomic_path(path) as tmp:
                    _save_proto(proto, tmp)
            return path
        use = self.input_shapes(shapes)
        key = _digest([self.fingerprint, [list(s) for s in use], EXPORT_OPSET, _version("torch")])
        path = folder / f"model-{key[:16]}.onnx"
        if not path.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            self.export_onnx(use, path)
        return path

    def export_onnx(self, shapes: Shapes, path: Path) -> Path:
        """Export the PyTorch model to ONNX at ``path`` (always written, atomically); see :meth:`onnx_file`.

        Raises:
            ModelSpecError: the model cannot be built or exported.
            InputShapeError: the shapes do not fit the model, or cannot fit in memory.
        """
        import torch

        self.check_memory(shapes)
        model = self.build_torch(shapes)
        generator = torch.Generator().manual_seed(0)
        examples = tuple(torch.randn(*s, generator=generator) for s in shapes)
        try:
            with atomic_path(Path(path)) as tmp, warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    model,
                    examples,
                    str(tmp),
                    dynamo=False,
                    opset_version=EXPORT_OPSET,
                    input_names=["input"] if len(shapes) == 1 else [f"input{i}" for i in range(len(shapes))],
                    output_names=["output"],
                )
        except Exception as exc:  # the exporter raises many unrelated types
            self.analyze(shapes)  # a shape that does not fit is said in the analysis's words
            raise ModelSpecError(f"cannot export {self.name} to ONNX: {one_line(exc)}") from exc
        return Path(path)

    def load_onnx(self) -> Any:
        """The ``onnx.ModelProto`` of an ONNX model, external data included.

        Raises:
            ModelSpecError: not an ONNX model, or a file that cannot be read.
        """
        import onnx

        if self.kind == "proto":
            return self._obj
        path = self.onnx_path
        if path is None:
            raise ModelSpecError(f"{self.name} is a PyTorch model: export it with onnx_file() first")
        from synergy.graph.onnx_graph import load_model

        load_model(path)  # the checks, in their words
        try:
            return onnx.load(str(path), load_external_data=True)
        except Exception as exc:  # protobuf and onnx raise their own types
            raise ModelSpecError(f"cannot load {path} with its external data: {one_line(exc)}") from exc

    def _proto_skeleton(self) -> Any:
        if self.kind == "proto":
            return self._obj
        from synergy.graph.onnx_graph import load_model

        assert self.onnx_path is not None
        return load_model(self.onnx_path)


#: External weights below this size are put inline in a self-contained copy (protobuf's limit is 2 GiB).
_INLINE_BELOW_BYTES = 2**31 - 2**26


def _has_external_data(proto: Any) -> bool:
    return any(t.data_location == 1 for t in proto.graph.initializer)  # onnx.TensorProto.EXTERNAL


def _external_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in (path, *path.parent.glob(path.name + "*.data")) if f.is_file())


def _tensors(value: Any) -> tuple[Any, ...] | None:
    """The tensors of an example input (a tensor, or a tuple/list of them), ``None`` for shapes."""
    if value is None:
        return None
    items = (value,) if hasattr(value, "shape") and not isinstance(value, list | tuple) else tuple(value)
    return items if items and all(hasattr(t, "shape") and hasattr(t, "dtype") for t in items) else None


def _save_proto(proto: Any, path: Path) -> None:
    import onnx

    if proto.ByteSize() < _INLINE_BELOW_BYTES:
        path.write_bytes(proto.SerializeToString())
        return
    copy = onnx.ModelProto()
    copy.CopyFrom(proto)
    onnx.save_model(copy, str(path), save_as_external_data=True, location=path.name + ".data")


def _onnx_static_shapes(proto: Any) -> Shapes | None:
    initializers = {t.name for t in proto.graph.initializer}
    shapes: list[Shape] = []
    for value in proto.graph.input:
        if value.name in initializers:
            continue
        dims = value.type.tensor_type.shape.dim
        if not value.type.tensor_type.HasField("shape") or any(not d.HasField("dim_value") for d in dims):
            return None
        shapes.append(tuple(int(d.dim_value) for d in dims))
    return tuple(shapes)


# ------------------------------------------------------------------------------------------ resolve
def _spec_fingerprint(spec: ModelSpec) -> str:
    parts: list[object] = [spec.kind, spec.target]
    if spec.kind == "onnx":
        path = Path(spec.target)
        for file in (path, Path(str(path) + ".data")):
            if file.is_file():
                stat = file.stat()
                parts += [str(file.resolve()), stat.st_size, stat.st_mtime_ns]
    else:
        parts += [_version("torch"), _version("torchvision")]
    if spec.kind == "callable":
        module_file = _module_file(spec.target.partition(":")[0])
        parts += [str(module_file), _file_hash(module_file)]
    return _digest(parts)


def _module_fingerprint(module: nn.Module) -> str:
    import torch

    digest = hashlib.sha256(repr(module).encode())
    for key, tensor in [*module.state_dict().items()]:
        digest.update(f"{key}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        if not tensor.is_meta:
            with contextlib.suppress(RuntimeError, TypeError):  # quantized and other exotic storages: shape only
                digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:32]


def resolve_model(
    model: Any,
    example_input: Any = None,
    *,
    origin: str | None = None,
    trust_code: bool = False,
) -> ResolvedModel:
    """Resolve a model (see the module docstring) without building or importing it yet.

    Args:
        model: a MODEL spec (``str`` or path), an ``nn.Module``, an ``onnx.ModelProto`` or a resolved model.
        example_input: for an in-memory model, its input (a tensor, tensors or shapes).
        origin: where the spec was read from, in words (``column 'model' of runs.csv``); ``None`` when the
            user gave it directly.
        trust_code: with ``origin``, allow a ``module:callable`` outside :data:`TRUSTED_PACKAGES`.

    Raises:
        ModelSpecError: the spec matches no known form, names a missing file, or breaks a bound.
        UntrustedCodeError: a ``module:callable`` from a data file, not trusted.
    """
    if isinstance(model, ResolvedModel):
        return model
    if isinstance(model, str | os.PathLike):
        spec = parse_model_spec(os.fspath(model))
        _check_trust(spec, origin, trust_code)
        if spec.kind == "nb201":
            from synergy.graph.nb201 import nb201_input_shapes

            nb201_input_shapes(spec.target)  # the arch string and its bounds, checked up front
        return ResolvedModel(spec.text, spec.kind, _spec_fingerprint(spec), spec=spec)
    shapes = as_shapes(example_input)
    kind_name = type(model).__name__
    if kind_name == "ModelProto" and hasattr(model, "graph"):
        return ResolvedModel(
            model.graph.name or "ModelProto",
            "proto",
            lambda: hashlib.sha256(model.SerializeToString()).hexdigest()[:32],
            obj=model,
            example_shapes=shapes,
        )
    from torch import nn

    if isinstance(model, nn.Module):
        shapes = shapes or declared_input_shapes(model)
        resolved = ResolvedModel(
            kind_name, "module", lambda: _module_fingerprint(model), obj=model, example_shapes=shapes
        )
        resolved._examples = _tensors(example_input)
        return resolved
    raise ModelSpecError(
        f"cannot analyse a {kind_name}: give a MODEL spec (str or path), a torch.nn.Module or an onnx.ModelProto"
    )
