"""The pytest plugin that grades: one verdict per collected test item, written as JSON lines.

Loaded with `-p autograder.plugin` by the grading pipeline (grading.py). It provides the
`student` and `golden` fixtures, runs student calls through the sandbox, reads gradescope-utils'
decorator attributes (weight, number, visibility, tags, hide_errors, partial_credit, leaderboard),
and turns every item (passed, failed, error, skipped, xfailed, xpassed) into a verdict. Partial
scores are read and cleared per item, so parametrized cases never share them.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from autograder import checks
from autograder.assignment import load_assignment
from autograder.golden import Golden, GoldenStore
from autograder.notebook import module_file, submitted_modules
from autograder.sandbox import Sandbox
from autograder.submission import Harness, Session, Submission, SubmissionError, TestContext, activate

OUTPUT_LIMIT = 3000
DEFAULT_VISIBILITY = "visible"
HIDDEN_MODULE_VISIBILITY = "after_due_date"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Options the grading pipeline passes to the pytest run."""
    group = parser.getgroup("cs330")
    group.addoption("--cs330-assignment", help="assignment id")
    group.addoption("--cs330-root", help="root holding assignments/ and starter_code/")
    group.addoption("--cs330-submission", help="folder with the submitted files")
    group.addoption("--cs330-verdicts", help="JSON-lines file for the verdicts")
    group.addoption("--cs330-record", action="store_true", help="record golden values")
    group.addoption("--cs330-golden", help="golden folder (default: the assignment's)")
    group.addoption("--cs330-sandbox", default="auto", help="sandbox mode")
    group.addoption("--cs330-limits", help="JSON overriding the assignment's [limits]")


