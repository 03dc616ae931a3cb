"""`cs330 report DIR`: pass rates and score distribution from a hand-made grade-batch folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.assignment import REPO_ROOT
from autograder.report import ReportError, score_bins, write_report

TESTS = [("1.1", "adds numbers", 1.0), ("1.2", "adds tensors", 2.0), ("2.1", "broadcasts", 3.0)]
PASSED = {"s1": (True, True, True), "s2": (True, False, True), "s3": (True, False, False),
          "s4": (False, False, False)}


def results_for(passed: tuple[bool, ...], batch_status: str | None = None) -> dict:
    """A results.json whose tests pass as given."""
    tests = [{"name": name, "number": number, "score": weight if ok else 0.0, "max_score": weight,
              "status": "passed" if ok else "failed", "extra_data": {"nodeid": f"test_x.py::test_{number}"}}
             for (number, name, weight), ok in zip(TESTS, passed)]
    extra = {"assignment": "hw9"}
    if batch_status:
        extra["batch"] = {"status": batch_status, "note": "stopped"}
    return {"tests": tests, "extra_data": extra}


@pytest.fixture
def batch_dir(tmp_path: Path) -> Path:
    """A grade-batch folder: four graded submissions (one timed out), one listed but ungraded, one stray."""
    for name, passed in PASSED.items():
        (tmp_path / name).mkdir()
        results = results_for(passed, "timeout" if name == "s4" else None)
        (tmp_path / name / "results.json").write_text(json.dumps(results))
    (tmp_path / "stray").mkdir()  # not in grades.csv (an earlier run): left out
    (tmp_path / "stray" / "results.json").write_text(json.dumps(results_for((True, True, True))))
    rows = ["submission,total", "s1,6", "s2,4", "s3,1", "s4,0", "s5,"]
    (tmp_path / "grades.csv").write_text("\n".join(rows) + "\n")
    return tmp_path


def table_rows(markdown: str, heading: str) -> list[list[str]]:
    """The cells of the table under a heading (header and separator rows dropped)."""
    section = markdown.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def test_report_numbers(batch_dir: Path):
    """Summary, distribution and per-test pass rates match the hand-made results."""
    text, paths = write_report(batch_dir)
    assert (batch_dir / "report.md").read_text() == text
    assert "4 submission(s), 3 test(s), 6 points possible." in text
    assert "| 4 | 2.75 | 2.5 | 2.38 | 0 | 6 | 1 | 1 |" in text
    assert "1 submission(s) did not finish grading and count as 0: s4." in text
    tests = table_rows(text, "Tests by pass rate (lowest first)")
    assert tests == [["1.2 adds tensors", "2", "25.0%", "1/4", "0.5"],
                     ["2.1 broadcasts", "3", "50.0%", "2/4", "1.5"],
                     ["1.1 adds numbers", "1", "75.0%", "3/4", "0.75"]]
    bins = table_rows(text, "Score distribution")
    assert len(bins) == 10 and sum(int(row[2]) for row in bins) == 4
    assert bins[0] == ["[0, 0.6)", "0.0%–10.0%", "1", "25.0%"]
    assert bins[1][2] == "1" and bins[6][2] == "1" and bins[9] == ["[5.4, 6]", "90.0%–100.0%", "1", "25.0%"]


def test_report_png(batch_dir: Path):
    """report.png is a PNG image."""
    _, paths = write_report(batch_dir)
    png = batch_dir / "report.png"
    assert png in paths
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_report_without_grades_csv_reads_every_folder(batch_dir: Path):
    """Without grades.csv, every sub-folder with a results.json is reported."""
    (batch_dir / "grades.csv").unlink()
    text, _ = write_report(batch_dir)
    assert "5 submission(s)" in text


def test_score_bins_edges():
    """Totals fall in equal-width bins; full marks land in the last one."""
    assert [c for _, _, c in score_bins([0, 2.9, 3, 29.9, 30], 30)] == [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]


def test_report_command(batch_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """`cs330 report DIR` prints the Markdown; a folder without results exits 2 with a hint."""
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "report", str(batch_dir)],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "## Tests by pass rate" in done.stdout and "report.png" in done.stderr
    empty = tmp_path_factory.mktemp("empty")
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "report", str(empty)],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 2 and "run `cs330 grade-batch" in done.stderr
    with pytest.raises(ReportError):
        write_report(empty)
