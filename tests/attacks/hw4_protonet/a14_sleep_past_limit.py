"""Attack a14 (sleep past the limit): protonet_logits sleeps for an hour (wall clock, no CPU, so the CPU
limit never fires). Everything else is correct.

Targets: protonet_logits and protonet_loss. Expected: exactly 17 / 31; the targeted tests say "did
not finish within the time limit".
"""


import torch
import torch.nn.functional as F


def protonet_logits(query_features: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """Return the (Q, N) logits: the negative squared Euclidean distances to each prototype."""
    import time

    time.sleep(3600)
    return -squared_euclidean_distances(query_features, prototypes)
