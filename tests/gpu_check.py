"""GPU check: run every golden comparison with the reference solution on CUDA; report deviations.

Grades are computed on the CPU; this script shows that the same code on a GPU agrees with the CPU
golden data within the tolerances the tests use. For each golden comparison it prints the largest
absolute deviation and the tolerance (atol, rtol). Exits 1 when any comparison fails, and exits 0
with a message ("skipped") where no GPU exists, so it can run anywhere:

    .venv/bin/python tests/gpu_check.py [--hw hw4_protonet] [--device cuda] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.assignment import list_assignments, load_assignment  # noqa: E402


def device_available(device: str) -> bool:
    """True when torch can use device here."""
    import torch

    return device == "cpu" or (device == "cuda" and torch.cuda.is_available())


def run_assignment(hw: str, device: str) -> tuple[int, list[dict]]:
    """Run hw's tests in-process on device against the CPU golden data; return (exit code, deviations)."""
    assignment = load_assignment(hw, ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "deviations.jsonl"
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n")
        env = {**os.environ, "CS330_INPROCESS_MODULE": Path(assignment.files[0]).stem,
               "CS330_INPROCESS_GOLDEN": str(assignment.golden_dir), "CS330_INPROCESS_DEVICE": device,
               "CS330_INPROCESS_REPORT": str(report), "PYTHONDONTWRITEBYTECODE": "1",
               "PYTHONPATH": os.pathsep.join([str(assignment.solution_dir), str(ROOT)])}
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
                               "autograder.inprocess", "-c", str(ini), "--rootdir", str(assignment.tests_dir),
                               str(assignment.tests_dir)], env=env, cwd=tmp, capture_output=True, text=True)
        rows = [json.loads(line) for line in report.read_text().splitlines()] if report.is_file() else []
    if done.returncode not in (0, 1):
        print(done.stdout[-3000:], done.stderr[-3000:], file=sys.stderr)
    return done.returncode, rows


def main(argv: list[str] | None = None) -> int:
    """Check each assignment on the device and print the deviation table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hw", action="append", help="assignment (default: all)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--json", help="also write the deviations here")
    args = parser.parse_args(argv)
    if not device_available(args.device):
        print(f"skipped: no {args.device} device here (grading itself always runs on the CPU)")
        return 0
    failed, everything = False, []
    for hw in args.hw or list_assignments(ROOT):
        code, rows = run_assignment(hw, args.device)
        failed |= code != 0 or not rows
        print(f"{hw} on {args.device}: {'ok' if code == 0 else 'FAILED'} ({len(rows)} golden comparisons)")
        for row in rows:
            print(f"  {row['test']:<70} {row['key']:<14} max|dev| {row['max_abs_dev']:.3e}  "
                  f"atol {row['atol']:.0e} rtol {row['rtol']:.0e}")
        everything += [{"assignment": hw, **row} for row in rows]
    if args.json:
        Path(args.json).write_text(json.dumps(everything, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
