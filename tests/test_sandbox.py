"""autograder.sandbox + child: student calls in fresh, limited, isolated child processes.

The key checks run in every mode that works here ("bwrap+uid", "uid", "none"); checks of a
protection run only in the modes whose protections_for(mode) promise it. One sandbox per mode is
shared by the whole module (starting one imports torch, about 2 s).
"""

from __future__ import annotations

import os
import re
import socket
import sys
import threading
import time
import uuid
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from autograder.assignment import REPO_ROOT
from autograder.sandbox import (
    CallOutcome,
    Limits,
    Sandbox,
    choose_mode,
    uid_can_run_python,
    protections_for,
)

MODES = ["bwrap+uid", "uid", "none"]
LIMITS = Limits(call_timeout_s=3, memory_mb=300)
IS_ROOT = os.geteuid() == 0

STUDENT = '''\
import os
import random
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import torch

CONSTANT = 5


def add(a, b):
    return a + b


def double(t):
    return t * 2


def echo(*args, **kwargs):
    return [list(args), kwargs]


def boom(n):
    helper = lambda: 1 / n
    return helper()


def torch_error():
    return torch.ones(2) @ torch.ones(3)


def todo(x):
    raise NotImplementedError("todo is not implemented yet")


def spin():
    while True:
        pass


def nap(seconds):
    time.sleep(seconds)
    return "woke up"


def hog_bytes():
    return len(bytearray(2 * 1024**3))


def hog_torch():
    return float(torch.ones(2**29).sum())


def hard_exit():
    os._exit(0)


def soft_exit():
    sys.exit(3)


def kill_parent():
    os.kill(os.getppid(), signal.SIGKILL)
    time.sleep(1)
    return "parent killed"


def one_arg(a):
    return a


def opaque():
    return object()


def generator():
    return (i for i in range(3))


def chatty(n):
    print("hello from m")
    print("x" * n)
    print("to stderr", file=sys.stderr)
    return n


def draws():
    return torch.rand(3), random.random(), np.random.rand(2)


def loss_and_pred(x, w):
    pred = x @ w
    return (pred ** 2).sum(), pred


def detached_loss(x, w):
    return torch.tensor(1.0), None


def background(tag):
    return subprocess.Popen(["sleep", tag], start_new_session=True).pid


def forked_background(tag):
    pid = os.fork()
    if pid == 0:
        os.setsid()
        os.execvp("sleep", ["sleep", tag])
    return pid


def forked_sleeper():
    pid = os.fork()
    if pid == 0:
        os.setsid()
        time.sleep(1000)
        os._exit(0)
    return pid


def fork_bomb():
    while True:
        try:
            os.fork()
        except OSError:
            pass


def identity():
    return [os.getuid(), os.geteuid(), os.getgid()]


def try_read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read(200).decode(errors="replace")
    except OSError as exc:
        return "refused: " + type(exc).__name__


def try_list(path):
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return "refused: " + type(exc).__name__


def try_write(path):
    try:
        with open(path, "w") as handle:
            handle.write("written by the student")
        return "written"
    except OSError as exc:
        return "refused: " + type(exc).__name__


def try_connect(host, port):
    sock = socket.socket()
    sock.settimeout(2)
    try:
        sock.connect((host, port))
        return "connected"
    except OSError as exc:
        return "refused: " + type(exc).__name__
    finally:
        sock.close()


def environment():
    return dict(os.environ)


def workdir_write():
    with open("scratch.txt", "w") as handle:
        handle.write("ok")
    return open("scratch.txt").read()


def forge(header_json):
    """Write a hand-made reply straight into the result pipe, then exit."""
    import json
    import stat
    import struct
    reply = json.dumps({"status": "ok"}).encode()
    header = header_json.encode()
    payload = struct.pack(">Q", len(header)) + header
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if fd > 2 and stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.write(fd, struct.pack(">Q", len(reply)) + reply + struct.pack(">Q", len(payload)) + payload)
        except OSError:
            pass
    os._exit(0)
'''

BAD_IMPORT = '''\
def fine():
    return 1


raise RuntimeError("broken at import time")
'''

BAD_SYNTAX = '''\
def fine():
    return 1


def broken(:
    return 2
'''


# ---------------------------------------------------------------- mode availability


