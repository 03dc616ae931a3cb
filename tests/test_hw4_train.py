"""`cs330 train hw4_protonet`: a short real run on Omniglot writes metrics, curves and test accuracy."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from autograder.assignment import REPO_ROOT
from autograder.omniglot import default_data_dir

needs_data = pytest.mark.skipif(not (default_data_dir() / "images_background.npz").is_file(),
                                reason=f"Omniglot not found in {default_data_dir()}")


@needs_data
def test_short_training_run(tmp_path):
    """A few episodes of the reference train and report 5-way 1- and 5-shot accuracy with CIs."""
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "train", "hw4_protonet", "solutions/hw4_protonet", "--",
         "--episodes", "6", "--eval-every", "3", "--val-episodes", "4", "--test-episodes", "10",
         "--threads", "1", "--out", str(out), "--no-progress"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert len(rows) >= 2 and all(0.0 <= float(r["train_acc"]) <= 1.0 for r in rows)
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results = json.loads((out / "results.json").read_text())
    for key in ("5way_1shot", "5way_5shot"):
        assert 0.2 <= results["test"][key]["acc"] <= 1.0 and results["test"][key]["ci95"] > 0


def test_training_the_starter_says_what_to_do():
    """Training untouched starter code fails with a message naming the file to complete."""
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "train", "hw4_protonet", "--",
                           "--episodes", "1", "--no-progress", "--test-episodes", "1"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    if "Omniglot" in done.stderr and "not found" in done.stderr:
        pytest.skip("no Omniglot data here")
    assert done.returncode == 1
    assert "is not implemented yet" in done.stderr and "protonet.py" in done.stderr
