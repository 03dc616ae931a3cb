"""The pytest plugin on a small made-up assignment: every outcome becomes a results.json entry."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from autograder.assignment import load_assignment
from autograder.build import write_golden, write_starter
from autograder.grading import grade
from autograder.results import validate
from conftest import by_nodeid, with_limits

SOLUTION = '''
def double(x):
    """Return 2 * x."""
    # BEGIN SOLUTION
    return 2 * x
    # END SOLUTION


def triple(x):
    """Return 3 * x."""
    # BEGIN SOLUTION
    return 3 * x
    # END SOLUTION
'''

TESTS = '''
import time

import pytest
import torch
from gradescope_utils.autograder_utils.decorators import (
    hide_errors, leaderboard, number, partial_credit, tags, visibility, weight)


@weight(1)
@number("1")
@tags("basics")
def test_double(student, golden):
    """double of a tensor"""
    golden.check("value", student.double(torch.arange(3.0)))


@partial_credit(4)
@number("2")
@pytest.mark.parametrize("x", [1, 2, 3])
def test_partial(student, x, set_score=None):
    """partial credit per case"""
    if x == 1:
        set_score(1)
    if x == 3:
        assert student.triple(x) == 3 * x + 1, "deliberately failing case"


@weight(2)
@number("3")
@hide_errors("The hidden check failed.")
@visibility("hidden")
def test_hidden_message(student):
    """hidden with hide_errors"""
    assert student.triple(1) == 4, "secret detail"


@weight(1)
@number("4")
def test_skipped():
    """skipped test"""
    pytest.skip("not today")


@weight(1)
@number("5")
@pytest.mark.xfail(reason="known", strict=False)
def test_xfail():
    """expected failure"""
    assert False


@weight(1)
@number("6")
@pytest.mark.xfail(reason="should fail", strict=False)
def test_xpass():
    """unexpected pass"""
    assert True


@pytest.fixture
def broken_fixture():
    raise KeyError("fixture bug")


@weight(1)
@number("7")
def test_grader_bug(broken_fixture):
    """a bug in the grader's own test code"""


@leaderboard("speed", "asc")
def test_leaderboard(student, set_leaderboard_value=None):
    """leaderboard value"""
    set_leaderboard_value(float(student.double(21)))


@weight(1)
@number("9")
def test_slow_grader(student):
    """runs past the total time limit when SLOW is set"""
    import os
    if os.environ.get("CS330_TOY_SLOW"):
        time.sleep(60)
    if os.environ.get("CS330_TOY_KILL"):
        os.kill(os.getpid(), 9)  # what the container's out-of-memory killer does


@weight(1)
@number("10")
def test_after_slow(student):
    """comes after the slow test"""
    assert student.double(1) == 2
