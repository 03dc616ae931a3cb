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
    # BEGIN SOLUTION
    names = []
    for name, parameter in model.named_parameters():
        trainable = any(name.startswith(prefix) for prefix in trainable_prefixes)
        parameter.requires_grad_(trainable)
        if trainable:
            names.append(name)
    return sorted(names)
    # END SOLUTION


def reinit_head(model: nn.Module, head_name: str, generator: torch.Generator) -> None:
    """Re-initialize the `nn.Linear` submodule `head_name` of model in place.

    weight (out, in): HEAD_INIT_STD * standard normal samples drawn with `torch.randn(out, in,
    generator=generator)`; bias (out,): zeros. Only `generator` drives the result (not the global seed), the
    parameter tensors stay the same objects (write into them), and nothing outside the head changes.
    """
    # BEGIN SOLUTION
    head = model.get_submodule(head_name)
    if not isinstance(head, nn.Linear):
        raise TypeError(f"{head_name} is a {type(head).__name__}, not an nn.Linear")
    noise = torch.randn(head.out_features, head.in_features, generator=generator)
    head.weight.detach().copy_(HEAD_INIT_STD * noise)
    if head.bias is not None:
        head.bias.detach().zero_()
    # END SOLUTION


def layerwise_lr_groups(model: nn.Module, block_names: Sequence[str], base_lr: float,
                        decay: float) -> list[dict]:
    """Return optimizer parameter groups with smaller learning rates for blocks nearer the input.

    block_names are name prefixes ordered input to output (the last is usually the head). Group i (one per
    block, in that order) is {"params": [the parameters whose name starts with block_names[i], in model
    order], "lr": base_lr * decay ** (len(block_names) - 1 - i)}. Parameters in no listed block form one
    last group {"params": [...], "lr": base_lr}, present only when non-empty. Every parameter of the model
    is in exactly one group, trainable or not.
    """
    # BEGIN SOLUTION
    n_blocks = len(block_names)
    groups = [{"params": [], "lr": base_lr * decay ** (n_blocks - 1 - i)} for i in range(n_blocks)]
    rest = []
    for name, parameter in model.named_parameters():
        for group, block in zip(groups, block_names):
            if name.startswith(block):
                group["params"].append(parameter)
                break
        else:
            rest.append(parameter)
    if rest:
        groups.append({"params": rest, "lr": base_lr})
    return groups
    # END SOLUTION


def gradual_unfreeze_schedule(block_names: Sequence[str], epoch: int, epochs_per_block: int) -> list[str]:
    """Return the blocks trainable at `epoch` (0-based) when unfreezing from the output toward the input.

    block_names are ordered input to output. Epochs 0 .. epochs_per_block - 1 train the last block only;
    each further `epochs_per_block` epochs add the next block toward the input, until all train. The result
    keeps the input-to-output order: e.g. blocks [a, b, c], epochs_per_block 2, epoch 2 -> [b, c].
    """
    # BEGIN SOLUTION
    n_trainable = min(len(block_names), 1 + epoch // epochs_per_block)
    return list(block_names[len(block_names) - n_trainable:])
    # END SOLUTION


def parameters_to_fine_tune(model: nn.Module, mode: str) -> list[nn.Parameter]:
    """Return the parameters a mode fine-tunes, in model order, without touching `requires_grad`.

    model is a Classifier. mode: 'all' (every parameter), 'head' (`model.head`), or one encoder block
    of `model.encoder.blocks` for surgical fine-tuning: 'first' (block 0), 'middle' (block
    len(blocks) // 2) and 'last' (block len(blocks) - 1). Any other mode raises ValueError.
    """
    # BEGIN SOLUTION
    blocks = model.encoder.blocks
    chosen = {"all": model, "head": model.head, "first": blocks[0], "middle": blocks[len(blocks) // 2],
              "last": blocks[len(blocks) - 1]}
    if mode not in chosen:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return list(chosen[mode].parameters())
    # END SOLUTION


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
    # BEGIN SOLUTION
    if isinstance(optimizer_groups_or_lr, (int, float)):
        raw_groups = [{"params": list(model.parameters()), "lr": float(optimizer_groups_or_lr)}]
    else:
        raw_groups = optimizer_groups_or_lr
    groups = [dict(g, params=[p for p in g["params"] if p.requires_grad]) for g in raw_groups]
    groups = [g for g in groups if g["params"]]
    optimized = {id(p) for g in groups for p in g["params"]}
    model.train()
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            if not any(id(p) in optimized for p in module.parameters()):
                module.eval()
    optimizer = torch.optim.Adam(groups) if groups else None
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    for _ in range(epochs):
        batches = list(train_loader)
        loss_sum, correct, seen = 0.0, 0, 0
        for index in torch.randperm(len(batches), generator=generator).tolist():
            images, labels = batches[index]
            model.zero_grad(set_to_none=True)
            logits = model(images)
            loss = F.cross_entropy(logits, labels)
            loss.backward()
            if optimizer is not None:
                optimizer.step()
            loss_sum += loss.item() * len(labels)
            correct += int((logits.argmax(dim=1) == labels).sum())
            seen += len(labels)
        history["loss"].append(loss_sum / max(seen, 1))
        history["accuracy"].append(correct / max(seen, 1))
    return history
    # END SOLUTION


def lp_ft(model: nn.Module, head_name: str, train_loader: Iterable, probe_epochs: int, finetune_epochs: int,
          probe_lr: float, finetune_lr: float, generator: torch.Generator) -> dict[str, dict[str, list[float]]]:
    """Linear probing then fine-tuning (LP-FT, Kumar et al. 2022); return {"probe": history, "finetune": history}.

    1. re-initialize the head `head_name` with reinit_head, drawing from generator;
    2. probe: only the head's parameters trainable (set_trainable), finetune for probe_epochs at probe_lr;
    3. every parameter trainable, finetune for finetune_epochs at finetune_lr.
    The same generator is used throughout; each history is what finetune returned.
    """
    # BEGIN SOLUTION
    reinit_head(model, head_name, generator=generator)
    set_trainable(model, [head_name])
    probe = finetune(model, train_loader, probe_epochs, probe_lr, generator)
    set_trainable(model, [""])
    tuned = finetune(model, train_loader, finetune_epochs, finetune_lr, generator)
    return {"probe": probe, "finetune": tuned}
    # END SOLUTION
