"""Attack corpus: hostile hw4_protonet submissions score 0 and cannot hurt the grader.

Each file in tests/attacks/hw4_protonet/ holds one attack: a docstring saying what it does and what
it should get, then the code that runs at import time and/or the graded functions it redefines. The
submission is the reference solution with the attack appended (later definitions win), so every
function the attack leaves alone is correct. Every attack is graded exactly as on Gradescope: `run_autograder`
from the built autograder zip, unpacked into a private AUTOGRADER_ROOT, as root, so student code
runs as an unprivileged sandbox uid (inside bubblewrap where it works). For each attack:

- the tests it targets score 0, and the tests of the functions it leaves alone score full points
  (so a correct submission that also attacks earns exactly its correct functions' points);
- every targeted test says what went wrong (one of the attack's phrases);
- run_autograder exits 0 and results.json is valid and complete (every manifest test);
- nothing outside the submission's scratch folder changed: the unpacked autograder (source/,
  results/ apart from the grader's own results.json, submission/), the repository's solutions/,
  assignments/ and starter_code/; no file owned by a sandbox uid appeared under /tmp, /var/tmp,
  /dev/shm or /work, and no process of a sandbox uid is left running.

The corpus lives in tests/ only and never ships (checked against both zips). Attacks run a few at
a time (most of their time is spent waiting on time limits); those that hang get short limits.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder.assignment import REPO_ROOT, load_assignment
from autograder.build import build
from autograder.results import totals, validate
from autograder.sandbox import SANDBOX_UID, UID_SLOTS, bwrap_works, choose_mode

HW = "hw4_protonet"
ATTACKS = Path(__file__).parent / "attacks" / HW
SANDBOX_UIDS = range(SANDBOX_UID, SANDBOX_UID + UID_SLOTS)
SCAN_ROOTS = ("/tmp", "/var/tmp", "/dev/shm", "/work")
SESSION_PREFIX = str(Path(tempfile.gettempdir()) / "cs330-sandbox-")
REPO_TREES = (f"solutions/{HW}", f"assignments/{HW}", f"starter_code/{HW}")
HANG = {"call_timeout_s": 3, "test_timeout_s": 10}  # for attacks that hang (the real limits are 20 and 60)
WORKERS = 3  # attacks graded at once: most of an attack's time is spent waiting on a limit
SETTLE_S = 10.0  # how long leftovers may take to disappear after run_autograder returns

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the attack corpus runs as root, as Gradescope does"),
]

MANIFEST = json.loads((REPO_ROOT / "assignments" / HW / "golden" / "manifest.json").read_text())["tests"]
WEIGHTS = {t["nodeid"]: float(t["weight"]) for t in MANIFEST}
GROUP_OF_PREFIX = {"test_prototypes": "prototypes", "test_distances": "distances", "test_logits": "logits",
                   "test_loss": "loss", "test_sample_episode": "sample"}


def group_of(nodeid: str) -> str:
    """The graded function a test exercises first (protonet_loss tests also run the other three)."""
    name = nodeid.split("::")[1]
    return next(g for prefix, g in GROUP_OF_PREFIX.items() if name.startswith(prefix))


PROTO, DIST, LOGITS, LOSS, SAMPLE = "prototypes", "distances", "logits", "loss", "sample"
ALL = frozenset(GROUP_OF_PREFIX.values())
# What an attack in one function reaches: protonet_loss calls compute_prototypes and protonet_logits,
# which calls squared_euclidean_distances.
IN_PROTOTYPES = frozenset({PROTO, LOSS})
IN_DISTANCES = frozenset({DIST, LOGITS, LOSS})
IN_LOGITS = frozenset({LOGITS, LOSS})
IN_SAMPLE = frozenset({SAMPLE})
WRONG_VALUES = ("differs from the reference", "differentiable", "accuracy is")


@dataclass(frozen=True)
class Spec:
    """What an attack targets and how its targeted tests must fail."""

    targets: frozenset[str]
    phrases: tuple[str, ...]  # every targeted test's output holds one of these
    limits: dict = field(default_factory=dict)  # assignment.toml [limits] overrides
    wait_s: float = 0.0  # time given to background processes before results.json is compared again
    must_show: tuple[str, ...] = ()  # phrases that must appear in some targeted test's output
    printed_only: bool = False  # its "cs330atk" text is only ever printed (never in an exception)


SPECS: dict[str, Spec] = {
    "a01_forge_results": Spec(ALL, ("ended the process instead of returning",)),
    "a02_sys_exit_at_import": Spec(ALL, ("importing protonet.py failed",), must_show=("SystemExit",)),
    "a03_os_exit_in_call": Spec(IN_PROTOTYPES, ("ended the process instead of returning",)),
    "a04_kill_parent": Spec(IN_DISTANCES, ("cs330atk still alive",),
                            must_show=("parent: PermissionError", "pid 1: PermissionError")),
    "a05_read_secrets": Spec(IN_PROTOTYPES, ("cs330atk found nothing",)),
    "a06_monkeypatch": Spec(IN_PROTOTYPES, WRONG_VALUES, must_show=("differs from the reference",)),
    "a07_always_equal": Spec(IN_PROTOTYPES | IN_DISTANCES, ("cannot accept", "raised an exception"),
                             must_show=("returned a value the grader cannot accept",)),
    "a08_torch_function": Spec(IN_DISTANCES, WRONG_VALUES, must_show=("differs from the reference",)),
    "a09_requires_grad": Spec(IN_LOGITS, WRONG_VALUES + ("ended the process instead of returning",),
                              must_show=("differs from the reference", "ended the process")),
    "a10_lazy_proxy": Spec(IN_SAMPLE, ("cannot accept",)),
    "a11_introspection": Spec(IN_PROTOTYPES, ("cs330atk found nothing",)),
    "a12_import_infinite_loop": Spec(ALL, ("did not finish within the time limit", "total time limit",
                                           "produced no result", "ran out of its"),
                                     limits={**HANG, "total_timeout_s": 15}),
    "a13_call_infinite_loop": Spec(IN_SAMPLE, ("did not finish within the time limit", "ran out of its"),
                                   limits=HANG),
    "a14_sleep_past_limit": Spec(IN_LOGITS, ("did not finish within the time limit", "ran out of its"),
                                 limits=HANG),
    "a15_memory_bomb": Spec(IN_PROTOTYPES, ("exceeded the memory limit", "crashed"), limits=HANG),
    "a16_fork_bomb": Spec(IN_DISTANCES, ("cs330atk fork bomb", "did not finish within the time limit",
                                         "ran out of its", "crashed"), limits=HANG, wait_s=2),
    "a17_huge_file": Spec(IN_LOGITS, ("cs330atk huge files",),
                          must_show=("./cs330atk-huge.bin: 64 MiB then", "/tmp/cs330atk-huge.bin: 0 MiB then")),
    "a18_many_files": Spec(IN_SAMPLE, ("cs330atk many files",), must_show=("Too many open files",)),
    "a19_network": Spec(IN_PROTOTYPES, ("cs330atk network unreachable",)),
    "a20_fake_grader_output": Spec(IN_SAMPLE, ("invalid episode",), printed_only=True),
    "a21_tamper_files": Spec(IN_PROTOTYPES, WRONG_VALUES),
    "a22_background_writer": Spec(IN_PROTOTYPES, WRONG_VALUES, wait_s=4),
    "a23_correct_but_sneaky": Spec(frozenset(), (), wait_s=4),
    "a24_forged_reply": Spec(IN_PROTOTYPES | IN_DISTANCES,
                             WRONG_VALUES + ("ended the process instead of returning", "should return a tuple",
                                             "raised an exception", "cannot accept"),
                             must_show=("differs from the reference", "ended the process instead of returning",
                                        "gradients sent back do not match")),
    "a25_user_namespace": Spec(IN_DISTANCES, ("cs330atk contained",),
                               must_show=("unshare: Operation not permitted", "clone3: Function not implemented",
                                          "unshare(1): exit 1")),
    "a26_memory_outside_limit": Spec(IN_SAMPLE, ("cs330atk contained",), limits={"memory_mb": 128},
                                     must_show=("memfd_create: Operation not permitted after 0",
                                                "shmget: Operation not permitted", "/dev/shm: Permission denied")),
}


# ------------------------------------------------------------------------------------ snapshots


def file_state(path: Path) -> tuple:
    """What must not change about an entry: content (files) or target (links), mtime, owner and mode."""
    info = os.lstat(path)
    if stat.S_ISREG(info.st_mode):
        content, mtime = hashlib.sha256(path.read_bytes()).hexdigest(), info.st_mtime_ns
    else:  # a folder's entries are compared one by one; its mtime follows them
        content, mtime = (os.readlink(path) if stat.S_ISLNK(info.st_mode) else "folder"), 0
    return content, mtime, info.st_uid, info.st_gid, info.st_mode


def snapshot(top: Path, skip: frozenset[str] = frozenset()) -> dict[str, tuple]:
    """file_state of every entry under top (relative paths), except those in skip and caches."""
    states = {}
    if not top.exists():
        return states
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if d not in ("__pycache__", ".pytest_cache")]
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(top))
            if rel not in skip:
                states[rel] = file_state(path)
    return states


def changes(before: dict[str, tuple], after: dict[str, tuple], where: str,
            tolerate_rewrites: bool = False) -> list[str]:
    """Entries added, removed or changed between two snapshots.

    tolerate_rewrites (the shared repository only): a file rewritten by root with identical bytes,
    owner and mode is not a change. Other developers' `cs330 build` regenerates starter_code/ (and
    `cs330 demo` the golden data) with the same content while this suite runs; a sandbox uid can
    write neither (they are root's, 0644), and identical bytes could not help an attacker anyway.
    """
    found = []
    for rel in sorted(set(before) | set(after)):
        old, new = before.get(rel), after.get(rel)
        if old == new:
            continue
        if old and new and tolerate_rewrites and old[0] == new[0] and old[2:] == new[2:] and new[2] == 0:
            continue
        what = "added" if old is None else "removed" if new is None else "changed"
        found.append(f"{where}/{rel} {what}")
    return found


def repo_snapshot() -> dict[str, dict[str, tuple]]:
    """The repository's trees an attack might try to reach."""
    return {tree: snapshot(REPO_ROOT / tree) for tree in REPO_TREES}


def sandbox_owned_files() -> set[str]:
    """Every path under SCAN_ROOTS owned by a sandbox uid or group."""
    found = set()
    for top in SCAN_ROOTS:
        for dirpath, dirnames, filenames in os.walk(top):
            if dirpath in ("/work/.library", "/work/shared"):
                dirnames[:] = []  # read-only mounts
                continue
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                if info.st_uid in SANDBOX_UIDS or info.st_gid in SANDBOX_UIDS:
                    found.add(path)
    return found


@dataclass
class Process:
    pid: int
    uids: tuple[int, ...]
    cmdline: str
    refs: list[str]  # cwd, command line and open files

    def sessions(self) -> set[str]:
        return {m.group(0) for ref in self.refs for m in SESSION_RE.finditer(ref)}


SESSION_RE = re.compile(re.escape(SESSION_PREFIX) + r"[A-Za-z0-9_]+")


def processes() -> list[Process]:
    """Every running process on the machine (zombies apart), with what it refers to."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as handle:
                status = dict(line.split(":", 1) for line in handle if ":" in line)
            if status["State"].split()[0] in ("Z", "X"):
                continue
            uids = tuple(int(u) for u in status["Uid"].split())
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
            refs = [cmdline]
            for link in ("cwd", "root"):
                try:
                    refs.append(os.readlink(f"/proc/{name}/{link}"))
                except OSError:
                    pass
            try:
                for fd in os.listdir(f"/proc/{name}/fd"):
                    try:
                        refs.append(os.readlink(f"/proc/{name}/fd/{fd}"))
                    except OSError:
                        pass
            except OSError:
                pass
        except (OSError, KeyError, ValueError):
            continue
        found.append(Process(int(name), uids, cmdline, refs))
    return found


def is_sandboxed(proc: Process) -> bool:
    return any(u in SANDBOX_UIDS for u in proc.uids)


def live_sessions(procs: list[Process]) -> set[str]:
    """Sandbox session folders that a grader-side (non-sandbox) process still uses.

    Other developers' graders run at the same time as this suite; their sessions, and the processes
    and files inside them, are theirs. A session only a sandbox uid still refers to is a leftover.
    """
    live = set()
    for proc in procs:
        if not is_sandboxed(proc):
            live |= {s for s in proc.sessions() if os.path.isdir(s)}
    return live


def leftovers(files_before: set[str], pids_before: set[int]) -> tuple[list[str], list[str]]:
    """Files and processes of a sandbox uid that outlived their grading run (polls up to SETTLE_S)."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        procs = processes()
        live = live_sessions(procs)
        in_live = lambda path: any(path == s or path.startswith(s + "/") for s in live)  # noqa: E731
        files = sorted(f for f in sandbox_owned_files() - files_before if not in_live(f))
        stray = [f"pid {p.pid} uids {p.uids}: {p.cmdline[:300]}" for p in procs
                 if is_sandboxed(p) and p.pid not in pids_before and not p.sessions() & live]
        if (not files and not stray) or time.monotonic() > deadline:
            return files, stray
        time.sleep(0.5)


class Listener:
    """A TCP listener on 127.0.0.1 that records every connection it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(f"{peer}")
            conn.close()

    def close(self) -> list[str]:
        self._stop.set()
        self._thread.join()
        self.sock.close()
        return self.accepted


# ------------------------------------------------------------------------------------ grading


@dataclass
class Graded:
    """Everything observed while grading one attack."""

    name: str
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    results: dict | None = None
    seconds: float = 0.0
    changed: list[str] = field(default_factory=list)  # outside the scratch folder
    stray_files: list[str] = field(default_factory=list)
    stray_processes: list[str] = field(default_factory=list)
    connections: list[str] = field(default_factory=list)
    results_rewritten: bool = False  # results.json changed after run_autograder returned
    error: str = ""  # the harness itself failed


def unpack(zip_path: Path, root: Path, limits: dict) -> None:
    """Lay out an AUTOGRADER_ROOT as Gradescope does, with the given [limits] overrides."""
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
    os.chmod(root / "source" / "run_autograder", 0o755)
    (root / "submission").mkdir()
    (root / "results").mkdir()
    (root / "submission_metadata.json").write_text(json.dumps(
        {"id": 1, "created_at": "2026-11-20T10:00:00Z", "users": [{"email": "attacker@x.edu"}]}))
    toml = root / "source" / "assignments" / HW / "assignment.toml"
    text = toml.read_text()
    for key, value in limits.items():
        text, count = re.subn(rf"(?m)^{key}\s*=\s*[0-9.]+", f"{key} = {value}", text)
        assert count == 1, key
    toml.write_text(text)
    # run_autograder makes these root-only; do it first so the snapshots compare like with like
    os.chmod(root / "source", 0o700)
    os.chmod(root / "results", 0o700)


def attack_submission(name: str) -> str:
    """The submitted protonet.py: the reference solution followed by the attack's code."""
    reference = (REPO_ROOT / "solutions" / HW / "protonet.py").read_text()
    return reference + "\n\n# ---- attack " + name + " ----\n" + (ATTACKS / f"{name}.py").read_text()


def grade_attack(name: str, zip_path: Path, base: Path) -> Graded:
    """Grade one attack through run_autograder and record what it did."""
    spec, graded = SPECS[name], Graded(name)
    root = base / name / "autograder"
    unpack(zip_path, root, spec.limits)
    source = attack_submission(name)
    listener = Listener() if "@@PORT@@" in source else None
    source = (source.replace("@@AUTOGRADER_ROOT@@", str(root)).replace("@@REPO_ROOT@@", str(REPO_ROOT))
              .replace("@@PORT@@", str(listener.port if listener else 0)))
    (root / "submission" / "protonet.py").write_text(source)
    results_path = root / "results" / "results.json"
    root_before = snapshot(root)
    repo_before = repo_snapshot()
    files_before = sandbox_owned_files()
    pids_before = {p.pid for p in processes() if is_sandboxed(p)}
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "CS330_PYTHON": sys.executable}
    env.pop("CS330_SANDBOX", None)
    started = time.monotonic()
    try:
        done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                              capture_output=True, text=True, timeout=300)
        graded.returncode, graded.stdout, graded.stderr = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        graded.error = f"run_autograder did not finish in 300 s: {exc}"
    graded.seconds = time.monotonic() - started
    if results_path.is_file():
        first = file_state(results_path)
        graded.results = json.loads(results_path.read_text())
        time.sleep(spec.wait_s)
        graded.results_rewritten = not results_path.is_file() or file_state(results_path) != first
    graded.stray_files, graded.stray_processes = leftovers(files_before, pids_before)
    if listener is not None:
        graded.connections = listener.close()
    graded.changed = changes(root_before, snapshot(root, frozenset({"results/results.json"})), "AUTOGRADER_ROOT")
    repo_after = repo_snapshot()
    for tree in REPO_TREES:
        graded.changed += changes(repo_before[tree], repo_after[tree], f"REPO/{tree}", tolerate_rewrites=True)
    return graded


