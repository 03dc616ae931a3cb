"""Grading hw4_protonet end to end: reference, starter, and every kind of broken submission."""

from __future__ import annotations

import json
import zipfile

import pytest

from autograder.check import without_timing
from autograder.grading import grade
from autograder.results import totals, validate
from conftest import by_nodeid, grade_source

PUBLIC_POINTS = 16.0
ALL_POINTS = 31.0


@pytest.fixture(scope="module")
def reference_results(hw4, tmp_path_factory) -> dict:
    """results.json of the reference solution."""
    return grade(hw4, hw4.solution_dir, tmp_path_factory.mktemp("ref") / "results.json")


def test_reference_gets_full_marks(reference_results):
    """The reference solution passes every public and hidden test."""
    validate(reference_results)
    assert totals(reference_results) == (ALL_POINTS, ALL_POINTS)
    assert all(t["status"] == "passed" for t in reference_results["tests"])
    assert reference_results["extra_data"]["grader_errors"] == []


def test_visibility_public_and_hidden(reference_results):
    """Public tests are visible; hidden ones are shown after the due date."""
    for test in reference_results["tests"]:
        expected = "after_due_date" if test["extra_data"]["nodeid"].startswith("test_hidden") else "visible"
        assert test["visibility"] == expected, test["name"]


def test_grading_is_deterministic(hw4, reference_results, tmp_path):
    """Grading the same submission again gives the same results apart from timing."""
    again = grade(hw4, hw4.solution_dir, tmp_path / "results.json")
    assert without_timing(again) == without_timing(reference_results)


def test_starter_scores_zero_without_grader_errors(hw4, tmp_path):
    """Untouched starter code earns 0 and every test says which function to implement."""
    results = grade(hw4, hw4.starter_dir, tmp_path / "results.json")
    assert totals(results) == (0.0, ALL_POINTS)
    assert results["extra_data"]["grader_errors"] == []
    assert all("is not implemented yet" in t["output"] for t in results["tests"])


def test_zip_with_enclosing_folder(hw4, reference_source, tmp_path):
    """A zip holding my_hw/protonet.py is graded like the file itself."""
    archive = tmp_path / "submission.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("my_hw/protonet.py", reference_source)
        zf.writestr("__MACOSX/my_hw/._protonet.py", "junk")
    results = grade(hw4, archive, tmp_path / "results.json", scope="public")
    assert totals(results) == (PUBLIC_POINTS, PUBLIC_POINTS)


def test_missing_file(hw4, tmp_path):
    """An empty submission fails every test with a message naming the missing file."""
    results = grade_source(hw4, tmp_path, None, scope="public")
    assert totals(results)[0] == 0
    assert "protonet.py is missing from the submission" in results["output"]
    assert all("protonet.py is missing from your submission" in t["output"] for t in results["tests"])


def _mutate(source: str, old: str, new: str) -> str:
    """source with old replaced by new (which must occur)."""
    assert old in source, old
    return source.replace(old, new, 1)


