"""The cs330 command as users type it."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

from autograder.assignment import REPO_ROOT
from autograder.results import validate


def cs330(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `cs330 ARGS` and capture its output."""
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO_ROOT)


def test_list():
    """cs330 list names hw4_protonet and its submitted file."""
    done = cs330("list")
    assert done.returncode == 0 and "hw4_protonet" in done.stdout and "protonet.py" in done.stdout


def test_grade_prints_table_and_writes_results(tmp_path):
    """cs330 grade exits 0, prints a per-test table with the total, writes valid results.json."""
    results_path = tmp_path / "out" / "results.json"
    done = cs330("grade", "hw4_protonet", "solutions/hw4_protonet", "--results", str(results_path))
    assert done.returncode == 0, done.stderr
    assert "TOTAL" in done.stdout and "31/31" in done.stdout
    validate(json.loads(results_path.read_text()))


def test_grade_failing_submission_still_exits_zero(tmp_path):
    """A submission that scores 0 is a successful grading run."""
    done = cs330("grade", "hw4_protonet", "starter_code/hw4_protonet", "--results", str(tmp_path / "r.json"))
    assert done.returncode == 0 and "0/31" in done.stdout


def test_grade_errors_exit_nonzero(tmp_path):
    """Unknown assignments and missing submissions are the grader's errors: exit 2 with a hint."""
    unknown = cs330("grade", "hw9_nope", str(tmp_path))
    assert unknown.returncode == 2 and "no assignment 'hw9_nope'" in unknown.stderr
    missing = cs330("grade", "hw4_protonet", str(tmp_path / "nothing-here"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_test_runs_public_tests_only():
    """cs330 test runs only the public tests, on the starter by default."""
    done = cs330("test", "hw4_protonet")
    assert done.returncode == 0
    assert "public tests: 0/16" in done.stdout
    assert "5.1" not in done.stdout and "float64 and non-contiguous" not in done.stdout


def test_submit_writes_exactly_the_asked_files(tmp_path):
    """cs330 submit zips exactly protonet.py, after running the public tests."""
    code = tmp_path / "mine"
    code.mkdir()
    (code / "protonet.py").write_text((REPO_ROOT / "solutions/hw4_protonet/protonet.py").read_text())
    (code / "notes.txt").write_text("scratch")
    out = tmp_path / "upload.zip"
    done = cs330("submit", "hw4_protonet", str(code), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "public tests: 16/16" in done.stdout
    assert zipfile.ZipFile(out).namelist() == ["protonet.py"]


def test_submit_warns_about_missing_files(tmp_path):
    """Submitting a folder without protonet.py warns and fails."""
    done = cs330("submit", "hw4_protonet", str(tmp_path), "--out", str(tmp_path / "u.zip"))
    assert done.returncode == 1 and "protonet.py is missing" in done.stderr


def test_check_passes_for_hw4():
    """The instructor's release check passes for hw4_protonet."""
    done = cs330("check", "hw4_protonet")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout
    for requirement in ("reference solution gets full marks", "untouched starter gets 0",
                        "grading twice gives identical results", "no solution source in the zips"):
        assert requirement in done.stdout
