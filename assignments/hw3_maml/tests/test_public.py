"""hw3_maml public tests: shown to students, and run by `cs330 test hw3_maml`.

Models and loss functions cannot cross into the sandbox, so every call goes through
maml_harness.py, which builds a small float64 tanh MLP from a seed and calls your maml.py.
"""

from __future__ import annotations

from gradescope_utils.autograder_utils.decorators import number, weight

from autograder.submission import SubmissionError
from maml_cases import ATOL, RTOL, adapted_params, meta_gradients, sinusoid_problems, untouched


@weight(2)
@number("1.1")
def test_inner_loop_one_step(harness, golden):
    """inner_loop: adapted parameters after 1 step (MSE, inner lr 0.5)"""
    out = harness.adapt(1, num_steps=1, inner_lr=0.5)
    golden.check("adapted", adapted_params(out), "inner_loop(..., num_steps=1)", atol=ATOL, rtol=RTOL)


@weight(2)
@number("1.2")
def test_inner_loop_three_steps(harness, golden):
    """inner_loop: adapted parameters after 3 steps (MSE, inner lr 0.25)"""
    out = harness.adapt(2, num_steps=3, inner_lr=0.25)
    golden.check("adapted", adapted_params(out), "inner_loop(..., num_steps=3)", atol=ATOL, rtol=RTOL)


@weight(2)
@number("1.3")
def test_inner_loop_leaves_params_alone(harness):
    """inner_loop: params (tensors and dict) and the model are not modified in place"""
    for first_order in (False, True):
        out = harness.adapt(3, num_steps=2, inner_lr=0.25, first_order=first_order)
        untouched(out, f"inner_loop(..., first_order={first_order})")
        adapted_params(out)


@weight(2)
@number("1.4")
def test_inner_loop_batchnorm(harness, golden):
    """inner_loop: a BatchNorm model without running statistics (batch statistics, no buffers)"""
    out = harness.adapt(4, num_steps=2, inner_lr=0.25, batchnorm=True)
    adapted = adapted_params(out, "inner_loop(...) on a BatchNorm model")
    untouched(out, "inner_loop(...) on a BatchNorm model")
    if out["buffers"]:
        raise SubmissionError(f"the model gained buffers {out['buffers'][:3]}: leave the model's modules as they are")
    golden.check("adapted", adapted, "inner_loop(...) on a BatchNorm model", atol=ATOL, rtol=RTOL)


@weight(4)
@number("2.1")
def test_meta_gradient_second_order(harness, golden):
    """maml_loss: second-order meta-gradient over 4 tasks, 2 inner steps"""
    out = harness.meta_gradient(5, num_tasks=4, num_steps=2, inner_lr=0.25)
    grads = meta_gradients(out)
    untouched(out, "maml_loss(...)")
    golden.check("loss", out["loss"], "maml_loss(...)", atol=ATOL, rtol=RTOL)
    golden.check("grads", grads, "d maml_loss / d params (second order: the inner steps' graph must be kept, "
                 "create_graph=True)", atol=ATOL, rtol=RTOL)


@weight(3)
@number("2.2")
def test_meta_gradient_first_order(harness, golden):
    """maml_loss: first-order meta-gradient over 4 tasks, 2 inner steps"""
    out = harness.meta_gradient(5, num_tasks=4, num_steps=2, inner_lr=0.25, first_order=True)
    grads = meta_gradients(out)
    golden.check("loss", out["loss"], "maml_loss(..., first_order=True)", atol=ATOL, rtol=RTOL)
    golden.check("grads", grads, "d maml_loss / d params (first order)", atol=ATOL, rtol=RTOL)


@weight(2)
@number("2.3")
def test_meta_sgd_learning_rates(harness, golden):
    """maml_loss: with per-parameter inner learning rates (Meta-SGD) the meta-gradient reaches them"""
    out = harness.meta_gradient(6, num_tasks=3, num_steps=2, inner_lr=0.25, learn_lr=True)
    meta_gradients(out)
    lr_grads = meta_gradients(out, lr=True)
    golden.check("lr_grads", lr_grads, "d maml_loss / d inner_lr[name]", atol=ATOL, rtol=RTOL)


@weight(3)
@number("3.1")
def test_sinusoid_tasks(harness):
    """sinusoid_tasks: shapes, ranges, one sinusoid per task, only the generator's randomness"""
    out = harness.task_samples(7, num_tasks=20, k_shot=5, k_query=7)
    problems = sinusoid_problems(out["tasks"], 20, 5, 7)
    if problems:
        raise SubmissionError("sinusoid_tasks returned invalid tasks:\n- " + "\n- ".join(problems[:5]))
    if not out["reproducible"]:
        raise SubmissionError("sinusoid_tasks gave different tasks for the same generator seed: use only "
                              "`generator` for randomness (torch.rand(..., generator=generator))")
    if not out["seed_matters"]:
        raise SubmissionError("sinusoid_tasks gave the same tasks for different generator seeds")


@weight(3)
@number("4.1")
def test_meta_training_learns_to_adapt(harness):
    """behaviour: 200 MAML meta-iterations on sinusoids make one inner step lower the MSE well below"""
    out = harness.sinusoid_meta_training(0, iterations=200)
    pre, post = out["pre_mse"], out["post_mse"]
    if not post < 0.75 * pre:
        raise SubmissionError(
            f"after 200 meta-iterations (meta-batch 10, K=10, inner lr 0.01, Adam 1e-2) the query MSE after "
            f"one inner step is {post:.3f}, before adapting {pre:.3f}: expected it below 75% of the "
            "pre-adaptation MSE (the reference reaches about 57%; training without adaptation about 85-95%)")
