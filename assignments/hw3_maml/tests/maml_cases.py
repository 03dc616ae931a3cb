"""Checks shared by the hw3_maml tests: turn harness results into pass/fail with messages for students."""

from __future__ import annotations

import math

import torch

from autograder.checks import expect_tensor
from autograder.submission import SubmissionError

# float64 models: tight enough that a first-order answer, a wrong step or a wrong mean cannot pass.
ATOL, RTOL = 1e-9, 1e-7


def adapted_params(out: dict, what: str = "inner_loop(...)") -> dict[str, torch.Tensor]:
    """The adapted dict of a harness.adapt result, after checking its keys and shapes."""
    adapted = out["adapted"]
    if "error" in adapted:
        raise SubmissionError(adapted["error"])
    if out["keys"] != out["param_keys"]:
        raise SubmissionError(f"{what} should return a dict with exactly the keys of params "
                              f"{out['param_keys']}; got {out['keys']}")
    if out["returned_is_params"]:
        raise SubmissionError(f"{what} returned the params dict itself: return a new dict")
    return adapted


def untouched(out: dict, what: str = "inner_loop(...)") -> None:
    """Fail if the call modified params' tensors, the params dict or the model in place."""
    if out["values_changed"]:
        raise SubmissionError(f"{what} modified params in place ({out['values_changed'][:3]}): build new "
                              "tensors (p - lr * g), never p.sub_(...), p -= ... or p.data / p.copy_")
    if out.get("dict_changed"):
        raise SubmissionError(f"{what} changed the params dict it was given: copy it (dict(params)) "
                              "before replacing entries")
    if out.get("model_changed"):
        raise SubmissionError(f"{what} changed the model's own parameters or buffers "
                              f"({out['model_changed'][:3]}): adapt the params dict only")


def meta_gradients(out: dict, lr: bool = False) -> dict[str, torch.Tensor]:
    """The gradients of a harness.meta_gradient result (lr: those of the Meta-SGD rates), all present."""
    if out["error"]:
        raise SubmissionError(out["error"])
    grads = out["lr_grads" if lr else "grads"]
    missing = sorted(n for n, g in grads.items() if g is None)
    if missing:
        target = "the per-parameter inner learning rates" if lr else "params"
        raise SubmissionError(f"maml_loss is not differentiable with respect to {target} {missing[:3]}: "
                              "no gradient reached them (avoid .detach(), .item(), torch.no_grad(), "
                              "float(...) or creating new leaf tensors in the inner loop)")
    return grads


def sinusoid_problems(tasks, num_tasks: int, k_shot: int, k_query: int) -> list[str]:
    """What is wrong with a list of sinusoid tasks (empty: nothing found).

    Each task's 2k points must lie on one curve A sin(x - phi) (or A sin(x + phi)) with A in
    [0.1, 5] and phi in [0, pi], with x in [-5, 5].
    """
    if not isinstance(tasks, list) or len(tasks) != num_tasks:
        raise SubmissionError(f"sinusoid_tasks should return a list of {num_tasks} tasks")
    for i, task in enumerate(tasks):
        if not isinstance(task, (tuple, list)) or len(task) != 4:
            raise SubmissionError(f"task {i} should be a tuple (support_x, support_y, query_x, query_y)")
        for value, name, k in zip(task, ("support_x", "support_y", "query_x", "query_y"),
                                  (k_shot, k_shot, k_query, k_query)):
            expect_tensor(value, f"task {i} {name}", (k, 1), torch.float32)
    problems, phases = [], {"minus": [], "plus": []}
    for i, (sx, sy, qx, qy) in enumerate(tasks):
        x = torch.cat([sx, qx]).double().reshape(-1)
        y = torch.cat([sy, qy]).double().reshape(-1)
        if x.min() < -5.0 or x.max() > 5.0:
            problems.append(f"task {i}: x outside [-5, 5]")
            continue
        basis = torch.stack([torch.sin(x), torch.cos(x)], dim=1)
        coef = torch.linalg.lstsq(basis, y.unsqueeze(1)).solution.reshape(-1)
        a, b = float(coef[0]), float(coef[1])
        amplitude = math.hypot(a, b)
        residual = float((basis @ coef - y).abs().max())
        if residual > 1e-4 * max(1.0, amplitude):
            problems.append(f"task {i}: support and query points do not lie on one sinusoid A sin(x - phi)")
            continue
        if not 0.1 - 1e-4 <= amplitude <= 5.0 + 1e-4:
            problems.append(f"task {i}: amplitude {amplitude:.4g} outside [0.1, 5.0]")
        phases["minus"].append(math.atan2(-b, a))   # y = A sin(x - phi)
        phases["plus"].append(math.atan2(b, a))     # y = A sin(x + phi)
    in_range = lambda ps: all(-1e-4 <= p <= math.pi + 1e-4 for p in ps)  # noqa: E731
    if not problems and not (in_range(phases["minus"]) or in_range(phases["plus"])):
        problems.append("phases outside [0, pi]: expected y = A * sin(x - phi) with phi uniform in [0, pi]")
    return problems
