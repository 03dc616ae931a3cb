"""The sandbox's child runtime: a fork server that runs each student call in a fresh process.

Started by sandbox.py as `python -I child.py CONFIG_JSON`, possibly inside bubblewrap. It imports
torch once, then for every request forks a worker that applies resource limits, drops to the
unprivileged uid, seeds every RNG, imports the student's module afresh, makes the one call and
sends back the result in the wire format. Student code never runs in this server process.

Copied next to wire.py into a runtime folder the child can read: standard library, numpy, torch only.
"""

from __future__ import annotations

import ctypes
import errno
import importlib
import inspect
import io
import json
import os
import random
import resource
import select
import signal
import sys
import tempfile
import time
import traceback
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import numpy.random  # noqa: E402,F401 - numpy imports it lazily; load it before the uid drop
import torch  # noqa: E402
import torch.nn.functional  # noqa: E402,F401

import wire  # noqa: E402

OUTPUT_LIMIT = 64 * 1024
MAX_REPLY = 512 << 20
MEMORY_MARKERS = ("can't allocate memory", "out of memory", "cannot allocate memory")
REPLY_FIELDS = ("status", "message", "traceback", "stage", "type", "module")  # all the grader reads, all strings


def vm_size_mb() -> int:
    """Return this process's virtual memory size in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) // 1024
    return 0


def apply_limits(config: dict, baseline_mb: int) -> None:
    """Apply the per-call resource limits of config to this process."""
    def cap(kind: int, value: int) -> None:
        soft, hard = resource.getrlimit(kind)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value))

    cap(resource.RLIMIT_AS, (baseline_mb + int(config["memory_mb"])) << 20)
    cap(resource.RLIMIT_CPU, int(config["cpu_s"]))
    cap(resource.RLIMIT_NOFILE, int(config["nofile"]))
    cap(resource.RLIMIT_FSIZE, int(config["fsize_mb"]) << 20)
    cap(resource.RLIMIT_CORE, 0)
    if config.get("uid") is not None:
        cap(resource.RLIMIT_NPROC, int(config["nproc"]))


# seccomp for the worker: (audit arch, unshare, clone, clone3, memfd_create, shmget) syscall numbers
SYSCALLS = {"x86_64": (0xC000003E, 272, 56, 435, 319, 29), "aarch64": (0xC00000B7, 97, 220, 435, 279, 194)}
CLONE_NEWUSER = 0x10000000


def restrict_syscalls() -> None:
    """Refuse, for this process and its children, what escapes the memory limit or widens the kernel.

    A new user namespace would make the worker root there: it could mount a tmpfs of any size
    (memory that RLIMIT_AS does not count) and reach kernel code kept from unprivileged users.
    memfd_create and SysV shmget also hold memory outside RLIMIT_AS (shm segments even outlive
    the call). clone3 gets ENOSYS so that libc falls back to clone, whose flags the filter sees.
    """
    arch = SYSCALLS.get(os.uname().machine)
    if arch is None:
        return
    audit, unshare, clone, clone3, memfd_create, shmget = arch
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, refuse, absent = 0x7FFF0000, 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
    program = [
        (ld, 0, 0, 4), (jeq, 1, 0, audit), (ret, 0, 0, refuse),  # another ABI (i386, ...): refuse
        (ld, 0, 0, 0), (jge, 0, 1, 0x40000000), (ret, 0, 0, refuse),  # x32 system calls: refuse
        (jeq, 0, 1, clone3), (ret, 0, 0, absent),
        (jeq, 5, 0, memfd_create), (jeq, 4, 0, shmget),
        (jeq, 1, 0, unshare), (jeq, 0, 3, clone),
        (ld, 0, 0, 16), (jset, 0, 1, CLONE_NEWUSER),  # the flags (first argument, low 32 bits)
        (ret, 0, 0, refuse), (ret, 0, 0, allow),
    ]

    class Filter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                    ("k", ctypes.c_uint)]

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Filter))]

    filters = (Filter * len(program))(*[Filter(*op) for op in program])
    prog = Program(len(program), filters)
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    # PR_SET_NO_NEW_PRIVS, then PR_SET_SECCOMP with SECCOMP_MODE_FILTER
    if prctl(38, 1, None, 0, 0) != 0 or prctl(22, 2, ctypes.addressof(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "could not install the seccomp filter")


def prefer_oom_kill() -> None:
    """Under memory pressure, let the kernel kill the student's processes before the grader's.

    RLIMIT_AS bounds each process, not their sum: with forks a call can use nproc times memory_mb.
    """
    try:
        with open("/proc/self/oom_score_adj", "w") as adj:
            adj.write("1000")
    except OSError:
        pass


def drop_privileges(config: dict) -> None:
    """Switch to the unprivileged sandbox user when one is configured."""
    if config.get("uid") is None:
        return
    os.setgroups([])
    os.setgid(int(config["gid"]))
    os.setuid(int(config["uid"]))


def close_fds(keep: set[int]) -> None:
    """Close every inherited descriptor except keep and the standard streams."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def student_traceback(exc: BaseException, workdir: str) -> str:
    """Format exc with only the frames that come from the submission's files."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(workdir)]
    lines = []
    for frame in frames[-8:]:
        rel = os.path.relpath(frame.filename, workdir)
        lines.append(f'  File "{rel}", line {frame.lineno}, in {frame.name}')
        if frame.line:
            lines.append(f"    {frame.line.strip()}")
    if isinstance(exc, SyntaxError) and exc.filename and exc.filename.startswith(workdir):
        rel = os.path.relpath(exc.filename, workdir)
        lines.append(f'  File "{rel}", line {exc.lineno}')
        if exc.text:
            lines.append(f"    {exc.text.strip()}")
    message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return "\n".join(lines + [message])[:4000]


def error(stage: str, exc: BaseException, workdir: str) -> dict:
    """Describe an exception raised by student code at stage (import, call, ...)."""
    text = f"{type(exc).__name__}: {exc}"
    is_memory = isinstance(exc, MemoryError) or any(m in text.lower() for m in MEMORY_MARKERS)
    return {
        "status": "memory" if is_memory else "error",
        "stage": stage,
        "type": type(exc).__name__,
        "message": str(exc)[:2000],
        "traceback": student_traceback(exc, workdir),
    }


def set_requires_grad(value: Any, paths: list[list]) -> list[torch.Tensor]:
    """Mark the tensors at paths (index paths into value) as requiring grad; return them."""
    leaves = []
    for path in paths:
        node = value
        for key in path:
            node = node[key]
        if not isinstance(node, torch.Tensor) or not node.is_floating_point():
            raise TypeError(f"gradient requested for a non-float argument at {path}")
        node.requires_grad_(True)
        leaves.append(node)
    return leaves


def run_call(request: dict, config: dict) -> dict:
    """Import the student's module and make one call; return the reply dict."""
    workdir = config["workdir"]
    sys.path.insert(0, workdir)
    for name in request.get("preload") or []:  # the submission first, so its errors are named as its own
        try:
            importlib.import_module(name)
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, ModuleNotFoundError) and exc.name == name:
                return {"status": "missing_file", "message": f"{name}.py was not found", "module": name}
            return {**error("import", exc, workdir), "module": name}
    try:
        module = importlib.import_module(request["module"])
    except BaseException as exc:  # noqa: BLE001 - any failure of student code is reported
        if isinstance(exc, ModuleNotFoundError) and exc.name == request["module"]:
            return {"status": "missing_file", "message": f"{request['module']}.py was not found"}
        return error("import", exc, workdir)
    function = getattr(module, request["function"], None)
    if not callable(function):
        return {"status": "missing_function",
                "message": f"{request['module']}.py has no function {request['function']}"}
    args, kwargs = request["args"], request["kwargs"]
    try:
        inspect.signature(function).bind(*args, **kwargs)
    except TypeError as exc:
        call = f"{len(args)} positional argument(s)" + (f" and keyword(s) {', '.join(kwargs)}" if kwargs else "")
        return {"status": "signature",
                "message": f"your {request['function']}{_signature(function)} was called with {call}: {exc}"}
    except ValueError:
        pass
    grad = request.get("grad")
    try:
        leaves = set_requires_grad([args, kwargs], grad["wrt"]) if grad else []
        result = function(*args, **kwargs)
        grads = _gradients(result, leaves, grad) if grad else None
    except BaseException as exc:  # noqa: BLE001
        return error("call", exc, workdir)
    try:
        payload = wire.encode({"value": result, "grads": grads})
    except BaseException as exc:  # noqa: BLE001
        return {"status": "bad_value", "message": str(exc)[:2000]}
    return {"status": "ok", "payload": payload}