def sandbox_user_can_read_python() -> bool:
    """True when the sandbox user can read the interpreter's files (needed by mode 'uid')."""
    return not IS_ROOT or uid_can_run_python()


UID_MODE_BUG = (
    "BUG child.worker/sandbox uid mode: the worker drops to the sandbox uid before numpy.random is first "
    "imported (seed_everything touches np.random, lazily imported by numpy 2), and nothing checks that the "
    "sandbox user can read the interpreter; with Python under /root (0700) every call ends as 'exited' "
    "with ModuleNotFoundError: secrets, and the output shows the grader's child.py traceback"
)


def mode_problem(mode: str) -> str | None:
    """Why mode cannot be tested here, or None."""
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("CS330_SANDBOX", mode)
            choose_mode(mode)
    except Exception as exc:  # noqa: BLE001 - any refusal means: skip this mode
        return f"sandbox mode {mode} is not available here: {exc}"
    if "uid" in mode and "bwrap" not in mode and not sandbox_user_can_read_python():
        return ("sandbox mode uid cannot run student code here (the sandbox user cannot read the Python "
                "installation); see test_uid_mode_runs_student_calls")
    return None


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory) -> Path:
    """The student's files."""
    folder = tmp_path_factory.mktemp("student")
    (folder / "m.py").write_text(STUDENT)
    (folder / "bad_import.py").write_text(BAD_IMPORT)
    (folder / "bad_syntax.py").write_text(BAD_SYNTAX)
    return folder


def student_files(folder: Path) -> dict[str, Path]:
    """The name -> path mapping Sandbox takes."""
    return {name: folder / name for name in ("m.py", "bad_import.py", "bad_syntax.py")}


def open_sandbox(folder: Path, mode: str, limits: Limits = LIMITS) -> Sandbox:
    """A Sandbox in mode, with CS330_SANDBOX set to agree."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CS330_SANDBOX", mode)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "privilege separation off" in modes without uid
            sandbox = Sandbox(student_files(folder), limits, mode=mode)
    assert sandbox.mode == mode
    return sandbox


@pytest.fixture(scope="module")
def sandboxes(student_dir):
    """mode -> started Sandbox, created on first use and closed at the end of the module."""
    opened: dict[str, Sandbox] = {}

    def get(mode: str) -> Sandbox:
        problem = mode_problem(mode)
        if problem:
            pytest.skip(problem)
        if mode not in opened:
            opened[mode] = open_sandbox(student_dir, mode)
        return opened[mode]

    yield get
    for sandbox in opened.values():
        sandbox.close()


@pytest.fixture(params=MODES)
def sandbox(request, sandboxes) -> Sandbox:
    """The module's sandbox in each mode that works here."""
    return sandboxes(request.param)


@pytest.fixture
def strongest(sandboxes) -> Sandbox:
    """The sandbox of the mode `auto` picks here."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("CS330_SANDBOX", raising=False)
        return sandboxes(choose_mode("auto"))


def call(sandbox: Sandbox, function: str, *args, module: str = "m", **kw) -> CallOutcome:
    """Call m.function(*args) in the sandbox."""
    return sandbox.call(module, function, args, **kw)


def timed(sandbox: Sandbox, function: str, *args, **kw) -> tuple[CallOutcome, float]:
    """The outcome of a call and its wall time."""
    started = time.monotonic()
    outcome = call(sandbox, function, *args, **kw)
    return outcome, time.monotonic() - started


def assert_works(sandbox: Sandbox) -> None:
    """The sandbox still answers a normal call."""
    outcome = call(sandbox, "add", 2, 3)
    assert outcome.status == "ok", outcome
    assert outcome.value == 5


def processes_with(marker: bytes) -> list[int]:
    """Host pids whose command line contains marker (zombies have none, so they do not count)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as handle:
                    if marker in handle.read():
                        found.append(int(name))
            except OSError:
                pass
    return found


def uid_of(pid: int) -> int | None:
    """The real uid of a host process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def wait_until(predicate, timeout: float = 3.0) -> bool:
    """Poll predicate until it holds or timeout passes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


# ---------------------------------------------------------------- values and errors (every mode)


