"""Trusted helpers run in the sandbox: build classifiers from seeds, call finetune.py, return plain data."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

import finetune
from classifier import BLOCK_NAMES, HEAD_NAME, Classifier

HERE = Path(__file__).resolve().parent
N_CLASSES = 5
EVAL_BATCH = 25
SMALL_HIDDEN = 16  # synthetic cases use 16 filters: the same parameter names, small golden files
IMAGE_SHAPE = (1, 28, 28)


def build(seed: int, n_classes: int = N_CLASSES, pretrained: bool = False) -> Classifier:
    """A Classifier from seed whose BatchNorm statistics are not the defaults (so changes show)."""
    torch.manual_seed(seed)
    model = Classifier(n_classes, hidden=64 if pretrained else SMALL_HIDDEN)
    if pretrained:
        state = torch.load(HERE / "pretrained_encoder.pt", weights_only=True)
        model.encoder.load_state_dict(state)
    else:
        gen = torch.Generator().manual_seed(seed + 1000)
        with torch.no_grad():
            for name, buffer in model.named_buffers():
                if name.endswith("running_mean"):
                    buffer.copy_(0.1 * torch.randn(buffer.shape, generator=gen))
                elif name.endswith("running_var"):
                    buffer.copy_(1.0 + 0.5 * torch.rand(buffer.shape, generator=gen))
                elif name.endswith("num_batches_tracked"):
                    buffer.fill_(7)
    return model


def batches(seed: int, n_batches: int = 1, batch_size: int = 10, n_classes: int = N_CLASSES) -> list:
    """Synthetic (images (B, 1, 28, 28), labels (B,)) batches: class templates plus noise."""
    gen = torch.Generator().manual_seed(seed)
    templates = torch.rand(n_classes, *IMAGE_SHAPE, generator=gen)
    out = []
    for _ in range(n_batches):
        labels = torch.randint(0, n_classes, (batch_size,), generator=gen)
        images = templates[labels] + 0.3 * torch.randn(batch_size, *IMAGE_SHAPE, generator=gen)
        out.append((images, labels))
    return out


def state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of the model's state dict (parameters and buffers)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def changed_keys(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> list[str]:
    """State-dict keys whose value differs, sorted."""
    return sorted(k for k in before if not torch.equal(before[k], after[k]))


def trainable_names(model: nn.Module) -> list[str]:
    """Names of the parameters with requires_grad, sorted."""
    return sorted(n for n, p in model.named_parameters() if p.requires_grad)


def set_trainable_case(seed: int, prefixes: list[str], frozen_first: list[str]) -> dict:
    """Freeze frozen_first by hand, call set_trainable(prefixes); report names, flags, buffers and modes."""
    model = build(seed)
    model.eval()
    model.head.train()
    for pname, param in model.named_parameters():
        if any(pname.startswith(prefix) for prefix in frozen_first):
            param.requires_grad_(False)
    before, modes = state(model), [m.training for m in model.modules()]
    names = finetune.set_trainable(model, prefixes)
    return {"returned": list(names) if isinstance(names, (list, tuple)) else names,
            "requires_grad": trainable_names(model),
            "changed": changed_keys(before, state(model)),
            "modes_kept": modes == [m.training for m in model.modules()]}


def reinit_case(seed: int, gen_seed: int, global_seed: int) -> dict:
    """reinit_head on a seeded model with Generator(gen_seed) after torch.manual_seed(global_seed)."""
    model = build(seed)
    before = state(model)
    weight, bias = model.head.weight, model.head.bias
    torch.manual_seed(global_seed)
    result = finetune.reinit_head(model, HEAD_NAME, torch.Generator().manual_seed(gen_seed))
    after = state(model)
    return {"returned_none": result is None, "changed": changed_keys(before, after),
            "same_tensors": model.head.weight is weight and model.head.bias is bias,
            "weight": after["head.weight"], "bias": after["head.bias"],
            "requires_grad": trainable_names(model)}


def named_groups(model: nn.Module, groups: list[dict]) -> list[dict]:
    """Replace each group's parameters by their names (model order kept as given)."""
    names = {id(p): n for n, p in model.named_parameters()}
    return [{"names": [names.get(id(p), "<not a parameter of the model>") for p in g["params"]],
             "lr": float(g["lr"]), "keys": sorted(g)} for g in groups]


def layerwise_case(seed: int, block_names: list[str], base_lr: float, decay: float) -> list[dict]:
    """layerwise_lr_groups on a seeded Classifier, with parameters given by name."""
    model = build(seed)
    return named_groups(model, finetune.layerwise_lr_groups(model, block_names, base_lr, decay))


