"""The models MAML meta-trains, provided as is.

- `SinusoidMLP`: the paper's sinusoid regressor, 1 -> 40 -> 40 -> 1 with ReLU.
- `ConvClassifier`: the 4-block conv encoder of hw4 (Conv2d 3x3, 64 filters -> BatchNorm2d -> ReLU ->
  MaxPool2d(2), 28x28 -> 1x1) with a linear head to `n_way` logits. Its BatchNorm layers have
  `track_running_stats=False`: they always normalise with the statistics of the batch they see (the
  support set in the inner loop, the query set in the outer loss), in training and in evaluation, as
  in the MAML reference code, and the model has no buffers: its state is its parameters.
"""

from __future__ import annotations

import torch
from torch import nn


class SinusoidMLP(nn.Module):
    """Regress (B, 1) inputs to (B, 1) outputs with `layers` hidden ReLU layers of `hidden` units."""

    def __init__(self, hidden: int = 40, layers: int = 2) -> None:
        """Build Linear(1, hidden) -> ReLU -> ... -> Linear(hidden, 1)."""
        super().__init__()
        sizes = [1] + [hidden] * layers
        blocks: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            blocks += [nn.Linear(a, b), nn.ReLU()]
        self.net = nn.Sequential(*blocks, nn.Linear(sizes[-1], 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map (B, 1) inputs to (B, 1) predictions."""
        return self.net(x)


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Return one block: (B, in, H, W) -> (B, out, H // 2, W // 2), batch statistics only."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
        nn.BatchNorm2d(out_channels, track_running_stats=False),
        nn.ReLU(),
        nn.MaxPool2d(2),
    )


class ConvClassifier(nn.Module):
    """Classify (B, in_channels, 28, 28) images into (B, n_way) logits."""

    def __init__(self, n_way: int = 5, in_channels: int = 1, hidden: int = 64) -> None:
        """Build the four conv blocks (`hidden` filters each) and the Linear(hidden, n_way) head."""
        super().__init__()
        self.blocks = nn.Sequential(
            conv_block(in_channels, hidden),
            conv_block(hidden, hidden),
            conv_block(hidden, hidden),
            conv_block(hidden, hidden),
        )
        self.head = nn.Linear(hidden, n_way)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map (B, in_channels, 28, 28) images to (B, n_way) logits."""
        return self.head(self.blocks(images).flatten(start_dim=1))
