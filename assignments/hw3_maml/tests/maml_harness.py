"""Trusted test harness for hw3_maml: builds models and tasks from seeds, calls maml.py, returns plain data.

Runs inside the grading sandbox beside the submitted maml.py and the provided model.py. Models,
loss functions and learning-rate dicts cannot cross the wire, so every graded call goes through here.
Models for the gradient tests are small tanh MLPs in float64: smooth, so that second- and
first-order meta-gradients differ clearly, and exact enough for tight tolerances.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

import maml
from model import SinusoidMLP

LOSSES = {"mse": F.mse_loss, "cross_entropy": F.cross_entropy}


def tanh_mlp(seed: int, sizes: tuple[int, ...], batchnorm: bool = False,
             dtype: torch.dtype = torch.float64) -> nn.Module:
    """A tanh MLP with layer sizes `sizes` (optionally BatchNorm1d, batch statistics only) built from seed."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            if batchnorm:
                layers.append(nn.BatchNorm1d(b, track_running_stats=False))
            layers.append(nn.Tanh())
    return nn.Sequential(*layers).to(dtype)


def make_tasks(seed: int, num_tasks: int, loss: str, in_dim: int, out_dim: int, k_shot: int = 6,
               k_query: int = 5, dtype: torch.dtype = torch.float64) -> list[tuple]:
    """Regression ('mse': smooth targets) or classification ('cross_entropy': labels) tasks from seed."""
    gen = torch.Generator().manual_seed(seed)
    tasks = []
    for _ in range(num_tasks):
        w = torch.randn(in_dim, out_dim, generator=gen, dtype=dtype)
        xs = torch.randn(k_shot + k_query, in_dim, generator=gen, dtype=dtype)
        if loss == "mse":
            ys = torch.sin(xs @ w)
        else:
            ys = torch.randint(0, out_dim, (k_shot + k_query,), generator=gen)
        tasks.append((xs[:k_shot], ys[:k_shot], xs[k_shot:], ys[k_shot:]))
    return tasks


def _model_and_tasks(seed: int, num_tasks: int, loss: str, batchnorm: bool = False,
                     dtype: str = "float64") -> tuple[nn.Module, list[tuple]]:
    """The small model and tasks of one test case (dtype: 'float64' or 'float32')."""
    dtype = getattr(torch, dtype)
    out_dim = 1 if loss == "mse" else 3
    model = tanh_mlp(seed, (2, 8, 8, out_dim), batchnorm=batchnorm, dtype=dtype)
    return model, make_tasks(seed + 1000, num_tasks, loss, 2, out_dim, dtype=dtype)


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the model's state (parameters and buffers)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _plain(result, what: str) -> dict:
    """Detach a returned dict of tensors; describe anything else as an error string."""
    if not isinstance(result, dict):
        return {"error": f"{what} should return a dict name -> tensor, got {type(result).__name__}"}
    bad = [k for k, v in result.items() if not isinstance(v, torch.Tensor)]
    if bad:
        return {"error": f"{what} returned non-tensor values for {sorted(map(str, bad))[:3]}"}
    return {k: v.detach().clone() for k, v in result.items()}


def _lr_dict(params: dict[str, torch.Tensor], base: float) -> dict[str, torch.Tensor]:
    """Per-parameter Meta-SGD learning rates: base scaled by a fixed pattern, requiring gradients."""
    lrs = {}
    for i, (name, p) in enumerate(params.items()):
        pattern = 1.0 + 0.25 * torch.cos(torch.arange(p.numel(), dtype=p.dtype) + i).reshape(p.shape)
        lrs[name] = (base * pattern).requires_grad_(True)
    return lrs


def adapt(seed: int, num_steps: int, inner_lr: float, first_order: bool = False, loss: str = "mse",
          batchnorm: bool = False, only: str | None = None, dtype: str = "float64") -> dict:
    """Run inner_loop on one task; return the adapted dict and whether params, dict and model stayed intact.

    only: adapt just the parameters whose name starts with this prefix (the others stay the model's).
    """
    model, tasks = _model_and_tasks(seed, 1, loss, batchnorm, dtype)
    support_x, support_y, _, _ = tasks[0]
    params = {n: p for n, p in model.named_parameters() if only is None or n.startswith(only)}
    originals = dict(params)
    before = {n: p.detach().clone() for n, p in params.items()}
    state = _snapshot(model)
    result = maml.inner_loop(model, params, support_x, support_y, LOSSES[loss], inner_lr, num_steps, first_order)
    return {
        "adapted": _plain(result, "inner_loop"),
        "keys": sorted(result) if isinstance(result, dict) else [],
        "param_keys": sorted(params),
        "values_changed": sorted(n for n, p in originals.items() if not torch.equal(p.detach(), before[n])),
        "dict_changed": set(params) != set(originals) or any(params[n] is not p for n, p in originals.items()),
        "model_changed": sorted(k for k, v in model.state_dict().items() if not torch.equal(v, state[k])),
        "buffers": sorted(n for n, _ in model.named_buffers()),
        "returned_is_params": result is params,
    }