@pytest.fixture(scope="module")
def zips(tmp_path_factory) -> dict[str, Path]:
    """The release zips, built once from a copy of the repository's hw4_protonet.

    build() regenerates starter_code/; building from a copy keeps this suite from rewriting the
    shared tree that it also checks (and that other developers' tests read at the same time).
    """
    copy = tmp_path_factory.mktemp("repo")
    for tree in REPO_TREES:
        shutil.copytree(REPO_ROOT / tree, copy / tree)
    shutil.copy(REPO_ROOT / "requirements.txt", copy / "requirements.txt")
    return build(load_assignment(HW, copy), tmp_path_factory.mktemp("dist"), golden=False)


@pytest.fixture(scope="module")
def graded(zips, tmp_path_factory, request) -> dict[str, Graded]:
    """The attacks this session runs (all, or those picked with -k), graded a few at a time."""
    if choose_mode("auto") != "bwrap+uid":
        pytest.skip("the corpus expects the strongest sandbox (bubblewrap and a sandbox uid); "
                    f"here bwrap works: {bwrap_works(True)}")
    picked = {item.callspec.params["name"] for item in request.session.items
              if getattr(item, "originalname", None) == "test_attack" and hasattr(item, "callspec")}
    base = tmp_path_factory.mktemp("attacks")
    os.chmod(base, 0o755)
    out: dict[str, Graded] = {}
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        # the slowest (time-limited) attacks first, so they overlap with the quick ones
        order = sorted(picked or SPECS, key=lambda n: (not SPECS[n].limits, n))
        futures = {pool.submit(grade_attack, name, zips["autograder"], base): name for name in order}
        for future in concurrent.futures.as_completed(futures):
            name = futures[future]
            try:
                out[name] = future.result()
            except Exception as exc:  # noqa: BLE001 - reported by the attack's own test
                out[name] = Graded(name, error=f"{type(exc).__name__}: {exc}")
    return out


