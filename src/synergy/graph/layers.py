"""The layer table: the data model every part of SyNERGY shares.

A :class:`Layer` is one row: a leaf module of a PyTorch network (with the ops dispatched inside it), a
node of an ONNX graph, or a functional op outside any leaf module. Counts follow
``docs/conventions.md``: ``macs`` is the torchvision/Caffe multiply-accumulate count (one multiply-add
counted once); extra FLOPs of normalisation, activation, pooling and elementwise ops are reported
separately and never folded into ``macs``.

A :class:`LayerTable` holds the rows of one network and offers views by layer, by op type and by
module, and totals.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EXTRA_FLOP_CLASSES", "Layer", "LayerTable", "op_category"]

Shape = tuple[int, ...]

#: Classes of extra (non-MAC) FLOPs reported separately, in column order.
EXTRA_FLOP_CLASSES: tuple[str, ...] = ("norm", "activation", "pooling", "elementwise")

#: Canonical op type → category, used for the paper's breakdown by layer type.
_CATEGORY: dict[str, str] = {
    "Conv": "conv",
    "ConvTranspose": "conv",
    "Linear": "fc",
    "Gemm": "fc",
    "MatMul": "fc",
    "Attention": "fc",
    "MaxPool": "pooling",
    "AveragePool": "pooling",
    "AdaptiveAvgPool": "pooling",
    "AdaptiveMaxPool": "pooling",
    "GlobalAveragePool": "pooling",
    "GlobalMaxPool": "pooling",
    "LpPool": "pooling",
    "BatchNorm": "norm",
    "LayerNorm": "norm",
    "GroupNorm": "norm",
    "InstanceNorm": "norm",
    "LocalResponseNorm": "norm",
}
_ACTIVATIONS = frozenset(
    {
        "Relu",
        "Relu6",
        "LeakyRelu",
        "Sigmoid",
        "Tanh",
        "Silu",
        "Gelu",
        "HardSwish",
        "HardSigmoid",
        "Softmax",
        "LogSoftmax",
        "Elu",
        "Selu",
        "Mish",
        "Softplus",
        "PRelu",
        "Clip",
        "Erf",
        "Exp",
    }
)


def op_category(op: str) -> str:
    """Map a canonical op type to its category.

    Args:
        op: canonical op type of a layer (``Conv``, ``MaxPool``, ``Linear``, ...).

    Returns:
        One of ``conv``, ``fc``, ``pooling``, ``norm``, ``activation`` or ``other``.
    """
    if op in _CATEGORY:
        return _CATEGORY[op]
    if op in _ACTIVATIONS:
        return "activation"
    return "other"


def _shapes(value: Iterable[Iterable[int]]) -> tuple[Shape, ...]:
    return tuple(tuple(int(d) for d in s) for s in value)


@dataclass(frozen=True)
class Layer:
    """One row of the layer table.

    Attributes:
        name: qualified module name (PyTorch) or node name (ONNX).
        op: canonical op type (``Conv``, ``Linear``, ``MaxPool``, ``Add``, ...).
        kind: the framework's own type (``Conv2d``, ``BatchNorm2d``, ONNX ``op_type``).
        module: the enclosing module's qualified name (``layer1.0`` for ``layer1.0.conv1``); ``""`` at top.
        input_shapes: shapes of the layer's activation inputs (weights excluded).
        output_shapes: shapes of the layer's outputs.
        macs: multiply-accumulates (torchvision/Caffe convention).
        params: parameters the layer executes (shared weights counted once per network in totals).
        weight_bytes: bytes of weights and biases read.
        input_bytes: bytes of activation inputs read.
        output_bytes: bytes of outputs written.
        flops_norm: extra FLOPs of normalisation.
        flops_activation: extra FLOPs of activations.
        flops_pooling: extra FLOPs of pooling.
        flops_elementwise: extra FLOPs of elementwise arithmetic.
        ops: primitive ops executed inside the layer, in order (e.g. ``aten.convolution``).
        unsupported: primitive ops inside the layer that had no counting formula.
    """

    name: str
    op: str
    kind: str = ""
    module: str = ""
    input_shapes: tuple[Shape, ...] = ()
    output_shapes: tuple[Shape, ...] = ()
    macs: int = 0
    params: int = 0
    weight_bytes: int = 0
    input_bytes: int = 0
    output_bytes: int = 0
    flops_norm: int = 0
    flops_activation: int = 0
    flops_pooling: int = 0
    flops_elementwise: int = 0
    ops: tuple[str, ...] = ()
    unsupported: tuple[str, ...] = ()

    @property
    def category(self) -> str:
        """The op's category (``conv``, ``fc``, ``pooling``, ``norm``, ``activation``, ``other``)."""
        return op_category(self.op)

    @property
    def extra_flops(self) -> int:
        """Sum of the extra FLOPs of every class."""
        return self.flops_norm + self.flops_activation + self.flops_pooling + self.flops_elementwise

    @property
    def flops(self) -> int:
        """Total FLOPs: ``2·macs + extra_flops``."""
        return 2 * self.macs + self.extra_flops

    @property
    def bytes_moved(self) -> int:
        """Unfused read-once/write-once traffic: weights + inputs + outputs, in bytes."""
        return self.weight_bytes + self.input_bytes + self.output_bytes

    @property
    def arithmetic_intensity(self) -> float:
        """FLOPs per byte moved (0 when nothing is moved)."""
        moved = self.bytes_moved
        return self.flops / moved if moved else 0.0

    @property
    def output_elements(self) -> int:
        """Number of output elements over all outputs."""
        total = 0
        for shape in self.output_shapes:
            n = 1
            for d in shape:
                n *= d
            total += n
        return total

    def to_dict(self) -> dict[str, Any]:
        """The row as a JSON-ready dict, derived quantities included."""
        row = asdict(self)
        row["input_shapes"] = [list(s) for s in self.input_shapes]
        row["output_shapes"] = [list(s) for s in self.output_shapes]
        row["ops"] = list(self.ops)
        row["unsupported"] = list(self.unsupported)
        row["category"] = self.category
        row["flops"] = self.flops
        row["bytes_moved"] = self.bytes_moved
        row["arithmetic_intensity"] = self.arithmetic_intensity
        return row

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> Layer:
        """Build a row from :meth:`to_dict` output (derived keys are ignored)."""
        return cls(
            name=str(row["name"]),
            op=str(row["op"]),
            kind=str(row.get("kind", "")),
            module=str(row.get("module", "")),
            input_shapes=_shapes(row.get("input_shapes", ())),
            output_shapes=_shapes(row.get("output_shapes", ())),
            macs=int(row.get("macs", 0)),
            params=int(row.get("params", 0)),
            weight_bytes=int(row.get("weight_bytes", 0)),
            input_bytes=int(row.get("input_bytes", 0)),
            output_bytes=int(row.get("output_bytes", 0)),
            flops_norm=int(row.get("flops_norm", 0)),
            flops_activation=int(row.get("flops_activation", 0)),
            flops_pooling=int(row.get("flops_pooling", 0)),
            flops_elementwise=int(row.get("flops_elementwise", 0)),
            ops=tuple(str(o) for o in row.get("ops", ())),
            unsupported=tuple(str(o) for o in row.get("unsupported", ())),
        )


