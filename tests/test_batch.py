"""`cs330 grade-batch`: a folder of mixed submissions, a Gradescope export, resuming, hung graders."""

from __future__ import annotations

import csv
import json
import re
import shutil
import stat
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import pytest

from autograder import batch
from autograder.assignment import REPO_ROOT, load_assignment
from autograder.results import validate

HW = "hw4_protonet"
SAMPLE_LINE = "    classes = torch.unique(class_ids)\n"
EXPECTED_TOTALS = {"broken": 0, "correct": 31, "exits": 25, "loops": 25, "memory": 25, "missing": 0,
                   "partial": 25, "zipped.zip": 31}
SAMPLE_EPISODE_TESTS = ("4.1", "6.1", "6.2", "6.3")  # the tests of the function the hostile ones break


def make_root(folder: Path, **limits: float) -> Path:
    """A project root holding a copy of hw4_protonet whose [limits] are replaced by limits."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO_ROOT / "assignments" / HW, folder / "assignments" / HW)
    shutil.copytree(REPO_ROOT / "starter_code" / HW, folder / "starter_code" / HW)
    toml = folder / "assignments" / HW / "assignment.toml"
    text = toml.read_text()
    for key, value in limits.items():
        text, count = re.subn(rf"(?m)^{key} = \S+", f"{key} = {value}", text)
        assert count == 1, key
    toml.write_text(text)
    return folder


def mutate(source: str, new: str) -> str:
    """The reference source with sample_episode's first line replaced by new."""
    assert SAMPLE_LINE in source
    return source.replace(SAMPLE_LINE, new, 1)


def write_submission(folder: Path, source: str | None, name: str = "protonet.py") -> Path:
    """A submission folder with source as its protonet.py (None: no protonet.py at all)."""
    folder.mkdir(parents=True)
    if source is None:
        (folder / "notes.txt").write_text("I ran out of time")
    else:
        (folder / name).write_text(source)
    return folder