# ------------------------------------------------------------------------------------ tests


def test_corpus_files_match_the_specs():
    """One file per attack, each starting with a docstring saying what it gets; each submission compiles."""
    names = {p.stem for p in ATTACKS.glob("a*.py")}
    assert names == set(SPECS)
    for name in names:
        text = (ATTACKS / f"{name}.py").read_text()
        assert text.startswith('"""Attack ') and "Expected:" in text.split('"""')[1], name
        compile(attack_submission(name), f"{name}.py", "exec")
    assert {group_of(n) for n in WEIGHTS} == ALL and sum(WEIGHTS.values()) == 31.0


def test_attack_corpus_never_ships(zips):
    """Nothing under tests/ (the attack corpus included) is in either release zip."""
    ours = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in Path(__file__).parent.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.stat().st_size}
    for kind, path in zips.items():
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                assert not member.startswith("tests/") and "attacks" not in member, (kind, member)
                digest = hashlib.sha256(archive.read(member)).hexdigest()
                assert digest not in ours, (kind, member, ours.get(digest))


@pytest.mark.parametrize("name", sorted(SPECS))
def test_attack(graded, name):
    """The attack earns nothing it targets, and the grader and the machine come out unharmed."""
    spec, run = SPECS[name], graded[name]
    assert not run.error, run.error
    assert run.returncode == 0, f"run_autograder exited {run.returncode}:\n{run.stderr[-3000:]}"
    results = run.results
    assert results is not None, "no results.json"
    validate(results)
    tests = {t["extra_data"]["nodeid"]: t for t in results["tests"]}
    assert set(tests) == set(WEIGHTS), "results.json must hold every test of the manifest"
    assert results["extra_data"]["grader_errors"] == [], "hostile code must fail as the student's fault"
    assert not run.results_rewritten, "results.json changed after run_autograder had written it"
    assert "cs330atk" not in json.dumps({k: v for k, v in results.items() if k != "tests"})
    targeted = {n for n in tests if group_of(n) in spec.targets}
    for nodeid in targeted:
        test = tests[nodeid]
        assert test["score"] == 0, (nodeid, test["score"], test["output"][:500])
        assert any(p in test["output"] for p in spec.phrases), (nodeid, test["output"][:800])
    for phrase in spec.must_show:
        assert any(phrase in tests[n]["output"] for n in targeted), (phrase, [tests[n]["output"][:300]
                                                                             for n in sorted(targeted)][:3])
    for nodeid in set(tests) - targeted:  # untouched functions keep exactly their points
        test = tests[nodeid]
        assert test["score"] == WEIGHTS[nodeid], (nodeid, test["score"], test["output"][:500])
    expected = sum(w for n, w in WEIGHTS.items() if n not in targeted)
    assert totals(results) == (expected, 31.0)
    assert results["extra_data"]["protections"]["mode"] == "bwrap+uid"
    assert not run.changed, run.changed
    assert not run.stray_files, run.stray_files[:20]
    assert not run.stray_processes, run.stray_processes
    assert not run.connections, f"the loopback listener accepted {run.connections}"
    for nodeid, test in tests.items():  # what the attacks print when they get somewhere
        assert "cs330atk LEAK" not in test["output"], (nodeid, test["output"][:800])
        assert "cs330atk server restarted" not in test["output"], (nodeid, test["output"][:800])
    # student output never passes for the grader's: on the terminal only inside a test's quoted
    # details ("  | ..."), and the last TOTAL line is the real one
    for line in run.stdout.splitlines():
        assert "cs330atk" not in line or re.match(r"\s*\|", line), line
    total_lines = [line for line in run.stdout.splitlines() if re.match(r"\s*TOTAL\s", line)]
    assert total_lines and re.search(rf"\b{expected:g}/31\b", total_lines[-1]), total_lines[-1:]
    label = "--- output printed by your code (not by the grader) ---"
    for test in tests.values():
        if spec.printed_only and "cs330atk" in test["output"]:
            assert label in test["output"] and "cs330atk" not in test["output"].split(label)[0], test["output"][:800]


def test_corpus_summary(graded):
    """Print what each attack got (run with -s to see it); no attack may take more than two minutes."""
    rows = []
    for name, run in sorted(graded.items()):
        if run.results is None:
            rows.append(f"{name:26} no results.json {run.error}")
            continue
        score, possible = totals(run.results)
        label = "--- output printed by your code"
        shown = [t["output"].split(label)[0].strip() for t in run.results["tests"] if t["score"] < t["max_score"]]
        first = shown[0].splitlines()[-1][:90] if shown else "(all passed)"
        rows.append(f"{name:26} {score:4g} / {possible:g}  {run.seconds:5.1f}s  {first}")
    print("\n" + "\n".join(rows))
    assert all(run.seconds < 120 for run in graded.values()), {n: r.seconds for n, r in graded.items()}