def test_ok_values(sandbox):
    """A call returns the function's value; tensors cross as plain tensors."""
    outcome = call(sandbox, "add", 2, 40)
    assert outcome.ok and outcome.status == "ok" and outcome.value == 42 and outcome.grads is None
    outcome = call(sandbox, "double", torch.arange(3.0))
    assert outcome.ok and type(outcome.value) is torch.Tensor
    assert torch.equal(outcome.value, torch.tensor([0.0, 2.0, 4.0]))
    outcome = sandbox.call("m", "echo", (1, "a", np.arange(2)), {"k": [None, 2.5]})
    assert outcome.ok
    assert outcome.value[0][:2] == [1, "a"] and outcome.value[0][2].tolist() == [0, 1]
    assert outcome.value[1] == {"k": [None, 2.5]}


def test_exception_traceback_names_only_student_lines(sandbox):
    """An exception gives status error with a traceback of m.py lines only (no grader paths)."""
    outcome = call(sandbox, "boom", 0)
    assert outcome.status == "error" and not outcome.ok
    assert outcome.extra == {"stage": "call", "type": "ZeroDivisionError"}
    assert "division by zero" in outcome.message
    tb = outcome.traceback
    files = re.findall(r'File "([^"]+)"', tb)
    assert files and set(files) == {"m.py"}
    boom_line = STUDENT.splitlines().index("    return helper()") + 1
    assert f'File "m.py", line {boom_line}, in boom' in tb
    assert "helper = lambda: 1 / n" in tb
    assert tb.strip().endswith("ZeroDivisionError: division by zero")
    for leak in ("child.py", "runtime", "sandbox", "/tmp", "site-packages", str(REPO_ROOT)):
        assert leak not in tb, leak


def test_exception_inside_torch_shows_only_student_frames(sandbox):
    """An error raised inside torch for the student's code shows the student's line and the message."""
    outcome = call(sandbox, "torch_error")
    assert outcome.status == "error" and outcome.extra["type"] == "RuntimeError"
    assert set(re.findall(r'File "([^"]+)"', outcome.traceback)) == {"m.py"}
    assert "torch.ones(2) @ torch.ones(3)" in outcome.traceback


def test_not_implemented_type_is_reported(sandbox):
    """NotImplementedError from a starter stub is reported as such."""
    outcome = call(sandbox, "todo", 1)
    assert outcome.status == "error"
    assert outcome.extra["type"] == "NotImplementedError"
    assert outcome.message == "todo is not implemented yet"


def test_infinite_loop_times_out_near_the_limit(sandbox):
    """A busy loop is stopped at the call limit and reported as timeout; the sandbox goes on."""
    outcome, elapsed = timed(sandbox, "spin")
    assert outcome.status == "timeout", outcome
    assert "3" in outcome.message
    assert LIMITS.call_timeout_s - 0.1 <= elapsed <= LIMITS.call_timeout_s + 3
    assert_works(sandbox)


def test_sleep_times_out_at_a_shorter_call_limit(sandbox):
    """time.sleep past a per-call timeout_s is a timeout at that limit."""
    outcome, elapsed = timed(sandbox, "nap", 60, timeout_s=1)
    assert outcome.status == "timeout"
    assert 0.9 <= elapsed <= 3.5
    outcome = call(sandbox, "nap", 0.1)
    assert outcome.ok and outcome.value == "woke up"


@pytest.mark.parametrize("function", ["hog_bytes", "hog_torch"])
def test_allocating_2gb_is_a_memory_failure(sandbox, function):
    """Allocating 2 GB against a 300 MB limit gives status memory, quickly; the sandbox goes on."""
    outcome, elapsed = timed(sandbox, function)
    assert outcome.status == "memory", outcome
    assert "memory" in outcome.message.lower()
    assert elapsed < LIMITS.call_timeout_s + 2  # refused at allocation, not left to run into the timeout
    assert_works(sandbox)


def test_os_exit_is_reported_as_exited(sandbox):
    """os._exit(0) without returning is 'exited' with its code; the sandbox goes on."""
    outcome = call(sandbox, "hard_exit")
    assert outcome.status == "exited"
    assert "code 0" in outcome.message
    assert_works(sandbox)


