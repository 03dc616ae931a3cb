"""Run untrusted student functions in a child process with limits, and get plain data back.

`Sandbox` prepares a private session folder (the submission's files in a scratch `work/` folder
and the child runtime in `runtime/`), starts the fork server of child.py (inside bubblewrap when it
works, so the child sees neither solutions nor golden data nor the network), and makes one call per
`call()`: each call runs in a fresh process as an unprivileged user (when the grader is root),
under memory, CPU, file and process limits, with a wall-clock timeout enforced by killing it.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import select
import shutil
import signal
import site
import stat
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

SANDBOX_UID = 64330  # first of UID_SLOTS unprivileged uids, one per running sandbox
UID_SLOTS = 64
SANDBOX_USER = "cs330-sandbox"
START_TIMEOUT_S = 120.0
GRACE_S = 10.0
RUNTIME_FILES = ("child.py", "wire.py")
# Cleans up after a grader that dies without close() (grading.py SIGKILLs pytest at the total time
# limit): waits for EOF on stdin, then kills the sandbox user's processes and removes the session.
# It holds the uid slot's lock until it is done, so no other sandbox gets the uid meanwhile.
WATCHDOG = """\
import os, shutil, signal, sys
session, uid, gid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if not os.read(0, 1):
    if uid >= 0:
        pid = os.fork()
        if pid == 0:
            try:
                os.setgroups([]); os.setgid(gid); os.setuid(uid); os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
    shutil.rmtree(session, ignore_errors=True)
"""


@dataclass(frozen=True)
class Limits:
    """Per-call resource limits for student code."""

    call_timeout_s: float = 30.0
    memory_mb: int = 512
    threads: int = 1
    nofile: int = 256
    nproc: int = 64
    fsize_mb: int = 64


@dataclass(frozen=True)
class Protections:
    """Which isolation mechanisms are active, as reported in results.json."""

    mode: str
    privilege_separation: bool
    private_filesystem: bool
    network_isolated: bool
    resource_limits: tuple[str, ...] = ("memory", "cpu_time", "open_files", "file_size", "wall_clock")

    def as_dict(self) -> dict:
        """Return the protections as a JSON-able dict."""
        data = asdict(self)
        data["resource_limits"] = list(self.resource_limits)
        return data


@dataclass
class CallOutcome:
    """What one sandboxed call produced: a value or a described failure."""

    status: str
    value: Any = None
    grads: list | None = None
    message: str = ""
    traceback: str = ""
    output: str = ""
    duration_s: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the call returned a value."""
        return self.status == "ok"


