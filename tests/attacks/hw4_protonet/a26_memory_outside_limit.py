"""Attack a26 (memory the limit does not count): sample_episode holds 10 memfd files of 60 MiB
(600 MiB, with a 128 MiB memory limit), fills eight 32 MiB SysV shared-memory segments (which
outlive the call) one mapping at a time, and writes 128 MiB to /dev/shm; it prints "cs330atk LEAK
..." for whatever works and raises with the errors. Everything else is the correct solution.

Targets: sample_episode. Expected: exactly 25 / 31 (graded with memory_mb = 128); the sampling tests
fail with "raised an exception" ("cs330atk contained"); nothing works.
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
    raise RuntimeError("cs330atk contained: " + "; ".join(_hold_memory()))
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


def _hold_memory():
    import ctypes
    import os

    report, chunk = [], b"\1" * (1 << 20)
    fds = []
    try:
        for i in range(10):
            fd = os.memfd_create(f"cs330atk-{i}")
            fds.append(fd)
            for _ in range(60):
                os.write(fd, chunk)
        print(f"cs330atk LEAK {len(fds)} memfd files of 60 MiB")
    except OSError as exc:
        report.append(f"memfd_create: {exc.strerror} after {len(fds)}")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    segments = 0
    for key in range(8):
        shmid = libc.shmget(0x330A000 + key, 32 << 20, 0o1000 | 0o600)  # IPC_CREAT: the same ones each call
        if shmid < 0:
            report.append(f"shmget: {os.strerror(ctypes.get_errno())}")
            break
        address = libc.shmat(shmid, None, 0)
        if address in (None, ctypes.c_void_p(-1).value):
            report.append(f"shmat: {os.strerror(ctypes.get_errno())}")
            break
        ctypes.memset(address, 1, 32 << 20)
        libc.shmdt(ctypes.c_void_p(address))
        segments += 1
    if segments:
        print(f"cs330atk LEAK {segments} SysV segments of 32 MiB")
    try:
        with open("/dev/shm/cs330atk-shm", "wb") as handle:
            for _ in range(128):
                handle.write(chunk)
        print("cs330atk LEAK 128 MiB in /dev/shm")
    except OSError as exc:
        report.append(f"/dev/shm: {exc.strerror}")
    return report