def test_sys_exit_is_an_error_not_an_exit_of_the_grader(sandbox):
    """sys.exit in student code is caught as a SystemExit error of the call."""
    outcome = call(sandbox, "soft_exit")
    assert outcome.status == "error" and outcome.extra["type"] == "SystemExit"
    assert_works(sandbox)


def test_killing_the_parent_does_not_break_the_sandbox(sandbox):
    """os.kill(os.getppid(), 9) from student code: the sandbox survives and the next call works."""
    outcome = call(sandbox, "kill_parent")
    assert outcome.status in ("error", "worker_lost"), outcome
    if sandbox.protections.privilege_separation:
        assert outcome.status == "error" and outcome.extra["type"] == "PermissionError"
    assert_works(sandbox)


def test_missing_function_and_non_callable(sandbox):
    """A function that does not exist, or a name that is not callable, is missing_function."""
    outcome = call(sandbox, "no_such_function")
    assert outcome.status == "missing_function" and "no_such_function" in outcome.message
    assert call(sandbox, "CONSTANT").status == "missing_function"


def test_wrong_signature(sandbox):
    """Calling with arguments the function cannot take is 'signature', naming its signature."""
    outcome = call(sandbox, "one_arg", 1, 2)
    assert outcome.status == "signature"
    assert "one_arg(a)" in outcome.message and "2 positional" in outcome.message
    outcome = sandbox.call("m", "one_arg", (), {"b": 1})
    assert outcome.status == "signature" and "b" in outcome.message


@pytest.mark.parametrize("function", ["opaque", "generator"])
def test_unsupported_return_value(sandbox, function):
    """Returning a non-data object (object(), a generator) is bad_value naming its type."""
    outcome = call(sandbox, function)
    assert outcome.status == "bad_value" and outcome.value is None
    assert "cannot return a value of type" in outcome.message


def test_import_time_exception(sandbox):
    """An exception at import is status error at stage import, traced to the module's line."""
    outcome = call(sandbox, "fine", module="bad_import")
    assert outcome.status == "error" and outcome.extra == {"stage": "import", "type": "RuntimeError"}
    assert 'File "bad_import.py", line 5' in outcome.traceback
    assert "broken at import time" in outcome.traceback
    assert "child.py" not in outcome.traceback and "importlib" not in outcome.traceback


def test_syntax_error_at_import(sandbox):
    """A syntax error is status error at stage import, with the file, line and offending text."""
    outcome = call(sandbox, "fine", module="bad_syntax")
    assert outcome.status == "error" and outcome.extra == {"stage": "import", "type": "SyntaxError"}
    assert 'File "bad_syntax.py", line 5' in outcome.traceback
    assert "def broken(:" in outcome.traceback
    assert "child.py" not in outcome.traceback


def test_missing_module(sandbox):
    """A module that was not submitted is missing_file."""
    outcome = call(sandbox, "f", module="not_submitted")
    assert outcome.status == "missing_file" and "not_submitted.py" in outcome.message


def test_print_output_is_captured(sandbox):
    """stdout and stderr of the call come back in outcome.output."""
    outcome = call(sandbox, "chatty", 5)
    assert outcome.ok and outcome.value == 5
    assert outcome.output == "hello from m\nxxxxx\nto stderr\n"


def test_huge_output_is_truncated(sandbox):
    """Printing 300 KB gives a truncated output with a marker, and the call still succeeds."""
    outcome = call(sandbox, "chatty", 300_000)
    assert outcome.ok and outcome.value == 300_000
    assert outcome.output.startswith("hello from m\nxxx")
    assert outcome.output.endswith("[output truncated]")
    assert len(outcome.output) <= 70_000


def test_seeds_make_calls_deterministic(sandbox):
    """torch, random and numpy draws repeat for one seed and change with another."""
    def draws(seed):
        outcome = call(sandbox, "draws", seed=seed)
        assert outcome.ok, outcome
        t, r, a = outcome.value
        return t.tolist(), r, a.tolist()

    first, again, other = draws(1234), draws(1234), draws(99)
    assert first == again
    assert first[0] != other[0] and first[1] != other[1] and first[2] != other[2]


