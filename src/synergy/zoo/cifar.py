"""The CIFAR-10 networks of the SyNERGY papers, as their original papers define them.

- :func:`all_cnn_c`: All-CNN-C of Springenberg, Dosovitskiy, Brox and Riedmiller, "Striving for simplicity:
  the all convolutional net" (ICLR workshop 2015), table 2: max-pooling replaced by stride-2 3×3
  convolutions, a valid 3×3 convolution and two 1×1 convolutions on top, global averaging over 6×6.
  Dropout (20 % on the input, 50 % after each stride-2 layer) is kept as in the paper; it is an identity at
  inference.
- :func:`nin`: Network in Network of Lin, Chen and Yan (ICLR 2014) for CIFAR-10, the authors' reference
  model: three mlpconv blocks (a 5×5, 5×5 and 3×3 convolution, each followed by two 1×1 convolutions, all
  with ReLU), 3×3/2 max- then average-pooling between blocks (Caffe's ceil rounding: 32 → 16 → 8), dropout
  after the first two blocks and global average pooling over the ten class maps.

Both take a ``1×3×32×32`` input, which the functions and the modules they build declare as their
``input_shape`` attribute, and are usable as MODEL specs without an input shape:
``synergy.zoo.cifar:all_cnn_c`` and ``synergy.zoo.cifar:nin``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["INPUT_SHAPE", "all_cnn_c", "nin"]

#: The input both networks are evaluated at (one CIFAR image).
INPUT_SHAPE: tuple[int, int, int, int] = (1, 3, 32, 32)


def all_cnn_c(num_classes: int = 10) -> Any:
    """All-CNN-C (Springenberg et al. 2015) for 32×32 RGB input, ``num_classes`` outputs.

    Returns:
        a ``torch.nn.Module`` in eval mode (random weights).
    """
    from torch import nn

    def conv(cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding), nn.ReLU(inplace=True)]

    model = nn.Sequential(
        nn.Dropout(0.2),
        *conv(3, 96, 3, padding=1),
        *conv(96, 96, 3, padding=1),
        *conv(96, 96, 3, stride=2, padding=1),  # 32 → 16, in place of max-pooling
        nn.Dropout(0.5),
        *conv(96, 192, 3, padding=1),
        *conv(192, 192, 3, padding=1),
        *conv(192, 192, 3, stride=2, padding=1),  # 16 → 8
        nn.Dropout(0.5),
        *conv(192, 192, 3),  # valid: 8 → 6
        *conv(192, 192, 1),
        *conv(192, num_classes, 1),
        nn.AdaptiveAvgPool2d(1),  # global averaging over 6×6
        nn.Flatten(),
    )
    model.input_shape = INPUT_SHAPE  # type: ignore[assignment]
    return model.eval()


all_cnn_c.input_shape = INPUT_SHAPE  # type: ignore[attr-defined]


def nin(num_classes: int = 10) -> Any:
    """Network in Network (Lin et al. 2014) for CIFAR-10: 32×32 RGB input, ``num_classes`` outputs.

    Returns:
        a ``torch.nn.Module`` in eval mode (random weights).
    """
    from torch import nn

    def mlpconv(cin: int, width: int, kernel: int, hidden: int, out: int) -> list[nn.Module]:
        return [
            nn.Conv2d(cin, width, kernel, padding=kernel // 2),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, out, 1),
            nn.ReLU(inplace=True),
        ]

    model = nn.Sequential(
        *mlpconv(3, 192, 5, 160, 96),
        nn.MaxPool2d(3, stride=2, ceil_mode=True),  # 32 → 16
        nn.Dropout(0.5),
        *mlpconv(96, 192, 5, 192, 192),
        nn.AvgPool2d(3, stride=2, ceil_mode=True),  # 16 → 8
        nn.Dropout(0.5),
        *mlpconv(192, 192, 3, 192, num_classes),
        nn.AdaptiveAvgPool2d(1),  # global average pooling over 8×8
        nn.Flatten(),
    )
    model.input_shape = INPUT_SHAPE  # type: ignore[assignment]
    return model.eval()


nin.input_shape = INPUT_SHAPE  # type: ignore[attr-defined]
