"""All-CNN-C and NIN as their papers define them."""

from __future__ import annotations

import torch

from synergy.graph.analysis import analyze
from synergy.zoo.cifar import INPUT_SHAPE, all_cnn_c, nin


def _params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_all_cnn_c() -> None:
    model = all_cnn_c()
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [96, 96, 96, 192, 192, 192, 192, 192, 10]
    assert [c.stride[0] for c in convs] == [1, 1, 2, 1, 1, 2, 1, 1, 1]
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in model.modules())  # pooling by strided convs
    # the activations before global averaging are 10 maps of 6×6 (the paper's table)
    features = torch.nn.Sequential(*list(model.children())[:-2])
    with torch.no_grad():
        assert tuple(features(torch.randn(*INPUT_SHAPE)).shape) == (1, 10, 6, 6)
        assert tuple(model(torch.randn(*INPUT_SHAPE)).shape) == (1, 10)
    assert _params(model) == 1_369_738  # ≈ 1.3 M in the paper


def test_nin() -> None:
    model = nin()
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.kernel_size[0] for c in convs] == [5, 1, 1, 5, 1, 1, 3, 1, 1]
    assert [c.out_channels for c in convs] == [192, 160, 96, 192, 192, 192, 192, 192, 10]
    with torch.no_grad():
        x = torch.randn(*INPUT_SHAPE)
        sizes = []
        for layer in model:
            x = layer(x)
            if isinstance(layer, torch.nn.MaxPool2d | torch.nn.AvgPool2d):
                sizes.append(x.shape[-1])
        assert sizes == [16, 8]  # Caffe's ceil rounding
        assert tuple(x.shape) == (1, 10)
    assert _params(model) == 966_986  # ≈ 0.97 M, the authors' CIFAR-10 model


def test_specs_analyse() -> None:
    table = analyze("synergy.zoo.cifar:all_cnn_c", (INPUT_SHAPE,))
    assert table.macs == 270_798_336
    assert analyze("synergy.zoo.cifar:nin", (INPUT_SHAPE,)).macs == 222_486_528
