"""An assignment's configuration (assignments/<hw>/assignment.toml) and where its parts live."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 (Gradescope)
    import tomli as tomllib

from autograder.policy import Policy
from autograder.sandbox import Limits

REPO_ROOT = Path(__file__).resolve().parent.parent
SUPPORT_SUFFIXES = (".py", ".pt")  # provided modules and artifacts (e.g. pretrained weights)


class AssignmentError(ValueError):
    """An assignment that does not exist or whose configuration is invalid."""


@dataclass(frozen=True)
class GradingLimits:
    """Time and memory limits for grading one submission."""

    call_timeout_s: float = 30.0
    test_timeout_s: float = 60.0
    total_timeout_s: float = 540.0
    memory_mb: int = 512
    threads: int = 1

    def sandbox_limits(self) -> Limits:
        """The per-call limits handed to the sandbox."""
        return Limits(call_timeout_s=self.call_timeout_s, memory_mb=self.memory_mb, threads=self.threads)


@dataclass(frozen=True)
class Assignment:
    """One assignment: its id, the files students submit, limits, and folders."""

    id: str
    title: str
    files: tuple[str, ...]
    limits: GradingLimits
    root: Path
    train_script: str = "train.py"
    policy: Policy = Policy()
    extra: dict = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        """assignments/<hw>/: config, handout, tests and golden data."""
        return self.root / "assignments" / self.id

    @property
    def tests_dir(self) -> Path:
        """The pytest files, public and hidden."""
        return self.folder / "tests"

    @property
    def golden_dir(self) -> Path:
        """Golden outputs and the manifest of expected tests, made by `cs330 build`."""
        return self.folder / "golden"

    @property
    def solution_dir(self) -> Path:
        """The reference solution (absent from the Gradescope zip)."""
        return self.root / "solutions" / self.id

    @property
    def starter_dir(self) -> Path:
        """The generated starter code students download."""
        return self.root / "starter_code" / self.id

    def support_files(self) -> dict[str, Path]:
        """Provided files the graded code may use: the starter's modules and artifacts that are not submitted."""
        if not self.starter_dir.is_dir():
            return {}
        return {
            p.name: p
            for p in sorted(self.starter_dir.iterdir())
            if p.is_file() and p.suffix in SUPPORT_SUFFIXES and p.name not in self.files
        }

    def harness_files(self) -> dict[str, Path]:
        """Test harness modules (tests/*_harness.py): trusted helpers that run in the sandbox."""
        return {p.name: p for p in sorted(self.tests_dir.glob("*_harness.py"))}


def load_assignment(hw: str, root: Path = REPO_ROOT) -> Assignment:
    """Read assignments/<hw>/assignment.toml under root."""
    path = root / "assignments" / hw / "assignment.toml"
    if not path.is_file():
        known = ", ".join(list_assignments(root)) or "none"
        raise AssignmentError(f"no assignment {hw!r} (looked for {path}); known: {known}")
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    try:
        limits = GradingLimits(**data.get("limits", {}))
        return Assignment(
            id=data["id"],
            title=data["title"],
            files=tuple(data["files"]),
            limits=limits,
            root=root,
            train_script=data.get("train", {}).get("script", "train.py"),
            policy=Policy(**data.get("policy", {})),
            extra={k: v for k, v in data.items()
                   if k not in {"id", "title", "files", "limits", "train", "policy"}},
        )
    except (KeyError, TypeError) as exc:
        raise AssignmentError(f"{path}: invalid configuration ({exc})") from None


def list_assignments(root: Path = REPO_ROOT) -> list[str]:
    """Ids of every assignment under root/assignments, sorted."""
    folder = root / "assignments"
    if not folder.is_dir():
        return []
    return sorted(p.parent.name for p in folder.glob("*/assignment.toml"))
