"""The Prototypical Networks embedding network (Snell et al., 2017), provided as is.

Four identical blocks, each Conv2d(3x3, padding 1, 64 filters) -> BatchNorm2d -> ReLU -> MaxPool2d(2),
map a (B, 1, 28, 28) batch to (B, 64, 1, 1) (28 -> 14 -> 7 -> 3 -> 1), flattened to (B, 64) features.
"""

from __future__ import annotations

import torch
from torch import nn


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Return one block: (B, in, H, W) -> (B, out, H // 2, W // 2)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
        nn.MaxPool2d(2),
    )


class ConvEncoder(nn.Module):
    """Embed (B, in_channels, 28, 28) float images as (B, hidden) float features."""

    def __init__(self, in_channels: int = 1, hidden: int = 64) -> None:
        """Build the four conv blocks; `hidden` is both the filter count and the feature size D."""
        super().__init__()
        self.out_features = hidden
        self.blocks = nn.Sequential(
            conv_block(in_channels, hidden),
            conv_block(hidden, hidden),
            conv_block(hidden, hidden),
            conv_block(hidden, hidden),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map (B, in_channels, 28, 28) images to (B, hidden) features (a 28x28 input ends at 1x1)."""
        return self.blocks(images).flatten(start_dim=1)
