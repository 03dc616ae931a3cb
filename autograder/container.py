"""Grade one submission inside the assignment's autograder image, as Gradescope would.

`grade_in_container` starts a fresh container from the image (built by `make image HW=...`, see
docker/), mounts the submission read-only at /autograder/submission and an empty results folder at
/autograder/results, runs /autograder/run_autograder with no network and Gradescope's 768 MB of
memory, and copies the results.json it wrote to the path asked for. It uses podman with the
settings that work on the project's machines: CONTAINERS_CONF (default docker/containers.conf) and
CS330_PODMAN_ARGS (default "--runtime runc --cgroup-manager cgroupfs").
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_PODMAN_ARGS = "--runtime runc --cgroup-manager cgroupfs"
CONTAINERS_CONF = Path(__file__).resolve().parent.parent / "docker" / "containers.conf"
MEMORY = "768m"  # Gradescope's default limit
STOP_GRACE_S = 30.0


class ContainerError(RuntimeError):
    """The container could not grade the submission (no podman, no image, no valid results.json)."""


class ContainerTimeout(ContainerError, TimeoutError):
    """The container ran past its time limit and was killed."""


def podman_command() -> list[str]:
    """podman with the global options that work here (CS330_PODMAN_ARGS overrides them)."""
    podman = shutil.which("podman")
    if podman is None:
        raise ContainerError("podman is not installed: `make image HW=<assignment>` installs it "
                             "(apt-get install podman runc) and builds the image")
    return [podman, *shlex.split(os.environ.get("CS330_PODMAN_ARGS", DEFAULT_PODMAN_ARGS))]


def podman_env() -> dict[str, str]:
    """The environment for podman: CONTAINERS_CONF pointed at docker/containers.conf unless set."""
    env = dict(os.environ)
    if "CONTAINERS_CONF" not in env and CONTAINERS_CONF.is_file():
        env["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
    return env


def image_exists(image: str) -> bool:
    """True when podman has the image locally."""
    proc = subprocess.run([*podman_command(), "image", "exists", image], env=podman_env(),
                          capture_output=True, text=True, timeout=120)
    if proc.returncode not in (0, 1):
        raise ContainerError(f"podman does not work here (podman image exists: exit {proc.returncode}): "
                             f"{proc.stderr.strip()[-2000:]}")
    return proc.returncode == 0


def submission_mounts(submission: Path) -> list[str]:
    """The -v options that show the submission at /autograder/submission, read-only.

    A folder is mounted as the folder; a zip is mounted as /autograder/submission itself (the
    grader reads zips directly, safely); any other single file goes inside the folder.
    """
    submission = submission.resolve()
    if submission.is_dir():
        return ["-v", f"{submission}:/autograder/submission:ro"]
    if submission.is_file() and zipfile.is_zipfile(submission):
        return ["-v", f"{submission}:/autograder/submission:ro"]
    if submission.is_file():
        return ["-v", f"{submission}:/autograder/submission/{submission.name}:ro"]
    raise ContainerError(f"{submission} does not exist (give a folder, a zip or a file)")


def grade_in_container(image: str, hw: str, submission: Path, results_path: Path, timeout_s: float,
                       *, metadata: Path | None = None, memory: str = MEMORY,
                       cpus: float | None = None) -> None:
    """Grade submission with /autograder/run_autograder inside a fresh container from image.

    The container has no network and `memory` of memory (Gradescope's 768 MB by default; `cpus`
    limits CPU, None leaves it free); Gradescope's submission_metadata.json is mounted when given.
    results.json is checked (JSON, Gradescope's format, the assignment hw) and copied to
    results_path. Raises ContainerError when podman or the image is missing or the container wrote
    no valid results.json, and ContainerTimeout after timeout_s seconds.
    """
    from autograder.results import validate

    podman = podman_command()
    env = podman_env()
    if not image_exists(image):
        raise ContainerError(f"no image {image} here: build it with `make image HW={hw}` "
                             f"(docker/build_image.sh {hw})")
    mounts = submission_mounts(Path(submission))
    if metadata is not None:
        mounts += ["-v", f"{Path(metadata).resolve()}:/autograder/submission_metadata.json:ro"]
    name = f"cs330-grade-{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory(prefix="cs330-container-") as tmp:
        results_dir = Path(tmp) / "results"
        results_dir.mkdir(mode=0o700)
        cmd = [*podman, "run", "--rm", "--name", name, "--network=none", f"--memory={memory}",
               f"--memory-swap={memory}", "--timeout", str(max(1, int(timeout_s + 0.999))),
               *(["--cpus", f"{cpus:g}"] if cpus else []),
               *mounts, "-v", f"{results_dir}:/autograder/results", "--workdir", "/autograder",
               "--label", f"edu.cs330.grade={hw}", image, "/autograder/run_autograder"]
        log.debug("running %s", shlex.join(cmd))
        started = time.monotonic()
        try:
            proc = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout_s + STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            subprocess.run([*podman, "rm", "--force", "--time", "0", name], env=env,
                           capture_output=True, timeout=120)
            raise ContainerTimeout(f"{image} did not finish grading {submission} within "
                                   f"{timeout_s:g} s; the container was killed") from None
        output = (proc.stdout + proc.stderr).decode(errors="replace")
        log.debug("container output:\n%s", output)
        results_file = results_dir / "results.json"
        if not results_file.is_file():
            # podman --timeout kills the container and exits 255, like many podman errors: tell by the clock.
            timed_out = time.monotonic() - started >= timeout_s
            cause = (f"was killed after {timeout_s:g} s" if timed_out else
                     "was killed (out of memory?)" if proc.returncode == 137 else f"exited {proc.returncode}")
            error = ContainerTimeout if timed_out else ContainerError
            raise error(f"run_autograder in {image} {cause} without writing results.json:\n{output[-3000:]}")
        try:
            results = json.loads(results_file.read_text())
            validate(results)
        except Exception as exc:  # noqa: BLE001 - any malformed file is the same failure
            raise ContainerError(f"{image} wrote an invalid results.json ({exc})") from None
        graded = results.get("extra_data", {}).get("assignment")
        if graded not in (None, hw):
            raise ContainerError(f"{image} grades {graded}, not {hw}")
        results_path = Path(results_path)
        results_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(results_file, results_path)
