"""`cs330 check HW`: the instructor's release check, one line per requirement."""

from __future__ import annotations

import json
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from autograder.assignment import Assignment
from autograder.build import build, record_golden, starter_in_sync
from autograder.grading import grade
from autograder.markers import solution_lines
from autograder.notebook import notebook_solution_lines, notebook_text
from autograder.results import totals

TIMING_KEYS = ("execution_time", "duration_s")


@dataclass
class CheckResult:
    """One requirement of the release check."""

    name: str
    ok: bool
    detail: str


def without_timing(value: object) -> object:
    """A copy of a results dict with timing fields removed (for determinism comparisons)."""
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value


def leaked_lines(assignment: Assignment, archive: Path) -> list[str]:
    """Solution-block lines of the reference code that appear in an archive's members."""
    secret = set()
    for path in assignment.solution_dir.rglob("*.py"):
        secret.update(solution_lines(path.read_text()))
    for path in assignment.solution_dir.rglob("*.ipynb"):
        secret.update(notebook_solution_lines(path.read_bytes(), path.name))
    leaks = []
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            if info.filename.startswith("solutions/"):
                leaks.append(f"{info.filename} (a solutions/ file)")
                continue
            text = zf.read(info).decode(errors="ignore")
            if info.filename.endswith(".ipynb"):
                text += "\n" + notebook_text(zf.read(info))
            leaks += [f"{info.filename}: {line}" for line in secret if line in text]
    return leaks


def golden_in_sync(assignment: Assignment) -> list[str]:
    """Golden keys whose committed value differs from a fresh recording (empty: in sync)."""
    with tempfile.TemporaryDirectory(prefix="cs330-check-") as tmp:
        record_golden(assignment, Path(tmp))
        fresh = {p.name: p for p in Path(tmp).iterdir()}
        stale = []
        for name, path in sorted(fresh.items()):
            committed = assignment.golden_dir / name
            if not committed.is_file():
                stale.append(f"{name} is missing")
            elif name.endswith(".json"):
                if json.loads(path.read_text()) != json.loads(committed.read_text()):
                    stale.append(f"{name} differs")
            else:
                new, old = torch.load(path, weights_only=True), torch.load(committed, weights_only=True)
                stale += [f"{name}: {k}" for k in sorted(set(new) | set(old))
                          if k not in new or k not in old or not _equal(new[k], old[k])]
    return stale


def _equal(a: object, b: object) -> bool:
    """Exact equality of golden values (tensors bit for bit)."""
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def run_check(assignment: Assignment) -> list[CheckResult]:
    """Run every release requirement for one assignment."""
    checks: list[CheckResult] = []
    stale = starter_in_sync(assignment)
    checks.append(CheckResult("starter_code in sync with solutions", not stale,
                              "in sync" if not stale else f"run `cs330 build {assignment.id}`: {stale}"))
    stale = golden_in_sync(assignment)
    checks.append(CheckResult("golden data in sync with the reference", not stale,
                              "in sync" if not stale else f"run `cs330 build {assignment.id}`: {stale[:5]}"))
    with tempfile.TemporaryDirectory(prefix="cs330-check-") as tmp:
        tmp_path = Path(tmp)
        zips = build(assignment, tmp_path / "dist", golden=False)
        started = time.monotonic()
        ref = grade(assignment, assignment.solution_dir, tmp_path / "ref.json")
        ref_time = time.monotonic() - started
        again = grade(assignment, assignment.solution_dir, tmp_path / "ref2.json")
        starter = grade(assignment, assignment.starter_dir, tmp_path / "starter.json")
        score, possible = totals(ref)
        checks.append(CheckResult("reference solution gets full marks", score == possible and possible > 0,
                                  f"{score:g}/{possible:g}"))
        s_score, _ = totals(starter)
        errors = starter["extra_data"]["grader_errors"] + ref["extra_data"]["grader_errors"]
        checks.append(CheckResult("untouched starter gets 0", s_score == 0, f"{s_score:g}/{possible:g}"))
        checks.append(CheckResult("no grader errors", not errors, "none" if not errors else str(errors)))
        same = without_timing(ref) == without_timing(again)
        checks.append(CheckResult("grading twice gives identical results", same,
                                  "identical apart from timing" if same else "results differ"))
        leaks = leaked_lines(assignment, zips["autograder"]) + leaked_lines(assignment, zips["starter"])
        checks.append(CheckResult("no solution source in the zips", not leaks,
                                  "none found" if not leaks else "; ".join(leaks[:5])))
        limit = assignment.limits.total_timeout_s
        checks.append(CheckResult("reference grading time within the limit", ref_time < 0.5 * limit,
                                  f"{ref_time:.1f} s of {limit:g} s (must stay under half)"))
    return checks
