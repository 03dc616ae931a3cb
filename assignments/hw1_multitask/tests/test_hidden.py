"""hw1_multitask hidden tests: graded on Gradescope, shown to students after the due date."""

from __future__ import annotations

import math

import pytest
import torch
from gradescope_utils.autograder_utils.decorators import number, weight

from autograder.checks import expect_close, expect_tensor
from autograder.submission import SubmissionError
from multitask_cases import pearson, randn, sampler_problems, task_batch, tolerance

VISIBILITY = "after_due_date"

# The behavioural test's sizes: MMoE (4 experts of 8, towers of 4) against a shared bottom of 24
# units, 434 and 426 parameters (1.8% apart), on 8-dimensional inputs; task scale c = 2.
IN_DIM, EXPERTS, EXPERT_DIM, BOTTOM_DIM, TOWER_DIM, SCALE = 8, 4, 8, 24, 4, 2.0
SEEDS = [0, 1, 2, 3, 4]


def smooth_tasks(num_examples: int, correlation: float, seed: int) -> tuple[torch.Tensor, ...]:
    """Two regression tasks of the MMoE paper's form (x, y1, y2), made here from a seeded generator."""
    gen = torch.Generator().manual_seed(seed)
    orthonormal, _ = torch.linalg.qr(torch.randn(IN_DIM, 2, generator=gen, dtype=torch.float64))
    u1, u2 = orthonormal.t()
    x = torch.randn(num_examples, IN_DIM, generator=gen, dtype=torch.float64)
    labels = []
    for w in (SCALE * u1, SCALE * (correlation * u1 + math.sqrt(1.0 - correlation**2) * u2)):
        s = x @ w
        y = s + sum(torch.sin(a * s + b) for a, b in ((0.5, 0.0), (1.0, 1.0), (1.5, 2.0)))
        labels.append((y + 0.01 * torch.randn(num_examples, generator=gen, dtype=torch.float64)).unsqueeze(1))
    return tuple(t.float() for t in (x, *labels))


@weight(1)
@number("8.1")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_conditioning_dtypes(student, golden, dtype):
    """concat, additive and multiplicative conditioning keep float64"""
    x, z, _ = task_batch(30, batch=5, in_dim=3, num_tasks=2, dtype=dtype)
    concat = student.concat_condition(x, z, randn(31, 4, 5, dtype=dtype), randn(32, 4, dtype=dtype))
    additive = student.additive_condition(x, z, randn(33, 4, 3, dtype=dtype), randn(34, 2, 4, dtype=dtype),
                                          randn(35, 4, dtype=dtype))
    gated = student.multiplicative_condition(randn(36, 5, 4, dtype=dtype), z, randn(37, 2, 4, dtype=dtype))
    for value, name in ((concat, "concat_condition"), (additive, "additive_condition"),
                        (gated, "multiplicative_condition")):
        expect_tensor(value, f"{name}(...)", (5, 4), dtype)
        golden.check(name, value, f"{name}(...)", **tolerance(dtype))


@weight(1)
@number("8.2")
def test_conditioning_gradients(harness, golden):
    """concat_condition: gradients reach x, weight and bias"""
    x, z, _ = task_batch(38, batch=4, in_dim=3, num_tasks=3, dtype=torch.float64)
    grads = harness.gradients("concat_condition", [x, z, randn(39, 2, 6, dtype=torch.float64),
                                                   randn(40, 2, dtype=torch.float64)], [0, 2, 3], 38)
    if any(g is None for g in grads):
        raise SubmissionError("concat_condition must be differentiable with respect to x, weight and bias")
    for g, name in zip(grads, ("x", "weight", "bias")):
        golden.check(name, g, f"d concat_condition / d {name}", **tolerance(torch.float64))