@functools.lru_cache(maxsize=None)
def bwrap_works(as_root: bool) -> bool:
    """Return True when bubblewrap can create the namespaces the sandbox uses here."""
    if shutil.which("bwrap") is None:
        return False
    cmd = ["bwrap", "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--die-with-parent"]
    if as_root:
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    try:
        return subprocess.run(cmd + ["true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def choose_mode(requested: str = "auto") -> str:
    """Pick the strongest isolation mode that works here: bwrap+uid, bwrap, uid or none."""
    requested = os.environ.get("CS330_SANDBOX", requested)
    root = os.geteuid() == 0
    if requested == "auto":
        if bwrap_works(root):
            return "bwrap+uid" if root else "bwrap"
        return "uid" if root and uid_can_run_python() else "none"
    valid = {"bwrap+uid", "bwrap", "uid", "none"}
    if requested not in valid:
        raise ValueError(f"CS330_SANDBOX must be one of {sorted(valid)} or auto, not {requested!r}")
    if "uid" in requested and not root:
        raise PermissionError(f"sandbox mode {requested} needs the grader to run as root")
    if "bwrap" in requested and not bwrap_works(root):
        raise RuntimeError("bubblewrap does not work here; install it (apt-get install bubblewrap)")
    if requested == "uid" and not uid_can_run_python():
        raise RuntimeError(f"the sandbox uid cannot read this Python ({sys.prefix}); install Python "
                           "where every user can read it, or use bubblewrap")
    return requested


def protections_for(mode: str) -> Protections:
    """Describe what a sandbox mode protects."""
    return Protections(
        mode=mode,
        privilege_separation="uid" in mode,
        private_filesystem="bwrap" in mode,
        network_isolated="bwrap" in mode,
    )


@functools.lru_cache(maxsize=None)
def warn_if_unprivileged(mode: str) -> None:
    """Say once per process, on stderr, that privilege separation is off in this mode."""
    if "uid" not in mode:
        print("cs330: warning: student code runs as your own user (privilege separation is off: "
              "grade as root or in the container for that); time and memory limits still apply. "
              f"Sandbox mode: {mode}.", file=sys.stderr)


def acquire_uid_slot() -> tuple[int, int, IO[str]]:
    """Lock a sandbox uid that no other running sandbox on this machine uses.

    Returns (uid, gid, lock); the uid is free again when the lock is closed. Separate uids let
    concurrent graders kill their own leftover processes without touching each other's.
    """
    lock_dir = Path(tempfile.gettempdir()) / "cs330-uid-locks"
    lock_dir.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(lock_dir)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise RuntimeError(f"{lock_dir} must be a private folder owned by the grader; remove it")
    for slot in range(UID_SLOTS):
        lock = open(lock_dir / f"{slot}.lock", "a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        return SANDBOX_UID + slot, SANDBOX_UID + slot, lock
    raise RuntimeError(f"all {UID_SLOTS} sandbox uids are in use")


@functools.lru_cache(maxsize=None)
def uid_can_run_python(uid: int = SANDBOX_UID) -> bool:
    """True when an unprivileged uid can read this interpreter's standard library and packages."""
    import numpy

    folders = [os.path.dirname(os.__file__), os.path.dirname(numpy.__file__)]
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            for folder in folders:
                os.listdir(folder)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def python_paths() -> list[str]:
    """Folders the child's interpreter needs to read (prefixes and site-packages)."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages()}
    exe = os.path.realpath(sys.executable)
    paths.add(os.path.dirname(os.path.dirname(exe)))
    keep = sorted(p for p in paths if os.path.isdir(p) and not p.startswith("/usr/"))
    return [p for p in keep if not any(p != q and p.startswith(q + "/") for q in keep)]


def bwrap_command(session: Path, as_root: bool) -> list[str]:
    """The bubblewrap prefix that gives the child a private, read-only view of the system."""
    cmd = ["bwrap", "--die-with-parent", "--new-session", "--unshare-net", "--unshare-pid",
           "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            cmd += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            cmd += ["--ro-bind", top, top]
    cmd += ["--ro-bind", "/etc", "/etc", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    binds = [("--ro-bind", p) for p in python_paths()]
    binds += [("--ro-bind", str(session / "runtime")), ("--bind", str(session / "work"))]
    made: set[str] = {"/", "/tmp", "/usr", "/etc"}
    for kind, path in binds:
        for parent in reversed(Path(path).parents):
            if str(parent) not in made:
                cmd += ["--perms", "0755", "--dir", str(parent)]
                made.add(str(parent))
        cmd += [kind, path, path]
    cmd += ["--chdir", str(session / "work")]
    if as_root:
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_KILL"]
    return cmd


class Sandbox:
    """A fork server for one submission; `call` runs one student function in a fresh child."""

    def __init__(self, files: dict[str, Path], limits: Limits = Limits(), mode: str = "auto") -> None:
        self.limits = limits
        self.mode = choose_mode(mode)
        self.protections = protections_for(self.mode)
        self._uid_lock: IO[str] | None = None
        self.uid_gid: tuple[int, int] | None = None
        if self.protections.privilege_separation:
            uid, gid, self._uid_lock = acquire_uid_slot()
            self.uid_gid = (uid, gid)
        self.session = Path(tempfile.mkdtemp(prefix="cs330-sandbox-"))
        self.workdir = self.session / "work"
        self._proc: subprocess.Popen | None = None
        self._buffer = b""
        uid, gid = self.uid_gid or (-1, -1)
        self._watchdog = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", WATCHDOG, str(self.session), str(uid), str(gid)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, pass_fds=(self._uid_lock.fileno(),) if self._uid_lock else (),
        )
        self._prepare(files)

    def _prepare(self, files: dict[str, Path]) -> None:
        """Lay out runtime/ and work/ in the session folder with the right owners."""
        os.chmod(self.session, 0o711)
        runtime = self.session / "runtime"
        runtime.mkdir(mode=0o755)
        here = Path(__file__).parent
        for name in RUNTIME_FILES:
            shutil.copyfile(here / name, runtime / name)
            os.chmod(runtime / name, 0o644)
        self.workdir.mkdir(mode=0o700)
        (self.workdir / "tmp").mkdir()
        for name, source in files.items():
            target = self.workdir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        if self.uid_gid:
            for path in [self.workdir, *self.workdir.rglob("*")]:
                os.lchown(path, *self.uid_gid)

    def _config(self) -> dict:
        """The child runtime's configuration."""
        in_bwrap = "bwrap" in self.mode
        return {
            "workdir": str(self.workdir),
            "private_tmp": "/tmp/cs330-private" if in_bwrap else str(self.session / "private"),
            "uid": self.uid_gid[0] if self.uid_gid else None,
            "gid": self.uid_gid[1] if self.uid_gid else None,
            "memory_mb": self.limits.memory_mb,
            "cpu_s": int(self.limits.call_timeout_s) + 2,
            "threads": self.limits.threads,
            "nofile": self.limits.nofile,
            "nproc": self.limits.nproc,
            "fsize_mb": self.limits.fsize_mb,
        }

    def _env(self) -> dict[str, str]:
        """A clean environment for the child: no grader variables, fixed threads and hashing."""
        threads = str(self.limits.threads)
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.workdir),
            "TMPDIR": "/tmp" if "bwrap" in self.mode else str(self.workdir / "tmp"),
            "LANG": "C.UTF-8",
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            "OMP_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads,
            "OPENBLAS_NUM_THREADS": threads,
            "MPLBACKEND": "Agg",
            "USER": SANDBOX_USER,
            "LOGNAME": SANDBOX_USER,
        }

    def _start(self) -> None:
        """Start the fork server and wait until it has imported torch."""
        if not self.session.exists():
            raise RuntimeError("sandbox already closed")
        if "bwrap" not in self.mode:
            (self.session / "private").mkdir(mode=0o700, exist_ok=True)
        prefix = bwrap_command(self.session, os.geteuid() == 0) if "bwrap" in self.mode else []
        cmd = prefix + [sys.executable, "-s", str(self.session / "runtime" / "child.py"),
                        json.dumps(self._config())]
        self._log = open(self.session / "child.log", "wb")
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            env=self._env(), cwd=self.workdir, start_new_session=True, close_fds=True,
        )
        self._buffer = b""
        try:
            ready = self._read_json(time.monotonic() + START_TIMEOUT_S)
        except (EOFError, TimeoutError, ValueError) as exc:
            self._kill()
            raise RuntimeError(f"the sandbox failed to start ({exc}): {self._log_tail()}") from None
        if ready.get("event") != "ready":
            self._kill()
            raise RuntimeError(f"the sandbox sent {ready!r} instead of ready")

    def _log_tail(self) -> str:
        """The last lines the child runtime wrote to its log."""
        try:
            return (self.session / "child.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def _read_exact(self, size: int, deadline: float) -> bytes:
        """Read size bytes from the fork server before deadline."""
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while len(self._buffer) < size:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from the sandbox in time")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise EOFError("the sandbox process ended unexpectedly")
                self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _read_frame(self, deadline: float) -> bytes:
        """Read one length-prefixed frame before deadline."""
        (size,) = struct.unpack(">Q", self._read_exact(8, deadline))
        if size > 1 << 30:
            raise ValueError("oversized frame from the sandbox")
        return self._read_exact(size, deadline)

    def _read_json(self, deadline: float) -> dict:
        """Read one JSON frame before deadline."""
        value = json.loads(self._read_frame(deadline).decode())
        if not isinstance(value, dict):
            raise ValueError("malformed message from the sandbox")
        return value

    def call(self, module: str, function: str, args: tuple = (), kwargs: dict | None = None,
             seed: int = 0, grad: dict | None = None, timeout_s: float | None = None,
             preload: tuple[str, ...] = ()) -> CallOutcome:
        """Run module.function(*args, **kwargs) in a fresh sandboxed process (importing preload first)."""
        from autograder import wire  # imported here so `cs330` starts without loading torch

        timeout = float(timeout_s or self.limits.call_timeout_s)
        request = {"module": module, "function": function, "args": list(args),
                   "kwargs": dict(kwargs or {}), "seed": int(seed), "grad": grad, "timeout_s": timeout,
                   "preload": list(preload)}
        if self._proc is None or self._proc.poll() is not None:
            self._start()
        assert self._proc is not None and self._proc.stdin is not None
        deadline = time.monotonic() + timeout + GRACE_S
        try:
            wire.write_frame(self._proc.stdin, wire.encode(request))
            self._read_json(deadline)  # "started"
            reply = self._read_json(deadline)
            payload = self._read_frame(deadline)
        except TimeoutError:
            self._kill()
            return CallOutcome("timeout", message=f"no result within {timeout:g} s")
        except (EOFError, BrokenPipeError, ValueError, OSError, RecursionError) as exc:
            self._kill()  # also when a frame was unreadable: the next call must not read its leftovers
            return CallOutcome("worker_lost", message=f"the sandbox process died during the call ({exc})")
        return self._outcome(reply, payload, timeout, grad)

    def _outcome(self, reply: dict, payload: bytes, timeout: float, grad: dict | None = None) -> CallOutcome:
        """Build a CallOutcome from the fork server's reply."""
        def text(key: str, limit: int = 4000) -> str:
            value = reply.get(key, "")
            return value[:limit] if isinstance(value, str) else ""

        status = text("status", 40) or "worker_lost"
        outcome = CallOutcome(status, message=text("message"), traceback=text("traceback"),
                              output=text("output", 70_000), duration_s=_seconds(reply.get("duration_s")),
                              extra={"stage": text("stage", 20), "type": text("type", 100)})
        if text("module", 100):
            outcome.extra["module"] = text("module", 100)  # the preloaded module that failed
        if status == "timeout" and not outcome.message:
            outcome.message = f"exceeded the time limit of {timeout:g} s"
        if status == "memory" and not outcome.message:
            outcome.message = f"exceeded the memory limit of {self.limits.memory_mb} MB"
        if status == "ok":
            from autograder import wire

            try:
                decoded = wire.decode(payload)
                outcome.value, outcome.grads = decoded["value"], decoded["grads"]
            except (wire.WireError, KeyError, TypeError, IndexError) as exc:
                return CallOutcome("bad_value", message=f"the returned value could not be read: {exc}")
            # student code can write the reply itself: tests rely on one gradient (or None) per wrt
            grads, wanted = outcome.grads, len(grad["wrt"]) if grad else None
            if wanted is None:
                matches = grads is None
            else:
                matches = type(grads) is list and len(grads) == wanted and \
                    all(g is None or isinstance(g, wire.torch.Tensor) for g in grads)
            if not matches:
                return CallOutcome("bad_value", message="the gradients sent back do not match the request")
        return outcome

    def _kill(self) -> None:
        """Kill the fork server, its process group and anything the sandbox user left."""
        if self._proc is not None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self._proc.kill()
            self._proc.wait()
            for stream in (self._proc.stdin, self._proc.stdout):
                if stream:
                    stream.close()
            self._proc = None
        if self.uid_gid:
            kill_user_processes(*self.uid_gid)

    def close(self) -> None:
        """Stop the fork server and delete the session folder."""
        self._kill()
        shutil.rmtree(self.session, ignore_errors=True)
        if self._watchdog.poll() is None:
            try:
                self._watchdog.communicate(b"x", timeout=10)  # done here: it exits without acting
            except (OSError, subprocess.TimeoutExpired):
                self._watchdog.kill()
                self._watchdog.wait()
        if self._uid_lock is not None:
            self._uid_lock.close()
            self._uid_lock = None

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _seconds(value: Any) -> float:
    """A duration from the child's reply, or 0.0 when it is not a number."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def kill_user_processes(uid: int, gid: int) -> None:
    """Kill every process that runs as the sandbox user."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
