"""Test harness for hw1_multitask: builds models inside the sandbox and returns plain tensors.

Trusted instructor code, run beside the submitted multitask.py. Models are created from explicit
seeds, so the weights are the same for every submission whose __init__ is the provided one.
"""

from __future__ import annotations

import torch

import multitask


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of a model's state dict."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def build_mmoe(seed: int, in_dim: int, num_experts: int, expert_dim: int, num_tasks: int, tower_dim: int):
    """Build MMoE from seed; return (parameter names in creation order, shapes)."""
    torch.manual_seed(seed)
    model = multitask.MMoE(in_dim, num_experts, expert_dim, num_tasks, tower_dim)
    return [n for n, _ in model.named_parameters()], [list(p.shape) for p in model.parameters()]


def mmoe_outputs(seed: int, x: torch.Tensor, num_experts: int, expert_dim: int, num_tasks: int, tower_dim: int):
    """Build MMoE from seed; return (forward(x) as a list of (B, 1) tensors, gates(x) (T, B, E))."""
    torch.manual_seed(seed)
    model = multitask.MMoE(x.shape[1], num_experts, expert_dim, num_tasks, tower_dim)
    outputs = model(x)
    if not isinstance(outputs, (list, tuple)):
        return outputs, model.gates(x).detach()
    return [o.detach() for o in outputs], model.gates(x).detach()


def mmoe_input_gradient(seed: int, x: torch.Tensor, num_experts: int, expert_dim: int, tower_dim: int):
    """Build a 2-task MMoE from seed; return d(sum of task 1's outputs)/dx and the expert-0 weight gradient."""
    torch.manual_seed(seed)
    model = multitask.MMoE(x.shape[1], num_experts, expert_dim, 2, tower_dim)
    x = x.clone().requires_grad_(True)
    model(x)[1].sum().backward()
    weight_grad = model.experts[0][0].weight.grad
    return x.grad, None if weight_grad is None else weight_grad.clone()


def shared_bottom_outputs(seed: int, x: torch.Tensor, bottom_dim: int, num_tasks: int, tower_dim: int):
    """Build SharedBottom from seed; return (parameter names, forward(x) as a list of tensors)."""
    torch.manual_seed(seed)
    model = multitask.SharedBottom(x.shape[1], bottom_dim, num_tasks, tower_dim)
    outputs = model(x)
    names = [n for n, _ in model.named_parameters()]
    if not isinstance(outputs, (list, tuple)):
        return names, outputs
    return names, [o.detach() for o in outputs]


def _train(model: torch.nn.Module, x: torch.Tensor, ys: list[torch.Tensor], steps: int, batch: int,
           lr: float, seed: int) -> None:
    """Adam on the sum of the per-task mean squared errors (learning rate decayed linearly to 0),
    minibatches drawn from a seeded generator."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for step in range(steps):
        optimizer.param_groups[0]["lr"] = lr * (1.0 - step / steps)
        idx = torch.randint(len(x), (batch,), generator=generator)
        outputs = model(x[idx])
        loss = sum(((out - y[idx]) ** 2).mean() for out, y in zip(outputs, ys))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


@torch.no_grad()
def _test_loss(model: torch.nn.Module, x: torch.Tensor, ys: list[torch.Tensor]) -> float:
    """The mean over tasks of the test mean squared error."""
    outputs = model(x)
    return float(sum(((out - y) ** 2).mean() for out, y in zip(outputs, ys)) / len(ys))


def mmoe_vs_shared_bottom(seeds: list[int], train: tuple, test: tuple, num_experts: int, expert_dim: int,
                          bottom_dim: int, tower_dim: int, steps: int, batch: int, lr: float) -> dict:
    """Train MMoE and SharedBottom (same seeds, same minibatches) on (x, y1, y2) once per seed; return
    their test losses (one per seed) and parameter counts."""
    x, *ys = train
    x_test, *ys_test = test
    result: dict = {"mmoe": [], "shared_bottom": []}
    for seed in seeds:
        for name in ("mmoe", "shared_bottom"):
            torch.manual_seed(seed)
            if name == "mmoe":
                model = multitask.MMoE(x.shape[1], num_experts, expert_dim, len(ys), tower_dim)
            else:
                model = multitask.SharedBottom(x.shape[1], bottom_dim, len(ys), tower_dim)
            _train(model, x, ys, steps, batch, lr, seed + 1)
            result[name].append(_test_loss(model, x_test, ys_test))
            result[name + "_parameters"] = sum(p.numel() for p in model.parameters())
    return result


def gradients(function: str, args: list, wrt: list[int], seed: int) -> list:
    """Call multitask.<function>(*args); return the gradients of sum(output * R) with respect to args[i]
    for i in wrt (R: a fixed random tensor from seed; None where no gradient reached an argument)."""
    args = [a.clone().requires_grad_(True) if i in wrt else a for i, a in enumerate(args)]
    output = getattr(multitask, function)(*args)
    weights = torch.randn(output.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    (output * weights.to(output.dtype)).sum().backward()
    return [args[i].grad for i in wrt]
