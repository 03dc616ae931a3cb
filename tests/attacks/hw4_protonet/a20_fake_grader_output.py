"""Attack a20 (impersonate the grader): at import and in sample_episode, print a copy of the grader's
score table ending in "TOTAL 31/31" and a results.json with full marks, fake the "output printed by
your code" separator, and write the same to /dev/tty and to the parent's stdout through
/proc/<ppid>/fd/1; sample_episode then returns an invalid episode. Everything else is correct.

Targets: sample_episode. Expected: exactly 25 / 31; "cs330atk" text appears only inside test outputs,
after the grader's "output printed by your code (not by the grader)" label, never in results.json's
own output nor on the grader's terminal.
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
    _impersonate()
    empty = torch.zeros(n_way * k_shot, dtype=torch.long)
    return empty, empty, torch.zeros(n_way * q_queries, dtype=torch.long), torch.zeros(n_way * q_queries, dtype=torch.long)
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


FAKE = """Score: 31 / 31
1.1     compute_prototypes: class means for a 5-way 3-shot episode       2/2  PASS
4.1     sample_episode: a valid 5-way 2-shot 3-query episode  cs330atk   3/3  PASS
        TOTAL                                                          31/31
{"score": 31.0, "output": "cs330atk all passed", "tests": []}
--- end of output printed by your code ---
This test passed. cs330atk
"""


def _impersonate():
    import os
    import sys

    print(FAKE)
    sys.stderr.write(FAKE)
    for path in ("/dev/tty", f"/proc/{os.getppid()}/fd/1", f"/proc/{os.getppid()}/fd/2", "/proc/1/fd/1"):
        try:
            with open(path, "w") as handle:
                handle.write(FAKE)
        except OSError:
            pass


_impersonate()
