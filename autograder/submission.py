"""The proxy through which tests call student code: `student.compute_prototypes(x, y, 5)`.

Each call is sent to the sandbox (a fresh child process), seeded from the running test's id and
the call's position in it, and bounded by the per-call and per-test time limits. Whatever goes
wrong in student code comes back as a SubmissionError whose message is written for the student.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from autograder.sandbox import CallOutcome, Sandbox

OUTPUT_SHOWN = 2000


class SubmissionError(AssertionError):
    """A failure caused by the submission; its message is shown to the student."""


@dataclass
class TestContext:
    """The running test: its id (for seeds), call count, time budget and captured prints."""

    nodeid: str
    deadline: float
    test_timeout_s: float
    calls: int = 0
    printed: list[str] = field(default_factory=list)

    def next_seed(self) -> int:
        """A seed that depends only on the test id and how many calls it has made."""
        self.calls += 1
        return zlib.crc32(f"{self.nodeid}#{self.calls}".encode()) & 0x7FFFFFFF


@dataclass
class Session:
    """What the plugin hands the proxy: the sandbox, the submitted modules, the current test."""

    sandbox: Sandbox
    submitted: frozenset[str]
    call_timeout_s: float
    test: TestContext | None = None
    expected: frozenset[str] = frozenset()  # every file the assignment asks for
    problems: dict[str, str] = field(default_factory=dict)  # module file -> why it cannot be graded


_SESSION: Session | None = None


def activate(session: Session | None) -> None:
    """Install (or clear) the grading session that proxies use."""
    global _SESSION
    _SESSION = session


def load_harness(module: str) -> "Harness":
    """Return a proxy for a test harness module (tests/<module>.py) run inside the sandbox."""
    if _SESSION is None:
        raise RuntimeError("load_harness() works only inside a test run by the cs330 grader")
    return Harness(module)


def load_submission(module: str) -> "Submission":
    """Return a proxy for the student's module (e.g. 'protonet' for protonet.py)."""
    if _SESSION is None:
        raise RuntimeError("load_submission() works only inside a test run by the cs330 grader")
    return Submission(module)


class Submission:
    """A student module; attribute access gives callables that run in the sandbox."""

    def __init__(self, module: str) -> None:
        self._module = module

    def __getattr__(self, name: str) -> "StudentFunction":
        if name.startswith("_"):
            raise AttributeError(name)
        return StudentFunction(self._module, name)

    def __repr__(self) -> str:
        return f"<submission {self._module}.py>"


class Harness:
    """A trusted test helper module (tests/<name>.py) that runs inside the sandbox beside the
    submission: it builds what cannot cross the process boundary (models, loss functions,
    optimizers), calls the student's code with it and returns plain data for the test to check."""

    def __init__(self, module: str) -> None:
        self._module = module

    def __getattr__(self, name: str) -> "HarnessFunction":
        if name.startswith("_"):
            raise AttributeError(name)
        return HarnessFunction(self._module, name)

    def __repr__(self) -> str:
        return f"<test harness {self._module}.py>"


