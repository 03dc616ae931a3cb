"""Multi-task learning: task conditioning, MMoE, task weighting, PCGrad, sampling, synthetic tasks.

Shapes use B = batch size, D = input size, T = number of tasks, H = hidden size, E = number of
experts, P = number of parameters. Task identities `z` are one-hot float rows (B, T).
The training script (train.py) is provided.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: F401 (yours to use)
from torch import nn

# The synthetic tasks' constants (the MMoE paper leaves alpha_i and beta_i open; see the handout).
ALPHAS = (0.5, 1.0, 1.5)  # alpha_i, the frequencies of the m = 3 sine terms
BETAS = (0.0, 1.0, 2.0)  # beta_i, their phases
NOISE_STD = 0.01  # standard deviation of the label noise
SCALE = 3.0  # c, the norm of the task weight vectors w1 and w2


def concat_condition(
    x: torch.Tensor, z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor
) -> torch.Tensor:
    """Return the (B, H) output of the linear layer (weight, bias) applied to the concatenation [x, z].

    x: (B, D) float; z: (B, T) one-hot task identities (float, same dtype as x);
    weight: (H, D + T), its first D columns multiply x and its last T columns multiply z; bias: (H,).
    """
    # TODO: implement concat_condition as its docstring describes (shapes included).
    raise NotImplementedError("concat_condition is not implemented yet")


def additive_condition(
    x: torch.Tensor, z: torch.Tensor, weight_x: torch.Tensor, task_bias: torch.Tensor, bias: torch.Tensor
) -> torch.Tensor:
    """Return the (B, H) output x weight_x^T + z task_bias + bias: a linear layer plus a per-task bias.

    x: (B, D); z: (B, T) one-hot; weight_x: (H, D); task_bias: (T, H), row t the bias of task t;
    bias: (H,).
    """
    # TODO: implement additive_condition as its docstring describes (shapes included).
    raise NotImplementedError("additive_condition is not implemented yet")


def multiplicative_condition(h: torch.Tensor, z: torch.Tensor, task_gates: torch.Tensor) -> torch.Tensor:
    """Return the (B, H) features h gated elementwise by the gate vector of each row's task.

    h: (B, H); z: (B, T) one-hot; task_gates: (T, H), row t the gate vector of task t.
    Row b of the result is h[b] * task_gates[task of row b].
    """
    # TODO: implement multiplicative_condition as its docstring describes (shapes included).
    raise NotImplementedError("multiplicative_condition is not implemented yet")


def mmoe_combine(expert_outputs: torch.Tensor, gate_logits: torch.Tensor) -> torch.Tensor:
    """Return the (B, H) mixture of experts of one task: sum_e softmax(gate_logits)[:, e] * expert e.

    expert_outputs: (B, E, H), the output of every expert for every example;
    gate_logits: (B, E), this task's gate scores before the softmax (softmax over the E experts).
    """
    # TODO: implement mmoe_combine as its docstring describes (shapes included).
    raise NotImplementedError("mmoe_combine is not implemented yet")


def tower(in_dim: int, tower_dim: int) -> nn.Sequential:
    """Return one task tower: Linear(in_dim, tower_dim) -> ReLU -> Linear(tower_dim, 1)."""
    return nn.Sequential(nn.Linear(in_dim, tower_dim), nn.ReLU(), nn.Linear(tower_dim, 1))


class MMoE(nn.Module):
    """Multi-gate Mixture-of-Experts (Ma et al., KDD 2018): shared experts, one softmax gate per task."""

    def __init__(self, in_dim: int, num_experts: int, expert_dim: int, num_tasks: int, tower_dim: int) -> None:
        """Create the experts, the gates and the towers (names and creation order are fixed: keep them)."""
        super().__init__()
        self.num_experts, self.num_tasks = num_experts, num_tasks
        # expert e: Linear(in_dim, expert_dim) -> ReLU, maps (B, D) to (B, expert_dim)
        self.experts = nn.ModuleList(
            [nn.Sequential(nn.Linear(in_dim, expert_dim), nn.ReLU()) for _ in range(num_experts)]
        )
        # gate of task t: Linear(in_dim, num_experts, no bias), maps (B, D) to gate logits (B, E)
        self.gate_layers = nn.ModuleList(
            [nn.Linear(in_dim, num_experts, bias=False) for _ in range(num_tasks)]
        )
        # tower of task t: maps the task's (B, expert_dim) mixture to its (B, 1) prediction
        self.towers = nn.ModuleList([tower(expert_dim, tower_dim) for _ in range(num_tasks)])

    def gates(self, x: torch.Tensor) -> torch.Tensor:
        """Return the (T, B, E) gate weights: entry (t, b, e) is task t's softmax weight of expert e on x[b]."""
        # TODO: implement gates as its docstring describes (shapes included).
        raise NotImplementedError("gates is not implemented yet")

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return one (B, 1) prediction per task: task t's tower applied to mmoe_combine of the experts
        with task t's gate logits.

        x: (B, D). Every expert sees every example; the experts are shared by all tasks.
        """
        # TODO: implement forward as its docstring describes (shapes included).
        raise NotImplementedError("forward is not implemented yet")


class SharedBottom(nn.Module):
    """The shared-bottom baseline: one shared hidden layer, one tower per task."""

    def __init__(self, in_dim: int, bottom_dim: int, num_tasks: int, tower_dim: int) -> None:
        """Create the bottom and the towers (names and creation order are fixed: keep them)."""
        super().__init__()
        self.num_tasks = num_tasks
        # the shared bottom: Linear(in_dim, bottom_dim) -> ReLU, maps (B, D) to (B, bottom_dim)
        self.bottom = nn.Sequential(nn.Linear(in_dim, bottom_dim), nn.ReLU())
        # tower of task t: maps the shared (B, bottom_dim) features to its (B, 1) prediction
        self.towers = nn.ModuleList([tower(bottom_dim, tower_dim) for _ in range(num_tasks)])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return one (B, 1) prediction per task: task t's tower applied to the shared bottom of x (B, D)."""
        # TODO: implement forward as its docstring describes (shapes included).
        raise NotImplementedError("forward is not implemented yet")


