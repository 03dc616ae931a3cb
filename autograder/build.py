"""`cs330 build`: starter code, golden outputs and the two release zips, from solutions/<hw>/."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from autograder.artifacts import build_artifacts, stale_artifacts
from autograder.assignment import Assignment
from autograder.grading import PYTEST_OK, run_tests
from autograder.markers import has_markers, strip_markers
from autograder.notebook import questions, questions_json, starter_notebook

SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints", "runs", ".pytest_cache"}
GRADESCOPE_DIR = Path(__file__).with_name("gradescope")
ENGINE_FILES = ("*.py", "*.json")
TEST_SUFFIXES = (".py", ".pt")  # test modules and the fixtures they load


class BuildError(RuntimeError):
    """The reference solution or the assignment's files are not ready for release."""


def source_files(folder: Path) -> list[Path]:
    """Files of a folder to release, relative, sorted, without caches and run outputs."""
    return sorted(p.relative_to(folder) for p in folder.rglob("*")
                  if p.is_file() and not SKIPPED_PARTS & set(p.relative_to(folder).parts))


def render_starter(assignment: Assignment) -> dict[str, bytes]:
    """The starter code's files (name -> content) generated from the solution."""
    if not assignment.solution_dir.is_dir():
        raise BuildError(f"no reference solution at {assignment.solution_dir}")
    files = {}
    for rel in source_files(assignment.solution_dir):
        data = (assignment.solution_dir / rel).read_bytes()
        if rel.suffix == ".py":
            data = strip_markers(data.decode(), str(rel)).encode()
        elif rel.suffix == ".ipynb":
            data = starter_notebook(data, str(rel))
        files[str(rel)] = data
    handout = assignment.folder / "README.md"
    if handout.is_file():
        files["README.md"] = handout.read_bytes()
    for name in assignment.files:
        if name not in files:
            raise BuildError(f"{assignment.solution_dir} has no {name}, which students submit")
    return files


def write_starter(assignment: Assignment) -> list[Path]:
    """Write starter_code/<hw>/ from the solution; return the files written."""
    files = render_starter(assignment)
    if assignment.starter_dir.exists():
        shutil.rmtree(assignment.starter_dir)
    written = []
    for name, data in files.items():
        path = assignment.starter_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written


def starter_in_sync(assignment: Assignment) -> list[str]:
    """Names of starter files that differ from what the solution generates (empty: in sync).

    Build artifacts (`[build] artifacts`) are compared by recipe, not rebuilt: weights trained on another
    CPU may differ bit-wise, so a stale recipe is reported and the committed bytes are compared as files.
    """
    expected = render_starter(assignment)
    stale = [f"{name} (recipe changed)" for name in stale_artifacts(assignment)]
    actual = {str(rel): (assignment.starter_dir / rel).read_bytes()
              for rel in source_files(assignment.starter_dir)} if assignment.starter_dir.is_dir() else {}
    return stale + sorted(n for n in set(expected) | set(actual) if expected.get(n) != actual.get(n))


def record_golden(assignment: Assignment, dest: Path) -> list[dict]:
    """Run every test on the reference solution, storing golden values and the manifest in dest."""
    run = run_tests(assignment, assignment.solution_dir, "all", record=True, golden_dir=dest)
    failing = [v for v in run.verdicts if v.get("status") not in ("passed", "xfailed")]
    if run.timed_out or run.returncode not in PYTEST_OK or failing or not run.verdicts:
        details = "\n".join(f"  {v.get('nodeid')}: {v.get('status')}: {v.get('output', '')[:300]}"
                            for v in failing)
        raise BuildError(f"the reference solution does not pass its own tests:\n{details}\n{run.log[-2000:]}")
    manifest = [{key: v[key] for key in ("nodeid", "name", "number", "weight", "visibility", "tags")}
                for v in run.verdicts]
    (dest / "manifest.json").write_text(json.dumps({"assignment": assignment.id, "tests": manifest},
                                                   indent=2) + "\n")
    write_questions(assignment, dest)
    return manifest


