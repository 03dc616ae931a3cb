"""The grading pipeline shared by `cs330 grade`, `cs330 test`, `cs330 build` and run_autograder.

take in the submission -> run the assignment's tests with the cs330 pytest plugin in a separate
pytest process (student calls go on to the sandbox from there) -> complete the verdicts with the
manifest -> validate and write results.json atomically.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from autograder import __version__
from autograder.assignment import Assignment
from autograder.intake import take_in
from autograder.notebook import write_grading_report
from autograder.policy import Decision, decide, load_metadata, submission_info
from autograder.results import NO_VERDICT, build_results, read_verdicts, totals, write_atomic
from autograder.sandbox import choose_mode, protections_for, warn_if_unprivileged

PYTEST_OK = (0, 1, 5)  # all passed, some failed, no tests collected
PYTEST_BROKEN = (3, 4)  # pytest's internal error or usage error: the grader itself is broken


class GraderFailure(RuntimeError):
    """The grader itself could not run (not a problem of the submission)."""


@dataclass
class TestRun:
    """What one pytest run produced."""

    verdicts: list[dict]
    session: dict
    returncode: int
    log: str
    timed_out: bool


def test_files(assignment: Assignment, scope: str) -> list[Path]:
    """The assignment's test files: all of them, or only the public ones (no 'hidden' in the name)."""
    files = sorted(assignment.tests_dir.glob("test_*.py"))
    if scope == "public":
        files = [f for f in files if "hidden" not in f.name]
    if not files:
        raise GraderFailure(f"no test files in {assignment.tests_dir} (scope {scope})")
    return files


def load_manifest(assignment: Assignment, scope: str) -> list[dict] | None:
    """The expected tests recorded by `cs330 build`, restricted to scope."""
    path = assignment.golden_dir / "manifest.json"
    if not path.is_file():
        return None
    entries = json.loads(path.read_text())["tests"]
    names = {f.name for f in test_files(assignment, scope)}
    return [e for e in entries if e["nodeid"].split("::")[0] in names]


def run_tests(assignment: Assignment, code_dir: Path, scope: str = "all", sandbox: str = "auto",
              record: bool = False, golden_dir: Path | None = None) -> TestRun:
    """Run the assignment's tests in a pytest process against the code in code_dir."""
    with tempfile.TemporaryDirectory(prefix="cs330-run-") as tmp:
        verdicts_path = Path(tmp) / "verdicts.jsonl"
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n")
        cmd = [sys.executable, "-m", "pytest", *map(str, test_files(assignment, scope)),
               "-c", str(ini), "--rootdir", str(assignment.tests_dir), "-p", "autograder.plugin",
               "-p", "no:cacheprovider", "-q", "--no-header", "-rN", "--tb=short",
               "--continue-on-collection-errors",
               "--cs330-assignment", assignment.id, "--cs330-root", str(assignment.root),
               "--cs330-submission", str(code_dir), "--cs330-verdicts", str(verdicts_path),
               "--cs330-sandbox", sandbox]
        if record:
            cmd.append("--cs330-record")
        if golden_dir is not None:
            cmd += ["--cs330-golden", str(golden_dir)]
        cmd += ["--cs330-limits", json.dumps(dataclasses.asdict(assignment.limits))]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
               "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent.parent),
                                              os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                cwd=tmp, start_new_session=True)
        timed_out = False
        try:
            out, _ = proc.communicate(timeout=assignment.limits.total_timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        verdicts, session = read_verdicts(verdicts_path)
    log = out.decode(errors="replace")
    if not timed_out and proc.returncode in PYTEST_BROKEN:
        raise GraderFailure(f"pytest could not run the tests (exit {proc.returncode}):\n{log[-3000:]}")
    return TestRun(verdicts, session, proc.returncode, log, timed_out)


def stop_reason(run: TestRun, assignment: Assignment) -> str | None:
    """Why the test run ended early (for results.json), or None when it finished normally."""
    if run.timed_out:
        return (f"Grading stopped at the total time limit of {assignment.limits.total_timeout_s:g} s; "
                "tests that had not finished score 0.")
    if run.returncode not in PYTEST_OK:
        return (f"The grading process was killed (exit {run.returncode}), most likely by the machine's "
                "memory limit; tests that had not finished score 0. Reduce the memory your code uses.")
    return None


def grade(assignment: Assignment, submission: Path, results_path: Path, scope: str = "all",
          sandbox: str = "auto", metadata: Path | None = None) -> dict:
    """Grade one submission (folder or zip) and write its results.json; return the results."""
    started = time.monotonic()
    mode = choose_mode(sandbox)
    warn_if_unprivileged(mode)
    info = load_metadata(metadata)
    decision = decide(assignment.policy, info)
    if not decision.grade:
        return _write_rate_limited(assignment, decision, info, results_path, time.monotonic() - started)
    with tempfile.TemporaryDirectory(prefix="cs330-grade-") as tmp:
        intake = take_in(submission, assignment.files, Path(tmp) / "submission")
        run = run_tests(assignment, Path(tmp) / "submission", scope, mode)
        notebooks = {n: p.read_bytes() for n, p in intake.found.items() if n.endswith(".ipynb")}
    problems = list(intake.problems)
    stopped = stop_reason(run, assignment)
    if stopped:
        problems.append(stopped)
    extra = {
        "assignment": assignment.id,
        "scope": scope,
        "protections": run.session.get("protections") or protections_for(mode).as_dict(),
        "engine": {"cs330": __version__, "torch": importlib.metadata.version("torch"), "python": sys.version.split()[0],
                   "threads": assignment.limits.threads},
        "limits": {"call_timeout_s": assignment.limits.call_timeout_s,
                   "test_timeout_s": assignment.limits.test_timeout_s,
                   "total_timeout_s": assignment.limits.total_timeout_s,
                   "memory_mb": assignment.limits.memory_mb},
    }
    if info:
        extra["submission"] = submission_info(info)
    results = build_results(run.verdicts, load_manifest(assignment, scope), extra, time.monotonic() - started,
                            problems + list(decision.messages), no_verdict=stopped or NO_VERDICT)
    if decision.multiplier != 1.0:
        results["score"] = round(totals(results)[0] * decision.multiplier, 4)
    write_atomic(results, results_path)
    write_grading_report(assignment, notebooks, *totals(results), results_path.parent)  # notebooks only
    return results


def _write_rate_limited(assignment: Assignment, decision: Decision, info: dict, results_path: Path,
                        elapsed: float) -> dict:
    """results.json for a submission the rate limit keeps from being graded."""
    results = {
        "score": decision.kept_score or 0.0,
        "tests": [],
        "execution_time": round(elapsed, 3),
        "output": "\n".join(decision.messages),
        "output_format": "text",
        "extra_data": {"assignment": assignment.id, "rate_limited": True,
                       "submission": submission_info(info)},
    }
    write_atomic(results, results_path)
    return results