def _signature(function: Any) -> str:
    """Return a function's signature as text, or '(...)'."""
    try:
        return str(inspect.signature(function))
    except (TypeError, ValueError):
        return "(...)"


def _gradients(result: Any, leaves: list[torch.Tensor], grad: dict) -> list:
    """Backpropagate the selected scalar output and return the leaves' gradients."""
    output = result if grad.get("output") is None else result[grad["output"]]
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"expected a tensor output to differentiate, got {type(output).__name__}")
    if output.numel() != 1:
        raise TypeError(f"expected a scalar output to differentiate, got shape {tuple(output.shape)}")
    if not output.requires_grad:
        return [None for _ in leaves]
    grads = torch.autograd.grad(output.reshape(()), leaves, allow_unused=True)
    return [None if g is None else g.detach() for g in grads]


def worker(request: dict, config: dict, baseline_mb: int, result_fd: int, output_fd: int) -> None:
    """Body of the forked worker process: limits, privilege drop, one call, exit."""
    try:
        os.setsid()
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        close_fds({result_fd})
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", buffering=0), write_through=True)
        sys.stderr = sys.stdout
        os.chdir(config["workdir"])
        apply_limits(config, baseline_mb)
        prefer_oom_kill()
        drop_privileges(config)
        try:
            restrict_syscalls()
        except OSError:
            pass  # defence in depth only: a kernel or container that refuses seccomp still grades
        torch.set_num_threads(int(config["threads"]))
        seed_everything(int(request["seed"]))
    except BaseException as exc:  # noqa: BLE001 - the sandbox itself failed: say so, never run the call
        send_reply(result_fd, {"status": "sandbox_error",
                               "message": f"the sandbox could not prepare the call: {type(exc).__name__}: {exc}"}, b"")
        os._exit(0)
    try:
        reply = run_call(request, config)
        payload = reply.pop("payload", b"")
        send_reply(result_fd, reply, payload)
    finally:
        os._exit(0)