def test_gradients(sandbox):
    """grad={'wrt': ..., 'output': 0} returns the gradients of the chosen scalar output."""
    x = torch.tensor([[1.0, 2.0], [3.0, -1.0]])
    w = torch.tensor([[0.5], [-2.0]])
    outcome = sandbox.call("m", "loss_and_pred", (x, w), grad={"wrt": [[0, 0], [0, 1]], "output": 0})
    assert outcome.ok, outcome
    xr, wr = x.clone().requires_grad_(), w.clone().requires_grad_()
    loss = ((xr @ wr) ** 2).sum()
    gx, gw = torch.autograd.grad(loss, [xr, wr])
    value, pred = outcome.value
    assert torch.allclose(value, loss.detach()) and torch.allclose(pred, (x @ w))
    assert not value.requires_grad and not pred.requires_grad
    assert len(outcome.grads) == 2
    assert torch.allclose(outcome.grads[0], gx) and torch.allclose(outcome.grads[1], gw)


def test_gradients_of_a_detached_output_are_none(sandbox):
    """An output that does not depend on the inputs gives None gradients, not an error."""
    x, w = torch.ones(2, 2), torch.ones(2, 1)
    outcome = sandbox.call("m", "detached_loss", (x, w), grad={"wrt": [[0, 0], [0, 1]], "output": 0})
    assert outcome.ok and outcome.grads == [None, None]


def test_gradient_of_an_integer_argument_is_an_error(sandbox):
    """Asking for the gradient of an int tensor is reported as an error of the call."""
    outcome = sandbox.call("m", "loss_and_pred", (torch.ones(2, 2, dtype=torch.long), torch.ones(2, 1)),
                           grad={"wrt": [[0, 0]], "output": 0})
    assert outcome.status == "error" and "non-float" in outcome.message


def test_child_environment_is_clean(sandbox):
    """The child sees only the sandbox's own environment, none of the grader's variables."""
    outcome = call(sandbox, "environment")
    assert outcome.ok
    env = outcome.value
    assert set(env) <= set(sandbox._env()) | {"PWD", "SHLVL", "_", "LC_CTYPE"}
    assert env["OMP_NUM_THREADS"] == "1" and env["PYTHONHASHSEED"] == "0"
    assert not any(key.startswith(("PYTEST", "CS330", "VIRTUAL_ENV")) for key in env)


def test_work_dir_is_writable(sandbox):
    """The student's code can use its own work folder."""
    outcome = call(sandbox, "workdir_write")
    assert outcome.ok and outcome.value == "ok"


# ---------------------------------------------------------------- processes


def test_background_processes_are_gone_after_the_call(sandbox):
    """A detached `sleep` (Popen with a new session, or fork + setsid + exec) dies with the call."""
    if not sandbox.protections.privilege_separation:
        pytest.skip(f"mode {sandbox.mode} has no sandbox user to sweep: a process that leaves the worker's "
                    "process group with setsid outlives the call (weaker protection of this mode)")
    for function in ("background", "forked_background"):
        tag = f"1000.{uuid.uuid4().int % 10**9}"
        outcome = call(sandbox, function, tag)
        assert outcome.ok, outcome
        assert wait_until(lambda: not processes_with(b"sleep\0" + tag.encode())), f"{function}: sleep {tag} lives"


def test_detached_child_holding_the_result_pipe_does_not_delay_the_call(sandbox):
    """A forked, setsid'd Python child that keeps the result pipe open: the call still returns at once."""
    outcome, elapsed = timed(sandbox, "forked_sleeper")
    assert outcome.status == "ok", outcome
    assert elapsed < LIMITS.call_timeout_s - 0.5
    if not sandbox.protections.privilege_separation:
        # No sweep without the sandbox user. In mode none the pid is a host pid: end our own sleeper;
        # in mode bwrap it lives in the sandbox's pid namespace and dies when the sandbox closes.
        marker = str(sandbox.session / "runtime" / "child.py").encode()
        if "bwrap" not in sandbox.mode and outcome.value in processes_with(marker):
            os.kill(outcome.value, 9)
        return
    uid = sandbox.uid_gid[0]
    marker = str(sandbox.session / "runtime" / "child.py").encode()
    assert wait_until(lambda: not [p for p in processes_with(marker) if uid_of(p) == uid])