BROKEN = {
    "syntax_error": (lambda s: _mutate(s, "def protonet_logits(", "def protonet_logits(:"),
                     None, ["importing protonet.py failed", "SyntaxError", 'File "protonet.py", line']),
    "import_exception": (lambda s: s + "\nraise RuntimeError('boom at import')\n",
                         None, ["importing protonet.py failed", "RuntimeError: boom at import"]),
    "missing_function": (lambda s: _mutate(s, "def sample_episode(", "def sample_episodes("),
                         "test_public.py::test_sample_episode", ["has no function sample_episode"]),
    "wrong_signature": (lambda s: _mutate(s, "support_labels: torch.Tensor, n_way: int\n) -> torch.Tensor:",
                                          "support_labels: torch.Tensor\n) -> torch.Tensor:"),
                        "test_public.py::test_prototypes_grouped", ["cannot be called", "called with 3 positional argument(s)", "too many"]),
    "wrong_shape": (lambda s: _mutate(s, "return one_hot.t() @ support_features / counts",
                                      "return (one_hot.t() @ support_features / counts).t()"),
                    "test_public.py::test_prototypes_grouped", ["has shape (16, 5); expected (5, 16)"]),
    "wrong_values": (lambda s: _mutate(s, "return one_hot.t() @ support_features / counts",
                                       "return one_hot.t() @ support_features"),
                     "test_public.py::test_prototypes_grouped",
                     ["differs from the reference", "atol=", "expected"]),
    "nan": (lambda s: _mutate(s, "return (diff * diff).sum(dim=-1)", "return (diff * diff).sum(dim=-1) * float('nan')"),
            "test_public.py::test_distances", ["contains NaN"]),
    "timeout": (lambda s: _mutate(s, "    classes = torch.unique(class_ids)", "    while True:\n        pass"),
                "test_public.py::test_sample_episode", ["did not finish within the time limit of 3 s"]),
    "memory": (lambda s: _mutate(s, "    one_hot = F.one_hot", "    torch.ones(2**31).sum()\n    one_hot = F.one_hot"),
               "test_public.py::test_prototypes_grouped", ["exceeded the memory limit of 256 MB"]),
    "exception": (lambda s: _mutate(s, "    diff = query_features", "    {}['key']\n    diff = query_features"),
                  "test_public.py::test_distances",
                  ["squared_euclidean_distances raised an exception", "KeyError", 'File "protonet.py"']),
    "not_differentiable": (lambda s: _mutate(s, "loss = F.cross_entropy(logits, query_labels)",
                                             "loss = F.cross_entropy(logits, query_labels).detach()"),
                           "test_public.py::test_loss_gradients", ["not differentiable"]),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_submission_gets_clear_message(hw4_fast, reference_source, tmp_path, case):
    """Each kind of broken code fails its tests with a message that says what went wrong."""
    mutate, nodeid, phrases = BROKEN[case]
    results = grade_source(hw4_fast, tmp_path, mutate(reference_source), scope="public")
    validate(results)
    tests = by_nodeid(results)
    failing = [tests[nodeid]] if nodeid else list(tests.values())
    for test in failing:
        assert test["status"] == "failed" and test["score"] == 0, test["name"]
        for phrase in phrases:
            assert phrase in test["output"], (phrase, test["output"])
    assert results["extra_data"]["grader_errors"] == []
    if nodeid and case not in ("wrong_signature", "memory"):
        others = [t for k, t in tests.items() if k != nodeid]
        assert any(t["status"] == "passed" for t in others), "one broken function must not sink the rest"


def test_hidden_messages_do_not_reveal_values(hw4_fast, reference_source, tmp_path):
    """A hidden test's failure names the tolerance and the index but not the expected value."""
    source = _mutate(reference_source, "return one_hot.t() @ support_features / counts",
                     "return one_hot.t() @ support_features / (counts + 1)")
    results = grade_source(hw4_fast, tmp_path, source)
    hidden = by_nodeid(results)["test_hidden.py::test_prototypes_one_shot"]
    assert "differs from the reference" in hidden["output"] and "atol=" in hidden["output"]
    assert "expected" not in hidden["output"]
    public = by_nodeid(results)["test_public.py::test_prototypes_grouped"]
    assert "expected" in public["output"]


def test_forged_results_file_is_overwritten(hw4_fast, reference_source, tmp_path):
    """Code that writes results.json and exits scores nothing for it; the real file stands."""
    results_path = tmp_path / "results" / "results.json"
    forged = json.dumps({"score": 999, "tests": []})
    attack = (
        "\ndef _forge():\n    import os\n"
        f"    for p in ({str(results_path)!r}, '/autograder/results/results.json'):\n"
        "        try:\n"
        f"            open(p, 'w').write({forged!r})\n"
        "        except OSError:\n            pass\n"
        "    os._exit(0)\n"
    )
    source = _mutate(reference_source, '    """Return the (n_way, D) class prototypes',
                     '    _forge()\n    """Return the (n_way, D) class prototypes') + attack
    results = grade_source(hw4_fast, tmp_path, source, scope="public")
    on_disk = json.loads(results_path.read_text())
    assert on_disk == results and "score" not in on_disk
    tests = by_nodeid(results)
    assert tests["test_public.py::test_prototypes_grouped"]["score"] == 0
    assert "ended the process instead of returning" in tests["test_public.py::test_prototypes_grouped"]["output"]
    assert totals(results)[0] == PUBLIC_POINTS - 4 - 6  # prototypes (2+2) and the loss tests (3+3) that use it


def test_student_prints_are_labelled(hw4_fast, reference_source, tmp_path):
    """What student code prints is shown on failure, marked as theirs, and truncated."""
    source = _mutate(reference_source, "    diff = query_features",
                     "    print('All tests passed! Score: 100/100' * 500)\n    raise ValueError('oops')\n"
                     "    diff = query_features")
    results = grade_source(hw4_fast, tmp_path, source, scope="public")
    output = by_nodeid(results)["test_public.py::test_distances"]["output"]
    assert "output printed by your code (not by the grader)" in output
    assert len(output) <= 3000
