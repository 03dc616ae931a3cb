"""Benchmark: `cs330 grade` on the reference solution vs plain pytest on the same tests in one process.

Both are timed as whole commands (interpreter start, torch import, all tests), in the same run,
several times each; the figure is the median. Prints the ratio. Usage:
    .venv/bin/python bench/grading_overhead.py [--repeat 3] [--hw hw4_protonet]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.assignment import load_assignment  # noqa: E402


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    """Run cmd; return (wall seconds, combined output); fail loudly on error."""
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0,):
        raise SystemExit(f"{cmd} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def main() -> None:
    """Time both ways of grading and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--hw", default="hw4_protonet")
    args = parser.parse_args()
    assignment = ROOT / "assignments" / args.hw
    module = Path(load_assignment(args.hw, ROOT).files[0]).stem
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    peer_env = {**env, "CS330_INPROCESS_MODULE": module, "CS330_INPROCESS_GOLDEN": str(assignment / "golden"),
                "PYTHONPATH": os.pathsep.join([str(ROOT / "solutions" / args.hw), str(ROOT)])}
    with tempfile.TemporaryDirectory() as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n")
        grade_cmd = [sys.executable, "-m", "autograder.cli", "grade", args.hw, str(ROOT / "solutions" / args.hw),
                     "--results", str(Path(tmp) / "results.json")]
        peer_cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "autograder.inprocess",
                    "-c", str(ini), "--rootdir", str(assignment / "tests"), str(assignment / "tests")]
        grade_times, peer_times = [], []
        for _ in range(args.repeat):
            t, _ = timed(grade_cmd, env, ROOT)
            grade_times.append(t)
            t, out = timed(peer_cmd, peer_env, Path(tmp))
            peer_times.append(t)
        calls = json.loads((Path(tmp) / "results.json").read_text())
    tests = len(calls["tests"])
    grade_s, peer_s = statistics.median(grade_times), statistics.median(peer_times)
    print(f"assignment: {args.hw}, {tests} tests, median of {args.repeat} runs")
    print(f"cs330 grade (sandboxed child per call):  {grade_s:6.2f} s")
    print(f"plain pytest, same tests, in-process:    {peer_s:6.2f} s   ({out.strip().splitlines()[-1]})")
    print(f"overhead ratio cs330 / plain pytest:     {grade_s / peer_s:6.2f}x")
    print(f"per-test overhead:                       {(grade_s - peer_s) / tests * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
