"""hw4_protonet public tests: shown to students, and run by `cs330 test hw4_protonet`."""

from __future__ import annotations

import torch
from gradescope_utils.autograder_utils.decorators import number, partial_credit, weight

from autograder.checks import expect_tensor
from autograder.submission import SubmissionError
from protonet_cases import class_pool, episode_features, episode_problems


@weight(2)
@number("1.1")
def test_prototypes_grouped(student, golden):
    """compute_prototypes: class means for a 5-way 3-shot episode"""
    support, support_y, _, _ = episode_features(0, n_way=5, k_shot=3, q_queries=2, dim=16)
    protos = student.compute_prototypes(support, support_y, 5)
    expect_tensor(protos, "compute_prototypes(...)", (5, 16), torch.float32)
    golden.check("prototypes", protos, "compute_prototypes(...)")


@weight(2)
@number("1.2")
def test_prototypes_ungrouped(student, golden):
    """compute_prototypes: supports not grouped by class"""
    support, support_y, _, _ = episode_features(1, n_way=4, k_shot=5, q_queries=2, dim=8, grouped=False)
    protos = student.compute_prototypes(support, support_y, 4)
    expect_tensor(protos, "compute_prototypes(...)", (4, 8), torch.float32)
    golden.check("prototypes", protos, "compute_prototypes(...)")


@weight(2)
@number("2.1")
def test_distances(student, golden):
    """squared_euclidean_distances: values and shape (Q, N)"""
    _, _, query, _ = episode_features(2, n_way=5, k_shot=1, q_queries=3, dim=12)
    protos = torch.randn(5, 12, generator=torch.Generator().manual_seed(2))
    dists = student.squared_euclidean_distances(query, protos)
    expect_tensor(dists, "squared_euclidean_distances(...)", (15, 5), torch.float32)
    golden.check("distances", dists, "squared_euclidean_distances(...)", atol=1e-4)


@weight(1)
@number("2.2")
def test_logits(student, golden):
    """protonet_logits: negative squared distances"""
    _, _, query, _ = episode_features(3, n_way=3, k_shot=1, q_queries=4, dim=6)
    protos = torch.randn(3, 6, generator=torch.Generator().manual_seed(3))
    logits = student.protonet_logits(query, protos)
    expect_tensor(logits, "protonet_logits(...)", (12, 3), torch.float32)
    golden.check("logits", logits, "protonet_logits(...)", atol=1e-4)


@weight(3)
@number("3.1")
def test_loss_and_accuracy(student, golden):
    """protonet_loss: cross-entropy and accuracy of a 5-way 2-shot episode"""
    support, support_y, query, query_y = episode_features(4, n_way=5, k_shot=2, q_queries=3, dim=10, spread=0.4)
    result = student.protonet_loss(support, support_y, query, query_y, 5)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise SubmissionError("protonet_loss should return a tuple (loss, accuracy)")
    expect_tensor(result[0], "loss", ())
    expect_tensor(result[1], "accuracy (a 0-dim tensor)", ())
    if not 0.0 <= float(result[1]) <= 1.0:
        raise SubmissionError(f"accuracy should lie in [0, 1], got {float(result[1]):.4g}")
    golden.check("loss", result[0], "loss", atol=1e-5)
    golden.check("accuracy", result[1], "accuracy", atol=1e-6)


@weight(3)
@number("3.2")
def test_loss_gradients(student, golden):
    """protonet_loss: gradients reach both support and query features"""
    support, support_y, query, query_y = episode_features(5, n_way=3, k_shot=2, q_queries=2, dim=4, spread=0.5)
    _, grads = student.protonet_loss.with_grad(support, support_y, query, query_y, 3,
                                               wrt=[(0,), (2,)], output=0)
    for grad, name in zip(grads, ("support_features", "query_features")):
        if grad is None:
            raise SubmissionError(f"the loss is not differentiable with respect to {name}: "
                                  "no gradient reached it (avoid .detach(), .item() or numpy)")
    golden.check("grad_support", grads[0], "d loss / d support_features", atol=1e-5)
    golden.check("grad_query", grads[1], "d loss / d query_features", atol=1e-5)


@partial_credit(3)
@number("4.1")
def test_sample_episode(student, set_score=None):
    """sample_episode: a valid 5-way 2-shot 3-query episode"""
    class_ids = class_pool(6, n_classes=12, sizes=(6, 9))
    gen = torch.Generator().manual_seed(6)
    result = student.sample_episode(class_ids, 5, 2, 3, gen)
    problems = episode_problems(result, class_ids, 5, 2, 3)
    set_score(3.0 * (1.0 - min(len(problems), 3) / 3.0))
    if problems:
        raise SubmissionError("sample_episode returned an invalid episode:\n- " + "\n- ".join(problems))
