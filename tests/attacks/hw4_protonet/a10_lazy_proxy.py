"""Attack a10 (lazy proxy): sample_episode returns, instead of tensors, lazy proxies that compute the
correct episode only when touched (attribute access, iteration, indexing, comparison) and pose as
torch.Tensor through __class__; if such an object reached the grader it would run student code
there and pass. Everything else is the correct solution.

Targets: sample_episode. Expected: exactly 25 / 31; the sampling tests say "returned a value the
grader cannot accept".
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
    args = (class_ids, n_way, k_shot, q_queries, generator.get_state())
    return tuple(_Lazy(args, i) for i in range(4))
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


class _Lazy:
    """Stands for item `index` of sample_episode(*args), computed on first use."""

    def __init__(self, args, index):
        self._args, self._index, self._value = args, index, None

    def _get(self):
        if self._value is None:
            class_ids, n_way, k_shot, q_queries, state = self._args
            generator = torch.Generator()
            generator.set_state(state)
            self._value = _real_sample_episode(class_ids, n_way, k_shot, q_queries, generator)[self._index]
        return self._value

    @property
    def __class__(self):
        return torch.Tensor

    def __getattr__(self, name):
        return getattr(self._get(), name)

    def __iter__(self):
        return iter(self._get())

    def __len__(self):
        return len(self._get())

    def __getitem__(self, key):
        return self._get()[key]

    def __eq__(self, other):
        return self._get() == other

    def __reduce__(self):  # if pickled, it would unpickle as the real value computed here
        return (torch.as_tensor, (self._get(),))

    __hash__ = object.__hash__


def _real_sample_episode(class_ids, n_way, k_shot, q_queries, generator):
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
    return torch.cat(support_idx), torch.cat(support_y), torch.cat(query_idx), torch.cat(query_y)