def meta_gradient(seed: int, num_tasks: int, num_steps: int, inner_lr: float, first_order: bool = False,
                  loss: str = "mse", batchnorm: bool = False, learn_lr: bool = False,
                  dtype: str = "float64") -> dict:
    """Return maml_loss over seeded tasks and its gradients w.r.t. params (and the Meta-SGD rates)."""
    model, tasks = _model_and_tasks(seed, num_tasks, loss, batchnorm, dtype)
    params = dict(model.named_parameters())
    lr = _lr_dict(params, inner_lr) if learn_lr else inner_lr
    originals, lr_originals = dict(params), (dict(lr) if learn_lr else {})
    before = {n: p.detach().clone() for n, p in params.items()}
    value = maml.maml_loss(model, params, tasks, LOSSES[loss], lr, num_steps, first_order)
    out: dict = {"loss": None, "grads": None, "lr_grads": None, "values_changed": [], "error": None}
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        out["error"] = f"maml_loss should return a scalar tensor, got {type(value).__name__}"
        return out
    out["loss"] = value.detach().reshape(())
    if not value.requires_grad:
        out["error"] = ("the value of maml_loss does not require grad: no graph leads back to params "
                        "(avoid .detach(), .item(), torch.no_grad() or copying tensors)")
        return out
    inputs = list(originals.values()) + list(lr_originals.values())
    grads = torch.autograd.grad(value, inputs, allow_unused=True)
    names = list(originals)
    out["grads"] = {n: None if g is None else g.detach() for n, g in zip(names, grads[: len(names)])}
    if learn_lr:
        out["lr_grads"] = {n: None if g is None else g.detach() for n, g in zip(names, grads[len(names):])}
    out["values_changed"] = sorted(n for n, p in originals.items() if not torch.equal(p.detach(), before[n]))
    return out


def task_samples(seed: int, num_tasks: int, k_shot: int, k_query: int) -> dict:
    """Call sinusoid_tasks; return its tasks as plain data, and whether it used only the generator."""
    tasks = maml.sinusoid_tasks(num_tasks, k_shot, k_query, torch.Generator().manual_seed(seed))
    torch.manual_seed(seed + 1)
    again = maml.sinusoid_tasks(num_tasks, k_shot, k_query, torch.Generator().manual_seed(seed))
    other = maml.sinusoid_tasks(num_tasks, k_shot, k_query, torch.Generator().manual_seed(seed + 7))
    same = _same_tasks(tasks, again)
    return {"tasks": tasks if isinstance(tasks, list) else None, "kind": type(tasks).__name__,
            "reproducible": same, "seed_matters": not _same_tasks(tasks, other)}


def _same_tasks(a, b) -> bool:
    """Whether two task lists hold equal tensors (False for anything else)."""
    try:
        return len(a) == len(b) and all(torch.equal(x, y) for ta, tb in zip(a, b) for x, y in zip(ta, tb))
    except (TypeError, RuntimeError):
        return False


def _sine_tasks(gen: torch.Generator, n: int, k: int) -> list[tuple]:
    """Trusted sinusoid tasks (A in [0.1, 5], phase in [0, pi], x in [-5, 5]), k support and k query points."""
    amp = 0.1 + 4.9 * torch.rand(n, 1, 1, generator=gen)
    phase = math.pi * torch.rand(n, 1, 1, generator=gen)
    x = -5.0 + 10.0 * torch.rand(n, 2 * k, 1, generator=gen)
    y = amp * torch.sin(x - phase)
    return [(x[i, :k], y[i, :k], x[i, k:], y[i, k:]) for i in range(n)]


def _mse_after(model: nn.Module, params: dict, tasks: list[tuple], inner_lr: float, steps: int) -> float:
    """Mean query MSE over tasks after `steps` inner steps (first-order: no meta-gradient is needed)."""
    mse_sum = 0.0
    for sx, sy, qx, qy in tasks:
        adapted = maml.inner_loop(model, dict(params), sx, sy, F.mse_loss, inner_lr, steps, first_order=True)
        with torch.no_grad():
            mse_sum += float(F.mse_loss(torch.func.functional_call(model, adapted, (qx,)), qy))
    return mse_sum / len(tasks)


def sinusoid_meta_training(seed: int, iterations: int = 200, meta_batch: int = 10, k_shot: int = 10,
                           inner_lr: float = 0.01, hidden: int = 40, meta_lr: float = 1e-2,
                           eval_tasks: int = 50) -> dict:
    """Meta-train the provided SinusoidMLP with maml_loss (Adam); return pre- and post-adaptation MSE."""
    torch.manual_seed(seed)
    model = SinusoidMLP(hidden=hidden)
    params = dict(model.named_parameters())
    optimizer = torch.optim.Adam(params.values(), lr=meta_lr)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(iterations):
        loss = maml.maml_loss(model, params, _sine_tasks(gen, meta_batch, k_shot), F.mse_loss, inner_lr, 1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    tasks = _sine_tasks(torch.Generator().manual_seed(seed + 1), eval_tasks, k_shot)
    return {"pre_mse": _mse_after(model, params, tasks, inner_lr, 0),
            "post_mse": _mse_after(model, params, tasks, inner_lr, 1),
            "first_losses": sum(losses[:20]) / 20, "last_losses": sum(losses[-20:]) / 20}