def test_fork_bomb_is_contained(sandbox):
    """A fork bomb ends with the call; no process of it is left and later calls work."""
    if not sandbox.protections.privilege_separation:
        pytest.skip(f"mode {sandbox.mode} sets no process limit (RLIMIT_NPROC needs the sandbox user): "
                    "a fork bomb would hit the machine")
    uid = sandbox.uid_gid[0]
    marker = str(sandbox.session / "runtime" / "child.py").encode()
    outcome, elapsed = timed(sandbox, "fork_bomb", timeout_s=1.5)
    assert outcome.status in ("timeout", "error", "crashed"), outcome
    assert elapsed < 1.5 + 5
    assert wait_until(lambda: not [p for p in processes_with(marker) if uid_of(p) == uid])
    assert_works(sandbox)


# ---------------------------------------------------------------- protections, by mode


def test_reported_protections_match_the_mode(sandbox):
    """The protections the sandbox reports are those of its mode."""
    assert sandbox.protections == protections_for(sandbox.mode)
    data = sandbox.protections.as_dict()
    assert data["mode"] == sandbox.mode and isinstance(data["resource_limits"], list)
    assert data["privilege_separation"] == ("uid" in sandbox.mode)
    assert data["private_filesystem"] == data["network_isolated"] == ("bwrap" in sandbox.mode)


def test_child_runs_as_unprivileged_user(sandbox):
    """With privilege separation the child's real and effective uid are the sandbox user's, not root."""
    outcome = call(sandbox, "identity")
    assert outcome.ok
    uid, euid, gid = outcome.value
    if sandbox.protections.privilege_separation:
        assert uid == euid == sandbox.uid_gid[0] != 0
        assert gid == sandbox.uid_gid[1] != 0
    else:
        assert uid == os.getuid()  # documented: runs as the grader's user


@pytest.fixture
def root_secret(tmp_path) -> Path:
    """A grader-only file (0600) the student must not read."""
    path = tmp_path / "secret.txt"
    path.write_text("the golden answer is 42")
    path.chmod(0o600)
    tmp_path.chmod(0o755)
    return path


def test_child_cannot_read_grader_files(sandbox, root_secret):
    """Solutions, tests, golden data and grader-only files are out of the child's reach, per mode."""
    if not (sandbox.protections.private_filesystem or sandbox.protections.privilege_separation):
        pytest.skip(f"mode {sandbox.mode} promises neither a private filesystem nor privilege separation")
    if IS_ROOT:
        assert call(sandbox, "try_read", str(root_secret)).value.startswith("refused")
    if not sandbox.protections.private_filesystem:
        return  # mode uid: world-readable files (solutions included) stay readable
    solution = next(iter(sorted((REPO_ROOT / "solutions").rglob("*.py"))), REPO_ROOT / "solutions")
    targets = [solution, REPO_ROOT / "solutions", REPO_ROOT / "assignments",
               REPO_ROOT / "autograder" / "sandbox.py", root_secret.parent, Path("/root")]
    targets += sorted((REPO_ROOT / "assignments").rglob("golden/*"))[:2]
    for target in targets:
        read = call(sandbox, "try_read", str(target)).value
        assert read.startswith("refused"), (target, read)
        listed = call(sandbox, "try_list", str(target)).value
        assert isinstance(listed, str) or not listed or target == Path("/root"), (target, listed)
    visible = call(sandbox, "try_list", str(REPO_ROOT)).value
    assert "solutions" not in visible and "assignments" not in visible and "autograder" not in visible


def test_child_network_is_isolated(sandbox):
    """With network isolation, connecting to a local server or to 1.1.1.1 fails."""
    if not sandbox.protections.network_isolated:
        pytest.skip(f"mode {sandbox.mode} does not isolate the network (weaker protection of this mode)")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        port = server.getsockname()[1]
        assert call(sandbox, "try_connect", "127.0.0.1", port).value.startswith("refused")
        assert call(sandbox, "try_connect", "1.1.1.1", 53).value.startswith("refused")
        assert call(sandbox, "try_connect", "1.1.1.1", 443).value.startswith("refused")
    finally:
        server.close()


