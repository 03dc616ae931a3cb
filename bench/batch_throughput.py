"""Benchmark: `cs330 grade-batch` throughput, submissions graded per minute, with --jobs 1 and --jobs 2.

Grades COPIES copies of the reference solution (fresh output folder each time, so nothing is
resumed) as whole commands, and prints each figure and the ratio of --jobs 2 to --jobs 1. With
--container IMAGE the same runs are repeated inside that image. Every copy must get full marks.
Usage:
    .venv/bin/python bench/batch_throughput.py [--copies 20] [--hw hw4_protonet] [--container IMAGE]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.assignment import load_assignment  # noqa: E402


def make_copies(hw: str, dest: Path, copies: int) -> Path:
    """A folder with copies sub-folders, each holding the reference solution's submitted files."""
    assignment = load_assignment(hw, ROOT)
    for i in range(copies):
        folder = dest / f"student_{i:03d}"
        folder.mkdir(parents=True)
        for name in assignment.files:
            shutil.copy(assignment.solution_dir / name, folder / name)
    return dest


def run_batch(hw: str, subs: Path, out: Path, jobs: int, container: str | None) -> float:
    """Run one grade-batch; return its wall-clock seconds after checking every row has full marks."""
    cmd = [sys.executable, "-m", "autograder.cli", "grade-batch", hw, str(subs), "--out", str(out), "--jobs", str(jobs)]
    if container:
        cmd += ["--container", container]
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    with open(out / "grades.csv", newline="") as handle:
        totals = {row["submission"]: float(row["total"]) for row in csv.DictReader(handle)}
    expected = {p.name for p in subs.iterdir()}
    best = max(totals.values())
    if set(totals) != expected or any(t != best for t in totals.values()):
        raise SystemExit(f"not every copy got the same full marks: {totals}")
    return elapsed


def main() -> None:
    """Time grade-batch with --jobs 1 and --jobs 2 (and in a container when asked); print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--hw", default="hw4_protonet")
    parser.add_argument("--container", metavar="IMAGE", help="also grade inside this container image")
    args = parser.parse_args()
    modes = [("local", None)] + ([("container", args.container)] if args.container else [])
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="cs330-bench-") as tmp:
        subs = make_copies(args.hw, Path(tmp) / "submissions", args.copies)
        for label, image in modes:
            for jobs in (1, 2):
                seconds = run_batch(args.hw, subs, Path(tmp) / f"out-{label}-{jobs}", jobs, image)
                rate = args.copies / seconds * 60
                figures.setdefault(label, {})[f"jobs{jobs}_per_min"] = round(rate, 2)
                figures[label][f"jobs{jobs}_seconds"] = round(seconds, 1)
                print(f"{label:<9} --jobs {jobs}: {args.copies} submissions in {seconds:6.1f} s = "
                      f"{rate:5.1f} submissions/min", flush=True)
            ratio = figures[label]["jobs2_per_min"] / figures[label]["jobs1_per_min"]
            figures[label]["ratio_jobs2_to_jobs1"] = round(ratio, 2)
            print(f"{label:<9} --jobs 2 / --jobs 1 throughput ratio: {ratio:.2f}x (on {os.cpu_count()} CPUs)")
    out = ROOT / "bench" / "out" / "batch_throughput.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {"hw": args.hw, "copies": args.copies, "cpus": os.cpu_count(), **figures}
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
