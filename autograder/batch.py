"""`cs330 grade-batch`: grade a folder of submissions, or a Gradescope export, N at a time.

SUBMISSIONS is a folder with one sub-folder or zip per submission, or a zip of such a folder, or a
Gradescope "export submissions" zip (or its unzipped folder): a folder per submission next to
`submission_metadata.yml`, which names who submitted each one and when. Each submission is graded
by `cs330 grade` in its own subprocess (its own session, killed with everything it started when it
runs past total_timeout_s plus a margin), or in a container with --container. Per submission, the
output folder gets `<name>/results.json` and `<name>/grade.log`; then `grades.csv` gets one row per
submission. Rerunning the same command resumes: submissions whose results.json is valid are kept,
except those where the grader itself failed, which are graded again.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path, PurePosixPath

import jsonschema

from autograder.assignment import Assignment
from autograder.intake import IGNORED_PARTS, MAX_FILE_BYTES
from autograder.results import build_results, totals, validate, write_atomic

log = logging.getLogger(__name__)

METADATA_NAME = "submission_metadata.yml"
MARGIN_S = 60.0  # on top of total_timeout_s: interpreter start, intake, writing results
MAX_INNER_ZIP_BYTES = 200 << 20  # a submission that is itself a zip inside the export zip
MAX_MEMBERS = 200_000  # members of an export zip
MAX_EXTRACTED_BYTES = 8 << 30  # what an export zip may unpack to (only the files grading reads count)
RESERVED_NAMES = {"grades.csv", "report.md", "report.png"}
STUDENT_COLUMNS = ("student_id", "name", "email", "created_at")
NOTE_CHARS = 300
TRUSTED_DEPTH = 2  # cs330 grade -> pytest -> sandbox server: processes that run no student code
# Temporary folders of grading.py and sandbox.py that a killed grader leaves behind. Never
# cs330-batch-*: that one holds the extracted export every other submission is graded from.
SCRATCH_NAME = re.compile(r"^cs330-(grade|run|sandbox)-")


class BatchError(ValueError):
    """A batch that cannot start (bad arguments, unreadable submissions folder or metadata)."""


@dataclass(frozen=True)
class Student:
    """One submitter as Gradescope's export names them."""

    id: str = ""
    name: str = ""
    email: str = ""

    def key(self) -> str:
        """What identifies the student across submissions: the id, else the email, else the name."""
        return self.id or self.email.lower() or self.name


@dataclass(frozen=True)
class Submission:
    """One submission to grade: its name (folder or file name), where it is, and who made it."""

    name: str
    path: Path
    students: tuple[Student, ...] = ()
    created_at: datetime | None = None


@dataclass(frozen=True)
class Outcome:
    """How grading one submission went: graded, resumed, timeout, grader_error or interrupted."""

    name: str
    status: str
    seconds: float = 0.0
    note: str = ""


@dataclass
class BatchSummary:
    """What a batch run did."""

    out: Path
    csv_path: Path
    submissions: list[Submission]
    outcomes: list[Outcome] = field(default_factory=list)
    interrupted: bool = False

    def count(self, status: str) -> int:
        """How many submissions ended with status."""
        return sum(o.status == status for o in self.outcomes)


# --- finding the submissions -------------------------------------------------------------------

def find_submissions(source: Path, scratch: Path, files: tuple[str, ...]) -> list[Submission]:
    """The submissions in a folder or zip, with who submitted them when metadata is present."""
    if not source.exists():
        raise BatchError(f"{source} does not exist: give a folder of submissions or a Gradescope export zip")
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise BatchError(f"{source} is neither a folder nor a zip file")
        root = export_root(extract_export(source, scratch, files), descend_wrapper=True)
    else:
        root = export_root(source, descend_wrapper=False)
    metadata = read_metadata(root / METADATA_NAME) if (root / METADATA_NAME).is_file() else {}
    submissions = []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if not _is_submission(entry):
            continue
        info = metadata.get(entry.name) or metadata.get(entry.stem) or {}
        submissions.append(Submission(entry.name, entry, students_of(info), created_of(info)))
    if metadata:
        unknown = [s.name for s in submissions if not s.students]
        if unknown:
            log.warning("%s does not name who made %s", METADATA_NAME, ", ".join(unknown[:10]))
    if not submissions:
        raise BatchError(f"no submissions in {source}: expected one sub-folder or zip per submission "
                         f"(to grade a single submission, use `cs330 grade`)")
    return submissions


