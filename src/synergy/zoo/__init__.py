"""Model zoos: named lists of networks to measure together (``synergy study [ZOO]``).

A zoo is a list of :class:`ZooEntry` (a MODEL spec, its input shape and a short name). Two are built in:

- ``default``: the networks of the SyNERGY paper, each mapped to its closest torchvision model or to a
  built-in one (:mod:`synergy.zoo.cifar` for the CIFAR-10 nets); see :data:`DEFAULT`.
- ``small``: a few fast networks for continuous integration; see :data:`SMALL`.

A zoo can also be a text file: one MODEL spec per line, optionally followed by its input shape
(``torchvision:resnet18 1,3,224,224``) and ``#`` comments. Relative ``.onnx`` paths resolve against the
file's folder.

Zoo files and study files are data: a ``package.module:callable`` they name would import and run Python
code, so it is refused (:class:`~synergy.errors.UntrustedCodeError`) unless the caller passes
``trust_code=True``; the networks of :mod:`synergy.zoo` itself are always allowed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synergy.errors import InputShapeError, ModelSpecError, UntrustedCodeError, UsageError
from synergy.graph.resolve import check_code_trust, resolve_model
from synergy.graph.spec import parse_input_shape

__all__ = ["DEFAULT", "SMALL", "ZOOS", "ZooEntry", "load_zoo", "zoo_from_text"]

Shape = tuple[int, ...]

_CIFAR: Shape = (1, 3, 32, 32)
_IMAGENET: Shape = (1, 3, 224, 224)


@dataclass(frozen=True)
class ZooEntry:
    """One network of a zoo.

    Attributes:
        name: a short unique name (a folder name in the study).
        model: the MODEL spec.
        input_shape: the shape of its single input, ``None`` for an ONNX file's own.
        paper: the network of the SyNERGY paper it stands for (empty for user zoos).
    """

    name: str
    model: str
    input_shape: Shape | None = None
    paper: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "model": self.model,
            "input_shape": list(self.input_shape) if self.input_shape is not None else None,
            "paper": self.paper,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, origin: str = "a study file", trust_code: bool = False) -> ZooEntry:
        """Inverse of :meth:`to_dict`, for an entry read from ``origin``.

        Raises:
            UntrustedCodeError: the entry's model would import code and ``trust_code`` is false.
        """
        check_code_trust(str(data["model"]), origin, trust_code)
        shape = data.get("input_shape")
        return cls(
            str(data["name"]),
            str(data["model"]),
            tuple(int(d) for d in shape) if shape else None,
            str(data.get("paper", "")),
        )


#: The paper's networks and their closest equivalents here (input: the weights' evaluation crop).
DEFAULT: tuple[ZooEntry, ...] = (
    ZooEntry("alexnet", "torchvision:alexnet", _IMAGENET, "AlexNet"),
    ZooEntry("squeezenet1_0", "torchvision:squeezenet1_0", _IMAGENET, "SqueezeNet 1.0"),
    ZooEntry("squeezenet1_1", "torchvision:squeezenet1_1", _IMAGENET, "SqueezeNet 1.1"),
    ZooEntry("resnet50", "torchvision:resnet50", _IMAGENET, "ResNet-50"),
    ZooEntry("googlenet", "torchvision:googlenet", _IMAGENET, "GoogLeNet"),
    ZooEntry("vgg11", "torchvision:vgg11", _IMAGENET, "VGG (small)"),
    ZooEntry("inception_v3", "torchvision:inception_v3", (1, 3, 299, 299), "Inception-v3"),
    ZooEntry("mobilenet_v2", "torchvision:mobilenet_v2", _IMAGENET, "MobileNet"),
    ZooEntry("densenet121", "torchvision:densenet121", _IMAGENET, "DenseNet-121"),
    ZooEntry("wide_resnet50_2", "torchvision:wide_resnet50_2", _IMAGENET, "WRN-50-2"),
    ZooEntry("resnext50_32x4d", "torchvision:resnext50_32x4d", _IMAGENET, "ResNeXt"),
    ZooEntry("all_cnn_c", "synergy.zoo.cifar:all_cnn_c", _CIFAR, "All-CNN-C (CIFAR-10)"),
    ZooEntry("nin", "synergy.zoo.cifar:nin", _CIFAR, "Network in Network (CIFAR-10)"),
)

#: A few fast networks (seconds each on one core), for continuous integration and trying things out.
SMALL: tuple[ZooEntry, ...] = (
    ZooEntry("all_cnn_c", "synergy.zoo.cifar:all_cnn_c", _CIFAR, "All-CNN-C (CIFAR-10)"),
    ZooEntry("nin", "synergy.zoo.cifar:nin", _CIFAR, "Network in Network (CIFAR-10)"),
    ZooEntry("squeezenet1_1", "torchvision:squeezenet1_1", (1, 3, 112, 112), "SqueezeNet 1.1 (112×112)"),
    ZooEntry("mobilenet_v2", "torchvision:mobilenet_v2", (1, 3, 112, 112), "MobileNet (112×112)"),
)

#: Built-in zoos by name.
ZOOS: dict[str, tuple[ZooEntry, ...]] = {"default": DEFAULT, "small": SMALL}


def _slug(model: str) -> str:
    base = model.rsplit(":", 1)[-1] if not model.lower().endswith(".onnx") else Path(model).stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", base).strip("-.") or "model"


def _unique(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append(name if count == 0 else f"{name}-{count + 1}")
    return out


def zoo_from_text(
    text: str, where: str = "zoo", folder: Path | None = None, *, trust_code: bool = False
) -> tuple[ZooEntry, ...]:
    """Parse a zoo file's content (see the module docstring).

    Raises:
        UsageError: a line with a bad MODEL spec or input shape (naming the line), or no network at all.
        UntrustedCodeError: a line names a ``module:callable`` and ``trust_code`` is false.
    """
    specs: list[tuple[str, Shape | None]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) > 2:
            raise UsageError(f"{where} line {number}: expected 'MODEL [INPUT_SHAPE]', got {line!r}")
        model = parts[0]
        if folder is not None and model.lower().endswith(".onnx") and not Path(model).is_absolute():
            model = str(folder / model)
        try:
            resolve_model(model, origin=f"{where} line {number}", trust_code=trust_code)
            shapes = parse_input_shape(parts[1]) if len(parts) == 2 else None
        except UntrustedCodeError:
            raise
        except (ModelSpecError, InputShapeError) as exc:
            raise UsageError(f"{where} line {number}: {exc}") from exc
        if shapes is not None and len(shapes) != 1:
            raise UsageError(f"{where} line {number}: a study network takes one input, got {len(shapes)} shapes")
        specs.append((model, shapes[0] if shapes else None))
    if not specs:
        raise UsageError(f"{where} lists no network: write one MODEL spec per line")
    names = _unique([_slug(m) for m, _ in specs])
    return tuple(ZooEntry(n, m, s) for n, (m, s) in zip(names, specs, strict=True))


def load_zoo(zoo: str | Path | None, *, trust_code: bool = False) -> tuple[ZooEntry, ...]:
    """A built-in zoo by name (``default``, ``small``; ``None`` is ``default``) or a zoo file.

    Raises:
        UsageError: neither a built-in name nor a readable file, or a bad line in the file.
        UntrustedCodeError: the file names a ``module:callable`` and ``trust_code`` is false.
    """
    if zoo is None:
        return DEFAULT
    if isinstance(zoo, str) and zoo in ZOOS:
        return ZOOS[zoo]
    path = Path(zoo)
    if not path.is_file():
        raise UsageError(f"zoo {str(zoo)!r} is neither a built-in zoo ({', '.join(ZOOS)}) nor a file: check the name")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"zoo file {path} cannot be read ({exc}): check the file") from exc
    return zoo_from_text(text, str(path), path.parent, trust_code=trust_code)
