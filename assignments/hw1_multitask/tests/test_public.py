"""hw1_multitask public tests: shown to students, and run by `cs330 test hw1_multitask`."""

from __future__ import annotations

import torch
from gradescope_utils.autograder_utils.decorators import number, partial_credit, weight

from autograder.checks import expect_close, expect_tensor
from autograder.submission import SubmissionError
from multitask_cases import pearson, randn, sampler_problems, task_batch

MMOE_NAMES = [
    *(f"experts.{e}.0.{p}" for e in range(3) for p in ("weight", "bias")),
    "gate_layers.0.weight", "gate_layers.1.weight",
    *(f"towers.{t}.{layer}.{p}" for t in range(2) for layer in (0, 2) for p in ("weight", "bias")),
]


def expect_outputs(outputs, name: str, batch: int, num_tasks: int) -> list[torch.Tensor]:
    """Check forward's result is a list of num_tasks (batch, 1) tensors; return it."""
    if not isinstance(outputs, (list, tuple)) or len(outputs) != num_tasks:
        raise SubmissionError(f"{name} should return a list of {num_tasks} tensors (one per task)")
    return [expect_tensor(o, f"{name}[{t}]", (batch, 1), torch.float32) for t, o in enumerate(outputs)]


@weight(2)
@number("1.1")
def test_concat_condition(student, golden):
    """concat_condition: a linear layer applied to [x, z]"""
    x, z, _ = task_batch(0, batch=6, in_dim=5, num_tasks=3)
    out = student.concat_condition(x, z, randn(1, 4, 8), randn(2, 4))
    expect_tensor(out, "concat_condition(...)", (6, 4), torch.float32)
    golden.check("out", out, "concat_condition(...)")


@weight(2)
@number("1.2")
def test_additive_condition(student, golden):
    """additive_condition: x W^T + z task_bias + bias"""
    x, z, _ = task_batch(3, batch=7, in_dim=4, num_tasks=3)
    out = student.additive_condition(x, z, randn(4, 5, 4), randn(5, 3, 5), randn(6, 5))
    expect_tensor(out, "additive_condition(...)", (7, 5), torch.float32)
    golden.check("out", out, "additive_condition(...)")


@weight(2)
@number("1.3")
def test_concat_equals_additive(student):
    """concat and additive conditioning are the same function (weight = [weight_x | task_bias^T])"""
    x, z, _ = task_batch(7, batch=9, in_dim=6, num_tasks=4)
    weight_x, task_bias, bias = randn(8, 3, 6), randn(9, 4, 3), randn(10, 3)
    concat = student.concat_condition(x, z, torch.cat([weight_x, task_bias.t()], dim=1), bias)
    additive = student.additive_condition(x, z, weight_x, task_bias, bias)
    expect_tensor(concat, "concat_condition(...)", (9, 3), torch.float32)
    expect_tensor(additive, "additive_condition(...)", (9, 3), torch.float32)
    expect_close(additive, concat, "additive_condition(x, z, W_x, W_z^T, b) against concat_condition(x, z, "
                 "[W_x | W_z], b)", atol=1e-5)


@weight(2)
@number("1.4")
def test_multiplicative_condition(student, golden):
    """multiplicative_condition: row b of h times its task's gate vector"""
    _, z, task = task_batch(11, batch=8, in_dim=1, num_tasks=3)
    h, gates = randn(12, 8, 5), randn(13, 3, 5)
    out = student.multiplicative_condition(h, z, gates)
    expect_tensor(out, "multiplicative_condition(...)", (8, 5), torch.float32)
    expect_close(out, h * gates[task], "multiplicative_condition(...)", atol=1e-6)
    golden.check("out", out, "multiplicative_condition(...)")


@weight(2)
@number("2.1")
def test_mmoe_combine(student, golden):
    """mmoe_combine: softmax over experts, weighted sum of expert outputs"""
    experts, logits = randn(14, 5, 4, 6), randn(15, 5, 4)
    out = student.mmoe_combine(experts, logits)
    expect_tensor(out, "mmoe_combine(...)", (5, 6), torch.float32)
    golden.check("out", out, "mmoe_combine(...)")


