"""Test harnesses: trusted helpers that build models inside the sandbox and call student code."""

from __future__ import annotations

import textwrap

import pytest

from autograder.assignment import load_assignment
from autograder.build import write_golden, write_starter
from autograder.grading import grade
from conftest import by_nodeid

SOLUTION = '''
import torch


def scale_parameters(model, factor):
    """Multiply every parameter of model by factor, in place; return their names, sorted."""
    # BEGIN SOLUTION
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(factor)
    return sorted(name for name, _ in model.named_parameters())
    # END SOLUTION
'''

HARNESS = '''
import torch
from torch import nn

import net


def scaled_model(seed, factor):
    """Build a small model from seed, let the student scale it, return its state and the names."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    names = net.scale_parameters(model, factor)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, names
'''

TESTS = '''
from gradescope_utils.autograder_utils.decorators import number, weight


@weight(2)
@number("1")
def test_scaled(harness, golden):
    """scale_parameters scales a model built in the sandbox"""
    state, names = harness.scaled_model(0, 3.0)
    golden.check("state", state)
    assert names == ["0.bias", "0.weight", "2.bias", "2.weight"], f"names: {names}"
'''


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """A made-up assignment whose test goes through tests/net_harness.py."""
    root = tmp_path_factory.mktemp("root")
    (root / "assignments/toynet/tests").mkdir(parents=True)
    (root / "solutions/toynet").mkdir(parents=True)
    (root / "assignments/toynet/assignment.toml").write_text(textwrap.dedent('''
        id = "toynet"
        title = "Toy with a harness"
        files = ["net.py"]
        [limits]
        call_timeout_s = 10
        total_timeout_s = 120
    '''))
    (root / "solutions/toynet/net.py").write_text(SOLUTION)
    (root / "assignments/toynet/tests/net_harness.py").write_text(HARNESS)
    (root / "assignments/toynet/tests/test_net.py").write_text(TESTS)
    assignment = load_assignment("toynet", root)
    write_starter(assignment)
    write_golden(assignment)
    return assignment


def grade_text(toy, tmp_path, source: str | None) -> dict:
    """Grade a submission made of net.py with source (None: an empty submission)."""
    folder = tmp_path / "sub"
    folder.mkdir()
    if source is not None:
        (folder / "net.py").write_text(source)
    return by_nodeid(grade(toy, folder, tmp_path / "results.json"))["test_net.py::test_scaled"]


def test_reference_passes_through_the_harness(toy, tmp_path):
    """The reference solution gets full marks on a test whose model is built in the sandbox."""
    result = grade_text(toy, tmp_path, (toy.solution_dir / "net.py").read_text())
    assert result["score"] == 2, result["output"]


def test_starter_is_told_what_to_implement(toy, tmp_path):
    """The untouched starter's NotImplementedError is reported as a TODO to replace, not a crash."""
    result = grade_text(toy, tmp_path, (toy.starter_dir / "net.py").read_text())
    assert result["score"] == 0
    assert "not implemented yet" in result["output"] and "scale_parameters" in result["output"]
    assert "not your fault" not in result["output"]


def test_syntax_error_names_the_submitted_file(toy, tmp_path):
    """A submission that does not import is blamed by its own name, not the harness's."""
    result = grade_text(toy, tmp_path, "def scale_parameters(model, factor)\n    return []\n")
    assert result["score"] == 0
    assert "importing net.py failed" in result["output"] and "SyntaxError" in result["output"]


def test_missing_file(toy, tmp_path):
    """An empty submission is told which file to submit."""
    result = grade_text(toy, tmp_path, None)
    assert result["score"] == 0 and "net.py is missing from your submission" in result["output"]


def test_student_exception_shows_student_frames(toy, tmp_path):
    """An exception raised by student code inside the harness shows the student's line."""
    result = grade_text(toy, tmp_path, "def scale_parameters(model, factor):\n    return 1 / 0\n")
    assert result["score"] == 0
    assert "ZeroDivisionError" in result["output"] and 'File "net.py", line 2' in result["output"]
    assert "not your fault" not in result["output"]


def test_wrong_result_fails_against_golden(toy, tmp_path):
    """A harness result that differs from the reference's fails the golden comparison."""
    source = ("import torch\n\ndef scale_parameters(model, factor):\n"
              "    return sorted(n for n, _ in model.named_parameters())\n")
    result = grade_text(toy, tmp_path, source)
    assert result["score"] == 0 and result["status"] == "failed"
    assert "not your fault" not in result["output"]