@weight(1)
@number("8.3")
def test_mmoe_combine_gradients(student, harness, golden):
    """mmoe_combine: float64 gradients reach the experts and the gate logits"""
    experts, logits = randn(41, 3, 5, 2, dtype=torch.float64), randn(42, 3, 5, dtype=torch.float64)
    expect_tensor(student.mmoe_combine(experts, logits), "mmoe_combine(...)", (3, 2), torch.float64)
    grads = harness.gradients("mmoe_combine", [experts, logits], [0, 1], 41)
    if any(g is None for g in grads):
        raise SubmissionError("mmoe_combine must be differentiable with respect to both of its inputs")
    golden.check("grad_experts", grads[0], "d mmoe_combine / d expert_outputs", **tolerance(torch.float64))
    golden.check("grad_logits", grads[1], "d mmoe_combine / d gate_logits", **tolerance(torch.float64))


@weight(2)
@number("8.4")
def test_mmoe_other_sizes_and_gradients(harness, golden):
    """MMoE: one expert, one task, a batch of one; gradients reach the input and the experts"""
    outputs, gates = harness.mmoe_outputs(43, randn(43, 1, 3), 1, 2, 1, 2)
    if not isinstance(outputs, (list, tuple)) or len(outputs) != 1:
        raise SubmissionError("MMoE.forward should return a list with one tensor per task")
    expect_tensor(outputs[0], "MMoE.forward(x)[0]", (1, 1), torch.float32)
    expect_tensor(gates, "MMoE.gates(x)", (1, 1, 1), torch.float32)
    expect_close(gates, torch.ones(1, 1, 1), "the gate of a single expert", atol=1e-6)
    golden.check("outputs", outputs, "MMoE.forward(x)")
    x_grad, weight_grad = harness.mmoe_input_gradient(44, randn(44, 5, 6), 3, 4, 3)
    if x_grad is None or weight_grad is None:
        raise SubmissionError("MMoE.forward must be differentiable with respect to x and the experts' weights")
    golden.check("x_grad", x_grad, "d MMoE output / d x")
    golden.check("weight_grad", weight_grad, "d MMoE output / d experts[0] weight")


@weight(1)
@number("8.5")
def test_weighted_loss_float64(student, golden):
    """weighted_task_loss and worst_case_task_loss in float64"""
    losses = randn(45, 5, dtype=torch.float64).abs()
    weighted = student.weighted_task_loss(losses, torch.linspace(0, 1, 5, dtype=torch.float64))
    worst = student.worst_case_task_loss(losses)
    expect_tensor(weighted, "weighted_task_loss(...)", (), torch.float64)
    expect_tensor(worst, "worst_case_task_loss(...)", (), torch.float64)
    golden.check("weighted", weighted, "weighted_task_loss(...)", **tolerance(torch.float64))
    golden.check("worst", worst, "worst_case_task_loss(...)", **tolerance(torch.float64))


@weight(2)
@number("8.6")
def test_pcgrad_order_and_originals(student):
    """pcgrad: three tasks where the visiting order and projecting on the ORIGINAL g_j matter"""
    grads = torch.tensor([[1.0, 0.0, 0.0], [-1.0, 1.0, 0.0], [-0.5, -1.0, 1.0]], dtype=torch.float64)
    expected = []
    for i in range(3):  # the contract, step by step, in float64
        current = grads[i]
        for j in (k for k in range(3) if k != i):
            overlap = float(current @ grads[j])
            current = current - min(overlap, 0.0) / float(grads[j] @ grads[j]) * grads[j]
        expected.append(current)
    out = expect_tensor(student.pcgrad(grads), "pcgrad(...)", (3,), torch.float64)
    expect_close(out, torch.stack(expected).sum(dim=0), "pcgrad of three conflicting gradients",
                 atol=1e-10, rtol=1e-10)


@weight(1)
@number("8.7")
def test_pcgrad_zero_gradient(student):
    """pcgrad: a zero task gradient conflicts with nothing (no division by zero)"""
    grads = torch.tensor([[0.0, 0.0], [1.0, -2.0], [-1.0, 0.5]])
    out = expect_tensor(student.pcgrad(grads), "pcgrad(...)", (2,), torch.float32)
    g1 = grads[1] - (grads[1] @ grads[2]) / (grads[2] @ grads[2]) * grads[2]
    g2 = grads[2] - (grads[2] @ grads[1]) / (grads[1] @ grads[1]) * grads[1]
    expect_close(out, g1 + g2, "pcgrad with a zero gradient", atol=1e-6)


