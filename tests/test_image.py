"""The Gradescope image: built by docker/build_image.sh (what `make image` runs) and graded inside.

The `image` tests build localhost/cs330-hw4_protonet with podman on a Debian base (installing podman,
runc and debootstrap when missing: they need root) and run /autograder/run_autograder in a fresh
container per submission through autograder.container.grade_in_container, with no network and
Gradescope's 768 MB. They skip only where the script says this machine cannot build images
(not root, or podman cannot be installed).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import zipfile

import pytest

from autograder.assignment import REPO_ROOT
from autograder.container import ContainerError, ContainerTimeout, grade_in_container, podman_command, podman_env
from autograder.results import totals, validate

HW = "hw4_protonet"
IMAGE = f"localhost/cs330-{HW}"
BUILD_SCRIPT = REPO_ROOT / "docker" / "build_image.sh"
DOCKERFILE = REPO_ROOT / "docker" / "Dockerfile"
BUILD_TIMEOUT_S = 1800
GRADE_TIMEOUT_S = 600


def test_dockerfile_suits_gradescope():
    """Gradescope's base by default, no CMD or ENTRYPOINT, the zip's setup.sh and run_autograder."""
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    instructions = [line.split()[0].upper() for line in lines if re.match(r"^[A-Za-z]+\s", line)]
    assert "CMD" not in instructions and "ENTRYPOINT" not in instructions
    assert lines[0] == "ARG BASE=gradescope/autograder-base:ubuntu-22.04"
    assert lines[1] == "FROM ${BASE}"
    text = DOCKERFILE.read_text()
    assert "bash ./setup.sh" in text and "/autograder/run_autograder" in text


def test_missing_podman_is_a_clear_error(tmp_path, monkeypatch):
    """Without podman, grade_in_container says how to get it instead of failing obscurely."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ContainerError, match="podman is not installed.*make image"):
        grade_in_container(IMAGE, HW, tmp_path, tmp_path / "results.json", timeout_s=60)


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> str:
    """localhost/cs330-hw4_protonet, built now through docker/build_image.sh."""
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("building the image with podman needs root on Linux (make image)")
    dist = tmp_path_factory.mktemp("dist")
    started = time.monotonic()
    proc = subprocess.run(["bash", str(BUILD_SCRIPT), HW, "--dist", str(dist), "--no-golden"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    if proc.returncode == 77:
        reasons = [line for line in proc.stderr.splitlines() if "cannot build images here" in line]
        pytest.skip(reasons[-1] if reasons else "this machine cannot build images")
    assert proc.returncode == 0, (f"docker/build_image.sh failed (exit {proc.returncode}):\n"
                                  f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    steps = "\n".join(line for line in proc.stderr.splitlines() if line.startswith("build_image:"))
    print(f"\n{steps}\nimage built in {time.monotonic() - started:.1f} s: {proc.stdout.strip().splitlines()[-1]}")
    return IMAGE


@pytest.fixture(scope="module")
def graded(image, hw4, tmp_path_factory) -> dict[str, dict]:
    """results.json of the reference (as a folder and as a zip) and of the starter, graded in the image."""
    out = tmp_path_factory.mktemp("container-results")
    reference_zip = out / "reference.zip"
    with zipfile.ZipFile(reference_zip, "w") as archive:  # students often zip the enclosing folder
        for name in hw4.files:
            archive.write(hw4.solution_dir / name, f"{HW}/{name}")
    results = {}
    for who, submission in (("reference", hw4.solution_dir), ("starter", hw4.starter_dir),
                            ("reference-zip", reference_zip)):
        path = out / who / "results.json"
        started = time.monotonic()
        grade_in_container(image, HW, submission, path, timeout_s=GRADE_TIMEOUT_S)
        print(f"\n{who}: graded in the container in {time.monotonic() - started:.1f} s")
        results[who] = json.loads(path.read_text())
    return results


def manifest_points(hw4) -> float:
    """The points of every test the build recorded."""
    manifest = json.loads((hw4.golden_dir / "manifest.json").read_text())
    return sum(float(t["weight"]) for t in manifest["tests"])


@pytest.mark.image
@pytest.mark.slow
@pytest.mark.parametrize("who", ["reference", "reference-zip"])
def test_reference_gets_full_marks_in_container(graded, hw4, who):
    """The reference solution passes every test inside the image (31/31 for hw4_protonet)."""
    results = graded[who]
    validate(results)
    assert totals(results) == (manifest_points(hw4), manifest_points(hw4))
    assert all(t["status"] == "passed" for t in results["tests"])
    assert results["extra_data"]["grader_errors"] == [] and results["extra_data"]["collection_errors"] == []


@pytest.mark.image
@pytest.mark.slow
def test_starter_scores_zero_in_container_without_grader_errors(graded, hw4):
    """The untouched starter scores 0 of the full total inside the image, every failure its own."""
    results = graded["starter"]
    validate(results)
    assert totals(results) == (0, manifest_points(hw4))
    assert results["extra_data"]["grader_errors"] == [] and results["extra_data"]["collection_errors"] == []
    assert all("not implemented yet" in t["output"] for t in results["tests"])


@pytest.mark.image
@pytest.mark.slow
def test_protections_inside_container(graded):
    """The grader is root in the container, so student code runs as the sandbox uid; bubblewrap
    adds a private filesystem and network namespace only where it can make namespaces there."""
    seen = {who: r["extra_data"]["protections"] for who, r in graded.items()}
    protections = seen["reference"]
    print(f"\nprotections inside the container: {protections}; engine: {graded['reference']['extra_data']['engine']}")
    assert all(p == protections for p in seen.values())
    assert protections["mode"] in ("uid", "bwrap+uid")
    assert protections["privilege_separation"] is True
    bwrap = protections["mode"] == "bwrap+uid"
    assert protections["private_filesystem"] is bwrap and protections["network_isolated"] is bwrap
    assert {"memory", "cpu_time", "wall_clock"} <= set(protections["resource_limits"])


@pytest.mark.image
@pytest.mark.slow
def test_missing_image_is_a_clear_error(image, tmp_path):
    """Asking for an image that was never built says how to build it."""
    with pytest.raises(ContainerError, match="make image HW=hw4_protonet"):
        grade_in_container("localhost/cs330-no-such-image", HW, tmp_path, tmp_path / "r.json", timeout_s=60)


@pytest.mark.image
@pytest.mark.slow
def test_container_past_its_time_is_killed(image, hw4, tmp_path):
    """A container that runs past timeout_s is killed and removed, and nothing is written."""
    results = tmp_path / "results.json"
    with pytest.raises(ContainerTimeout, match="within 2 s|after 2 s"):
        grade_in_container(image, HW, hw4.solution_dir, results, timeout_s=2)
    assert not results.exists()
    left = subprocess.run([*podman_command(), "ps", "-a", "-q", "--filter", f"label=edu.cs330.grade={HW}"],
                          env=podman_env(), capture_output=True, text=True, timeout=120)
    assert left.returncode == 0 and left.stdout.strip() == ""