@weight(1)
@number("2.2")
def test_mmoe_combine_extremes(student):
    """mmoe_combine: equal logits average the experts; one dominant logit picks its expert"""
    experts = randn(16, 3, 4, 2)
    equal = student.mmoe_combine(experts, torch.zeros(3, 4))
    expect_close(equal, experts.mean(dim=1), "mmoe_combine with equal gate logits (the mean of the experts)",
                 atol=1e-6)
    logits = torch.zeros(3, 4)
    logits[torch.arange(3), torch.tensor([2, 0, 3])] = 50.0
    picked = student.mmoe_combine(experts, logits)
    expect_close(picked, experts[torch.arange(3), torch.tensor([2, 0, 3])],
                 "mmoe_combine with one dominant gate logit per row (that expert's output)", atol=1e-5)


@weight(4)
@number("3.1")
def test_mmoe_forward_and_gates(harness, golden):
    """MMoE: forward gives one (B, 1) output per task; gates (T, B, E) sum to 1 over experts"""
    names, _ = harness.build_mmoe(0, 4, 3, 5, 2, 3)
    if names != MMOE_NAMES:
        raise SubmissionError("MMoE's parameters are not the provided ones: keep __init__ as given "
                              f"(expected {MMOE_NAMES}, got {names})")
    x = randn(17, 6, 5)
    outputs, gates = harness.mmoe_outputs(17, x, 4, 8, 3, 4)
    outputs = expect_outputs(outputs, "MMoE.forward(x)", 6, 3)
    expect_tensor(gates, "MMoE.gates(x)", (3, 6, 4), torch.float32)
    if bool((gates < 0).any()):
        raise SubmissionError("gate weights must be non-negative (a softmax over the experts)")
    expect_close(gates.sum(dim=2), torch.ones(3, 6), "MMoE.gates(x).sum(dim=2) (each task's gate sums to 1)",
                 atol=1e-5)
    golden.check("gates", gates, "MMoE.gates(x)")
    golden.check("outputs", outputs, "MMoE.forward(x)")


@weight(2)
@number("3.2")
def test_shared_bottom_forward(harness, golden):
    """SharedBottom: one (B, 1) output per task from the shared bottom"""
    x = randn(18, 7, 5)
    names, outputs = harness.shared_bottom_outputs(18, x, 6, 2, 3)
    outputs = expect_outputs(outputs, "SharedBottom.forward(x)", 7, 2)
    golden.check("names", names, "SharedBottom's parameter names")
    golden.check("outputs", outputs, "SharedBottom.forward(x)")


@weight(1)
@number("4.1")
def test_weighted_task_loss(student, golden):
    """weighted_task_loss: sum of weights times task losses, differentiable"""
    losses, weights = randn(19, 4).abs(), torch.tensor([0.5, 1.0, 2.0, 0.0])
    value, grads = student.weighted_task_loss.with_grad(losses, weights, wrt=[(0,)])
    expect_tensor(value, "weighted_task_loss(...)", ())
    golden.check("value", value, "weighted_task_loss(...)")
    if grads[0] is None:
        raise SubmissionError("weighted_task_loss must be differentiable with respect to task_losses")
    expect_close(grads[0], weights, "d weighted_task_loss / d task_losses (the weights)", atol=1e-6)


@weight(1)
@number("4.2")
def test_worst_case_task_loss(student):
    """worst_case_task_loss: the largest task loss"""
    losses = torch.tensor([0.3, 1.7, 0.9])
    value = expect_tensor(student.worst_case_task_loss(losses), "worst_case_task_loss(...)", ())
    expect_close(value, torch.tensor(1.7), "worst_case_task_loss([0.3, 1.7, 0.9])", atol=1e-6)


