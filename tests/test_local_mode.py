"""Grading without root or without bubblewrap: still a child per call with limits, and honest about it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from autograder.assignment import REPO_ROOT
from autograder.results import totals


def grade_in_mode(mode: str, submission: str, results_path) -> subprocess.CompletedProcess:
    """Run `cs330 grade` with the sandbox mode forced through CS330_SANDBOX."""
    return subprocess.run([sys.executable, "-m", "autograder.cli", "grade", "hw4_protonet", submission,
                           "--results", str(results_path)], cwd=REPO_ROOT, capture_output=True, text=True,
                          env={**os.environ, "CS330_SANDBOX": mode}, timeout=600)


def test_unprivileged_mode_warns_once_and_reports_protections(tmp_path):
    """Mode none (a student laptop): full marks for the reference, one warning, protections listed."""
    done = grade_in_mode("none", "solutions/hw4_protonet", tmp_path / "r.json")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("privilege separation is off") == 1
    results = json.loads((tmp_path / "r.json").read_text())
    assert totals(results) == (31.0, 31.0)
    protections = results["extra_data"]["protections"]
    assert protections["mode"] == "none" and protections["privilege_separation"] is False
    assert protections["private_filesystem"] is False and "wall_clock" in protections["resource_limits"]


def test_limits_still_apply_without_privileges(hw4_fast, reference_source, tmp_path, monkeypatch):
    """Without root or bubblewrap a hanging call is still killed at its time limit."""
    from conftest import by_nodeid, grade_source

    monkeypatch.setenv("CS330_SANDBOX", "none")
    hanging = reference_source.replace("    classes = torch.unique(class_ids)", "    while True:\n        pass")
    results = grade_source(hw4_fast, tmp_path, hanging, scope="public")
    test = by_nodeid(results)["test_public.py::test_sample_episode"]
    assert test["score"] == 0 and "time limit of 3 s" in test["output"]
    assert results["extra_data"]["protections"]["mode"] == "none"


@pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs root")
def test_root_mode_reports_every_protection(tmp_path):
    """As root with bubblewrap, results.json says privilege separation, private files and no network."""
    done = grade_in_mode("auto", "starter_code/hw4_protonet", tmp_path / "r.json")
    protections = json.loads((tmp_path / "r.json").read_text())["extra_data"]["protections"]
    assert "privilege separation is off" not in done.stderr
    if protections["mode"] == "bwrap+uid":
        assert protections["privilege_separation"] and protections["private_filesystem"]
        assert protections["network_isolated"]
    else:
        assert protections["mode"] == "uid" and protections["privilege_separation"]
