"""hw5_transfer hidden tests (shown after the due date): other shapes, dtypes, ties and edge cases."""

from __future__ import annotations

import numpy as np
import torch
from gradescope_utils.autograder_utils.decorators import number, weight

from autograder.checks import expect_tensor
from autograder.submission import SubmissionError
from transfer_cases import bn_state, images, power_law_points, same_keys_message


def _gen(seed: int) -> torch.Generator:
    """A generator seeded for one call."""
    return torch.Generator().manual_seed(seed)


@weight(1)
@number("7.1")
def test_shuffle_non_square(student, golden):
    """shuffle_blocks: 3x3 blocks of a (1, 2, 6, 9) batch"""
    out = student.shuffle_blocks(images(10, (1, 2, 6, 9)), 3, _gen(11))
    expect_tensor(out, "shuffle_blocks(...)", (1, 2, 6, 9), torch.float32)
    golden.check("shuffled", out, "shuffle_blocks(...)", atol=0, rtol=0)


@weight(1)
@number("7.2")
def test_shuffle_keeps_dtype(student, golden):
    """shuffle_blocks: float64 images stay float64"""
    out = student.shuffle_blocks(images(12, (3, 1, 4, 4)).double(), 2, _gen(13))
    expect_tensor(out, "shuffle_blocks(...)", (3, 1, 4, 4), torch.float64)
    golden.check("shuffled", out, "shuffle_blocks(...)", atol=0, rtol=0)


@weight(1)
@number("7.3")
def test_interpolate_float64(student, golden):
    """interpolate_state_dicts: float64 state dicts at alpha = 0.75"""
    a, b = bn_state(14, dtype=torch.float64), bn_state(15, dtype=torch.float64)
    out = student.interpolate_state_dicts(a, b, 0.75)
    problem = same_keys_message(out, a, "interpolate_state_dicts")
    if problem:
        raise SubmissionError(problem)
    golden.check("mix", out, "interpolate_state_dicts(...)", atol=1e-12)


@weight(1)
@number("7.4")
def test_barrier_general_endpoints(student, golden):
    """performance_barrier: alphas from 0.2 to 0.8, and a path below its line"""
    alphas = [0.2, 0.35, 0.5, 0.65, 0.8]
    barrier = student.performance_barrier(alphas, [1.0, 1.6, 1.3, 0.9, 0.4])
    golden.check("barrier", float(barrier) if isinstance(barrier, (int, float)) else barrier,
                 "performance_barrier(...)", atol=1e-6)
    below = student.performance_barrier([0.0, 0.5, 1.0], [1.0, 0.2, 1.0])
    if not isinstance(below, (int, float)) or abs(float(below)) > 1e-9:
        raise SubmissionError("a path below its straight line has barrier 0 (the gap at the endpoints)")


@weight(2)
@number("7.5")
def test_greedy_soup_ties(harness):
    """greedy_soup: equal validation scores keep the lower index first"""
    _, used, calls = harness.greedy_soup_case(1, [1.0, -1.0, 0.5, -0.5], [0.5, 0.5, 0.4, 0.3])
    if used != [0, 1]:
        raise SubmissionError("greedy_soup picked the wrong ingredients when two validation scores tie")
    if len(calls) != 4:
        raise SubmissionError("greedy_soup should call evaluate once for the first soup and once per "
                              "further ingredient")


@weight(1)
@number("7.6")
def test_uniform_soup_single(student):
    """uniform_soup: a soup of one state dict is that state dict"""
    sd = bn_state(16, dtype=torch.float64)
    out = student.uniform_soup([sd])
    problem = same_keys_message(out, sd, "uniform_soup")
    if problem:
        raise SubmissionError(problem)
    for key, value in sd.items():
        got = expect_tensor(out[key], f"uniform_soup([sd])[{key!r}]", tuple(value.shape), value.dtype)
        if not torch.allclose(got, value, atol=1e-12, rtol=0) if value.is_floating_point() else not torch.equal(got, value):
            raise SubmissionError("uniform_soup of a single state dict should return it unchanged")


@weight(1)
@number("7.7")
def test_rewind_exact_key(student):
    """rewind_module: a prefix naming one tensor exactly"""
    trained, init = bn_state(17), bn_state(18)
    out = student.rewind_module(trained, init, "head.bias")
    problem = same_keys_message(out, trained, "rewind_module")
    if problem:
        raise SubmissionError(problem)
    for key in trained:
        want = init[key] if key == "head.bias" else trained[key]
        if not torch.equal(expect_tensor(out[key], f"[{key!r}]"), want):
            raise SubmissionError("rewind_module should reset exactly the tensors under the prefix")


@weight(1)
@number("7.8")
def test_criticality_cases(student, golden):
    """module_criticality: a module that can go all the way back, and an unsorted grid"""
    zero = student.module_criticality([0.0, 0.5, 1.0], [0.2, 0.2, 0.2], 0.5, 3.0)
    golden.check("zero", zero, "module_criticality(...)", atol=1e-12)
    value = student.module_criticality([1.0, 0.6, 0.2, 0.4], [0.3, 0.45, 0.9, 0.5], 0.5, 1.5, 2.0)
    golden.check("unsorted", value, "module_criticality(...)", atol=1e-9)


@weight(2)
@number("7.9")
def test_fit_power_law_golden(student, golden):
    """fit_power_law: least-squares parameters of another noisy set"""
    e_us, e_ds = power_law_points(5, k=0.5, alpha=1.5, e_inf=0.2, n=25, noise=0.005)
    result = student.fit_power_law(list(e_us), list(e_ds))
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        raise SubmissionError("fit_power_law should return a tuple (k, alpha, e_inf)")
    golden.check("fit", tuple(float(v) for v in result), "fit_power_law(...)", atol=2e-3, rtol=0)


@weight(1)
@number("7.10")
def test_hull_duplicates_and_collinear(student, golden):
    """upper_convex_hull: repeated x values and collinear points"""
    points = np.array([[0.0, 1.0], [0.0, 0.0], [1.0, 2.0], [2.0, 3.0], [3.0, 2.5], [3.0, 1.0], [1.5, 0.0]])
    hull = torch.as_tensor(np.asarray(student.upper_convex_hull(points), dtype=np.float64))
    golden.check("hull", hull, "upper_convex_hull(...)", atol=1e-12)
