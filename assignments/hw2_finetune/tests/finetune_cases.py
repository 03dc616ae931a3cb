"""Shared inputs and checks of the hw2_finetune tests (run in the grader, not in the sandbox)."""

from __future__ import annotations

from pathlib import Path

import torch

from autograder.submission import SubmissionError

BLOCKS = ["encoder.blocks.0", "encoder.blocks.1", "encoder.blocks.2", "encoder.blocks.3", "head"]
HEAD = ["head.bias", "head.weight"]
EPISODE = Path(__file__).resolve().parent / "target_episode.pt"


def block_parameters(*blocks: int) -> list[str]:
    """Sorted parameter names of the given encoder blocks (Conv2d .0 and BatchNorm2d .1)."""
    return sorted(f"encoder.blocks.{b}.{layer}.{kind}" for b in blocks for layer in (0, 1)
                  for kind in ("weight", "bias"))


def block_state(*blocks: int) -> list[str]:
    """Sorted state-dict keys of the given encoder blocks: parameters and BatchNorm buffers."""
    buffers = [f"encoder.blocks.{b}.1.{k}" for b in blocks
               for k in ("running_mean", "running_var", "num_batches_tracked")]
    return sorted(block_parameters(*blocks) + buffers)


def target_images() -> torch.Tensor:
    """The shipped target characters as float ink images (C, 20, 28, 28)."""
    return torch.load(EPISODE, weights_only=True)["images"].to(torch.float32) / 255


def expect_history(history: object, epochs: int, name: str) -> None:
    """Fail unless history is {"loss": [epochs floats], "accuracy": [epochs floats in [0, 1]]}."""
    if not isinstance(history, dict) or set(history) != {"loss", "accuracy"}:
        keys = sorted(history) if isinstance(history, dict) else type(history).__name__
        raise SubmissionError(f"{name} should be a dict with keys 'loss' and 'accuracy', got {keys}")
    for key in ("loss", "accuracy"):
        values = history[key]
        if not isinstance(values, list) or len(values) != epochs or \
                not all(isinstance(v, float) for v in values):
            raise SubmissionError(f"{name}[{key!r}] should be a list of {epochs} Python floats (one per "
                                  f"epoch), got {values!r}")
    if not all(0.0 <= a <= 1.0 for a in history["accuracy"]):
        raise SubmissionError(f"{name}['accuracy'] should lie in [0, 1], got {history['accuracy']}")


def expect_equal(actual: object, expected: object, name: str) -> None:
    """Fail with both values shown unless actual == expected."""
    if actual != expected:
        raise SubmissionError(f"{name}: expected {expected!r}, got {actual!r}")