@weight(1)
@number("8.8")
def test_pcgrad_golden_large(student, golden):
    """pcgrad: six tasks, many parameters, float64"""
    grads = randn(46, 6, 300, dtype=torch.float64)
    out = expect_tensor(student.pcgrad(grads), "pcgrad(...)", (300,), torch.float64)
    golden.check("out", out, "pcgrad(...)", **tolerance(torch.float64))


@weight(2)
@number("8.9")
def test_sampler_small_tasks_and_coverage(student):
    """stratified_task_batches: tasks smaller than the batch, uniform coverage, several seeds"""
    sizes = [3, 50, 7]
    counts = [torch.zeros(s) for s in sizes]
    distinct = set()
    for seed in range(40):
        result = student.stratified_task_batches(sizes, 5, torch.Generator().manual_seed(seed))
        problems = sampler_problems(result, sizes, 5)
        if problems:
            raise SubmissionError(f"seed {seed}:\n- " + "\n- ".join(problems))
        for t, idx in enumerate(result):
            counts[t] += torch.bincount(idx, minlength=sizes[t]).double()
        distinct.add(tuple(result[1].tolist()))
    if len(distinct) < 30:
        raise SubmissionError("different seeds should give different batches")
    for t, c in enumerate(counts):
        if int((c == 0).sum()) > 0 and sizes[t] <= 10:
            raise SubmissionError(f"task {t} ({sizes[t]} examples): some examples were never drawn in 40 "
                                  "batches; draw uniformly at random")


@weight(1)
@number("8.10")
def test_synthetic_identical_tasks(student, golden):
    """mmoe_synthetic_tasks: with correlation 1 the labels differ by the noise only; float32 values"""
    x, y1, y2 = student.mmoe_synthetic_tasks(300, 10, 1.0, torch.Generator().manual_seed(47))
    expect_tensor(y1, "y1", (300, 1), torch.float32)
    expect_tensor(y2, "y2", (300, 1), torch.float32)
    if float((y1 - y2).abs().max()) > 0.1:
        raise SubmissionError("with correlation 1, w1 = w2: y1 and y2 may differ only by the noise (std 0.01)")
    golden.check("y1", y1, "y1", atol=1e-4)
    x0, y10, y20 = student.mmoe_synthetic_tasks(2000, 10, 0.0, torch.Generator().manual_seed(48))
    if abs(pearson(x0 @ torch.ones(10), y10)) > 0.99:
        raise SubmissionError("the labels look like a linear function of x: add the sine terms")


@weight(3)
@number("9.1")
def test_mmoe_beats_shared_bottom(harness):
    """Behaviour: at task correlation 0.5, MMoE reaches a lower test loss than a shared bottom of equal size"""
    x, y1, y2 = smooth_tasks(3000, 0.5, seed=50)
    result = harness.mmoe_vs_shared_bottom(SEEDS, (x[:2000], y1[:2000], y2[:2000]), (x[2000:], y1[2000:], y2[2000:]),
                                           EXPERTS, EXPERT_DIM, BOTTOM_DIM, TOWER_DIM, steps=300, batch=1000, lr=1e-2)
    mmoe_n, sb_n = result["mmoe_parameters"], result["shared_bottom_parameters"]
    if abs(mmoe_n - sb_n) > 0.02 * max(mmoe_n, sb_n):
        raise SubmissionError(f"the models should have the same number of parameters (within 2%); got MMoE "
                              f"{mmoe_n} and SharedBottom {sb_n}: keep the provided __init__ methods")
    mmoe, sb = (float(torch.tensor(result[k]).median()) for k in ("mmoe", "shared_bottom"))
    if not math.isfinite(mmoe) or not mmoe < 0.9 * sb:
        raise SubmissionError(f"over {len(SEEDS)} seeds of 300 Adam steps, MMoE's median test loss is {mmoe:.4f} "
                              f"and the shared bottom's {sb:.4f}; MMoE should be clearly lower (below 0.9x). "
                              "Check MMoE.forward: every task mixes all experts with its own gate")