def cs330(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `cs330 ARGS`."""
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO_ROOT)


def read_csv(path: Path) -> tuple[list[str], dict[str, dict[str, str]]]:
    """grades.csv's header and its rows keyed by submission."""
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        rows = {row["submission"]: row for row in reader}
        return list(reader.fieldnames or []), rows


def column(header: list[str], number: str) -> str:
    """The header of the test column numbered number."""
    matches = [h for h in header if h.split(" ", 1)[0] == number]
    assert len(matches) == 1, (number, header)
    return matches[0]


@pytest.fixture(scope="module")
def fast_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hw4_protonet with short limits, so hostile submissions cost seconds."""
    return make_root(tmp_path_factory.mktemp("root"), call_timeout_s=5, test_timeout_s=15, total_timeout_s=90,
                     memory_mb=256)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory, fast_root: Path, reference_source: str) -> dict:
    """A folder of correct, partial, broken, missing, hostile and zipped submissions, graded with --jobs 2."""
    base = tmp_path_factory.mktemp("mixed")
    subs = base / "submissions"
    write_submission(subs / "correct", reference_source)
    write_submission(subs / "partial", mutate(reference_source, '    raise ValueError("not done yet")\n'))
    write_submission(subs / "broken", reference_source + "\ndef oops(:\n    pass\n")
    write_submission(subs / "missing", None)
    write_submission(subs / "exits", mutate(reference_source, "    import os\n    os._exit(3)\n"))
    write_submission(subs / "loops", mutate(reference_source, "    while True:\n        pass\n"))
    write_submission(subs / "memory", mutate(reference_source, "    hog = bytearray(8 << 30)\n"))
    with zipfile.ZipFile(subs / "zipped.zip", "w") as archive:
        archive.writestr("my_hw4/protonet.py", reference_source)
        archive.writestr("my_hw4/__MACOSX/._protonet.py", "junk")
    out = base / "out"
    done = cs330("grade-batch", HW, str(subs), "--out", str(out), "--jobs", "2", "--root", str(fast_root))
    return {"subs": subs, "out": out, "done": done}


@pytest.mark.slow
def test_mixed_folder_grades_every_submission(mixed: dict):
    """One row per submission with the expected totals; the CLI reports progress and exits 0."""
    done = mixed["done"]
    assert done.returncode == 0, done.stderr[-3000:]
    assert "grading hw4_protonet" in done.stderr and "8 submission(s): 8 graded now" in done.stderr
    header, rows = read_csv(mixed["out"] / "grades.csv")
    assert header[:6] == ["submission", "student_id", "name", "email", "created_at", "total"]
    assert header[-1] == "note"
    assert list(rows) == sorted(EXPECTED_TOTALS)
    assert {name: float(row["total"]) for name, row in rows.items()} == EXPECTED_TOTALS
    for name in EXPECTED_TOTALS:
        folder = mixed["out"] / name
        validate(json.loads((folder / "results.json").read_text()))
        assert (folder / "grade.log").read_text().strip()


@pytest.mark.slow
def test_mixed_folder_per_test_columns(mixed: dict):
    """Test columns follow the test numbers; each cell is that test's score."""
    header, rows = read_csv(mixed["out"] / "grades.csv")
    tests = header[6:-1]
    numbers = [h.split(" ", 1)[0] for h in tests]
    assert len(tests) == 19
    assert numbers == sorted(numbers, key=lambda n: tuple(int(p) for p in n.split(".")))
    assert numbers[:3] == ["1.1", "1.2", "2.1"] and numbers[-1] == "6.3"
    weights = {"1.1": 2, "3.1": 3, "4.1": 3, "6.2": 1}
    for number, weight in weights.items():
        col = column(header, number)
        assert float(rows["correct"][col]) == weight
        assert float(rows["broken"][col]) == 0 and float(rows["missing"][col]) == 0
    for name in ("partial", "exits", "loops", "memory"):
        for number in SAMPLE_EPISODE_TESTS:
            assert float(rows[name][column(header, number)]) == 0, (name, number)
        assert float(rows[name][column(header, "3.2")]) == 3
        assert sum(float(rows[name][c]) for c in tests) == float(rows[name]["total"])
    assert "protonet.py is missing" in rows["missing"]["note"]


@pytest.mark.slow
def test_resume_regrades_only_what_is_missing(mixed: dict, fast_root: Path, tmp_path: Path):
    """After one results.json is deleted, rerunning grades only that submission again."""
    out = tmp_path / "out"
    shutil.copytree(mixed["out"], out)
    before = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/results.json")}
    (out / "partial" / "results.json").unlink()
    (out / "broken" / "results.json").write_text("{not json")
    done = cs330("grade-batch", HW, str(mixed["subs"]), "--out", str(out), "--jobs", "2", "--root", str(fast_root))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resuming: 6 of 8 submissions already graded" in done.stderr
    assert "2 graded now, 6 kept from an earlier run" in done.stderr
    after = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/results.json")}
    assert {name for name in after if after[name] != before[name]} == {"partial", "broken"}
    _, rows = read_csv(out / "grades.csv")
    assert {name: float(row["total"]) for name, row in rows.items()} == EXPECTED_TOTALS


def gradescope_export(path: Path, reference_source: str) -> Path:
    """A zip shaped like Gradescope's export: metadata plus a folder per submission."""
    partial = mutate(reference_source, '    raise ValueError("not done yet")\n')
    metadata = """\
---
submission_1001:
  :submitters:
  - :name: Alice Liddell
    :sid: '1'
    :email: alice@example.edu
  :created_at: 2024-02-02 12:00:00.123456000 +05:00
  :score: 25.0
  :status: processed
  :history: []
submission_1002:
  :submitters:
  - :name: Alice Liddell
    :sid: '1'
    :email: alice@example.edu
  :created_at: 2024-02-02 09:00:00.654321000 -08:00
  :score: 31.0
  :status: processed
  :history:
  - :autograder_score: 25.0
    :created_at: 2024-02-02 12:00:00.123456000 +05:00
submission_1003:
  :submitters:
  - :name: Bob Dodgson
    :sid: 2
    :email: bob@example.edu
  - :name: Carol Hatter
    :sid: '3'
    :email: carol@example.edu
  :created_at: 2024-02-03 10:00:00.000000000 -08:00
  :score: 25.0
submission_1004:
  :submitters:
  - :name: Carol Hatter
    :sid: '3'
    :email: carol@example.edu
  :created_at: 2024-02-01 10:00:00.000000000 -08:00
  :score: 0.0
"""
    root = "assignment_4242_export"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{root}/submission_metadata.yml", metadata)
        archive.writestr(f"{root}/submission_1001/protonet.py", partial)
        archive.writestr(f"{root}/submission_1002/protonet.py", reference_source)
        archive.writestr(f"{root}/submission_1003/hw4/protonet.py", partial)
        archive.writestr(f"{root}/submission_1004/protonet.py", "syntax error (")
        archive.writestr(f"{root}/submission_1004/notes.txt", "not extracted")
    return path


@pytest.mark.slow
def test_gradescope_export_only_latest(tmp_path: Path, fast_root: Path, reference_source: str):
    """--only-latest grades each student's newest submission and names the students in grades.csv."""
    export = gradescope_export(tmp_path / "export.zip", reference_source)
    out = tmp_path / "out"
    done = cs330("grade-batch", HW, str(export), "--out", str(out), "--only-latest", "--jobs", "2",
                 "--root", str(fast_root))
    assert done.returncode == 0, done.stderr[-3000:]
    _, rows = read_csv(out / "grades.csv")
    assert list(rows) == ["submission_1002", "submission_1003"]
    alice, group = rows["submission_1002"], rows["submission_1003"]
    assert (alice["student_id"], alice["name"], alice["email"]) == ("1", "Alice Liddell", "alice@example.edu")
    assert alice["created_at"].startswith("2024-02-02T09:00:00.654321")
    assert float(alice["total"]) == 31
    assert (group["student_id"], group["email"]) == ("2;3", "bob@example.edu;carol@example.edu")
    assert float(group["total"]) == 25
    assert not (out / "submission_1001").exists() and not (out / "submission_1004").exists()
    assert "leaving out 2 older submission(s): submission_1001, submission_1004" in done.stderr


def test_metadata_and_latest_without_grading(tmp_path: Path, reference_source: str):
    """The export's metadata is read (Ruby symbols, timezones) and --only-latest picks by time, not name."""
    export = gradescope_export(tmp_path / "export.zip", reference_source)
    subs = batch.find_submissions(export, tmp_path / "x", ("protonet.py",))
    assert [s.name for s in subs] == ["submission_1001", "submission_1002", "submission_1003", "submission_1004"]
    assert subs[2].students[0] == batch.Student("2", "Bob Dodgson", "bob@example.edu")
    assert subs[0].created_at < subs[1].created_at  # 07:00 UTC before 17:00 UTC
    assert [s.name for s in batch.latest_only(subs)] == ["submission_1002", "submission_1003"]
    assert not (tmp_path / "x" / "assignment_4242_export" / "submission_1004" / "notes.txt").exists()


def test_unsafe_zip_members_are_not_extracted(tmp_path: Path):
    """Absolute paths, `..` and links in a submissions zip stay out; missing-file folders still count."""
    archive = tmp_path / "subs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../evil/protonet.py", "x = 1\n")
        zf.writestr("/abs/protonet.py", "x = 1\n")
        zf.writestr("alice/protonet.py", "x = 1\n")
        zf.writestr("bob/readme.txt", "nothing\n")
        link = zipfile.ZipInfo("carol/protonet.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("dave/protonet.py", "x = 2\n")
        zf.writestr("dave/protonet.py/inner.txt", "a file that is also a folder\n")
    subs = batch.find_submissions(archive, tmp_path / "x", ("protonet.py",))
    assert [s.name for s in subs] == ["alice", "bob", "carol", "dave"]
    assert (subs[3].path / "protonet.py").read_text() == "x = 2\n"
    assert not (tmp_path / "evil").exists() and not (tmp_path / "x" / "abs").exists()
    assert not (subs[2].path / "protonet.py").exists() and (subs[0].path / "protonet.py").read_text() == "x = 1\n"


def test_bad_arguments_are_refused(tmp_path: Path, fast_root: Path):
    """A missing folder, --out inside the submissions and --jobs 0 are refused with a hint."""
    a = load_assignment(HW, fast_root)
    with pytest.raises(batch.BatchError, match="does not exist"):
        batch.grade_batch(a, tmp_path / "nothing", tmp_path / "out")
    (tmp_path / "subs" / "alice").mkdir(parents=True)
    with pytest.raises(batch.BatchError, match="inside the submissions"):
        batch.grade_batch(a, tmp_path / "subs", tmp_path / "subs" / "out")
    with pytest.raises(batch.BatchError, match="--jobs must be at least 1"):
        batch.grade_batch(a, tmp_path / "subs", tmp_path / "out", jobs=0)
    done = cs330("grade-batch", HW, str(tmp_path / "nothing"), "--out", str(tmp_path / "o"), "--root", str(fast_root))
    assert done.returncode == 2 and "does not exist" in done.stderr


@pytest.mark.slow
def test_grader_hung_past_the_cap_is_a_zero_row(tmp_path: Path, reference_source: str):
    """A submission that keeps the grader busy past the cap is killed, with everything it started."""
    root = make_root(tmp_path / "root", call_timeout_s=60, test_timeout_s=60, total_timeout_s=60)
    subs = tmp_path / "subs"
    write_submission(subs / "hangs", mutate(reference_source, "    while True:\n        pass\n"))
    a = load_assignment(HW, root)
    summary = batch.grade_batch(a, subs, tmp_path / "out", cap_s=5)
    assert [(o.name, o.status) for o in summary.outcomes] == [("hangs", "timeout")]
    _, rows = read_csv(tmp_path / "out" / "grades.csv")
    assert float(rows["hangs"]["total"]) == 0
    assert "stopped after 5 s" in rows["hangs"]["note"]
    assert all(rows["hangs"][c] == "0" for c in rows["hangs"] if c.split(" ", 1)[0] in SAMPLE_EPISODE_TESTS)
    results = json.loads((tmp_path / "out" / "hangs" / "results.json").read_text())
    validate(results)
    assert results["score"] == 0 and len(results["tests"]) == 19
    assert "stopped after 5 s" in (tmp_path / "out" / "hangs" / "grade.log").read_text()
    assert not _processes_mentioning(str(root))
    again = batch.grade_batch(a, subs, tmp_path / "out", cap_s=5)  # a timeout is a result: kept on resume
    assert [o.status for o in again.outcomes] == ["resumed"]


def _processes_mentioning(text: str) -> list[int]:
    """Pids of processes whose command line contains text."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_container_mode_uses_grade_in_container(tmp_path: Path, fast_root: Path, monkeypatch: pytest.MonkeyPatch):
    """--container calls autograder.container.grade_in_container; its failures become rows."""
    calls = []

    def grade_in_container(image: str, hw: str, submission: Path, results_path: Path, timeout_s: float) -> None:
        calls.append((image, hw, submission.name, timeout_s))
        if submission.name == "slow":
            raise TimeoutError("container killed")
        if submission.name == "crash":
            raise RuntimeError("docker: image not found")
        tests = [{"name": "t", "score": 1.0, "max_score": 1.0, "status": "passed", "number": "1.1",
                  "extra_data": {"nodeid": "test_public.py::t"}}]
        results_path.write_text(json.dumps({"tests": tests, "extra_data": {"assignment": hw}}))

    fake = types.SimpleNamespace(grade_in_container=grade_in_container)
    monkeypatch.setitem(sys.modules, "autograder.container", fake)
    for name in ("fine", "slow", "crash"):
        (tmp_path / "subs" / name).mkdir(parents=True)
    a = load_assignment(HW, fast_root)
    summary = batch.grade_batch(a, tmp_path / "subs", tmp_path / "out", jobs=2, container="cs330:latest")
    assert sorted(calls) == [("cs330:latest", HW, n, 90 + batch.MARGIN_S) for n in ("crash", "fine", "slow")]
    statuses = {o.name: o.status for o in summary.outcomes}
    assert statuses == {"fine": "graded", "slow": "timeout", "crash": "grader_error"}
    _, rows = read_csv(tmp_path / "out" / "grades.csv")
    assert rows["fine"]["total"] == "1" and rows["slow"]["total"] == "0" and rows["crash"]["total"] == "0"
    assert "image not found" in rows["crash"]["note"]
    calls.clear()
    again = batch.grade_batch(a, tmp_path / "subs", tmp_path / "out", container="cs330:latest")
    assert [c[2] for c in calls] == ["crash"]  # a grader error is graded again on resume, the rest kept
    assert sorted(o.status for o in again.outcomes) == ["grader_error", "resumed", "resumed"]


def test_container_mode_without_the_module_says_what_to_do(tmp_path: Path, fast_root: Path,
                                                          monkeypatch: pytest.MonkeyPatch):
    """Without autograder/container.py, --container fails before grading anything, with a hint."""
    monkeypatch.setitem(sys.modules, "autograder.container", None)
    (tmp_path / "subs" / "a").mkdir(parents=True)
    with pytest.raises(batch.BatchError, match="--container needs autograder/container.py"):
        batch.grade_batch(load_assignment(HW, fast_root), tmp_path / "subs", tmp_path / "out", container="img")

