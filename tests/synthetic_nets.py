"""Synthetic layer tables with known per-layer costs (no analysis needed)."""

from __future__ import annotations

import numpy as np

from synergy.graph.layers import Layer, LayerTable

#: Cost per layer: fixed J + J per MAC + J per byte, per op key.
COSTS = {
    "Conv3x3": (2e-6, 3e-12, 1e-10),
    "Conv1x1": (2e-6, 6e-12, 1e-10),
    "Relu": (1e-6, 0.0, 2e-10),
    "Add": (1e-6, 0.0, 1.5e-10),
    "Linear": (3e-6, 2e-12, 1e-10),
}


def conv(name: str, c_in: int, c_out: int, hw: int, k: int) -> Layer:
    macs = c_out * hw * hw * c_in * k * k
    return Layer(
        name=name,
        op="Conv",
        kind="Conv2d",
        input_shapes=((1, c_in, hw, hw),),
        output_shapes=((1, c_out, hw, hw),),
        macs=macs,
        params=c_out * c_in * k * k,
        weight_bytes=4 * c_out * c_in * k * k,
        input_bytes=4 * c_in * hw * hw,
        output_bytes=4 * c_out * hw * hw,
    )


def eltwise(name: str, op: str, c: int, hw: int, inputs: int = 1) -> Layer:
    n = c * hw * hw
    return Layer(
        name=name,
        op=op,
        input_shapes=tuple((1, c, hw, hw) for _ in range(inputs)),
        output_shapes=((1, c, hw, hw),),
        input_bytes=4 * n * inputs,
        output_bytes=4 * n,
        flops_elementwise=n,
    )


def linear(name: str, c_in: int, c_out: int) -> Layer:
    return Layer(
        name=name,
        op="Linear",
        input_shapes=((1, c_in),),
        output_shapes=((1, c_out),),
        macs=c_in * c_out,
        params=c_in * c_out + c_out,
        weight_bytes=4 * (c_in * c_out + c_out),
        input_bytes=4 * c_in,
        output_bytes=4 * c_out,
    )


def key(layer: Layer) -> str:
    if layer.op == "Conv":
        k = round((layer.macs / (layer.output_elements * layer.input_shapes[0][1])) ** 0.5)
        return f"Conv{k}x{k}"
    return layer.op


def cost(layer: Layer) -> float:
    fixed, per_mac, per_byte = COSTS[key(layer)]
    return fixed + per_mac * layer.macs + per_byte * layer.bytes_moved


def random_network(rng: np.random.Generator, index: int) -> LayerTable:
    """A random plain CNN: conv/relu blocks at random widths, kernels and resolutions, adds, a classifier."""
    layers: list[Layer] = []
    c = int(rng.choice([8, 16, 32]))
    hw = int(rng.choice([8, 16, 32]))
    for b in range(int(rng.integers(2, 7))):
        c_out = int(rng.choice([8, 16, 32, 64]))
        k = int(rng.choice([1, 3]))
        layers.append(conv(f"block{b}.conv", c, c_out, hw, k))
        layers.append(eltwise(f"block{b}.relu", "Relu", c_out, hw))
        if rng.random() < 0.5:
            layers.append(eltwise(f"block{b}.add", "Add", c_out, hw, inputs=2))
        c = c_out
    layers.append(linear("fc", c, 10))
    return LayerTable(f"net{index}", ((1, 3, hw, hw),), tuple(layers), sum(lay.params for lay in layers))


def networks(n: int, seed: int = 0) -> tuple[list[LayerTable], np.ndarray]:
    """``n`` random networks and their exact total costs (J)."""
    rng = np.random.default_rng(seed)
    tables = [random_network(rng, i) for i in range(n)]
    return tables, np.array([sum(cost(lay) for lay in t.layers) for t in tables])