@weight(1)
@number("5.1")
def test_pcgrad_no_conflict(student):
    """pcgrad: gradients that do not conflict are summed unchanged"""
    grads = torch.tensor([[1.0, 2.0, 0.0], [0.5, 0.0, 1.0], [1.0, 1.0, 1.0]])
    out = expect_tensor(student.pcgrad(grads), "pcgrad(...)", (3,), torch.float32)
    expect_close(out, grads.sum(dim=0), "pcgrad of non-conflicting gradients (their sum)", atol=1e-6)


@weight(2)
@number("5.2")
def test_pcgrad_two_conflicting(student):
    """pcgrad: two conflicting gradients are each projected onto the other's normal plane"""
    grads = torch.tensor([[1.0, 0.0], [-1.0, 1.0]])  # g1 . g2 = -1
    out = expect_tensor(student.pcgrad(grads), "pcgrad(...)", (2,), torch.float32)
    # g1' = g1 - (-1 / 2) g2 = [0.5, 0.5]; g2' = g2 - (-1 / 1) g1 = [0, 1]
    expect_close(out, torch.tensor([0.5, 1.5]), "pcgrad([[1, 0], [-1, 1]])", atol=1e-6)


@weight(2)
@number("5.3")
def test_pcgrad_golden(student, golden):
    """pcgrad: four tasks, several conflicts"""
    grads = randn(20, 4, 10)
    out = expect_tensor(student.pcgrad(grads), "pcgrad(...)", (10,), torch.float32)
    golden.check("out", out, "pcgrad(...)")


@partial_credit(2)
@number("6.1")
def test_stratified_task_batches(student, set_score=None):
    """stratified_task_batches: equal batches per task whatever the task sizes"""
    sizes = [1000, 12, 40]
    result = student.stratified_task_batches(sizes, 10, torch.Generator().manual_seed(21))
    problems = sampler_problems(result, sizes, 10)
    again = student.stratified_task_batches(sizes, 10, torch.Generator().manual_seed(21))
    if not problems and not all(torch.equal(a, b) for a, b in zip(result, again)):
        problems.append("identically seeded generators gave different batches: use only `generator`")
    set_score(2.0 * (1.0 - min(len(problems), 2) / 2.0))
    if problems:
        raise SubmissionError("stratified_task_batches:\n- " + "\n- ".join(problems))


@weight(2)
@number("7.1")
def test_synthetic_tasks_golden(student, golden):
    """mmoe_synthetic_tasks: shapes and values for a fixed generator"""
    result = student.mmoe_synthetic_tasks(50, 6, 0.5, torch.Generator().manual_seed(22))
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        raise SubmissionError("mmoe_synthetic_tasks should return a tuple (x, y1, y2)")
    x, y1, y2 = result
    expect_tensor(x, "x", (50, 6), torch.float32)
    expect_tensor(y1, "y1", (50, 1), torch.float32)
    expect_tensor(y2, "y2", (50, 1), torch.float32)
    golden.check("x", x, "x")
    golden.check("y1", y1, "y1", atol=1e-4)
    golden.check("y2", y2, "y2", atol=1e-4)


@weight(2)
@number("7.2")
def test_synthetic_correlation_rises(student):
    """mmoe_synthetic_tasks: the label correlation rises with `correlation`"""
    found = []
    for p in (0.0, 0.5, 0.9, 1.0):
        _, y1, y2 = student.mmoe_synthetic_tasks(4000, 8, p, torch.Generator().manual_seed(23))
        found.append(pearson(y1, y2))
    text = ", ".join(f"p={p}: {r:.3f}" for p, r in zip((0.0, 0.5, 0.9, 1.0), found))
    if not all(a < b for a, b in zip(found, found[1:])):
        raise SubmissionError(f"the Pearson correlation of y1 and y2 should rise with `correlation`; got {text}")
    if found[-1] < 0.99:
        raise SubmissionError(f"with correlation 1 both tasks are the same function (up to noise); got {text}")
