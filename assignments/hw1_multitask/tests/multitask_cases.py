"""Fixed inputs and property checks shared by the hw1_multitask tests."""

from __future__ import annotations

import torch


def task_batch(seed: int, batch: int, in_dim: int, num_tasks: int, dtype: torch.dtype = torch.float32):
    """Return (x (B, D), z (B, T) one-hot, task (B,) int64) with every task present when B >= T."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, in_dim, generator=gen, dtype=torch.float64).to(dtype)
    task = torch.arange(batch) % num_tasks
    task = task[torch.randperm(batch, generator=gen)]
    z = torch.nn.functional.one_hot(task, num_tasks).to(dtype)
    return x, z, task


def randn(seed: int, *shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A seeded standard normal tensor."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=torch.float64).to(dtype)


def tolerance(dtype: torch.dtype, atol: float = 1e-5, rtol: float = 1e-4) -> dict:
    """Comparison tolerances: float64 results must be float64-accurate (a float32 detour fails)."""
    return {"atol": 1e-10, "rtol": 1e-10} if dtype == torch.float64 else {"atol": atol, "rtol": rtol}


def sampler_problems(result, task_sizes: list[int], batch_per_task: int) -> list[str]:
    """The properties a stratified_task_batches result violates (empty list: valid).

    A result of the wrong structure raises SubmissionError instead: it earns no partial credit.
    """
    from autograder.checks import expect_tensor
    from autograder.submission import SubmissionError

    if not isinstance(result, (list, tuple)) or len(result) != len(task_sizes):
        raise SubmissionError(f"stratified_task_batches should return a list of {len(task_sizes)} tensors, "
                              "one per task")
    problems = []
    for t, (indices, size) in enumerate(zip(result, task_sizes)):
        expect_tensor(indices, f"the indices of task {t}", (batch_per_task,), torch.int64)
        if len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= size):
            problems.append(f"task {t}'s indices must lie in [0, {size})")
        elif size >= batch_per_task and len(set(indices.tolist())) != batch_per_task:
            problems.append(f"task {t} has {size} >= {batch_per_task} examples: its indices must be distinct")
    return problems


def pearson(a: torch.Tensor, b: torch.Tensor) -> float:
    """The Pearson correlation of two flattened tensors (in float64)."""
    a, b = a.flatten().double(), b.flatten().double()
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm()))