def send_reply(result_fd: int, reply: dict, payload: bytes) -> None:
    """Write the worker's reply and payload frames to the result pipe."""
    with os.fdopen(result_fd, "wb") as out:
        wire.write_frame(out, json.dumps(reply).encode())
        wire.write_frame(out, payload)


def sweep(config: dict, pgid: int) -> None:
    """Kill the worker's process group and, as the sandbox user, every process left behind."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
    if config.get("uid") is None:
        return
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(int(config["gid"]))
            os.setuid(int(config["uid"]))
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def collect(pid: int, result_r: int, deadline: float) -> tuple[bytes, int | None, bool]:
    """Read the worker's reply until EOF or deadline; return (data, wait status, timed out)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"".join(chunks), None, True
        ready, _, _ = select.select([result_r], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(result_r, 1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_REPLY:
                return b"", None, False
            chunks.append(chunk)
            if reply_complete(b"".join(chunks)):
                break  # a background process may still hold the pipe open: do not wait for EOF
    remaining = max(deadline - time.monotonic(), 0.0) + 1.0
    while remaining > 0:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return b"".join(chunks), status, False
        time.sleep(0.01)
        remaining -= 0.01
    return b"".join(chunks), None, True


def reply_complete(data: bytes) -> bool:
    """True when data holds the worker's two frames (reply and payload)."""
    offset = 0
    for _ in range(2):
        if len(data) < offset + 8:
            return False
        offset += 8 + int.from_bytes(data[offset:offset + 8], "big")
    return len(data) >= offset


def read_output(output_fd: int) -> str:
    """Return the first OUTPUT_LIMIT bytes the worker printed."""
    os.lseek(output_fd, 0, os.SEEK_SET)
    data = os.read(output_fd, OUTPUT_LIMIT + 1)
    text = data[:OUTPUT_LIMIT].decode("utf-8", errors="replace")
    return text + ("\n[output truncated]" if len(data) > OUTPUT_LIMIT else "")


def serve_one(request: dict, config: dict, baseline_mb: int, out: Any) -> None:
    """Fork a worker for one request, supervise it, and report to the grader."""
    result_r, result_w = os.pipe()
    output_fd, output_path = tempfile.mkstemp(dir=config["private_tmp"])
    os.unlink(output_path)
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(result_r)
        worker(request, config, baseline_mb, result_w, output_fd)
    os.close(result_w)
    wire.write_frame(out, json.dumps({"event": "started", "pid": pid}).encode())
    data, status, timed_out = collect(pid, result_r, started + float(request["timeout_s"]))
    os.close(result_r)
    sweep(config, pid)
    if status is None:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            status = 0
    reply = interpret(data, status, timed_out)
    reply["event"] = "done"
    reply["duration_s"] = round(time.monotonic() - started, 3)
    reply["output"] = read_output(output_fd)
    os.close(output_fd)
    payload = reply.pop("payload", b"")
    wire.write_frame(out, json.dumps(reply).encode())
    wire.write_frame(out, payload)


def interpret(data: bytes, status: int | None, timed_out: bool) -> dict:
    """Turn the worker's raw reply and exit status into a reply dict."""
    if timed_out:
        return {"status": "timeout"}
    try:
        stream = io.BytesIO(data)
        reply = json.loads(wire.read_frame(stream).decode())
        payload = wire.read_frame(stream)
        if not isinstance(reply, dict) or not isinstance(reply.get("status"), str):
            raise ValueError("malformed reply")
        # student code can write this reply itself: pass on only the known string fields
        reply = {key: reply[key] for key in REPLY_FIELDS if isinstance(reply.get(key), str)}
        reply["payload"] = payload
        return reply
    except (EOFError, ValueError, RecursionError):  # a reply nested too deep must not end the server
        pass
    if status is not None and os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return {"status": "timeout", "message": "CPU time limit exceeded"}
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return {"status": "crashed", "message": f"the process was killed by signal {name}", "signal": sig}
    code = os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else None
    return {"status": "exited", "message": f"the process exited with code {code} before returning", "code": code}


def main() -> None:
    """Serve requests from the grader on stdin until it closes."""
    config = json.loads(sys.argv[1])
    torch.set_num_threads(int(config["threads"]))
    os.makedirs(config["private_tmp"], exist_ok=True)
    baseline_mb = vm_size_mb()
    inp = os.fdopen(0, "rb", buffering=0)
    out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    wire.write_frame(out, json.dumps({"event": "ready", "torch": torch.__version__}).encode())
    while True:
        try:
            request = wire.decode(wire.read_frame(inp))
        except EOFError:
            return
        serve_one(request, config, baseline_mb, out)


if __name__ == "__main__":
    main()
