"""Attack a03 (exit inside a call): compute_prototypes calls os._exit(0) instead of returning; everything
else is the correct solution.

Targets: compute_prototypes and protonet_loss (which calls it). Expected: exactly 12 / 31 (the
distance, logits and sampling tests); the targeted tests say "ended the process instead of returning".
"""


import torch
import torch.nn.functional as F


def compute_prototypes(
    support_features: torch.Tensor, support_labels: torch.Tensor, n_way: int
) -> torch.Tensor:
    """Return the (n_way, D) class prototypes: row c is the mean support feature of class c.

    support_features: (N*K, D) float tensor, in any order (not grouped by class).
    support_labels: (N*K,) int64 tensor with values in [0, n_way).
    """
    import os

    os._exit(0)
    one_hot = F.one_hot(support_labels, n_way).to(support_features.dtype)  # (N*K, N)
    counts = one_hot.sum(dim=0).unsqueeze(1)  # (N, 1)
    return one_hot.t() @ support_features / counts
