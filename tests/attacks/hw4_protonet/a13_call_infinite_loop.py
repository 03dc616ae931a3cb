"""Attack a13 (hang in a call): sample_episode spins forever (CPU). Everything else is correct.

Targets: sample_episode. Expected: exactly 25 / 31; the sampling tests say "did not finish within
the time limit".
"""


import torch
import torch.nn.functional as F


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
    while True:
        pass
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
