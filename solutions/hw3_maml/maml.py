"""Model-Agnostic Meta-Learning (Finn, Abbeel & Levine, 2017): the inner loop, the meta-loss, sinusoid tasks.

Parameters travel as a dict name -> tensor (as from `dict(model.named_parameters())`), and the model
is always evaluated with `torch.func.functional_call(model, params, (x,))`, so the same module serves
the meta-parameters and every task's adapted parameters without copying it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call

Params = dict[str, torch.Tensor]
Task = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def inner_loop(
    model: nn.Module, params: Params, support_x: torch.Tensor, support_y: torch.Tensor, loss_fn: LossFn,
    inner_lr: float | Params, num_steps: int, first_order: bool = False,
) -> Params:
    """Return the task-adapted parameters after `num_steps` gradient steps on the support loss.

    - `params`: dict name -> tensor, the parameters to adapt (they may be a subset of the model's;
      the model's other parameters and its buffers are used as they are). Never modify them in place.
    - `support_x`: the task's (K, ...) inputs; `support_y`: its (K, ...) targets.
    - Each step takes the support loss L = loss_fn(functional_call(model, current, (support_x,)), support_y)
      and replaces every current[name] by current[name] - lr[name] * dL/d current[name], where
      `lr[name]` is `inner_lr` (a float) or `inner_lr[name]` (a dict of per-parameter learning-rate
      tensors, Meta-SGD: they must receive meta-gradients).
    - Second order (`first_order=False`): keep the graph of every step, so that the result is a
      differentiable function of `params` (and of `inner_lr` when it is a dict of tensors).
    - First order (`first_order=True`): treat each inner gradient as a constant (no graph through
      it); the result still depends on `params` through the updates themselves (d result / d params
      is the identity) and on `inner_lr`.
    - `num_steps == 0` returns a new dict holding the same tensors.
    Returns a new dict with the same keys as `params`.
    """
    # BEGIN SOLUTION
    current = dict(params)
    names = list(current)
    for _ in range(num_steps):
        support_loss = loss_fn(functional_call(model, current, (support_x,)), support_y)
        grads = torch.autograd.grad(support_loss, [current[n] for n in names], create_graph=not first_order,
                                    allow_unused=True)
        for name, grad in zip(names, grads):
            if grad is None:
                continue
            lr = inner_lr[name] if isinstance(inner_lr, dict) else inner_lr
            current[name] = current[name] - lr * (grad.detach() if first_order else grad)
    return current
    # END SOLUTION


def maml_loss(
    model: nn.Module, params: Params, tasks: list[Task], loss_fn: LossFn,
    inner_lr: float | Params, num_steps: int, first_order: bool = False,
) -> torch.Tensor:
    """Return the MAML meta-loss: the mean over `tasks` of the query loss after adapting on the support set.

    - `tasks`: a list of `(support_x, support_y, query_x, query_y)`.
    - For each task: adapt `params` with `inner_loop(...)` on the support set (same `inner_lr`,
      `num_steps`, `first_order`), then take the query loss of the adapted parameters (loss_fn of
      functional_call(model, adapted, (query_x,)) against query_y).
    Returns a scalar tensor, differentiable with respect to `params` (and to `inner_lr` when it is
    a dict of tensors).
    """
    # BEGIN SOLUTION
    total = 0.0
    for support_x, support_y, query_x, query_y in tasks:
        adapted = inner_loop(model, params, support_x, support_y, loss_fn, inner_lr, num_steps, first_order)
        total = total + loss_fn(functional_call(model, adapted, (query_x,)), query_y)
    return total / len(tasks)
    # END SOLUTION


def sinusoid_tasks(num_tasks: int, k_shot: int, k_query: int, generator: torch.Generator) -> list[Task]:
    """Return `num_tasks` sinusoid regression tasks `(support_x, support_y, query_x, query_y)`.

    Task `i` is `y = A_i * sin(x - phi_i)` with amplitude `A_i` uniform in [0.1, 5.0] and phase
    `phi_i` uniform in [0, pi] (Finn et al. 2017); its `k_shot` support and `k_query` query inputs
    are independent draws of `x` uniform in [-5, 5]. Shapes: `support_x`, `support_y`: (k_shot, 1);
    `query_x`, `query_y`: (k_query, 1); all float32. Use only `generator` for randomness.
    """
    # BEGIN SOLUTION
    amplitude = 0.1 + 4.9 * torch.rand(num_tasks, generator=generator)
    phase = math.pi * torch.rand(num_tasks, generator=generator)
    x = -5.0 + 10.0 * torch.rand(num_tasks, k_shot + k_query, 1, generator=generator)
    y = amplitude.view(-1, 1, 1) * torch.sin(x - phase.view(-1, 1, 1))
    return [(x[i, :k_shot], y[i, :k_shot], x[i, k_shot:], y[i, k_shot:]) for i in range(num_tasks)]
    # END SOLUTION