def _is_submission(entry: Path) -> bool:
    """True for a sub-folder or zip that holds a submission (not metadata, hidden files or results)."""
    if entry.name.startswith(".") or entry.name in IGNORED_PARTS or entry.name == METADATA_NAME:
        return False
    if entry.name in RESERVED_NAMES:
        log.warning("skipping %s: the name is one of grade-batch's output files", entry)
        return False
    if entry.is_symlink():
        log.warning("skipping %s: a link", entry)
        return False
    if entry.is_dir() or (entry.is_file() and entry.suffix.lower() == ".zip"):
        return True
    log.warning("skipping %s: not a folder or a zip", entry)
    return False


def export_root(folder: Path, descend_wrapper: bool) -> Path:
    """The folder whose entries are the submissions: folder, or the one folder it wraps.

    A Gradescope export wraps everything in one folder (assignment_N_export/); a zip of a folder
    of submissions does the same. A wrapper is entered when it holds submission_metadata.yml, or,
    for zips (descend_wrapper), when it is the only entry and holds folders or zips itself.
    """
    if (folder / METADATA_NAME).is_file():
        return folder
    entries = [p for p in folder.iterdir() if not p.name.startswith(".") and p.name not in IGNORED_PARTS]
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        inner = entries[0]
        if (inner / METADATA_NAME).is_file():
            return inner
        if descend_wrapper and any(p.is_dir() or p.suffix.lower() == ".zip" for p in inner.iterdir()):
            return inner
    return folder


def extract_export(archive: Path, dest: Path, files: tuple[str, ...]) -> Path:
    """Extract from a zip of submissions only what grading reads; return dest.

    That is the folder structure, the metadata, the files the assignment asks for (read with
    intake's size cap, so an oversized one still reads as too large) and zips (submissions that are
    zips themselves). Absolute paths, `..`, links and other special members are skipped.
    """
    dest.mkdir(parents=True, exist_ok=True)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BatchError(f"{archive} is not a readable zip file ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise BatchError(f"{archive} has {len(infos)} members (at most {MAX_MEMBERS}); unzip it "
                             f"and give the folder instead")
        written = 0
        for info in infos:
            rel = safe_member_path(info.filename)
            if rel is None:
                log.warning("%s: skipping the unsafe member %r", archive.name, info.filename)
                continue
            if any(part in IGNORED_PARTS for part in rel.parts):
                continue
            try:
                written += _extract_member(zf, info, dest.joinpath(*rel.parts), files)
            except (zipfile.BadZipFile, RuntimeError, OSError, EOFError, ValueError) as exc:
                log.warning("%s: could not extract %s (%s); it is left out", archive.name, info.filename, exc)
            if written > MAX_EXTRACTED_BYTES:
                raise BatchError(f"{archive} unpacks to more than {MAX_EXTRACTED_BYTES >> 30} GiB of submitted "
                                 f"files; unzip it yourself and give the folder instead")
    return dest


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, files: tuple[str, ...]) -> int:
    """Extract one safe member when grading reads it (folders always); return the bytes written."""
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    if stat.S_IFMT(info.external_attr >> 16) not in (0, stat.S_IFREG):
        return 0  # links and devices
    if target.name in files:
        cap = MAX_FILE_BYTES + 1
    elif target.name == METADATA_NAME or target.suffix.lower() == ".zip":
        cap = MAX_INNER_ZIP_BYTES
    else:
        return 0
    try:
        with zf.open(info) as src, open(target, "wb") as out:
            shutil.copyfileobj(_Capped(src, cap), out)
            return out.tell()
    except BaseException:
        target.unlink(missing_ok=True)
        raise


