"""The classifier fine-tuned in this homework, provided as is: hw4's ConvEncoder followed by a linear head.

Parameter names (what `set_trainable`, `layerwise_lr_groups` and friends see):
`encoder.blocks.0.*` ... `encoder.blocks.3.*` (input to output; each block is Conv2d `.0`, BatchNorm2d `.1`)
and `head.weight`, `head.bias`.
"""

from __future__ import annotations

import torch
from torch import nn

from model import ConvEncoder

BLOCK_NAMES = ("encoder.blocks.0", "encoder.blocks.1", "encoder.blocks.2", "encoder.blocks.3", "head")
HEAD_NAME = "head"


class Classifier(nn.Module):
    """Map (B, in_channels, 28, 28) images to (B, n_classes) logits."""

    def __init__(self, n_classes: int, in_channels: int = 1, hidden: int = 64) -> None:
        """Build the encoder and a Linear(hidden, n_classes) head."""
        super().__init__()
        self.encoder = ConvEncoder(in_channels=in_channels, hidden=hidden)
        self.head = nn.Linear(hidden, n_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return the (B, n_classes) logits of (B, in_channels, 28, 28) images."""
        return self.head(self.encoder(images))
