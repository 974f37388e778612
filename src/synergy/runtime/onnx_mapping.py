"""Map the nodes of ONNX Runtime's optimised graph back to the nodes of the original model.

At its default level (``ORT_ENABLE_ALL``) ONNX Runtime folds constants, removes ``Identity`` nodes, fuses
``Conv`` with the ``Add`` and ``Relu`` that follow it, and on x86 rewrites convolutions into the blocked
NCHWc layout with ``ReorderInput``/``ReorderOutput`` nodes around them. Optimised node names are not
original names (``/layer1/layer1.0/relu/Relu_output_0_nchwc`` is a Conv+Relu; the fused residual
``Conv+Add+Relu`` of a block is named after the Conv's output) and most tensors are renamed
(``reorder_token_12``). The mapping therefore uses the graph structure, not names alone:

1. **Anchor.** Every optimised node gets the original tensor it computes: an output whose name exists in
   the original graph; else its name with the ``_nchwc`` suffix removed, when that is an original tensor;
   else, when its name is an original node's name, that node's output. Layout nodes (``Reorder*``) pass
   their input's anchor through and contain no layer.
2. **Forward extension.** Fusions named after their first op (Conv+Add+Relu) are completed by following
   the anchor forward through elementwise ops whose other inputs are available to the optimised node
   (outputs of its own inputs' producers) and whose output no other optimised node computes.
3. **Cone.** The original nodes a fused node contains are the backward cone of its anchor in the original
   graph, stopping at the anchors of its inputs, at graph inputs and at constants.

Original nodes that compute only from constants (weights, shape arithmetic, ``Identity`` on initializers)
are reported as *folded*: they do not run at inference. Original nodes left in no cone are *unmapped* and
reported; optimised nodes without an anchor are runtime-only nodes (layout changes, memory copies).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import onnx

__all__ = ["NodeMapping", "map_optimized_graph"]

#: Ops ONNX Runtime fuses into a preceding node (activation and residual-add fusions).
_FUSABLE = frozenset(
    {
        "Relu",
        "LeakyRelu",
        "Clip",
        "Sigmoid",
        "HardSigmoid",
        "Tanh",
        "Add",
        "Sum",
        "Mul",
        "HardSwish",
        "Gelu",
        "BatchNormalization",
    }
)
_NCHWC_SUFFIX = "_nchwc"


@dataclass(frozen=True)
class NodeMapping:
    """Which original nodes each optimised node executes.

    Attributes:
        groups: optimised node name → original node names it contains (topological order); an empty tuple
            for runtime-only nodes (layout reorders, copies).
        folded: original nodes computed from constants only (not executed at inference).
        unmapped: original nodes that could not be placed in any optimised node.
        anchors: optimised node name → original tensor it computes (absent for runtime-only nodes).
    """

    groups: dict[str, tuple[str, ...]]
    folded: tuple[str, ...] = ()
    unmapped: tuple[str, ...] = ()
    anchors: dict[str, str] = field(default_factory=dict)

    def owner(self) -> dict[str, str]:
        """Original node name → optimised node name."""
        return {orig: opt for opt, members in self.groups.items() for orig in members}

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "groups": {k: list(v) for k, v in self.groups.items()},
            "folded": list(self.folded),
            "unmapped": list(self.unmapped),
        }


def _constant_tensors(graph: onnx.GraphProto) -> tuple[set[str], list[str]]:
    """Tensors computable from constants alone, and the nodes computing them."""
    constant = {init.name for init in graph.initializer} | {""}
    folded = []
    for node in graph.node:
        if all(i in constant for i in node.input):
            constant.update(node.output)
            folded.append(node.name)
    constant.discard("")
    return constant, folded


def _names(nodes: Iterable[onnx.NodeProto]) -> list[str]:
    return [n.name for n in nodes]


def map_optimized_graph(original: onnx.ModelProto, optimized: onnx.ModelProto) -> NodeMapping:
    """Map every node of ONNX Runtime's optimised graph to the original nodes it contains.

    Args:
        original: the model given to the session (original node names must be unique and non-empty).
        optimized: the model ONNX Runtime saved through ``SessionOptions.optimized_model_filepath``.
    """
    graph = original.graph
    producer: dict[str, onnx.NodeProto] = {}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for out in node.output:
            producer[out] = node
        for inp in node.input:
            consumers.setdefault(inp, []).append(node)
    constant, folded = _constant_tensors(graph)
    graph_inputs = {i.name for i in graph.input}
    original_tensors = set(producer) | graph_inputs
    node_names = {n.name: n for n in graph.node}
    order = {n.name: i for i, n in enumerate(graph.node)}

    opt_nodes = list(optimized.graph.node)
    opt_producer = {out: n for n in opt_nodes for out in n.output}

    def initial_anchor(node: onnx.NodeProto) -> str | None:
        for out in node.output:
            if out in producer and out not in constant:
                return str(out)
        name = str(node.name)
        if name.endswith(_NCHWC_SUFFIX):
            base = name[: -len(_NCHWC_SUFFIX)]
            if base in producer and base not in constant:
                return base
        if name in node_names and node_names[name].output:
            return str(node_names[name].output[0])
        return None

    is_layout = {n.name: n.op_type.startswith("Reorder") for n in opt_nodes}
    anchors: dict[str, str] = {}
    for node in opt_nodes:
        if not is_layout[node.name]:
            a = initial_anchor(node)
            if a is not None:
                anchors[node.name] = a
    claimed = set(anchors.values())
    opt_names_of_tensors = {out for n in opt_nodes for out in n.output}

    def available_inputs(node: onnx.NodeProto) -> set[str]:
        out = set()
        for inp in node.input:
            if not inp:
                continue
            if inp in opt_producer:
                anchor = anchors.get(opt_producer[inp].name)
                if anchor is not None:
                    out.add(anchor)
            elif inp in original_tensors:
                out.add(inp)
        return out

    # Topological pass over the optimised graph: layout nodes inherit, fused nodes extend forward.
    for node in opt_nodes:
        if is_layout[node.name]:
            passed: list[str] = []
            for i in node.input:
                source = anchors.get(opt_producer[i].name) if i in opt_producer else str(i) if i else None
                if source is not None and source in original_tensors:
                    passed.append(source)
            if passed:
                anchors[node.name] = passed[0]
            continue
        tensor = anchors.get(node.name)
        if tensor is None:
            continue
        available = available_inputs(node)
        while True:
            users = consumers.get(tensor, [])
            if len(users) != 1:
                break
            user = users[0]
            nxt = user.output[0] if user.output else ""
            if (
                user.op_type not in _FUSABLE
                or not nxt
                or nxt in claimed
                or nxt in opt_names_of_tensors
                or any(i not in constant and i != tensor and i not in available for i in user.input if i)
            ):
                break
            tensor = nxt
        if tensor != anchors[node.name]:
            claimed.discard(anchors[node.name])
            anchors[node.name] = tensor
            claimed.add(tensor)

    # Backward cones.
    owner: dict[str, str] = {}
    groups: dict[str, tuple[str, ...]] = {}
    all_anchors = set(anchors.values())
    for node in opt_nodes:
        if is_layout[node.name] or node.name not in anchors:
            groups[node.name] = ()
            continue
        stop = (available_inputs(node) | graph_inputs | (all_anchors - {anchors[node.name]})) - {anchors[node.name]}
        members: set[str] = set()
        stack = [anchors[node.name]]
        seen: set[str] = set()
        while stack:
            tensor = stack.pop()
            if tensor in seen or tensor in constant or tensor not in producer:
                continue
            seen.add(tensor)
            if tensor in stop and tensor != anchors[node.name]:
                continue
            prod = producer[tensor]
            if prod.name in owner and owner[prod.name] != node.name:
                continue
            members.add(prod.name)
            stack.extend(i for i in prod.input if i)
        for m in members:
            owner[m] = node.name
        groups[node.name] = tuple(sorted(members, key=order.__getitem__))
    folded_set = set(folded)
    unmapped = tuple(n.name for n in graph.node if n.name not in owner and n.name not in folded_set)
    return NodeMapping(groups=groups, folded=tuple(folded), unmapped=unmapped, anchors=dict(anchors))
