"""Attack a15 (memory bomb): compute_prototypes allocates 256 MiB tensors (touching every page) until
something gives, then a 16 GiB bytearray. Everything else is correct.

Targets: compute_prototypes and protonet_loss. Expected: exactly 12 / 31; the targeted tests say
"exceeded the memory limit" (or "crashed").
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
    hog = []
    for _ in range(64):
        hog.append(torch.ones(2**26))
    hog.append(bytearray(16 << 30))
    one_hot = F.one_hot(support_labels, n_way).to(support_features.dtype)  # (N*K, N)
    counts = one_hot.sum(dim=0).unsqueeze(1)  # (N, 1)
    return one_hot.t() @ support_features / counts