'''


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """A made-up assignment 'toy' under a temporary root, built (starter and golden)."""
    root = tmp_path_factory.mktemp("root")
    (root / "assignments/toy/tests").mkdir(parents=True)
    (root / "solutions/toy").mkdir(parents=True)
    (root / "assignments/toy/assignment.toml").write_text(textwrap.dedent('''
        id = "toy"
        title = "Toy"
        files = ["toy.py"]
        [limits]
        call_timeout_s = 5
        total_timeout_s = 120
    '''))
    (root / "solutions/toy/toy.py").write_text(SOLUTION)
    (root / "assignments/toy/tests/test_toy.py").write_text(TESTS)
    assignment = load_assignment("toy", root)
    write_starter(assignment)
    with pytest.raises(Exception, match="does not pass its own tests"):
        write_golden(assignment)  # the toy tests fail on purpose, so recording refuses
    return assignment


@pytest.fixture(scope="module")
def toy_results(toy, tmp_path_factory):
    """results.json of the toy solution (no golden data: the golden test reports that)."""
    return by_nodeid(grade(toy, toy.solution_dir, tmp_path_factory.mktemp("r") / "results.json"))


def test_partial_credit_is_per_case(toy_results):
    """set_score in one parametrized case never leaks into the next."""
    assert toy_results["test_toy.py::test_partial[1]"]["score"] == 1
    assert toy_results["test_toy.py::test_partial[2]"]["score"] == 4
    case3 = toy_results["test_toy.py::test_partial[3]"]
    assert case3["score"] == 0 and case3["status"] == "failed"
    assert "deliberately failing case" in case3["output"]
    assert [toy_results[f"test_toy.py::test_partial[{i}]"]["number"] for i in (1, 2, 3)] == ["2.1", "2.2", "2.3"]


def test_hide_errors_and_visibility(toy_results):
    """hide_errors replaces the message; the visibility decorator is honoured."""
    hidden = toy_results["test_toy.py::test_hidden_message"]
    assert hidden["output"] == "The hidden check failed."
    assert hidden["visibility"] == "hidden"


def test_skip_xfail_xpass_are_reported(toy_results):
    """Skipped, xfailed and xpassed tests appear with a status and a reason."""
    skipped = toy_results["test_toy.py::test_skipped"]
    assert skipped["status"] == "failed" and skipped["score"] == 0 and "skipped" in skipped["output"]
    xfail = toy_results["test_toy.py::test_xfail"]
    assert xfail["status"] == "passed" and xfail["max_score"] == 0 and "not graded" in xfail["output"]
    xpass = toy_results["test_toy.py::test_xpass"]
    assert xpass["status"] == "failed" and xpass["max_score"] == 0 and "expected to fail" in xpass["output"]


def test_grader_bug_is_flagged(toy_results):
    """An error in the grader's own code says so and is listed as a grader error."""
    bug = toy_results["test_toy.py::test_grader_bug"]
    assert bug["status"] == "failed" and "not your fault" in bug["output"]
    missing_golden = toy_results["test_toy.py::test_double"]
    assert "run `cs330 build`" in missing_golden["output"]


def test_tags_and_leaderboard(toy, tmp_path):
    """Tags reach the test entry; leaderboard values reach the top level."""
    results = grade(toy, toy.solution_dir, tmp_path / "results.json")
    validate(results)
    assert by_nodeid(results)["test_toy.py::test_double"]["tags"] == ["basics"]
    assert results["leaderboard"] == [{"name": "speed", "value": 42.0, "order": "asc"}]


def test_tests_without_verdict_count_as_failed(toy, tmp_path, monkeypatch):
    """When the run is killed at the total time limit, unfinished tests still appear, failed."""
    import json

    manifest_dir = toy.golden_dir
    manifest_dir.mkdir(exist_ok=True)
    nodeids = ["test_toy.py::test_slow_grader", "test_toy.py::test_after_slow"]
    (manifest_dir / "manifest.json").write_text(json.dumps({"tests": [
        {"nodeid": n, "name": n, "number": "9", "weight": 1.0, "visibility": "visible", "tags": []}
        for n in nodeids]}))
    monkeypatch.setenv("CS330_TOY_SLOW", "1")
    try:
        results = grade(with_limits(toy, total_timeout_s=15), toy.solution_dir, tmp_path / "r.json")
    finally:
        (manifest_dir / "manifest.json").unlink()
    validate(results)
    tests = by_nodeid(results)
    assert "total time limit" in results["output"]
    for nodeid in nodeids:
        assert tests[nodeid]["score"] == 0 and tests[nodeid]["status"] == "failed"
        assert "total time limit" in tests[nodeid]["output"]


def test_killed_grading_process_still_writes_results(toy, tmp_path, monkeypatch):
    """If the test process is killed (out of memory), results.json is still written, complete."""
    monkeypatch.setenv("CS330_TOY_KILL", "1")
    results = grade(toy, toy.solution_dir, tmp_path / "r.json")
    validate(results)
    assert "grading process was killed" in results["output"]
    tests = by_nodeid(results)
    assert tests["test_toy.py::test_double"]["status"] == "failed"  # reported before the kill
    assert "test_toy.py::test_slow_grader" not in tests or tests["test_toy.py::test_slow_grader"]["score"] == 0


def test_collection_error_is_a_grader_error(toy, tmp_path):
    """A test file that cannot be imported is reported, not silently dropped."""
    broken = toy.tests_dir / "test_zz_broken.py"
    broken.write_text("import no_such_module_anywhere\n")
    try:
        results = grade(toy, toy.solution_dir, tmp_path / "results.json")
    finally:
        broken.unlink()
    assert any("no_such_module_anywhere" in e for e in results["extra_data"]["collection_errors"])
    assert "test_zz_broken.py" in results["extra_data"]["grader_errors"]
    assert "no_such_module" not in results["output"]  # students are not shown the grader's internals