class Grader:
    """Per-run state: the sandbox session, the golden store, the verdict file."""

    def __init__(self, config: pytest.Config) -> None:
        opt = config.option
        assignment = load_assignment(opt.cs330_assignment, Path(opt.cs330_root))
        if opt.cs330_limits:
            limits = dataclasses.replace(assignment.limits, **json.loads(opt.cs330_limits))
            assignment = dataclasses.replace(assignment, limits=limits)
        self.assignment = assignment
        self.submission_dir = Path(opt.cs330_submission)
        self.verdicts_path = Path(opt.cs330_verdicts)
        self.verdicts_path.write_text("")
        golden_dir = Path(opt.cs330_golden) if opt.cs330_golden else self.assignment.golden_dir
        self.golden = GoldenStore(golden_dir, record=opt.cs330_record)
        self.sandbox_mode = opt.cs330_sandbox
        self.session: Session | None = None
        self.reports: dict[str, list[pytest.TestReport]] = {}
        self.errors: dict[str, BaseException] = {}
        self.numbers: dict[str, str] = {}
        self.current: TestContext | None = None

    def sandbox_session(self) -> Session:
        """Start the sandbox on first use and return the session the proxies use."""
        if self.session is None:
            submitted = {n: self.submission_dir / n for n in self.assignment.files
                         if (self.submission_dir / n).is_file()}
            with tempfile.TemporaryDirectory(prefix="cs330-notebook-") as converted:
                submitted, problems = submitted_modules(submitted, self.assignment.files,
                                                         Path(converted))  # notebooks -> .py
                files = {**self.assignment.support_files(), **self.assignment.harness_files(), **submitted}
                sandbox = Sandbox(files, self.assignment.limits.sandbox_limits(), self.sandbox_mode)
            self.session = Session(sandbox, frozenset(submitted), self.assignment.limits.call_timeout_s,
                                   test=self.current, expected=frozenset(map(module_file, self.assignment.files)),
                                   problems=problems)
            activate(self.session)
        return self.session

    def write(self, verdict: dict) -> None:
        """Append one verdict to the verdict file, flushed at once."""
        with open(self.verdicts_path, "a") as handle:
            handle.write(json.dumps(verdict) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


_GRADER: Grader | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Create the grader state when the run is a cs330 grading run."""
    global _GRADER
    if config.option.cs330_assignment:
        _GRADER = Grader(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the sandbox and save recorded golden values."""
    global _GRADER
    if _GRADER is None:
        return
    if _GRADER.session is not None:
        _GRADER.write({"session": {"protections": _GRADER.session.sandbox.protections.as_dict()}})
        _GRADER.session.sandbox.close()
        activate(None)
    if _GRADER.golden.record:
        _GRADER.golden.save()
    _GRADER = None


def _grader() -> Grader:
    """The active grader, or a clear error when tests run outside `cs330`."""
    if _GRADER is None:
        raise RuntimeError("graded tests run through `cs330 grade`, `cs330 test` or `cs330 build`")
    return _GRADER


@pytest.fixture
def student() -> Submission:
    """The student's main module (the assignment's first submitted file) behind the sandbox."""
    grader = _grader()
    grader.sandbox_session()
    return Submission(Path(grader.assignment.files[0]).stem)


@pytest.fixture
def harness() -> Harness:
    """The assignment's test harness (tests/<main module>_harness.py), run in the sandbox."""
    grader = _grader()
    grader.sandbox_session()
    return Harness(f"{Path(grader.assignment.files[0]).stem}_harness")


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    """Golden values of the running test: recorded at build, compared at grading."""
    module = Path(str(request.node.fspath)).stem
    return _grader().golden.for_test(module, request.node.nodeid)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Number parametrized cases 1.1.1, 1.1.2, ... after their function's number."""
    if _GRADER is None:
        return
    seen: dict[Any, int] = {}
    for item in items:
        base = getattr(getattr(item, "obj", None), "__number__", None)
        if base is None:
            continue
        if hasattr(item, "callspec"):
            key = (item.fspath, getattr(item, "originalname", item.name))
            seen[key] = seen.get(key, 0) + 1
            _GRADER.numbers[item.nodeid] = f"{base}.{seen[key]}"
        else:
            _GRADER.numbers[item.nodeid] = str(base)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the sandbox before the first test, so its start-up does not count against a test."""
    if _GRADER is not None and any({"student", "harness"} & set(getattr(i, "fixturenames", ()))
                                  for i in session.items):
        _GRADER.sandbox_session()


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A test file that fails to import is a grader error; record it as a verdict."""
    if _GRADER is not None and report.failed:
        _GRADER.write({"nodeid": report.nodeid, "collection_error": True,
                       "status": "error", "grader_error": True,
                       "output": f"collecting {report.nodeid} failed:\n{str(report.longrepr)[-OUTPUT_LIMIT:]}"})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Any) -> Any:
    """Set up the test's context (seeds, time budget, visibility), run it, write its verdict."""
    if _GRADER is None:
        yield
        return
    grader = _GRADER
    func = getattr(item, "obj", None)
    for attr in ("__score__", "__leaderboard_value__"):
        if func is not None and attr in getattr(func, "__dict__", {}):
            delattr(func, attr)
    visibility = _visibility(item)
    checks.set_reveal(visibility == "visible")
    limits = grader.assignment.limits
    context = TestContext(item.nodeid, time.monotonic() + limits.test_timeout_s, limits.test_timeout_s)
    grader.current = context
    if grader.session is not None:
        grader.session.test = context
    started = time.monotonic()
    yield
    grader.write(_verdict(item, grader, context, visibility, time.monotonic() - started))
    grader.current = None
    if grader.session is not None:
        grader.session.test = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """Keep each phase's report and the exception that failed it."""
    outcome = yield
    if _GRADER is None:
        return
    report = outcome.get_result()
    _GRADER.reports.setdefault(item.nodeid, []).append(report)
    if call.excinfo is not None and report.failed:
        _GRADER.errors.setdefault(item.nodeid, call.excinfo.value)


def _visibility(item: pytest.Item) -> str:
    """The item's visibility: its decorator, else its module's VISIBILITY, else by file name."""
    func = getattr(item, "obj", None)
    if getattr(func, "__visibility__", None):
        return str(func.__visibility__)
    module = getattr(item, "module", None)
    if getattr(module, "VISIBILITY", None):
        return str(module.VISIBILITY)
    return HIDDEN_MODULE_VISIBILITY if "hidden" in Path(str(item.fspath)).name else DEFAULT_VISIBILITY


