"""Shared fixtures: the repository's assignments and quick ways to grade a piece of code."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from autograder.assignment import REPO_ROOT, Assignment, load_assignment
from autograder.grading import grade

# tests/attacks/ holds hostile submissions that test_attacks.py grades: never collect or import them.
collect_ignore = ["attacks"]

FAST_LIMITS = {"call_timeout_s": 3.0, "test_timeout_s": 10.0, "total_timeout_s": 300.0, "memory_mb": 256}


def with_limits(assignment: Assignment, **limits: float) -> Assignment:
    """A copy of assignment with some limits replaced."""
    return dataclasses.replace(assignment, limits=dataclasses.replace(assignment.limits, **limits))


@pytest.fixture(scope="session")
def hw4() -> Assignment:
    """hw4_protonet as configured in this repository."""
    return load_assignment("hw4_protonet", REPO_ROOT)


@pytest.fixture(scope="session")
def hw4_fast(hw4: Assignment) -> Assignment:
    """hw4_protonet with short limits, for submissions that hang or explode."""
    return with_limits(hw4, **FAST_LIMITS)


@pytest.fixture(scope="session")
def reference_source(hw4: Assignment) -> str:
    """The reference protonet.py."""
    return (hw4.solution_dir / "protonet.py").read_text()


def grade_source(assignment: Assignment, folder: Path, source: str | None, scope: str = "all") -> dict:
    """Write source as the submitted file in folder (None: submit nothing) and grade it."""
    submission = folder / "submission"
    submission.mkdir(parents=True, exist_ok=True)
    if source is not None:
        (submission / assignment.files[0]).write_text(source)
    return grade(assignment, submission, folder / "results" / "results.json", scope=scope)


def by_nodeid(results: dict) -> dict[str, dict]:
    """results.json tests keyed by their pytest node id."""
    return {t["extra_data"]["nodeid"]: t for t in results["tests"]}


def repo_root() -> Path:
    """The repository root."""
    return REPO_ROOT
