"""Fine-tuning practices for a pretrained classifier (you implement this file).

The model is a `classifier.Classifier`: parameters `encoder.blocks.0.*` ... `encoder.blocks.3.*` (input to
output) and `head.*`. Loaders yield (images (B, 1, 28, 28) float32, labels (B,) int64) batches. Every
optimizer here is `torch.optim.Adam` (default betas, no weight decay) and every loss the mean cross-entropy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

HEAD_INIT_STD = 0.01  # std of a re-initialized head's weights: small, so first logits are near zero
MODES = ("all", "head", "first", "middle", "last")


def set_trainable(model: nn.Module, trainable_prefixes: Sequence[str]) -> list[str]:
    """Make exactly the parameters whose name starts with one of the prefixes trainable; return their names.

    Sets `requires_grad` on every parameter of `model` (True when `name.startswith(prefix)` for some prefix,
    False otherwise) and changes nothing else: buffers (BatchNorm running statistics) and train/eval modes
    stay as they are. Returns the trainable parameters' names, sorted.
    """
    # TODO: implement set_trainable as its docstring describes (shapes included).
    raise NotImplementedError("set_trainable is not implemented yet")


def reinit_head(model: nn.Module, head_name: str, generator: torch.Generator) -> None:
    """Re-initialize the `nn.Linear` submodule `head_name` of model in place.

    weight (out, in): HEAD_INIT_STD * standard normal samples drawn with `torch.randn(out, in,
    generator=generator)`; bias (out,): zeros. Only `generator` drives the result (not the global seed), the
    parameter tensors stay the same objects (write into them), and nothing outside the head changes.
    """
    # TODO: implement reinit_head as its docstring describes (shapes included).
    raise NotImplementedError("reinit_head is not implemented yet")


def layerwise_lr_groups(model: nn.Module, block_names: Sequence[str], base_lr: float,
                        decay: float) -> list[dict]:
    """Return optimizer parameter groups with smaller learning rates for blocks nearer the input.

    block_names are name prefixes ordered input to output (the last is usually the head). Group i (one per
    block, in that order) is {"params": [the parameters whose name starts with block_names[i], in model
    order], "lr": base_lr * decay ** (len(block_names) - 1 - i)}. Parameters in no listed block form one
    last group {"params": [...], "lr": base_lr}, present only when non-empty. Every parameter of the model
    is in exactly one group, trainable or not.
    """
    # TODO: implement layerwise_lr_groups as its docstring describes (shapes included).
    raise NotImplementedError("layerwise_lr_groups is not implemented yet")


def gradual_unfreeze_schedule(block_names: Sequence[str], epoch: int, epochs_per_block: int) -> list[str]:
    """Return the blocks trainable at `epoch` (0-based) when unfreezing from the output toward the input.

    block_names are ordered input to output. Epochs 0 .. epochs_per_block - 1 train the last block only;
    each further `epochs_per_block` epochs add the next block toward the input, until all train. The result
    keeps the input-to-output order: e.g. blocks [a, b, c], epochs_per_block 2, epoch 2 -> [b, c].
    """
    # TODO: implement gradual_unfreeze_schedule as its docstring describes (shapes included).
    raise NotImplementedError("gradual_unfreeze_schedule is not implemented yet")


def parameters_to_fine_tune(model: nn.Module, mode: str) -> list[nn.Parameter]:
    """Return the parameters a mode fine-tunes, in model order, without touching `requires_grad`.

    model is a Classifier. mode: 'all' (every parameter), 'head' (`model.head`), or one encoder block
    of `model.encoder.blocks` for surgical fine-tuning: 'first' (block 0), 'middle' (block
    len(blocks) // 2) and 'last' (block len(blocks) - 1). Any other mode raises ValueError.
    """
    # TODO: implement parameters_to_fine_tune as its docstring describes (shapes included).
    raise NotImplementedError("parameters_to_fine_tune is not implemented yet")


def finetune(model: nn.Module, train_loader: Iterable, epochs: int, optimizer_groups_or_lr: float | list[dict],
             generator: torch.Generator) -> dict[str, list[float]]:
    """Train model with Adam for `epochs` epochs; return {"loss": [...], "accuracy": [...]}, one entry per epoch.

    optimizer_groups_or_lr: a learning rate (then Adam gets every parameter with requires_grad) or a list of
    parameter groups (dicts with "params" and "lr"; parameters with requires_grad False are left out). A
    parameter is "optimized" when it is in the optimizer. Modes: model.train(), except BatchNorm modules none
    of whose parameters is optimized, which go to eval() so their running statistics stay as they are.
    Each epoch: list the loader's batches once, then visit them in the order given by
    torch.randperm(number of batches, generator=generator); per batch one step (zero the gradients, loss,
    backward, step). An epoch's "loss" is the mean over its examples of the per-batch loss before the step
    (weighted by batch size), its "accuracy" the fraction of those examples whose logits' argmax is the label.
    """
    # TODO: implement finetune as its docstring describes (shapes included).
    raise NotImplementedError("finetune is not implemented yet")


def lp_ft(model: nn.Module, head_name: str, train_loader: Iterable, probe_epochs: int, finetune_epochs: int,
          probe_lr: float, finetune_lr: float, generator: torch.Generator) -> dict[str, dict[str, list[float]]]:
    """Linear probing then fine-tuning (LP-FT, Kumar et al. 2022); return {"probe": history, "finetune": history}.

    1. re-initialize the head `head_name` with reinit_head, drawing from generator;
    2. probe: only the head's parameters trainable (set_trainable), finetune for probe_epochs at probe_lr;
    3. every parameter trainable, finetune for finetune_epochs at finetune_lr.
    The same generator is used throughout; each history is what finetune returned.
    """
    # TODO: implement lp_ft as its docstring describes (shapes included).
    raise NotImplementedError("lp_ft is not implemented yet")
