"""Attack a17 (huge file): protonet_logits writes a 2 GiB file into its work folder and tries files in
/tmp, /var/tmp, /dev/shm, the repository and the autograder root, then raises with what it managed.
Everything else is correct.

Targets: protonet_logits and protonet_loss. Expected: exactly 17 / 31; the targeted tests fail with
"raised an exception"; the file stops at the file-size limit (64 MiB) and nothing remains afterwards.
"""


import torch
import torch.nn.functional as F

# Filled in by tests/test_attacks.py before grading: where a real attacker would look.
AUTOGRADER_ROOT = "@@AUTOGRADER_ROOT@@"  # the unpacked Gradescope autograder (/autograder there)
REPO_ROOT = "@@REPO_ROOT@@"  # the course repository: solutions/, assignments/, starter_code/


def protonet_logits(query_features: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """Return the (Q, N) logits: the negative squared Euclidean distances to each prototype."""
    raise OSError("cs330atk huge files: " + "; ".join(_write_huge_files()))
    return -squared_euclidean_distances(query_features, prototypes)


def _write_huge_files():
    import os

    report = []
    chunk = b"\0" * (1 << 20)
    for folder in (".", "/tmp", "/var/tmp", "/dev/shm", REPO_ROOT, AUTOGRADER_ROOT, AUTOGRADER_ROOT + "/source"):
        path = os.path.join(folder, "cs330atk-huge.bin")
        written = 0
        try:
            with open(path, "wb") as handle:
                for _ in range(2048):
                    handle.write(chunk)
                    written += 1
        except OSError as exc:
            report.append(f"{path}: {written} MiB then {type(exc).__name__}")
        else:
            report.append(f"{path}: {written} MiB")
    return report
