"""cs330 build: starter code and golden data in sync, release zips, and run_autograder from the zip."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile

import pytest

from autograder.build import build, starter_in_sync
from autograder.check import golden_in_sync, leaked_lines, without_timing
from autograder.grading import grade
from autograder.results import totals, validate


def test_starter_code_is_in_sync(hw4):
    """starter_code/ is exactly what `cs330 build` generates from solutions/."""
    assert starter_in_sync(hw4) == [], "run `cs330 build hw4_protonet` and commit starter_code/"


def test_golden_data_is_in_sync(hw4):
    """The committed golden data is what the reference solution produces now, bit for bit."""
    assert golden_in_sync(hw4) == [], "run `cs330 build hw4_protonet` and commit the golden data"


def test_starter_has_todos_not_solutions(hw4):
    """Every graded function in the starter raises NotImplementedError naming itself."""
    starter = (hw4.starter_dir / "protonet.py").read_text()
    for name in ("compute_prototypes", "squared_euclidean_distances", "protonet_logits",
                 "protonet_loss", "sample_episode"):
        assert f'raise NotImplementedError("{name} is not implemented yet")' in starter
    assert "BEGIN SOLUTION" not in starter and "one_hot" not in starter


@pytest.fixture(scope="module")
def zips(hw4, tmp_path_factory):
    """The two release zips, built into a temporary dist/."""
    return build(hw4, tmp_path_factory.mktemp("dist"), golden=False)


def test_autograder_zip_contents(hw4, zips):
    """The Gradescope zip has setup.sh and an executable run_autograder at its root, and no solution."""
    with zipfile.ZipFile(zips["autograder"]) as zf:
        names = set(zf.namelist())
        mode = zf.getinfo("run_autograder").external_attr >> 16
        run = zf.read("run_autograder").decode()
    assert {"setup.sh", "run_autograder", "requirements.txt", "autograder/sandbox.py",
            "assignments/hw4_protonet/golden/test_hidden.pt",
            "assignments/hw4_protonet/golden/manifest.json",
            "assignments/hw4_protonet/tests/test_hidden.py"} <= names
    assert mode & stat.S_IXUSR
    assert run.startswith("#!") and "grade hw4_protonet" in run
    assert not any(n.startswith("solutions/") for n in names)
    assert leaked_lines(hw4, zips["autograder"]) == []


def test_starter_zip_contents(hw4, zips):
    """Students get the starter, the handout and the public tests, never hidden tests or golden data."""
    with zipfile.ZipFile(zips["starter"]) as zf:
        names = set(zf.namelist())
        protonet = zf.read("hw4_protonet/protonet.py").decode()
    assert {"hw4_protonet/protonet.py", "hw4_protonet/model.py", "hw4_protonet/train.py",
            "hw4_protonet/tests/test_public.py", "hw4_protonet/tests/protonet_cases.py",
            "hw4_protonet/golden/test_public.pt"} <= names
    assert not any("hidden" in n for n in names)
    assert "NotImplementedError" in protonet
    assert leaked_lines(hw4, zips["starter"]) == []


def test_zips_are_reproducible(hw4, zips, tmp_path):
    """Building twice gives byte-identical zips."""
    again = build(hw4, tmp_path, golden=False)
    for kind in ("autograder", "starter"):
        assert again[kind].read_bytes() == zips[kind].read_bytes()


def test_run_autograder_matches_cs330_grade(hw4, zips, tmp_path):
    """run_autograder, unpacked as on Gradescope, grades like `cs330 grade` does."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zips["autograder"]) as zf:
        zf.extractall(root / "source")
    os.chmod(root / "source" / "run_autograder", 0o755)
    (root / "submission").mkdir()
    shutil.copy(hw4.solution_dir / "protonet.py", root / "submission")
    (root / "results").mkdir()
    (root / "submission_metadata.json").write_text(json.dumps(
        {"id": 7, "created_at": "2026-11-20T10:00:00Z", "users": [{"email": "s@x.edu", "name": "S"}]}))
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "CS330_PYTHON": sys.executable}
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((root / "results" / "results.json").read_text())
    validate(results)
    assert totals(results) == (31.0, 31.0)
    assert results["extra_data"]["submission"]["users"] == ["s@x.edu"]
    local = grade(hw4, hw4.solution_dir, tmp_path / "local.json")
    strip = lambda r: {k: v for k, v in without_timing(r).items() if k != "extra_data"}  # noqa: E731
    assert strip(results) == strip(local)
