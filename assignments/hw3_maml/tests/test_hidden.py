"""hw3_maml hidden tests: graded on Gradescope, shown to students after the due date."""

from __future__ import annotations

import math

import torch
from gradescope_utils.autograder_utils.decorators import number, weight

from autograder.submission import SubmissionError
from maml_cases import ATOL, RTOL, adapted_params, meta_gradients, sinusoid_problems, untouched

VISIBILITY = "after_due_date"


@weight(2)
@number("5.1")
def test_inner_loop_cross_entropy(harness, golden):
    """inner_loop: a 3-class cross-entropy task, 2 steps"""
    out = harness.adapt(11, num_steps=2, inner_lr=0.5, loss="cross_entropy")
    golden.check("adapted", adapted_params(out), "inner_loop(...) with cross-entropy", atol=ATOL, rtol=RTOL)


@weight(2)
@number("5.2")
def test_inner_loop_subset_of_parameters(harness, golden):
    """inner_loop: params holding only the last layer (the rest of the model stays as it is)"""
    out = harness.adapt(12, num_steps=3, inner_lr=0.5, only="4.")
    adapted = adapted_params(out, "inner_loop(...) with a subset of the parameters")
    untouched(out, "inner_loop(...) with a subset of the parameters")
    golden.check("adapted", adapted, "inner_loop(...) with a subset of the parameters", atol=ATOL, rtol=RTOL)


@weight(1)
@number("5.3")
def test_inner_loop_zero_steps(harness, golden):
    """inner_loop: num_steps=0 returns the parameters unchanged, in a new dict"""
    out = harness.adapt(13, num_steps=0, inner_lr=0.5)
    golden.check("adapted", adapted_params(out), "inner_loop(..., num_steps=0)", atol=0.0, rtol=0.0)


@weight(3)
@number("5.4")
def test_meta_gradient_second_order_batchnorm_ce(harness, golden):
    """maml_loss: second-order meta-gradient, BatchNorm model, cross-entropy, 3 steps"""
    out = harness.meta_gradient(14, num_tasks=3, num_steps=3, inner_lr=0.25, loss="cross_entropy",
                                batchnorm=True)
    grads = meta_gradients(out)
    golden.check("loss", out["loss"], "maml_loss(...)", atol=ATOL, rtol=RTOL)
    golden.check("grads", grads, "d maml_loss / d params", atol=ATOL, rtol=RTOL)


@weight(2)
@number("5.5")
def test_meta_sgd_first_order(harness, golden):
    """maml_loss: first-order with per-parameter learning rates: both gradients"""
    out = harness.meta_gradient(15, num_tasks=2, num_steps=1, inner_lr=0.5, first_order=True, learn_lr=True)
    golden.check("grads", meta_gradients(out), "d maml_loss / d params", atol=ATOL, rtol=RTOL)
    golden.check("lr_grads", meta_gradients(out, lr=True), "d maml_loss / d inner_lr", atol=ATOL, rtol=RTOL)


@weight(2)
@number("5.6")
def test_meta_gradient_float32(harness, golden):
    """maml_loss: a float32 model, one step, 5 tasks (no dtype changes)"""
    out = harness.meta_gradient(16, num_tasks=5, num_steps=1, inner_lr=0.5, dtype="float32")
    grads = meta_gradients(out)
    if any(g.dtype != torch.float32 for g in grads.values()):
        raise SubmissionError("the meta-gradient of a float32 model should be float32")
    golden.check("grads", grads, "d maml_loss / d params (float32)", atol=1e-5, rtol=1e-4)


@weight(2)
@number("5.7")
def test_sinusoid_task_distribution(harness):
    """sinusoid_tasks: amplitudes, phases and inputs cover their ranges uniformly (400 tasks)"""
    out = harness.task_samples(17, num_tasks=400, k_shot=3, k_query=2)
    tasks = out["tasks"]
    problems = sinusoid_problems(tasks, 400, 3, 2)
    if problems:
        raise SubmissionError("sinusoid_tasks returned invalid tasks:\n- " + "\n- ".join(problems[:5]))
    xs = torch.cat([torch.cat([t[0], t[2]]) for t in tasks]).double().reshape(-1)
    amps = []
    for sx, sy, qx, qy in tasks:
        x, y = torch.cat([sx, qx]).double().reshape(-1), torch.cat([sy, qy]).double().reshape(-1)
        basis = torch.stack([torch.sin(x), torch.cos(x)], dim=1)
        coef = torch.linalg.lstsq(basis, y.unsqueeze(1)).solution.reshape(-1)
        amps.append(math.hypot(float(coef[0]), float(coef[1])))
    amps_t = torch.tensor(amps, dtype=torch.float64)
    if not 2.3 <= float(amps_t.mean()) <= 2.8 or float(amps_t.min()) > 0.4 or float(amps_t.max()) < 4.7:
        raise SubmissionError("amplitudes should be uniform in [0.1, 5.0]")
    if abs(float(xs.mean())) > 0.3 or float(xs.min()) > -4.8 or float(xs.max()) < 4.8:
        raise SubmissionError("inputs x should be uniform in [-5, 5]")
