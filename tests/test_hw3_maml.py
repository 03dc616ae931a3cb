"""hw3_maml: release check, broken submissions the tests must catch, `cs330 train` runs, the benchmark."""

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
needs_data = pytest.mark.skipif(not (default_data_dir() / "images_background.npz").is_file(),
                                reason=f"Omniglot not found in {default_data_dir()}")
needs_higher = pytest.mark.skipif(subprocess.run([sys.executable, "-c", "import higher"],
                                                 capture_output=True).returncode != 0,
                                  reason="higher is not installed (pip install -r bench/requirements.txt)")


@pytest.fixture(scope="module")
def hw3():
    """hw3_maml as configured in this repository."""
    return load_assignment("hw3_maml", REPO_ROOT)


@pytest.fixture(scope="module")
def reference(hw3) -> str:
    """The reference maml.py."""
    return (hw3.solution_dir / "maml.py").read_text()


def mutate(source: str, old: str, new: str) -> str:
    """source with old replaced by new (which must occur)."""
    assert old in source, old
    return source.replace(old, new, 1)


def graded(hw3, tmp_path, source: str, scope: str = "public") -> dict[str, dict]:
    """Grade source as maml.py; results keyed by test function name."""
    results = grade_source(hw3, tmp_path, source, scope=scope)
    assert results["extra_data"]["grader_errors"] == []
    return {k.split("::")[-1]: v for k, v in by_nodeid(results).items()}


def test_release_check(hw3):
    """`cs330 check hw3_maml` passes: starter and golden in sync, reference full marks, starter 0, ..."""
    failed = [(c.name, c.detail) for c in run_check(hw3) if not c.ok]
    assert not failed, failed


def test_first_order_answer_fails_second_order_tests(hw3, reference, tmp_path):
    """An inner loop that never keeps the graph passes the first-order test but not the second-order ones."""
    source = mutate(reference, "create_graph=not first_order", "create_graph=False")
    tests = graded(hw3, tmp_path, source, scope="all")
    assert tests["test_inner_loop_one_step"]["status"] == "passed"
    assert tests["test_meta_gradient_first_order"]["status"] == "passed"
    for name in ("test_meta_gradient_second_order", "test_meta_gradient_second_order_batchnorm_ce"):
        assert tests[name]["score"] == 0, name
    assert "second order" in tests["test_meta_gradient_second_order"]["output"]


def test_in_place_update_is_caught(hw3, reference, tmp_path):
    """Updating the given parameter tensors in place fails the in-place test with a clear message."""
    source = mutate(reference, "            current[name] = current[name] - lr * (grad.detach() if first_order else grad)",
                    "            with torch.no_grad():\n                current[name].sub_(lr * grad)")
    tests = graded(hw3, tmp_path, source)
    result = tests["test_inner_loop_leaves_params_alone"]
    assert result["score"] == 0 and "modified params in place" in result["output"]


def test_detached_graph_is_caught(hw3, reference, tmp_path):
    """Returning detached parameters is reported as a meta-loss with no graph back to params."""
    source = mutate(reference, "    return current\n    # END SOLUTION",
                    "    return {k: v.detach() for k, v in current.items()}\n    # END SOLUTION")
    result = graded(hw3, tmp_path, source)["test_meta_gradient_second_order"]
    assert result["score"] == 0 and "no graph leads back to params" in result["output"]


def test_mutated_dict_and_no_adaptation_are_caught(hw3, reference, tmp_path):
    """Reusing the caller's dict is reported as such; a maml_loss that never adapts fails the behaviour test.

    (One submission with both faults, to grade once: without adaptation the model learns the average
    sinusoid, and one inner step then barely helps.)
    """
    source = mutate(reference, "current = dict(params)", "current = params")
    source = mutate(source, "inner_lr, num_steps, first_order)\n        total", "inner_lr, 0, first_order)\n        total")
    tests = graded(hw3, tmp_path, source)
    result = tests["test_inner_loop_leaves_params_alone"]
    assert result["score"] == 0 and "changed the params dict" in result["output"]
    result = tests["test_meta_training_learns_to_adapt"]
    assert result["score"] == 0 and "pre-adaptation MSE" in result["output"]


