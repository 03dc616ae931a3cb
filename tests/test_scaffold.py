"""`cs330 new HW_ID`: the scaffold builds and passes the release check at once; bad ids are refused."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.assignment import REPO_ROOT, load_assignment
from autograder.build import build
from autograder.check import run_check
from autograder.scaffold import ScaffoldError, scaffold


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty project root with the requirements.txt that the Gradescope zip ships."""
    shutil.copy(REPO_ROOT / "requirements.txt", tmp_path / "requirements.txt")
    return tmp_path


@pytest.mark.slow
def test_scaffold_builds_and_passes_check(root: Path):
    """Scaffold, build, check: every release requirement passes."""
    written = scaffold("hw6_demo", root)
    assert {str(p.relative_to(root)) for p in written} == {
        "assignments/hw6_demo/assignment.toml", "assignments/hw6_demo/README.md",
        "assignments/hw6_demo/tests/test_public.py", "assignments/hw6_demo/tests/test_hidden.py",
        "solutions/hw6_demo/hw6_demo.py"}
    assignment = load_assignment("hw6_demo", root)
    assert assignment.files == ("hw6_demo.py",)
    build(assignment, root / "dist")
    starter = (root / "starter_code" / "hw6_demo" / "hw6_demo.py").read_text()
    assert "# BEGIN SOLUTION" not in starter and 'raise NotImplementedError("add is not implemented yet")' in starter
    results = run_check(assignment)
    assert [r.name for r in results if not r.ok] == [], [(r.name, r.detail) for r in results]
    by_name = {r.name: r.detail for r in results}
    assert by_name["reference solution gets full marks"] == "6/6"
    assert by_name["untouched starter gets 0"] == "0/6"


@pytest.mark.parametrize("bad", ["6hw", "hw-6", "HW6", "hw 6", "", "class", "hw6/../x", "test_hw6", "torch", "json"])
def test_invalid_ids_are_refused(root: Path, bad: str):
    """Ids that are not lowercase identifiers, that pytest or an installed module would claim, are refused."""
    with pytest.raises(ScaffoldError, match="invalid assignment id"):
        scaffold(bad, root)
    assert not (root / "assignments").exists() and not (root / "solutions").exists()


def test_existing_id_is_refused(root: Path):
    """A second `cs330 new` with the same id changes nothing and says so."""
    scaffold("hw7_twice", root)
    solution = root / "solutions" / "hw7_twice" / "hw7_twice.py"
    solution.write_text("# my edits\n")
    with pytest.raises(ScaffoldError, match="already exists"):
        scaffold("hw7_twice", root)
    assert solution.read_text() == "# my edits\n"
    (root / "starter_code" / "hw8_left").mkdir(parents=True)
    with pytest.raises(ScaffoldError, match="already exists"):
        scaffold("hw8_left", root)


def test_new_command(root: Path):
    """`cs330 new` prints the files and the next steps; a taken id exits 2."""
    def cs330(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "autograder.cli", *args, "--root", str(root)],
                              capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)

    done = cs330("new", "hw9_cli")
    assert done.returncode == 0, done.stderr
    assert "assignments/hw9_cli/assignment.toml" in done.stdout and "cs330 build hw9_cli" in done.stderr
    again = cs330("new", "hw9_cli")
    assert again.returncode == 2 and "already exists" in again.stderr
    listed = cs330("list")
    assert "hw9_cli" in listed.stdout