class _Capped(io.RawIOBase):
    """A reader that stops after cap bytes."""

    def __init__(self, handle: io.BufferedIOBase, cap: int) -> None:
        self.handle, self.left = handle, cap

    def readable(self) -> bool:
        """Always readable."""
        return True

    def read(self, size: int = -1) -> bytes:
        """Read at most size bytes, never past the cap."""
        size = self.left if size < 0 else min(size, self.left)
        data = self.handle.read(size) if size > 0 else b""
        self.left -= len(data)
        return data


def safe_member_path(name: str) -> PurePosixPath | None:
    """A zip member's path when it stays inside the extraction folder, else None."""
    name = name.replace("\\", "/")
    path = PurePosixPath(name)
    if not name or "\x00" in name or path.is_absolute() or re.match(r"^[A-Za-z]:", name):
        return None
    parts = [p for p in path.parts if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return PurePosixPath(*parts)


# --- Gradescope's submission_metadata.yml ------------------------------------------------------

def read_metadata(path: Path) -> dict[str, dict]:
    """submission_metadata.yml as {submission folder: {submitters, created_at, ...}}, keys without ':'."""
    import yaml  # PyYAML: only batch grading of Gradescope exports needs it

    try:
        data = yaml.load(path.read_text(encoding="utf-8", errors="replace"), Loader=_metadata_loader())
    except (OSError, yaml.YAMLError) as exc:
        raise BatchError(f"could not read {path} ({exc}); fix or remove it to grade without names") from None
    if not isinstance(data, dict):
        raise BatchError(f"{path} is not a mapping of submission folders; fix or remove it")
    return {str(k): _plain_keys(v) for k, v in data.items() if isinstance(v, dict)}


def _metadata_loader() -> type:
    """A safe YAML loader that reads Ruby-tagged nodes (as Ruby's to_yaml writes them) as plain data."""
    import yaml

    class Loader(yaml.SafeLoader):
        """SafeLoader plus plain reading of unknown tags."""

    def plain(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> object:
        """Construct a tagged node as the untagged one would be."""
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("!", plain)
    Loader.add_multi_constructor("tag:yaml.org,2002:ruby", plain)
    return Loader


def _plain_keys(value: object) -> object:
    """value with Ruby symbol keys (':name') turned into plain keys ('name'), recursively."""
    if isinstance(value, dict):
        return {str(k).lstrip(":"): _plain_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_keys(v) for v in value]
    return value


def students_of(info: dict) -> tuple[Student, ...]:
    """The submitters of one metadata entry."""
    people = info.get("submitters") or info.get("users") or []
    return tuple(Student(_text(p.get("sid") or p.get("id")), _text(p.get("name")), _text(p.get("email")))
                 for p in people if isinstance(p, dict))


def _text(value: object) -> str:
    """A metadata value as text ('' for none)."""
    return "" if value is None else str(value).strip()


def created_of(info: dict) -> datetime | None:
    """When a submission was made, timezone-aware, or None when unknown."""
    value = info.get("created_at")
    if isinstance(value, str):  # Python 3.10's fromisoformat wants 6 fraction digits and +HH:MM
        text = re.sub(r"\s*(?:Z|([+-]\d\d):?(\d\d))$", lambda m: f"{m[1] or '+00'}:{m[2] or '00'}", value.strip())
        text = re.sub(r"\.(\d+)", lambda m: "." + m[1][:6].ljust(6, "0"), text)
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def latest_only(submissions: list[Submission]) -> list[Submission]:
    """Each student's newest submission (by created_at); submissions naming nobody are all kept."""
    oldest = datetime.min.replace(tzinfo=timezone.utc)
    newest: dict[str, Submission] = {}
    for sub in submissions:
        for student in sub.students:
            best = newest.get(student.key())
            if best is None or (sub.created_at or oldest, sub.name) > (best.created_at or oldest, best.name):
                newest[student.key()] = sub
    keep = {s.name for s in newest.values()} | {s.name for s in submissions if not s.students}
    dropped = [s.name for s in submissions if s.name not in keep]
    if dropped:
        log.info("--only-latest: leaving out %d older submission(s): %s", len(dropped), ", ".join(dropped[:20]))
    return [s for s in submissions if s.name in keep]


# --- grading one submission --------------------------------------------------------------------

def results_ok(path: Path, hw: str) -> bool:
    """True when path is a valid results.json of hw that need not be graded again."""
    try:
        results = json.loads(path.read_text())
        validate(results)
    except (OSError, ValueError, jsonschema.ValidationError):
        return False
    extra = results.get("extra_data") or {}
    if extra.get("assignment") not in (None, hw):
        return False
    return (extra.get("batch") or {}).get("status") != "grader_error"


def grade_command(assignment: Assignment, submission: Path, results: Path, sandbox: str) -> list[str]:
    """The `cs330 grade` command line for one submission."""
    return [sys.executable, "-m", "autograder.cli", "grade", assignment.id, str(submission),
            "--results", str(results), "--root", str(assignment.root), "--sandbox", sandbox]


def failure_results(assignment: Assignment, status: str, note: str, elapsed: float, cap_s: float) -> dict:
    """results.json for a submission whose grading did not finish: every test 0, with the note."""
    from autograder.grading import load_manifest

    try:
        manifest = load_manifest(assignment, "all")
    except Exception:  # noqa: BLE001 - a broken assignment still gets its row
        manifest = None
    results = build_results([], manifest, {"assignment": assignment.id}, elapsed, [note])
    results["score"] = 0.0
    results["extra_data"]["batch"] = {"status": status, "note": note, "cap_s": cap_s}
    return results


def process_tree(pid: int) -> dict[int, int]:
    """pid and all its descendants with their depth below pid, from /proc (just pid without /proc)."""
    children: dict[int, list[int]] = {}
    try:
        entries = [e.name for e in os.scandir("/proc") if e.name.isdigit()]
    except OSError:
        return {pid: 0}
    for name in entries:
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                ppid = int(handle.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    tree, queue = {pid: 0}, [pid]
    while queue:
        parent = queue.pop()
        for child in children.get(parent, []):
            if child not in tree:
                tree[child] = tree[parent] + 1
                queue.append(child)
    return tree


def kill_tree(pid: int) -> None:
    """Stop pid and every process it started (so none can fork away), kill them all, remove their scratch.

    Scratch folders are read only from the grader's own processes (`cs330 grade`, its pytest and
    the sandbox server it starts, at most two levels down), never from student code below them.
    """
    stopped: dict[int, int] = {}
    for _ in range(20):
        fresh = {p: d for p, d in process_tree(pid).items() if p not in stopped}
        if not fresh:
            break
        for p in fresh:
            _signal(p, signal.SIGSTOP)
        stopped.update(fresh)
    scratch = {folder for p, depth in stopped.items() if depth <= TRUSTED_DEPTH for folder in _scratch_folders(p)}
    for p in stopped:
        _signal(p, signal.SIGKILL)
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    for folder in scratch:
        shutil.rmtree(folder, ignore_errors=True)


def _signal(pid: int, sig: int) -> None:
    """Send sig to pid, ignoring processes that are already gone."""
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def _scratch_folders(pid: int) -> set[Path]:
    """The grader's temporary folders a process works in or was handed (its cwd and arguments)."""
    try:
        if os.stat(f"/proc/{pid}").st_uid != os.geteuid():
            return set()
        paths = [os.readlink(f"/proc/{pid}/cwd")]
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            paths += handle.read().decode(errors="replace").split("\x00")
    except OSError:
        return set()
    tmp = Path(tempfile.gettempdir())
    found = set()
    for text in paths:
        path = Path(text)
        if not path.is_absolute() or tmp not in path.parents:
            continue
        top = tmp / path.relative_to(tmp).parts[0]
        if SCRATCH_NAME.match(top.name) and top.is_dir() and not top.is_symlink():
            found.add(top)
    return found


class _Running:
    """The grading subprocesses now running, so an interrupt can kill them all."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.procs: dict[str, subprocess.Popen] = {}
        self.stopping = threading.Event()

    def start(self, name: str, cmd: list[str], log_file: io.BufferedWriter) -> subprocess.Popen | None:
        """Start cmd for submission name, unless the batch is stopping."""
        with self.lock:
            if self.stopping.is_set():
                return None
            env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1",
                   "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parent.parent),
                                                  os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
            proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, start_new_session=True)
            self.procs[name] = proc
            return proc

    def done(self, name: str) -> None:
        """Forget a finished subprocess."""
        with self.lock:
            self.procs.pop(name, None)

    def stop_all(self) -> None:
        """Start nothing more and kill what runs."""
        with self.lock:
            self.stopping.set()
            running = list(self.procs.values())
        for proc in running:
            kill_tree(proc.pid)


def grade_local(assignment: Assignment, sub: Submission, out: Path, sandbox: str, cap_s: float,
                running: _Running) -> Outcome:
    """Grade one submission with `cs330 grade` in its own subprocess, killed after cap_s."""
    folder = out / sub.name
    folder.mkdir(parents=True, exist_ok=True)
    results = folder / "results.json"
    results.unlink(missing_ok=True)
    started = time.monotonic()
    with open(folder / "grade.log", "wb") as log_file:
        proc = running.start(sub.name, grade_command(assignment, sub.path.resolve(), results, sandbox), log_file)
        if proc is None:
            return Outcome(sub.name, "interrupted")
        try:
            code: int | None = proc.wait(timeout=cap_s)
        except subprocess.TimeoutExpired:
            kill_tree(proc.pid)
            proc.wait()
            code = None
        finally:
            running.done(sub.name)
        elapsed = time.monotonic() - started
        if running.stopping.is_set():
            return Outcome(sub.name, "interrupted", elapsed)
        if code is None:
            note = (f"Grading was stopped after {cap_s:g} s (the assignment's total limit of "
                    f"{assignment.limits.total_timeout_s:g} s plus a margin): the submission hung the "
                    f"grader. Scored 0.")
            log_file.write(f"\ncs330 grade-batch: {note}\n".encode())
            write_atomic(failure_results(assignment, "timeout", note, elapsed, cap_s), results)
            return Outcome(sub.name, "timeout", elapsed, note)
    if code == 0 and results_ok(results, assignment.id):
        return Outcome(sub.name, "graded", elapsed)
    note = (f"The grader failed (exit {code}): {_last_line(folder / 'grade.log')}. See {folder / 'grade.log'}; "
            f"rerun grade-batch to grade it again.")
    write_atomic(failure_results(assignment, "grader_error", note, elapsed, cap_s), results)
    return Outcome(sub.name, "grader_error", elapsed, note)


def grade_container(assignment: Assignment, sub: Submission, out: Path, image: str, cap_s: float,
                    running: _Running) -> Outcome:
    """Grade one submission inside a container image (autograder.container)."""
    from autograder.container import grade_in_container

    folder = out / sub.name
    folder.mkdir(parents=True, exist_ok=True)
    results = folder / "results.json"
    results.unlink(missing_ok=True)
    if running.stopping.is_set():
        return Outcome(sub.name, "interrupted")
    started = time.monotonic()
    error: BaseException | None = None
    try:
        grade_in_container(image, assignment.id, sub.path.resolve(), results, cap_s)
    except Exception as exc:  # noqa: BLE001 - any failure of one container is that submission's row
        error = exc
    elapsed = time.monotonic() - started
    with open(folder / "grade.log", "w") as log_file:
        log_file.write(f"cs330 grade-batch: graded in container {image} in {elapsed:.1f} s"
                       f"{f': {type(error).__name__}: {error}' if error else ''}\n")
    if running.stopping.is_set():
        return Outcome(sub.name, "interrupted", elapsed)
    if error is None and results_ok(results, assignment.id):
        return Outcome(sub.name, "graded", elapsed)
    if isinstance(error, (TimeoutError, subprocess.TimeoutExpired)) or elapsed >= cap_s:
        note = f"Grading in the container was stopped after {cap_s:g} s: the submission hung the grader. Scored 0."
        status = "timeout"
    else:
        note = (f"Grading in container {image} failed ({type(error).__name__ if error else 'no valid results.json'}"
                f"{f': {error}' if error else ''}); rerun grade-batch to grade it again.")
        status = "grader_error"
    write_atomic(failure_results(assignment, status, note[:1000], elapsed, cap_s), results)
    return Outcome(sub.name, status, elapsed, note)


def _last_line(path: Path) -> str:
    """The last non-empty line of a log file ('no output' when there is none)."""
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no output"
    return lines[-1].strip()[:200] if lines else "no output"


# --- grades.csv --------------------------------------------------------------------------------

def number_key(number: str | None) -> tuple:
    """Order test numbers as humans do (1.2 before 1.10); unnumbered tests last."""
    if not number:
        return (1, ())
    return (0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in str(number).split(".")))


def test_key(test: dict) -> str:
    """What identifies a test across submissions: its pytest node id, else its name."""
    return str((test.get("extra_data") or {}).get("nodeid") or test.get("name", ""))


def test_columns(assignment: Assignment, all_results: list[dict]) -> list[tuple[str, str]]:
    """(key, header) of each test column, ordered by test number (manifest tests, then any others)."""
    from autograder.grading import load_manifest

    seen: dict[str, tuple[str | None, str]] = {}
    try:
        for entry in load_manifest(assignment, "all") or []:
            seen[entry["nodeid"]] = (entry.get("number"), entry.get("name", entry["nodeid"]))
    except Exception:  # noqa: BLE001 - no usable manifest: columns come from the results
        pass
    for results in all_results:
        for test in results.get("tests", []):
            seen.setdefault(test_key(test), (test.get("number"), test.get("name", "")))
    ordered = sorted(seen.items(), key=lambda kv: number_key(kv[1][0]))
    return [(key, f"{number} {name}".strip() if number else name) for key, (number, name) in ordered]


def load_results(path: Path) -> dict | None:
    """A results.json, or None when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def total_score(results: dict) -> float:
    """The submission's total: results' score when set (penalties), else the sum of its tests."""
    score = results.get("score")
    return float(score) if isinstance(score, (int, float)) else totals(results)[0]


def note_of(results: dict) -> str:
    """A one-line note for the CSV: the batch's failure note, else what grading reported beyond the score."""
    batch = (results.get("extra_data") or {}).get("batch") or {}
    if batch.get("note"):
        return str(batch["note"])[:NOTE_CHARS]
    lines = [line.strip() for line in str(results.get("output", "")).splitlines()[1:] if line.strip()]
    return " ".join(lines)[:NOTE_CHARS]


def write_grades_csv(assignment: Assignment, submissions: list[Submission], out: Path) -> Path:
    """Write out/grades.csv (one row per submission, tests ordered by number); return its path."""
    loaded = {s.name: load_results(out / s.name / "results.json") for s in submissions}
    columns = test_columns(assignment, [r for r in loaded.values() if r])
    header = ["submission", *STUDENT_COLUMNS, "total", *(h for _, h in columns), "note"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for sub in submissions:
        results = loaded[sub.name]
        who = [";".join(getattr(s, attr) for s in sub.students) for attr in ("id", "name", "email")]
        when = sub.created_at.isoformat() if sub.created_at else ""
        if results is None:
            writer.writerow([sub.name, *who, when, "", *([""] * len(columns)), "not graded yet"])
            continue
        scores = {test_key(t): f"{float(t['score']):g}" for t in results.get("tests", [])}
        writer.writerow([sub.name, *who, when, f"{total_score(results):g}",
                         *(scores.get(key, "") for key, _ in columns), note_of(results)])
    path = out / "grades.csv"
    fd, tmp = tempfile.mkstemp(dir=out, prefix=".grades-", suffix=".csv")
    with os.fdopen(fd, "w", newline="") as handle:
        handle.write(buffer.getvalue())
    os.replace(tmp, path)
    return path


# --- the batch ---------------------------------------------------------------------------------

def grade_batch(assignment: Assignment, source: Path, out: Path, jobs: int = 1, container: str | None = None,
                only_latest: bool = False, sandbox: str = "auto", cap_s: float | None = None) -> BatchSummary:
    """Grade every submission in source into out, jobs at a time; write out/grades.csv."""
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    if jobs < 1:
        raise BatchError(f"--jobs must be at least 1 (got {jobs})")
    source, out = source.resolve(), out.resolve()
    if out == source or source in out.parents:
        raise BatchError(f"--out {out} is inside the submissions; choose a folder outside {source}")
    if container:
        _check_container_support()
    cap = float(cap_s if cap_s is not None else assignment.limits.total_timeout_s + MARGIN_S)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cs330-batch-") as scratch:
        submissions = find_submissions(source, Path(scratch) / "export", assignment.files)
        if only_latest:
            submissions = latest_only(submissions)
        summary = BatchSummary(out, out / "grades.csv", submissions)
        todo = []
        for sub in submissions:
            if results_ok(out / sub.name / "results.json", assignment.id):
                summary.outcomes.append(Outcome(sub.name, "resumed"))
            else:
                todo.append(sub)
        if summary.outcomes:
            log.info("resuming: %d of %d submissions already graded in %s", len(summary.outcomes),
                     len(submissions), out)
        running = _Running()

        def one(sub: Submission) -> Outcome:
            """Grade one submission the chosen way; a failure of the batch itself becomes that row's note."""
            try:
                if container:
                    return grade_container(assignment, sub, out, container, cap, running)
                return grade_local(assignment, sub, out, sandbox, cap, running)
            except Exception as exc:  # noqa: BLE001 - one submission's trouble must not stop the others
                note = f"grade-batch could not grade it ({type(exc).__name__}: {exc}); rerun grade-batch to retry."
                try:
                    write_atomic(failure_results(assignment, "grader_error", note, 0.0, cap),
                                 out / sub.name / "results.json")
                except Exception:  # noqa: BLE001 - the row then reads "not graded yet"
                    pass
                return Outcome(sub.name, "grader_error", 0.0, note)

        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="grade")
        try:
            with logging_redirect_tqdm(), tqdm(total=len(todo), desc=f"grading {assignment.id}", unit="sub",
                                               file=sys.stderr, dynamic_ncols=True) as bar:
                futures: list[Future] = [pool.submit(one, sub) for sub in todo]
                for future in as_completed(futures):
                    outcome = future.result()
                    summary.outcomes.append(outcome)
                    if outcome.status in ("timeout", "grader_error"):
                        log.warning("%s: %s", outcome.name, outcome.note)
                    bar.set_postfix_str(f"{outcome.name}: {outcome.status}", refresh=False)
                    bar.update(1)
        except KeyboardInterrupt:
            summary.interrupted = True
            running.stop_all()
            pool.shutdown(wait=True, cancel_futures=True)
            log.warning("interrupted: run the same command again to grade the remaining submissions")
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        write_grades_csv(assignment, submissions, out)
    return summary


def _check_container_support() -> None:
    """Fail early, with what to do, when container grading is not available in this checkout."""
    try:
        from autograder.container import grade_in_container  # noqa: F401
    except ImportError as exc:
        raise BatchError(f"--container needs autograder/container.py, which this checkout lacks or cannot "
                         f"import ({exc}); update the checkout or grade without --container") from None


def describe(summary: BatchSummary) -> str:
    """A one-paragraph account of a batch run for the terminal."""
    parts = [f"{len(summary.submissions)} submission(s): {summary.count('graded')} graded now",
             f"{summary.count('resumed')} kept from an earlier run"]
    for status in ("timeout", "grader_error", "interrupted"):
        if summary.count(status):
            parts.append(f"{summary.count(status)} {status.replace('_', ' ')}")
    return ", ".join(parts) + f"; wrote {summary.csv_path}"

