"""Attack a18 (descriptor and inode flood): sample_episode opens 10000 descriptors (until EMFILE) and
creates 3000 files in its work folder, then raises. Everything else is correct.

Targets: sample_episode. Expected: exactly 25 / 31; the sampling tests fail with "raised an
exception" naming the open-files limit.
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
    raise OSError("cs330atk many files: " + _open_many())
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


def _open_many():
    import os

    fds, error = [], "no error"
    try:
        for _ in range(10000):
            fds.append(os.open("/dev/null", os.O_RDONLY))
    except OSError as exc:
        error = f"{type(exc).__name__} {exc.strerror}"
    opened = len(fds)
    for fd in fds:
        os.close(fd)
    os.makedirs("cs330atk-files", exist_ok=True)
    for i in range(3000):
        with open(os.path.join("cs330atk-files", str(i)), "w") as handle:
            handle.write("x")
    return f"opened {opened} descriptors, then {error}; created 3000 files"