def weighted_task_loss(task_losses: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Return the scalar sum_t weights[t] * task_losses[t].

    task_losses: (T,) per-task losses (differentiable); weights: (T,) non-negative task weights.
    """
    # TODO: implement weighted_task_loss as its docstring describes (shapes included).
    raise NotImplementedError("weighted_task_loss is not implemented yet")


def worst_case_task_loss(task_losses: torch.Tensor) -> torch.Tensor:
    """Return the scalar max_t task_losses[t] (minimising it improves the worst task); task_losses: (T,)."""
    # TODO: implement worst_case_task_loss as its docstring describes (shapes included).
    raise NotImplementedError("worst_case_task_loss is not implemented yet")


def pcgrad(grads: torch.Tensor) -> torch.Tensor:
    """Return the (P,) PCGrad update: the sum over tasks of the projected per-task gradients.

    grads: (T, P), row i the gradient g_i of task i's loss. For each task i in index order, start
    from g_i and visit every other task j != i in index order: if the current (possibly already
    projected) g_i conflicts with the ORIGINAL g_j (their dot product is negative), replace g_i by
    its projection onto the normal plane of g_j: g_i - (g_i . g_j) / ||g_j||^2 * g_j.
    Do not modify `grads`.
    """
    # TODO: implement pcgrad as its docstring describes (shapes included).
    raise NotImplementedError("pcgrad is not implemented yet")


def stratified_task_batches(
    task_sizes: list[int], batch_per_task: int, generator: torch.Generator
) -> list[torch.Tensor]:
    """Return one (batch_per_task,) int64 tensor of example indices per task, in task order.

    task_sizes[t]: the number of examples of task t (indices 0..task_sizes[t] - 1). Every task gets
    batch_per_task indices whatever its size, drawn uniformly at random: distinct indices when the
    task has at least batch_per_task examples, otherwise with replacement. Use only `generator`.
    """
    # TODO: implement stratified_task_batches as its docstring describes (shapes included).
    raise NotImplementedError("stratified_task_batches is not implemented yet")


def mmoe_synthetic_tasks(
    num_examples: int, in_dim: int, correlation: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return (x, y1, y2): two regression tasks whose correlation grows with `correlation` = p.

    The MMoE paper's generator (section 3.2), float32, with c = SCALE, alpha_i = ALPHAS[i - 1],
    beta_i = BETAS[i - 1] (m = len(ALPHAS) terms) and noise standard deviation NOISE_STD. Draw, in
    this order and only from `generator`:
    1. a (2, in_dim) standard normal matrix; Gram-Schmidt turns its rows into orthogonal unit
       vectors u1 (the first row, normalised) and u2 (the second row minus its projection on u1,
       normalised);
    2. x: (num_examples, in_dim) standard normal;
    3. noise: (2, num_examples) standard normal, times NOISE_STD.
    Then w1 = c u1, w2 = c (p u1 + sqrt(1 - p^2) u2), and for t = 1, 2:
    y_t = w_t . x + sum_{i=1..m} sin(alpha_i w_t . x + beta_i) + noise[t - 1].
    x: (num_examples, in_dim); y1, y2: (num_examples, 1).
    """
    # TODO: implement mmoe_synthetic_tasks as its docstring describes (shapes included).
    raise NotImplementedError("mmoe_synthetic_tasks is not implemented yet")