def write_questions(assignment: Assignment, dest: Path) -> Path | None:
    """Write dest/questions.json, the manually graded questions of the submitted notebooks (if any)."""
    found = [q for name in assignment.files if name.endswith(".ipynb")
             for q in questions((assignment.solution_dir / name).read_bytes(), name)]
    if not any(name.endswith(".ipynb") for name in assignment.files):
        return None
    (dest / "questions.json").write_text(questions_json(found, assignment.id))
    return dest / "questions.json"


def write_golden(assignment: Assignment) -> list[dict]:
    """Regenerate assignments/<hw>/golden/ from the reference solution."""
    with tempfile.TemporaryDirectory(prefix="cs330-golden-") as tmp:
        manifest = record_golden(assignment, Path(tmp))
        if assignment.golden_dir.exists():
            shutil.rmtree(assignment.golden_dir)
        shutil.copytree(tmp, assignment.golden_dir)
    return manifest


def autograder_members(assignment: Assignment) -> dict[str, Path | bytes]:
    """Archive name -> file or content for the Gradescope zip: engine, tests, golden, support code."""
    members: dict[str, Path | bytes] = {}
    for pattern in ENGINE_FILES:
        for path in sorted(Path(__file__).parent.glob(pattern)):
            members[f"autograder/{path.name}"] = path
    members["setup.sh"] = GRADESCOPE_DIR / "setup.sh"
    members["run_autograder"] = (GRADESCOPE_DIR / "run_autograder").read_text().replace(
        "{hw}", assignment.id).encode()
    members["requirements.txt"] = assignment.root / "requirements.txt"
    members[f"assignments/{assignment.id}/assignment.toml"] = assignment.folder / "assignment.toml"
    for folder in ("tests", "golden"):
        for rel in source_files(assignment.folder / folder):
            members[f"assignments/{assignment.id}/{folder}/{rel}"] = assignment.folder / folder / rel
    for name, path in assignment.support_files().items():
        members[f"starter_code/{assignment.id}/{name}"] = path
    return members


def starter_members(assignment: Assignment) -> dict[str, Path]:
    """Archive name -> file for the students' zip: starter code, handout, public tests and golden."""
    members = {f"{assignment.id}/{rel}": assignment.starter_dir / rel
               for rel in source_files(assignment.starter_dir)}
    for test in sorted(p for p in assignment.tests_dir.iterdir() if p.suffix in TEST_SUFFIXES):
        if "hidden" in test.name:
            continue  # hidden tests and their helpers never reach students
        members[f"{assignment.id}/tests/{test.name}"] = test
        if test.suffix != ".py":
            continue  # a fixture the public tests load (e.g. tests/target_episode.pt)
        golden = assignment.golden_dir / f"{test.stem}.pt"
        if golden.is_file():
            members[f"{assignment.id}/golden/{golden.name}"] = golden
    return members


def write_zip(path: Path, members: dict[str, Path | bytes], executable: tuple[str, ...] = ()) -> Path:
    """Write a zip with fixed timestamps (so rebuilding gives the same bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if name in executable else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = members[name]
            archive.writestr(info, data if isinstance(data, bytes) else data.read_bytes())
    return path


def build(assignment: Assignment, dist: Path, golden: bool = True) -> dict[str, Path]:
    """Build artifacts, starter code, golden data (unless golden=False) and both zips into dist."""
    if golden:
        build_artifacts(assignment)
    write_starter(assignment)
    if golden:
        write_golden(assignment)
    members = autograder_members(assignment)
    for name, path in members.items():
        if isinstance(path, Path) and path.suffix == ".py" and not name.startswith("autograder/") \
                and has_markers(path.read_text()):
            raise BuildError(f"{path} still has solution markers; it must not ship")
    auto = write_zip(dist / f"{assignment.id}-autograder.zip", members,
                     executable=("run_autograder", "setup.sh"))
    starter = write_zip(dist / f"{assignment.id}-starter.zip", starter_members(assignment))
    print(f"built {assignment.id}: {auto} and {starter}", file=sys.stderr)
    return {"autograder": auto, "starter": starter}