def parameters_case(seed: int, mode: str) -> dict:
    """parameters_to_fine_tune(mode) by name, and whether requires_grad flags stayed as they were."""
    model = build(seed)
    for parameter in model.encoder.blocks[1].parameters():
        parameter.requires_grad_(False)
    flags = trainable_names(model)
    chosen = finetune.parameters_to_fine_tune(model, mode)
    names = {id(p): n for n, p in model.named_parameters()}
    return {"names": [names.get(id(p), "<not a parameter of the model>") for p in chosen],
            "flags_kept": flags == trainable_names(model)}


def bad_mode_case(seed: int, mode: str) -> bool:
    """Whether parameters_to_fine_tune(model, mode) raised ValueError (other exceptions propagate)."""
    try:
        finetune.parameters_to_fine_tune(build(seed), mode)
    except ValueError:
        return True
    return False


def _run_routine(model: Classifier, routine: str, loader: list, gen: torch.Generator) -> object:
    """Run one fine-tuning routine of the homework on model; return what it returned."""
    if routine == "lr":
        return finetune.finetune(model, loader, 1, 1e-3, gen)
    if routine == "probe":
        finetune.set_trainable(model, [HEAD_NAME])
        return finetune.finetune(model, loader, 1, 1e-2, gen)
    if routine == "layerwise":
        return finetune.finetune(model, loader, 1, finetune.layerwise_lr_groups(model, BLOCK_NAMES, 1e-2, 0.3), gen)
    if routine.startswith("surgical_"):
        groups = [{"params": finetune.parameters_to_fine_tune(model, routine[len("surgical_"):]), "lr": 1e-2}]
        return finetune.finetune(model, loader, 1, groups, gen)
    if routine == "gradual":
        histories = []
        for epoch in range(3):
            finetune.set_trainable(model, finetune.gradual_unfreeze_schedule(BLOCK_NAMES, epoch, 1))
            histories.append(finetune.finetune(model, loader, 1, 1e-2, gen))
        return histories
    if routine == "lp_ft":
        return finetune.lp_ft(model, HEAD_NAME, loader, 1, 1, 1e-2, 1e-3, gen)
    if routine == "epochs":
        return finetune.finetune(model, loader, 2, 1e-3, gen)
    raise ValueError(f"unknown routine {routine}")


def routine_case(routine: str, seed: int, n_batches: int = 1, data_loader: bool = False) -> dict:
    """One routine on a seeded model and synthetic batches: final state, changed keys, history."""
    model = build(seed)
    loader = batches(seed + 1, n_batches)
    if data_loader:
        images = torch.cat([x for x, _ in loader])
        labels = torch.cat([y for _, y in loader])
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, labels), batch_size=4,
                                             shuffle=True, generator=torch.Generator().manual_seed(seed))
    before = state(model)
    history = _run_routine(model, routine, loader, torch.Generator().manual_seed(seed + 2))
    after = state(model)
    return {"state": after, "changed": changed_keys(before, after), "history": history,
            "requires_grad": trainable_names(model)}


@torch.no_grad()
def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Eval-mode accuracy of model on images, EVAL_BATCH at a time (the memory limit is tight)."""
    model.eval()
    correct = sum(int((model(images[i:i + EVAL_BATCH]).argmax(dim=1) == labels[i:i + EVAL_BATCH]).sum())
                  for i in range(0, len(images), EVAL_BATCH))
    return correct / len(images)


def lp_ft_vs_scratch(images: torch.Tensor, shots: int, epochs: int, seed: int) -> dict:
    """Target accuracy of LP-FT from the pretrained encoder and of training from scratch, same budget.

    images: (C, 20, 28, 28) target characters; drawers 0..shots-1 train, the rest test.
    """
    n_classes, drawers = images.shape[:2]
    train_x = images[:, :shots].reshape(-1, *IMAGE_SHAPE)
    train_y = torch.arange(n_classes).repeat_interleave(shots)
    test_x = images[:, shots:].reshape(-1, *IMAGE_SHAPE)
    test_y = torch.arange(n_classes).repeat_interleave(drawers - shots)
    loader = [(train_x, train_y)]
    pretrained = build(seed, n_classes, pretrained=True)
    history = finetune.lp_ft(pretrained, HEAD_NAME, loader, epochs, epochs, 1e-2, 1e-3,
                             torch.Generator().manual_seed(seed))
    torch.manual_seed(seed)
    scratch = Classifier(n_classes)
    finetune.reinit_head(scratch, HEAD_NAME, torch.Generator().manual_seed(seed))
    finetune.finetune(scratch, loader, 2 * epochs, 1e-3, torch.Generator().manual_seed(seed))
    return {"lp_ft": accuracy(pretrained, test_x, test_y), "scratch": accuracy(scratch, test_x, test_y),
            "history": history}