#: Columns of :meth:`LayerTable.to_frame`, in order.
FRAME_COLUMNS: tuple[str, ...] = (
    "name",
    "op",
    "kind",
    "module",
    "category",
    "input_shapes",
    "output_shapes",
    "macs",
    "params",
    "weight_bytes",
    "input_bytes",
    "output_bytes",
    "bytes_moved",
    "arithmetic_intensity",
    "flops_norm",
    "flops_activation",
    "flops_pooling",
    "flops_elementwise",
    "flops",
)

_SUMMED = (
    "macs",
    "weight_bytes",
    "input_bytes",
    "output_bytes",
    "flops_norm",
    "flops_activation",
    "flops_pooling",
    "flops_elementwise",
)


@dataclass(frozen=True)
class LayerTable:
    """The layers of one network, in execution order, with totals and views.

    Attributes:
        model: the MODEL spec or path the table was built from.
        input_shapes: the shapes fed to the network.
        layers: the rows, in execution order.
        params: parameters of the network, shared weights counted once (the model's parameter count).
        unsupported_ops: primitive ops met without a counting formula (their MACs are unknown, not 0).
        frontend: ``torch`` or ``onnx``.
        meta: what the frontend knows about the source (opset, producer, notes).
        layers_without_shapes: layers whose tensor shapes could not be inferred (their work is unknown).
    """

    model: str
    input_shapes: tuple[Shape, ...]
    layers: tuple[Layer, ...]
    params: int
    unsupported_ops: tuple[str, ...] = ()
    frontend: str = ""
    meta: dict[str, Any] = field(default_factory=dict, compare=False)
    layers_without_shapes: tuple[str, ...] = ()

    @property
    def incomplete(self) -> bool:
        """Whether the totals leave out work: an op without a formula, or a layer without shapes."""
        return bool(self.unsupported_ops or self.layers_without_shapes)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    @property
    def macs(self) -> int:
        """Total multiply-accumulates of one forward pass."""
        return sum(layer.macs for layer in self.layers)

    def totals(self) -> dict[str, int | float]:
        """Whole-network totals: MACs, params, bytes, extra FLOPs by class, FLOPs."""
        out: dict[str, int | float] = {key: sum(getattr(lay, key) for lay in self.layers) for key in _SUMMED}
        out["params"] = self.params
        out["bytes_moved"] = sum(lay.bytes_moved for lay in self.layers)
        out["flops"] = sum(lay.flops for lay in self.layers)
        out["layers"] = len(self.layers)
        moved = out["bytes_moved"]
        out["arithmetic_intensity"] = out["flops"] / moved if moved else 0.0
        return {"macs": out.pop("macs"), "params": out.pop("params"), **out}

    def to_frame(self) -> pd.DataFrame:
        """One row per layer, with the columns of :data:`FRAME_COLUMNS`; shapes as ``1x3x224x224`` text."""
        import pandas as pd  # here, not at import: the analysis and its JSON need no pandas

        rows = []
        for layer in self.layers:
            row = layer.to_dict()
            row["input_shapes"] = ";".join("x".join(map(str, s)) for s in layer.input_shapes)
            row["output_shapes"] = ";".join("x".join(map(str, s)) for s in layer.output_shapes)
            rows.append({key: row[key] for key in FRAME_COLUMNS})
        return pd.DataFrame(rows, columns=list(FRAME_COLUMNS))

    #: The summed columns of :meth:`grouped_totals`: every count of :data:`FRAME_COLUMNS` (not the ratio).
    GROUPED_COLUMNS = tuple(c for c in FRAME_COLUMNS[FRAME_COLUMNS.index("macs") :] if c != "arithmetic_intensity")

    def grouped_totals(self, key: str) -> list[dict[str, Any]]:
        """Per value of ``key`` (``op``, ``category``), in order of first appearance: ``key``, ``layers`` and
        the sums of :attr:`GROUPED_COLUMNS` (plain Python: the table view needs no pandas)."""
        groups: dict[str, dict[str, Any]] = {}
        for layer in self.layers:
            row = layer.to_dict()
            blank = {key: row[key], "layers": 0, **dict.fromkeys(self.GROUPED_COLUMNS, 0)}
            group = groups.setdefault(str(row[key]), blank)
            group["layers"] += 1
            for column in self.GROUPED_COLUMNS:
                group[column] += row[column]
        return list(groups.values())

    def _grouped(self, key: str) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.grouped_totals(key), columns=[key, "layers", *self.GROUPED_COLUMNS])

    def by_op(self) -> pd.DataFrame:
        """Totals per canonical op type, in order of first appearance."""
        return self._grouped("op")

    def by_category(self) -> pd.DataFrame:
        """Totals per category (conv, fc, pooling, norm, activation, other)."""
        return self._grouped("category")

    def by_module(self, depth: int = 1) -> pd.DataFrame:
        """Totals per enclosing module, truncated to ``depth`` name components (``layer1`` at depth 1).

        The module is the layer's ``module`` (the PyTorch module path, also recovered from ONNX exports);
        a layer without one (a top-level module, or an ONNX node without a path) is its own group.
        """
        frame = self.to_frame()
        frame["module"] = [".".join((layer.module or layer.name).split(".")[:depth]) for layer in self.layers]
        numeric = ["macs", "params", "weight_bytes", "input_bytes", "output_bytes", "bytes_moved", "flops"]
        grouped = frame.groupby("module", sort=False)[numeric].sum()
        grouped.insert(0, "layers", frame.groupby("module", sort=False).size())
        return grouped.reset_index()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``model``, ``input_shapes``, ``totals``, ``incomplete`` (the totals leave out
        work), ``layers``, ``unsupported_ops``, ``layers_without_shapes``."""
        return {
            "model": self.model,
            "frontend": self.frontend,
            "input_shapes": [list(s) for s in self.input_shapes],
            "totals": self.totals(),
            "incomplete": self.incomplete,
            "layers": [layer.to_dict() for layer in self.layers],
            "unsupported_ops": list(self.unsupported_ops),
            "layers_without_shapes": list(self.layers_without_shapes),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The table as JSON text (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerTable:
        """Rebuild a table from :meth:`to_dict` output."""
        return cls(
            model=str(data["model"]),
            input_shapes=_shapes(data.get("input_shapes", ())),
            layers=tuple(Layer.from_dict(row) for row in data["layers"]),
            params=int(data["totals"]["params"]),
            unsupported_ops=tuple(data.get("unsupported_ops", ())),
            frontend=str(data.get("frontend", "")),
            layers_without_shapes=tuple(str(n) for n in data.get("layers_without_shapes", ())),
        )

    def select(self, names: Sequence[str]) -> LayerTable:
        """A table restricted to the named layers (order kept)."""
        wanted = set(names)
        return LayerTable(
            self.model,
            self.input_shapes,
            tuple(lay for lay in self.layers if lay.name in wanted),
            self.params,
            self.unsupported_ops,
            self.frontend,
            dict(self.meta),
            tuple(n for n in self.layers_without_shapes if n in wanted),
        )
