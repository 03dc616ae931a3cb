"""hw4_protonet hidden tests: graded on Gradescope, shown to students after the due date."""

from __future__ import annotations

import pytest
import torch
from gradescope_utils.autograder_utils.decorators import number, weight

from autograder.checks import expect_tensor
from autograder.submission import SubmissionError
from protonet_cases import class_pool, episode_features, episode_problems, non_contiguous

VISIBILITY = "after_due_date"


def tolerance(dtype: torch.dtype, atol: float = 1e-5, rtol: float = 1e-4) -> dict:
    """Comparison tolerances: float64 results must be float64-accurate (a float32 detour fails)."""
    return {"atol": 1e-10, "rtol": 1e-10} if dtype == torch.float64 else {"atol": atol, "rtol": rtol}


@weight(1)
@number("5.1")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_prototypes_dtypes_noncontiguous(student, golden, dtype):
    """compute_prototypes: float64 and non-contiguous inputs, unequal class order"""
    support, support_y, _, _ = episode_features(10, n_way=6, k_shot=4, q_queries=1, dim=7,
                                                dtype=dtype, grouped=False)
    protos = student.compute_prototypes(non_contiguous(support), support_y, 6)
    expect_tensor(protos, "compute_prototypes(...)", (6, 7), dtype)
    golden.check("prototypes", protos, "compute_prototypes(...)", **tolerance(dtype, atol=1e-6))


@weight(1)
@number("5.2")
def test_prototypes_one_shot(student, golden):
    """compute_prototypes: with one shot each prototype is its support example"""
    support, support_y, _, _ = episode_features(11, n_way=5, k_shot=1, q_queries=1, dim=9, grouped=False)
    protos = student.compute_prototypes(support, support_y, 5)
    expect_tensor(protos, "compute_prototypes(...)", (5, 9), torch.float32)
    golden.check("prototypes", protos, "compute_prototypes(...)", atol=1e-6)


@weight(1)
@number("5.3")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_distances_dtypes_noncontiguous(student, golden, dtype):
    """squared_euclidean_distances: float64, non-contiguous, large magnitudes"""
    _, _, query, _ = episode_features(12, n_way=4, k_shot=1, q_queries=5, dim=33, dtype=dtype)
    protos = 100.0 + torch.randn(4, 33, generator=torch.Generator().manual_seed(12), dtype=dtype)
    dists = student.squared_euclidean_distances(non_contiguous(query), protos)
    expect_tensor(dists, "squared_euclidean_distances(...)", (20, 4), dtype)
    if bool((dists < 0).any()):
        raise SubmissionError("squared distances must never be negative")
    golden.check("distances", dists, "squared_euclidean_distances(...)", **tolerance(dtype, atol=1e-2))


@weight(1)
@number("5.4")
def test_logits_float64(student, golden):
    """protonet_logits: float64 inputs keep float64"""
    _, _, query, _ = episode_features(13, n_way=5, k_shot=1, q_queries=2, dim=5, dtype=torch.float64)
    protos = torch.randn(5, 5, generator=torch.Generator().manual_seed(13), dtype=torch.float64)
    logits = student.protonet_logits(query, protos)
    expect_tensor(logits, "protonet_logits(...)", (10, 5), torch.float64)
    golden.check("logits", logits, "protonet_logits(...)", **tolerance(torch.float64))


@weight(2)
@number("5.5")
def test_loss_ungrouped_float64(student, golden):
    """protonet_loss: float64, supports and queries not grouped by class"""
    support, support_y, query, query_y = episode_features(14, n_way=5, k_shot=3, q_queries=4, dim=16,
                                                          dtype=torch.float64, grouped=False, spread=0.3)
    result = student.protonet_loss(support, support_y, query, query_y, 5)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise SubmissionError("protonet_loss should return a tuple (loss, accuracy)")
    expect_tensor(result[0], "loss", (), torch.float64)
    expect_tensor(result[1], "accuracy", ())
    golden.check("loss", result[0], "loss", **tolerance(torch.float64))
    golden.check("accuracy", float(result[1]), "accuracy", atol=1e-9)