class StudentFunction:
    """One student function; calling it runs it in a fresh sandboxed process."""

    harness = False

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function and return its value (plain tensors, numbers, containers)."""
        return self._run(args, kwargs, None).value

    def with_grad(self, *args: Any, wrt: list[tuple], output: int | None = None, **kwargs: Any) -> tuple[Any, list]:
        """Call the function, backpropagate its scalar output, return (value, grads of wrt).

        wrt holds index paths into the positional arguments, e.g. [(0,), (2,)] for the first and
        third; output picks an element of a tuple result (None: the result itself).
        """
        grad = {"wrt": [[0, *path] for path in wrt], "output": output}
        outcome = self._run(args, kwargs, grad)
        return outcome.value, outcome.grads or []

    def _run(self, args: tuple, kwargs: dict, grad: dict | None) -> CallOutcome:
        """Make the sandboxed call and turn failures into SubmissionError."""
        session = _SESSION
        if session is None or session.test is None:
            raise RuntimeError("student functions can be called only from a running graded test")
        if f"{self.module}.py" in session.problems:
            raise SubmissionError(session.problems[f"{self.module}.py"])
        if f"{self.module}.py" not in session.submitted:
            raise SubmissionError(
                f"{self.module}.py is missing from your submission: submit a file named exactly "
                f"{self.module}.py"
            )
        return self._call_sandbox(session, args, kwargs, grad, preload=())

    def _call_sandbox(self, session: Session, args: tuple, kwargs: dict, grad: dict | None,
                      preload: tuple[str, ...]) -> CallOutcome:
        """Make the call within the test's time budget; failures become SubmissionError."""
        test = session.test
        assert test is not None
        left = test.deadline - time.monotonic()
        if left <= 0:
            raise SubmissionError(f"this test ran out of its {test.test_timeout_s:g} s time limit")
        timeout = min(session.call_timeout_s, left)
        outcome = session.sandbox.call(self.module, self.name, args, kwargs, seed=test.next_seed(),
                                       grad=grad, timeout_s=timeout, preload=preload)
        if outcome.output:
            test.printed.append(outcome.output[:OUTPUT_SHOWN])
        if not outcome.ok:
            raise SubmissionError(describe_failure(outcome, f"{self.module}.{self.name}", timeout, session,
                                                   harness=self.harness))
        return outcome


class HarnessFunction(StudentFunction):
    """A function of a test harness: runs in the sandbox after importing every submitted module."""

    harness = True

    def _run(self, args: tuple, kwargs: dict, grad: dict | None) -> CallOutcome:
        """Check the submitted files are there, then call the harness with them preloaded."""
        session = _SESSION
        if session is None or session.test is None:
            raise RuntimeError("test harness functions can be called only from a running graded test")
        for name in sorted(session.problems):
            raise SubmissionError(session.problems[name])
        missing = sorted(session.expected - session.submitted)
        if missing:
            raise SubmissionError(f"{missing[0]} is missing from your submission: submit a file named "
                                  f"exactly {missing[0]}")
        preload = tuple(name[:-3] for name in sorted(session.submitted) if name.endswith(".py"))
        return self._call_sandbox(session, args, kwargs, grad, preload=preload)


def describe_failure(outcome: CallOutcome, function: str, timeout: float, session: Session,
                     harness: bool = False) -> str:
    """A message for the student about a failed call, saying what to do next."""
    short = "your code" if harness else function.split(".")[-1]
    module_file = (outcome.extra.get("module") or function.split(".")[0]) + ".py"
    status, message, trace = outcome.status, outcome.message, outcome.traceback
    if status == "error" and outcome.extra.get("type") == "NotImplementedError":
        if harness:
            return f"a function this test uses is not implemented yet ({message or 'NotImplementedError'}): " \
                   "replace its TODO."
        return f"{short} is not implemented yet (it raised NotImplementedError): replace its TODO."
    if status == "error" and outcome.extra.get("stage") == "import":
        return f"importing {module_file} failed, so none of its functions can be graded:\n{trace}"
    if status == "error" and harness:
        return f"your code raised an exception while the test ran it (the test's steps are in " \
               f"{function.split('.')[0]}.py among the assignment's tests):\n{trace}"
    if status == "error":
        return f"{short} raised an exception:\n{trace}"
    texts = {
        "timeout": f"{short} did not finish within the time limit of {timeout:g} s ({message}); "
                   "look for an infinite loop or work that grows too fast",
        "memory": f"{short} exceeded the memory limit of {session.sandbox.limits.memory_mb} MB: {message}",
        "missing_file": f"{module_file} is missing from your submission: submit a file named {module_file}",
        "missing_function": f"{message}: define {short} with the signature given in the handout",
        "signature": f"{short} cannot be called with the grader's arguments: {message}",
        "bad_value": f"{short} returned a value the grader cannot accept: {message}",
        "crashed": f"{short} crashed: {message} (possibly the memory limit of "
                   f"{session.sandbox.limits.memory_mb} MB)",
        "exited": f"{short} ended the process instead of returning ({message}); do not call "
                  "exit() in your code",
        "worker_lost": f"{short} could not be run: {message}",
    }
    return texts.get(status, f"{short} failed ({status}): {message}")