def _status(reports: list[pytest.TestReport]) -> str:
    """Combine the setup/call/teardown reports into one status."""
    by_phase = {r.when: r for r in reports}
    setup, call, teardown = by_phase.get("setup"), by_phase.get("call"), by_phase.get("teardown")
    if setup is not None and setup.failed:
        return "error"
    if setup is not None and setup.skipped:
        return "xfailed" if hasattr(setup, "wasxfail") else "skipped"
    if call is None:
        return "error"
    if call.skipped:
        return "xfailed" if hasattr(call, "wasxfail") else "skipped"
    if call.failed:
        return "failed"
    if hasattr(call, "wasxfail"):
        return "xpassed"
    if teardown is not None and teardown.failed:
        return "error"
    return "passed"


def _verdict(item: pytest.Item, grader: Grader, context: TestContext, visibility: str,
             duration: float) -> dict:
    """The verdict of one finished item."""
    func = getattr(item, "obj", None)
    status = _status(grader.reports.pop(item.nodeid, []))
    graded = status not in ("xfailed", "xpassed")  # an xfail-marked test is disabled: worth nothing
    weight = float(getattr(func, "__weight__", 0.0) or 0.0) if graded else 0.0
    error = grader.errors.pop(item.nodeid, None)
    passed = status in ("passed", "xfailed")
    partial = func.__dict__.get("__score__") if func is not None else None
    score = weight if passed else 0.0
    if isinstance(partial, (int, float)) and not isinstance(partial, bool):
        score = min(max(float(partial), 0.0), weight) if math.isfinite(partial) else 0.0
    grader_error = error is not None and not isinstance(error, AssertionError)
    verdict = {
        "nodeid": item.nodeid,
        "name": _name(item),
        "number": grader.numbers.get(item.nodeid),
        "weight": weight,
        "score": score,
        "status": status,
        "visibility": visibility,
        "tags": [str(t) for t in getattr(func, "__tags__", ())],
        "grader_error": grader_error,
        "duration_s": round(duration, 3),
        "output": _output(item, status, error, context, func),
    }
    column = getattr(func, "__leaderboard_column__", None)
    if column is not None and "__leaderboard_value__" in getattr(func, "__dict__", {}):
        verdict["leaderboard"] = {"name": str(column), "value": func.__leaderboard_value__,
                                  "order": getattr(func, "__leaderboard_sort_order__", "desc")}
    return verdict


def _name(item: pytest.Item) -> str:
    """A readable test name: the docstring's first line (or the function name) and its case."""
    func = getattr(item, "obj", None)
    doc = (getattr(func, "__doc__", None) or "").strip().splitlines()
    name = doc[0].strip() if doc else getattr(item, "originalname", item.name)
    if hasattr(item, "callspec"):
        name += f" [{item.callspec.id}]"
    return name


def _output(item: pytest.Item, status: str, error: BaseException | None, context: TestContext,
            func: Any) -> str:
    """What the student reads for this test: the failure message and what their code printed."""
    if status == "passed":
        text = ""
    elif status in ("skipped", "xfailed", "xpassed"):
        text = {"skipped": "This test was skipped, so it earned no points.",
                "xfailed": "Expected failure: this test is not graded.",
                "xpassed": "This test was expected to fail but passed; it is not graded."}[status]
    elif isinstance(error, SubmissionError):
        text = str(error)
    elif isinstance(error, AssertionError):
        text = str(error) or "An assertion failed."
    elif error is not None:
        text = (f"The grader hit an internal error ({type(error).__name__}: {error}). "
                "This is not your fault: please tell the course staff.")
    else:
        text = "The test failed."
    hide = getattr(func, "__hide_errors__", None)
    if hide and status not in ("passed",):
        text = str(hide)
    if context.printed and status != "passed":
        printed = "\n".join(context.printed)[:1000]
        text += "\n\n--- output printed by your code (not by the grader) ---\n" + printed
    return text[:OUTPUT_LIMIT]