def _train(tmp_path, *extra: str, folder: str = "solutions/hw3_maml") -> subprocess.CompletedProcess:
    """Run `cs330 train hw3_maml FOLDER -- EXTRA` in the repository."""
    return subprocess.run([sys.executable, "-m", "autograder.cli", "train", "hw3_maml", folder, "--", *extra,
                           "--threads", "1", "--no-progress", "--out", str(tmp_path / "run")],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)


def test_short_sinusoid_run(tmp_path):
    """A few sinusoid meta-iterations write metrics, both figures and MSE after 0, 1 and 10 steps."""
    done = _train(tmp_path, "--task", "sinusoid", "--iterations", "30", "--eval-every", "10",
                  "--val-tasks", "5", "--test-tasks", "10")
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp_path / "run"
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [int(r["iteration"]) for r in rows] == [10, 20, 30]
    assert all(float(r["val_post"]) > 0 and float(r["val_pre"]) > 0 for r in rows)
    for png in ("curves.png", "sinusoid_fit.png"):
        assert (out / png).read_bytes()[:8] == PNG
    results = json.loads((out / "results.json").read_text())
    assert results["metric"] == "mse" and set(results["test"]) == {"0", "1", "10"}
    assert results["config"]["meta_batch"] == 25 and results["config"]["inner_lr"] == 0.01
    assert "mse after 1 steps" in done.stdout


@needs_data
def test_short_omniglot_run(tmp_path):
    """Two Omniglot meta-iterations report 5-way 1-shot accuracy with a 95% interval."""
    done = _train(tmp_path, "--task", "omniglot", "--iterations", "2", "--meta-batch", "2", "--eval-every", "1",
                  "--val-tasks", "3", "--test-tasks", "5")
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["metric"] == "accuracy" and set(results["test"]) == {"0", "1", "3"}
    assert all(0.0 <= r["mean"] <= 1.0 and r["ci95"] >= 0 for r in results["test"].values())
    assert (tmp_path / "run" / "curves.png").read_bytes()[:8] == PNG


def test_training_the_starter_says_what_to_do(tmp_path):
    """Training untouched starter code fails with a message naming the file to complete."""
    done = _train(tmp_path, "--task", "sinusoid", "--iterations", "1", folder="starter_code/hw3_maml")
    assert done.returncode == 1
    assert "is not implemented yet" in done.stderr and "maml.py" in done.stderr


def _bench(tmp_path, code: str, methods: str = "reference,higher,naive") -> subprocess.CompletedProcess:
    """Run bench/maml_step.py's main with tiny settings after `code` (Python) has run."""
    argv = ["--meta-batch", "1", "--reps", "1", "--methods", methods, "--out", str(tmp_path / "bench.json")]
    script = f"import sys, runpy\n{code}\nsys.argv = ['maml_step.py', *{argv!r}]\n" \
             "runpy.run_path('bench/maml_step.py', run_name='__main__')\n"
    return subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300)


@needs_higher
def test_bench_methods_agree(tmp_path):
    """The benchmark's reference, higher and naive meta-gradients agree, and it reports ratios."""
    done = _bench(tmp_path, "")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "bench.json").read_text())
    assert result["higher"] and set(result["ratios"]) >= {"higher/reference_second", "naive/reference_first"}
    assert all(v < 1e-4 for v in result["gradient_agreement"].values()), result["gradient_agreement"]


def test_bench_without_higher_skips_the_peer(tmp_path):
    """Without higher the benchmark says so and still times the reference and the naive version."""
    done = _bench(tmp_path, "sys.modules['higher'] = None", methods="reference,higher,naive")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "higher is not installed" in done.stderr
    result = json.loads((tmp_path / "bench.json").read_text())
    assert result["higher"] is None and "naive/reference_second" in result["ratios"]
