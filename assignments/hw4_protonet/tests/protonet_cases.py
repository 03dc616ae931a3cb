"""Fixed inputs and property checks shared by the hw4_protonet tests."""

from __future__ import annotations

import torch


def episode_features(seed: int, n_way: int, k_shot: int, q_queries: int, dim: int,
                     dtype: torch.dtype = torch.float32, grouped: bool = True, spread: float = 2.0):
    """Return (support, support_y, query, query_y) with class-dependent features.

    spread scales the distance between class centres: small values make overlapping classes
    (a loss far from 0 and an accuracy below 1).
    """
    gen = torch.Generator().manual_seed(seed)
    centers = torch.randn(n_way, dim, generator=gen, dtype=torch.float64) * spread
    support_y = torch.arange(n_way).repeat_interleave(k_shot)
    query_y = torch.arange(n_way).repeat_interleave(q_queries)
    if not grouped:
        support_y = support_y[torch.randperm(len(support_y), generator=gen)]
        query_y = query_y[torch.randperm(len(query_y), generator=gen)]
    support = centers[support_y] + torch.randn(len(support_y), dim, generator=gen, dtype=torch.float64)
    query = centers[query_y] + 1.5 * torch.randn(len(query_y), dim, generator=gen, dtype=torch.float64)
    return support.to(dtype), support_y, query.to(dtype), query_y


def non_contiguous(t: torch.Tensor) -> torch.Tensor:
    """The same values as t, stored transposed so the tensor is not contiguous."""
    result = t.t().contiguous().t()
    assert not result.is_contiguous() and torch.equal(result, t)
    return result


def class_pool(seed: int, n_classes: int, sizes: tuple[int, int]) -> torch.Tensor:
    """class_ids of a pool whose classes have unequal sizes, non-contiguous ids, shuffled order."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randperm(1000, generator=gen)[:n_classes] + 7
    counts = torch.randint(sizes[0], sizes[1] + 1, (n_classes,), generator=gen)
    pool = torch.cat([torch.full((int(c),), int(i)) for i, c in zip(ids, counts)])
    return pool[torch.randperm(len(pool), generator=gen)]


def episode_problems(result, class_ids: torch.Tensor, n_way: int, k_shot: int, q_queries: int) -> list[str]:
    """The episode properties a sample_episode result violates (empty list: a valid episode).

    A result of the wrong structure (not four int64 tensors of the right sizes, or indices out of
    range) raises SubmissionError instead: it earns no partial credit.
    """
    from autograder.checks import expect_tensor
    from autograder.submission import SubmissionError

    if not isinstance(result, (tuple, list)) or len(result) != 4:
        raise SubmissionError("sample_episode should return a tuple (support_idx, support_y, query_idx, query_y)")
    names = ("support_idx", "support_y", "query_idx", "query_y")
    sizes = (n_way * k_shot, n_way * k_shot, n_way * q_queries, n_way * q_queries)
    for value, name, size in zip(result, names, sizes):
        expect_tensor(value, name, (size,), torch.int64)
    s_idx, s_y, q_idx, q_y = result
    problems = []
    everything = torch.cat([s_idx, q_idx])
    if everything.min() < 0 or everything.max() >= len(class_ids):
        raise SubmissionError("support_idx and query_idx must lie in [0, len(class_ids))")
    if len(set(everything.tolist())) != len(everything):
        problems.append("an example was picked twice (support and query examples must all be distinct)")
    labels = torch.cat([s_y, q_y])
    classes = class_ids[everything]
    if len(set(classes.tolist())) != n_way:
        problems.append(f"the episode uses {len(set(classes.tolist()))} classes; expected {n_way}")
    if sorted(set(labels.tolist())) != list(range(n_way)):
        problems.append(f"labels must be exactly 0..{n_way - 1}")
    mapping: dict[int, set[int]] = {}
    for cls, label in zip(classes.tolist(), labels.tolist()):
        mapping.setdefault(cls, set()).add(label)
    if any(len(v) != 1 for v in mapping.values()) or len({min(v) for v in mapping.values()}) != len(mapping):
        problems.append("labels must relabel classes one to one (each class one label, each label one class)")
    for label in range(n_way):
        if int((s_y == label).sum()) != k_shot or int((q_y == label).sum()) != q_queries:
            problems.append(f"each class needs {k_shot} support and {q_queries} query examples")
            break
    return problems
