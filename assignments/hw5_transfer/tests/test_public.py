"""hw5_transfer public tests: shown to students, and run by `cs330 test hw5_transfer`.

The functions come from the notebook's cells tagged `graded` (joined into transfer.py); the inputs are
small synthetic tensors and state dicts, never Omniglot or the pretrained encoder.
"""

from __future__ import annotations

import numpy as np
import torch
from gradescope_utils.autograder_utils.decorators import number, weight

from autograder.checks import expect_tensor
from autograder.submission import SubmissionError
from transfer_cases import bn_state, images, position_images, power_law_points, same_keys_message


def _gen(seed: int) -> torch.Generator:
    """A generator seeded for one call."""
    return torch.Generator().manual_seed(seed)


@weight(2)
@number("1.1")
def test_shuffle_blocks_values(student, golden):
    """shuffle_blocks: 4x4 blocks of a (2, 3, 8, 12) batch"""
    x = images(0, (2, 3, 8, 12))
    out = student.shuffle_blocks(x, 4, _gen(1))
    expect_tensor(out, "shuffle_blocks(...)", (2, 3, 8, 12), torch.float32)
    golden.check("shuffled", out, "shuffle_blocks(...)", atol=0, rtol=0)


@weight(1)
@number("1.2")
def test_shuffle_whole_image_is_identity(student):
    """shuffle_blocks: a block as large as the image changes nothing"""
    x = images(1, (3, 2, 6, 6))
    out = expect_tensor(student.shuffle_blocks(x, 6, _gen(2)), "shuffle_blocks(x, 6, g)", (3, 2, 6, 6), torch.float32)
    if not torch.equal(out, x):
        raise SubmissionError("with block_size equal to the image size there is one block: the output "
                              "should equal the input")


@weight(2)
@number("1.3")
def test_shuffle_pixels(student, golden):
    """shuffle_blocks: block size 1 permutes pixels, with one permutation for the whole batch"""
    x = position_images(2, 3, 4, 5)
    out = expect_tensor(student.shuffle_blocks(x, 1, _gen(3)), "shuffle_blocks(x, 1, g)", (2, 3, 4, 5),
                        torch.float32)
    first = out[0, 0]
    if not torch.equal(torch.sort(first.reshape(-1)).values, torch.arange(20, dtype=torch.float32)):
        raise SubmissionError("with block_size 1 every pixel should appear exactly once in the output "
                              "(a permutation of the pixels)")
    if not torch.equal(out, first.expand_as(out)):
        raise SubmissionError("every image and channel should be shuffled with the same permutation "
                              "(draw it once per call)")
    golden.check("pixels", out, "shuffle_blocks(x, 1, g)", atol=0, rtol=0)


@weight(2)
@number("2.1")
def test_interpolate_values(student, golden):
    """interpolate_state_dicts: alpha = 0.3 between two BatchNorm-style state dicts"""
    a, b = bn_state(0), bn_state(1)
    out = student.interpolate_state_dicts(a, b, 0.3)
    problem = same_keys_message(out, a, "interpolate_state_dicts")
    if problem:
        raise SubmissionError(problem)
    if not torch.equal(out["bn.num_batches_tracked"], a["bn.num_batches_tracked"]):
        raise SubmissionError("integer buffers such as num_batches_tracked should be copied from sd_a")
    golden.check("mix", out, "interpolate_state_dicts(...)", atol=1e-6)


@weight(1)
@number("2.2")
def test_interpolate_endpoints(student):
    """interpolate_state_dicts: alpha = 0 gives sd_a and alpha = 1 gives sd_b"""
    a, b = bn_state(2), bn_state(3)
    for alpha, expected, name in ((0.0, a, "sd_a"), (1.0, b, "sd_b")):
        out = student.interpolate_state_dicts(a, b, alpha)
        problem = same_keys_message(out, a, "interpolate_state_dicts")
        if problem:
            raise SubmissionError(problem)
        for key, value in a.items():
            want = expected[key] if value.is_floating_point() else value
            got = expect_tensor(out[key], f"[{key!r}] at alpha={alpha:g}", tuple(value.shape), value.dtype)
            if not torch.allclose(got, want, atol=1e-6, rtol=0):
                raise SubmissionError(f"at alpha={alpha:g}, [{key!r}] should equal {name}'s")


@weight(1)
@number("3.1")
def test_barrier_of_a_line(student):
    """performance_barrier: a straight line has no barrier"""
    alphas = [i / 10 for i in range(11)]
    values = [2.0 - 1.5 * a for a in alphas]
    barrier = student.performance_barrier(alphas, values)
    if not isinstance(barrier, (int, float)) or abs(float(barrier)) > 1e-9:
        raise SubmissionError(f"the barrier of a straight line should be 0 (a float), got {barrier!r}")


