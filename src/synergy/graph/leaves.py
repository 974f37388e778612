"""What one layer of a PyTorch model is: the definition the analysis and the measurement share.

A *leaf* module is a module without child modules, or one of the modules that are a single layer although
they hold children (``nn.MultiheadAttention``: its ``out_proj`` is never called, only its weights used).
Modules inside a leaf are not layers of their own. A model that is itself a leaf is one layer named by
its class (``Conv2d``); every other leaf is named by its qualified name (``layer1.0.conv1``).
"""

from __future__ import annotations

from torch import nn

__all__ = ["ATOMIC_MODULES", "is_leaf", "leaf_modules", "leaf_name"]

#: Modules with children that are still one layer.
ATOMIC_MODULES: tuple[type[nn.Module], ...] = (nn.MultiheadAttention,)


def is_leaf(module: nn.Module) -> bool:
    """Whether ``module`` is one layer (see the module docstring)."""
    return isinstance(module, ATOMIC_MODULES) or not any(child is not None for child in module._modules.values())


def leaf_name(qualified: str, module: nn.Module) -> str:
    """The layer name of a leaf: its qualified name, or its class name for the model itself."""
    return qualified or type(module).__name__


def leaf_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's layers, ``(layer name, module)`` in registration order, none of them inside another."""
    leaves: list[tuple[str, nn.Module]] = []
    inside: list[str] = []
    for name, module in model.named_modules():
        if any(name == p or name.startswith(p + ".") for p in inside) or (inside and inside[0] == ""):
            continue
        if is_leaf(module):
            leaves.append((leaf_name(name, module), module))
            inside.append(name)
    return leaves