def test_child_cannot_write_outside_its_work_dir(sandbox, tmp_path):
    """Nothing the child writes outside its work folder reaches the grader's filesystem."""
    protections = sandbox.protections
    if not (protections.private_filesystem or protections.privilege_separation):
        pytest.skip(f"mode {sandbox.mode} runs student code as the grader's user with the grader's filesystem")
    tag = uuid.uuid4().hex
    grader_dir = tmp_path / "grader"
    grader_dir.mkdir(mode=0o755)
    tmp_path.chmod(0o755)
    targets = [grader_dir / f"{tag}.txt", Path(sys.prefix) / f"cs330-probe-{tag}.pth",
               REPO_ROOT / f".cs330-probe-{tag}", sandbox.session / "runtime" / "wire.py",
               sandbox.session / f"{tag}.txt"]
    if protections.private_filesystem:
        targets.append(Path("/tmp") / f"cs330-probe-{tag}")  # mode uid: the host /tmp is writable
    runtime_before = (sandbox.session / "runtime" / "wire.py").read_bytes()
    try:
        for target in targets:
            call(sandbox, "try_write", str(target))
        for target in targets:
            if target.name == "wire.py":
                assert target.read_bytes() == runtime_before
            else:
                assert not target.exists(), target
    finally:
        for target in targets:
            if target.name != "wire.py" and target.exists():
                target.unlink()


# ---------------------------------------------------------------- sandbox lifecycle and bugs


def test_close_removes_the_session_and_refuses_calls(student_dir):
    """close() deletes the session folder; calls after it fail clearly."""
    mode = choose_mode("auto")
    sandbox = open_sandbox(student_dir, mode)
    session = sandbox.session
    assert_works(sandbox)
    sandbox.close()
    assert not session.exists()
    with pytest.raises(RuntimeError, match="closed"):
        call(sandbox, "add", 1, 2)


@pytest.mark.skipif(not IS_ROOT, reason="mode uid needs root")
def test_uid_mode_runs_student_calls(student_dir):
    """Mode uid (no bwrap, as root) runs calls, or is refused up front where it cannot work."""
    if not IS_ROOT:
        pytest.skip("mode uid needs root")
    if not sandbox_user_can_read_python():
        with pytest.raises(RuntimeError, match="cannot read this Python"):
            choose_mode("uid")
        assert choose_mode("auto") != "uid"
        return
    sandbox = open_sandbox(student_dir, "uid")
    try:
        outcome = call(sandbox, "add", 1, 2)
        assert outcome.status == "ok" and outcome.value == 3, (outcome.status, outcome.output[-300:])
        assert call(sandbox, "identity").value[0] == sandbox.uid_gid[0]
        outcome = call(sandbox, "boom", 0)
        assert outcome.status == "error" and "child.py" not in outcome.output + outcome.traceback
    finally:
        sandbox.close()


@pytest.mark.parametrize("node", ['{"$int": "x"}', '{"$npscalar": 1}'], ids=["bad-int", "bad-npscalar"])
def test_forged_undecodable_reply_is_bad_value(strongest, node):
    """Garbage written to the result pipe by student code is a bad_value, never a grader exception."""
    tree = '{"tree": {"$dict": [["value", %s], ["grads", null]]}, "sizes": []}' % node
    outcome = call(strongest, "forge", tree)
    assert outcome.status == "bad_value"
    assert_works(strongest)


def test_forged_valid_reply_is_only_data(strongest):
    """A reply forged by student code can only carry data, like a normal return."""
    tree = '{"tree": {"$dict": [["value", {"$int": "7"}], ["grads", null]]}, "sizes": []}'
    outcome = call(strongest, "forge", tree)
    assert outcome.status == "ok" and outcome.value == 7


@pytest.mark.skipif(not IS_ROOT, reason="privilege separation needs root")
def test_closing_one_sandbox_does_not_kill_another(student_dir, sandboxes):
    """Two sandboxes side by side: closing one leaves the other's running call alone."""
    mode = choose_mode("auto")
    if "uid" not in mode:
        pytest.skip("needs a privilege-separated mode")
    busy = sandboxes(mode)
    other = open_sandbox(student_dir, mode)
    assert_works(other)
    result: dict = {}
    worker = threading.Thread(target=lambda: result.setdefault("outcome", call(busy, "nap", 2)))
    worker.start()
    time.sleep(1.0)
    other.close()
    worker.join()
    assert result["outcome"].status == "ok", result["outcome"]