@weight(2)
@number("3.2")
def test_barrier_of_a_bump(student, golden):
    """performance_barrier: a loss bump between two different endpoints"""
    alphas = torch.linspace(0, 1, 11)
    values = 1.0 + 0.5 * alphas + 0.8 * torch.sin(torch.pi * alphas) ** 2
    barrier = student.performance_barrier(alphas, values)
    golden.check("barrier", float(barrier) if isinstance(barrier, (int, float)) else barrier,
                 "performance_barrier(...)", atol=1e-5)


@weight(2)
@number("4.1")
def test_uniform_soup(student, golden):
    """uniform_soup: the mean of three state dicts"""
    sds = [bn_state(s) for s in (4, 5, 6)]
    out = student.uniform_soup(sds)
    problem = same_keys_message(out, sds[0], "uniform_soup")
    if problem:
        raise SubmissionError(problem)
    golden.check("soup", out, "uniform_soup(...)", atol=1e-6)


@weight(3)
@number("4.2")
def test_greedy_soup(harness):
    """greedy_soup: a hand-made evaluate picks ingredients 1, 3 and 4"""
    soup, used, calls = harness.greedy_soup_case(0)
    if used != [1, 3, 4]:
        raise SubmissionError(f"greedy_soup used ingredients {used}; expected [1, 3, 4]: sort by val_scores "
                              "(descending), start from the best, keep an ingredient when the soup's score "
                              "does not decrease (>=)")
    ingredients = harness.ingredients(0)
    expected = {k: torch.stack([ingredients[i][k] for i in used]).mean(0) for k in ("w", "m")}
    for key, value in expected.items():
        if not torch.allclose(expect_tensor(soup.get(key), f"soup[{key!r}]", tuple(value.shape)), value, atol=1e-6):
            raise SubmissionError(f"the soup's {key!r} should be the mean of the ingredients used")
    if not torch.equal(soup.get("n"), ingredients[1]["n"]):
        raise SubmissionError("integer buffers of the soup should come from the best ingredient (the first used)")


@weight(2)
@number("5.1")
def test_rewind_module(student):
    """rewind_module: one module's tensors back to their initial values, nothing else"""
    trained, init = bn_state(7), bn_state(8)
    trained["bn10.weight"], init["bn10.weight"] = torch.ones(2), torch.zeros(2)
    out = student.rewind_module(trained, init, "bn")
    problem = same_keys_message(out, trained, "rewind_module")
    if problem:
        raise SubmissionError(problem)
    for key in trained:
        source = init if key.startswith("bn.") else trained
        got = expect_tensor(out[key], f"rewind_module(...)[{key!r}]", tuple(trained[key].shape), trained[key].dtype)
        if not torch.equal(got, source[key]):
            which = "initial" if source is init else "trained"
            raise SubmissionError(f"[{key!r}] should keep its {which} value (prefix 'bn' covers 'bn.*' only)")


@weight(2)
@number("5.2")
def test_module_criticality(student, golden):
    """module_criticality: the smallest alpha under the threshold, times the distance"""
    alphas = [0.0, 0.25, 0.5, 0.75, 1.0]
    losses = [3.0, 1.4, 0.9, 0.6, 0.5]
    value = student.module_criticality(alphas, losses, 1.0, 2.0, 0.5)
    golden.check("criticality", value, "module_criticality(...)", atol=1e-9)


@weight(3)
@number("6.1")
def test_fit_power_law_recovers_parameters(student):
    """fit_power_law: recovers k, alpha and e_inf from noisy synthetic points"""
    e_us, e_ds = power_law_points(0, k=0.8, alpha=0.7, e_inf=0.05)
    result = student.fit_power_law(e_us, e_ds)
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        raise SubmissionError("fit_power_law should return a tuple (k, alpha, e_inf)")
    k, alpha, e_inf = (float(v) for v in result)
    for name, got, want, tol in (("k", k, 0.8, 0.05), ("alpha", alpha, 0.7, 0.05), ("e_inf", e_inf, 0.05, 0.02)):
        if not abs(got - want) <= tol:
            raise SubmissionError(f"fit_power_law: {name} = {got:.4g}, but the points were made with "
                                  f"{name} = {want:g} (tolerance {tol:g})")


@weight(2)
@number("6.2")
def test_upper_convex_hull(student):
    """upper_convex_hull: the upper frontier of a small point set"""
    points = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 1.0], [3.0, 3.0], [4.0, 0.0], [2.0, 0.5], [1.0, 0.2]])
    hull = student.upper_convex_hull(points)
    got = torch.as_tensor(np.asarray(hull, dtype=np.float64))
    expected = torch.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 3.0], [4.0, 0.0]], dtype=torch.float64)
    if tuple(got.shape) != (4, 2) or not torch.allclose(got, expected):
        raise SubmissionError(f"upper_convex_hull returned {got.tolist()}; expected the vertices "
                              f"{expected.tolist()} (by increasing x)")
