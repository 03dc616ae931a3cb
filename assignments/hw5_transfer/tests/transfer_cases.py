"""Synthetic inputs shared by hw5_transfer's tests (no Omniglot, no pretrained encoder)."""

from __future__ import annotations

import numpy as np
import torch


def images(seed: int, shape: tuple[int, int, int, int]) -> torch.Tensor:
    """A random float32 batch (B, C, H, W)."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def position_images(batch: int, channels: int, height: int, width: int) -> torch.Tensor:
    """Images whose every pixel holds its own position index h * W + w (same for all images, channels)."""
    grid = torch.arange(height * width, dtype=torch.float32).reshape(1, 1, height, width)
    return grid.expand(batch, channels, height, width).contiguous()


def bn_state(seed: int, hidden: int = 4, dtype: torch.dtype = torch.float32) -> dict:
    """A state dict shaped like conv + BatchNorm + linear, with an integer num_batches_tracked."""
    gen = torch.Generator().manual_seed(seed)
    return {
        "conv.weight": torch.randn(hidden, 1, 3, 3, generator=gen).to(dtype),
        "conv.bias": torch.randn(hidden, generator=gen).to(dtype),
        "bn.weight": torch.rand(hidden, generator=gen).to(dtype) + 0.5,
        "bn.bias": torch.randn(hidden, generator=gen).to(dtype),
        "bn.running_mean": torch.randn(hidden, generator=gen).to(dtype),
        "bn.running_var": torch.rand(hidden, generator=gen).to(dtype) + 0.1,
        "bn.num_batches_tracked": torch.tensor(int(torch.randint(1, 500, (1,), generator=gen)), dtype=torch.int64),
        "head.weight": torch.randn(3, hidden, generator=gen).to(dtype),
        "head.bias": torch.randn(3, generator=gen).to(dtype),
    }


def power_law_points(seed: int, k: float, alpha: float, e_inf: float, n: int = 40,
                     noise: float = 0.002) -> tuple[np.ndarray, np.ndarray]:
    """Noisy points of e_ds = k * e_us ** alpha + e_inf with e_us spread over [0.05, 0.8]."""
    rng = np.random.default_rng(seed)
    e_us = np.sort(rng.uniform(0.05, 0.8, n))
    e_ds = k * e_us ** alpha + e_inf + rng.normal(0.0, noise, n)
    return e_us, e_ds


def same_keys_message(value: object, expected: dict, name: str) -> str | None:
    """Why value is not a state dict with expected's keys, or None when it is."""
    if not isinstance(value, dict):
        return f"{name} should return a dict (a state dict), got {type(value).__name__}"
    if set(value) != set(expected):
        missing, extra = sorted(set(expected) - set(value)), sorted(set(value) - set(expected))
        return f"{name} returned the wrong keys (missing {missing[:3]}, unexpected {extra[:3]})"
    return None
