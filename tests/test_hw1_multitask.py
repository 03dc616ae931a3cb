"""hw1_multitask: release check, wrong submissions the tests must catch, a short `cs330 train` run."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from autograder.assignment import REPO_ROOT, load_assignment
from autograder.check import run_check
from autograder.omniglot import default_data_dir
from conftest import by_nodeid, grade_source

PNG = b"\x89PNG\r\n\x1a\n"
HAS_OMNIGLOT = (default_data_dir() / "images_background.npz").is_file()


@pytest.fixture(scope="module")
def hw1():
    """hw1_multitask as configured in this repository."""
    return load_assignment("hw1_multitask", REPO_ROOT)


@pytest.fixture(scope="module")
def reference(hw1) -> str:
    """The reference multitask.py."""
    return (hw1.solution_dir / "multitask.py").read_text()


def mutate(source: str, old: str, new: str) -> str:
    """source with old replaced by new (which must occur)."""
    assert old in source, old
    return source.replace(old, new, 1)


def graded(hw1, tmp_path, source: str) -> dict[str, dict]:
    """Grade source as multitask.py on the public tests; results keyed by test function name."""
    results = grade_source(hw1, tmp_path, source, scope="public")
    assert results["extra_data"]["grader_errors"] == []
    return {k.split("::")[-1]: v for k, v in by_nodeid(results).items()}


def test_release_check(hw1):
    """`cs330 check hw1_multitask` passes: starter and golden in sync, reference full marks, starter 0, ..."""
    failed = [(c.name, c.detail) for c in run_check(hw1) if not c.ok]
    assert not failed, failed


def test_wrong_answers_are_caught(hw1, reference, tmp_path):
    """Averaged PCGrad, projections against the projected g_j, sigmoid gates and transposed task biases fail."""
    source = mutate(reference, "return torch.stack(projected).sum(dim=0)", "return torch.stack(projected).mean(dim=0)")
    source = mutate(source, "return torch.stack([torch.softmax(gate(x), dim=1) for gate in self.gate_layers])",
                    "return torch.stack([torch.sigmoid(gate(x)) for gate in self.gate_layers])")
    source = mutate(source, "return x @ weight_x.t() + z.to(x.dtype) @ task_bias + bias",
                    "return x @ weight_x.t() + (z.to(x.dtype) @ task_bias.t().t()).flip(0) + bias")
    tests = graded(hw1, tmp_path, source)
    for name in ("test_pcgrad_two_conflicting", "test_pcgrad_golden", "test_mmoe_forward_and_gates",
                 "test_additive_condition", "test_concat_equals_additive"):
        assert tests[name]["score"] == 0, (name, tests[name]["output"])
    assert tests["test_pcgrad_no_conflict"]["score"] == 0  # the mean of non-conflicting gradients is not their sum
    assert "gate sums to 1" in tests["test_mmoe_forward_and_gates"]["output"]


def test_changed_init_is_reported(hw1, reference, tmp_path):
    """Renaming MMoE's gates is reported as a changed __init__, not as wrong values."""
    source = reference.replace("self.gate_layers", "self.gate_list")
    result = graded(hw1, tmp_path, source)["test_mmoe_forward_and_gates"]
    assert result["score"] == 0 and "keep __init__ as given" in result["output"]


def test_short_training_run(tmp_path):
    """A tiny `cs330 train` run writes the synthetic CSV and PNG, and the Omniglot table when the data is here."""
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "train", "hw1_multitask", "solutions/hw1_multitask", "--",
         "--seeds", "2", "--correlations", "1.0,0.0", "--steps", "40", "--eval-every", "20",
         "--train-examples", "500", "--test-examples", "200", "--characters", "20", "--omniglot-steps", "10",
         "--threads", "1", "--out", str(out), "--no-progress"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = list(csv.DictReader((out / "synthetic.csv").open()))
    assert len(rows) == 2 * 2 * 2 and all(float(r["final_test_loss"]) > 0 for r in rows)
    assert (out / "synthetic_curves.png").read_bytes()[:8] == PNG
    results = json.loads((out / "results.json").read_text())
    sizes = results["synthetic"]["parameters"]
    assert abs(sizes["mmoe"] - sizes["shared_bottom"]) <= 0.02 * sizes["mmoe"]
    assert set(results["synthetic"]["final_test_loss"]["mmoe"]) == {"1.0", "0.0"}
    assert "final test MSE" in done.stdout
    if HAS_OMNIGLOT:
        rows = list(csv.DictReader((out / "omniglot.csv").open()))
        models = {r["model"] for r in rows}
        assert {"single_character", "shared_bottom", "multi_head", "mmoe"} <= models
        assert all(0.0 <= float(r["test_accuracy"]) <= 1.0 for r in rows)
    else:
        assert results["omniglot"] is None and "skipped" in done.stdout


def test_omniglot_skips_cleanly_without_data(tmp_path):
    """Pointing --data-dir at an empty folder skips the Omniglot experiment with a message, not a crash."""
    done = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "train", "hw1_multitask", "solutions/hw1_multitask", "--",
         "--experiment", "omniglot", "--data-dir", str(tmp_path), "--out", str(tmp_path / "run"), "--no-progress"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "skipping" in done.stderr and "omniglot: skipped" in done.stdout


def test_training_the_starter_says_what_to_do():
    """Training untouched starter code fails with a message naming the function to complete."""
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "train", "hw1_multitask", "--",
                           "--experiment", "synthetic", "--seeds", "1", "--steps", "1", "--no-progress"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "is not implemented yet" in done.stderr and "multitask.py" in done.stderr
