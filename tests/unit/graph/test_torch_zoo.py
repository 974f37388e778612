"""Every torchvision classification model: MACs and parameters equal the published figures.

torchvision publishes, with each model's default weights, ``_ops`` (GMACs, rounded to 3 decimals) and
``num_params``. The exact MAC count is PyTorch's own FlopCounterMode total / 2 on the plain-math path
(meta tensors, math SDPA backend), computed here on the same construction.
"""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import synergy
from synergy.graph.resolve import resolve_model

MODELS = torchvision.models.list_models(module=torchvision.models)


def _oracle_macs(name: str) -> int:
    source = resolve_model(f"torchvision:{name}").source()
    model = source.build(True)
    assert source.default_shapes is not None
    inputs = [torch.empty(s, device="meta") for s in source.default_shapes]
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model(*inputs)
    return int(counter.get_total_flops()) // 2


def test_every_classification_model_is_covered() -> None:
    assert len(MODELS) >= 80
    assert {"inception_v3", "googlenet", "efficientnet_b0", "regnet_y_128gf", "convnext_tiny", "vit_h_14"} <= set(
        MODELS
    )


@pytest.mark.parametrize("name", MODELS)
def test_macs_and_params_match_torchvision(name: str) -> None:
    meta = torchvision.models.get_model_weights(name).DEFAULT.meta
    table = synergy.analyze(f"torchvision:{name}")
    assert not table.unsupported_ops
    assert table.params == meta["num_params"]
    # torchvision's published GMACs, to its 3 decimals
    assert abs(table.macs / 1e9 - meta["_ops"]) <= 0.0005 + 1e-12, (table.macs, meta["_ops"])
    # the exact integer
    assert table.macs == _oracle_macs(name)


@pytest.mark.parametrize(("name", "crop"), [("inception_v3", 299), ("vit_h_14", 518), ("regnet_y_128gf", 384)])
def test_default_input_is_the_weights_eval_crop(name: str, crop: int) -> None:
    assert resolve_model(f"torchvision:{name}").default_input_shapes() == ((1, 3, crop, crop),)