@weight(2)
@number("5.6")
def test_loss_accuracy_known_fraction(student):
    """protonet_loss: accuracy counts queries nearest to their own prototype"""
    support = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    support_y = torch.tensor([0, 1, 2])
    query = torch.tensor([[0.5, 0.0], [9.0, 1.0], [1.0, 8.0], [9.5, 0.5]])
    query_y = torch.tensor([0, 1, 2, 2])  # the last query lies nearest class 1
    result = student.protonet_loss(support, support_y, query, query_y, 3)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise SubmissionError("protonet_loss should return a tuple (loss, accuracy)")
    accuracy = float(expect_tensor(result[1], "accuracy", ()))
    if abs(accuracy - 0.75) > 1e-6:
        raise SubmissionError(f"accuracy is {accuracy:.4g} on an episode where 3 of 4 queries are "
                              "nearest their own prototype")


@weight(2)
@number("5.7")
def test_loss_gradients_float64(student, golden):
    """protonet_loss: float64 gradients with respect to support and query features"""
    support, support_y, query, query_y = episode_features(15, n_way=4, k_shot=3, q_queries=2, dim=6,
                                                          dtype=torch.float64, grouped=False, spread=0.5)
    _, grads = student.protonet_loss.with_grad(support, support_y, query, query_y, 4,
                                               wrt=[(0,), (2,)], output=0)
    if any(g is None for g in grads):
        raise SubmissionError("the loss must be differentiable with respect to both feature tensors")
    golden.check("grad_support", grads[0], "d loss / d support_features", **tolerance(torch.float64))
    golden.check("grad_query", grads[1], "d loss / d query_features", **tolerance(torch.float64))


@weight(1)
@number("6.1")
def test_sample_episode_uses_only_generator(student):
    """sample_episode: the same generator state gives the same episode"""
    class_ids = class_pool(16, n_classes=20, sizes=(5, 8))
    first = student.sample_episode(class_ids, 5, 1, 4, torch.Generator().manual_seed(16))
    second = student.sample_episode(class_ids, 5, 1, 4, torch.Generator().manual_seed(16))
    problems = episode_problems(first, class_ids, 5, 1, 4)
    if problems:
        raise SubmissionError("sample_episode returned an invalid episode:\n- " + "\n- ".join(problems))
    if not all(torch.equal(a, b) for a, b in zip(first, second)):
        raise SubmissionError("two calls with identically seeded generators gave different episodes: "
                              "use only `generator` for randomness (not torch's global RNG)")


@weight(1)
@number("6.2")
def test_sample_episode_varies_and_covers(student):
    """sample_episode: seeds vary the classes, the examples and the support/query split"""
    class_ids = class_pool(17, n_classes=8, sizes=(7, 7))
    seen: set[int] = set()
    picks: dict[int, set[tuple]] = {}
    supports: dict[int, set[tuple]] = {}
    for seed in range(30):
        result = student.sample_episode(class_ids, 4, 1, 4, torch.Generator().manual_seed(seed))
        problems = episode_problems(result, class_ids, 4, 1, 4)
        if problems:
            raise SubmissionError(f"seed {seed}: invalid episode:\n- " + "\n- ".join(problems))
        for cls in set(class_ids[result[0]].tolist()):
            chosen = torch.cat([result[0], result[2]])
            members = tuple(sorted(i for i in chosen.tolist() if int(class_ids[i]) == cls))
            picks.setdefault(cls, set()).add(members)
            supports.setdefault(cls, set()).add(tuple(i for i in result[0].tolist() if int(class_ids[i]) == cls))
        seen.update(class_ids[result[0]].tolist())
    if len(seen) < 8:
        raise SubmissionError(f"30 episodes drew from only {len(seen)} of 8 classes: pick classes at random")
    if all(len(p) == 1 for p in picks.values()):
        raise SubmissionError("each class always contributed the same examples: pick a class's examples at random")
    if all(len(s) == 1 for s in supports.values()):
        raise SubmissionError("the same examples were always the support: split support and query at random")


@weight(1)
@number("6.3")
def test_sample_episode_exact_class_size(student):
    """sample_episode: classes with exactly k_shot + q_queries examples"""
    class_ids = class_pool(18, n_classes=5, sizes=(4, 4))
    result = student.sample_episode(class_ids, 5, 1, 3, torch.Generator().manual_seed(18))
    problems = episode_problems(result, class_ids, 5, 1, 3)
    if problems:
        raise SubmissionError("sample_episode returned an invalid episode:\n- " + "\n- ".join(problems))
