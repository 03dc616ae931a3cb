"""Benchmark: train the reference ProtoNet (solutions/hw4_protonet) on full Omniglot under a time budget.

Usage: python bench/protonet_train.py [--budget-s 600] [--threads N] [-- extra train.py options]
Prints episodes done, wall clock and 5-way 1-shot / 5-shot test accuracy +/- 95% CI next to the
paper's figures and the course target, and writes bench/out/protonet_train.json (the run's own
files go to bench/out/protonet_run/).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOLUTION = REPO / "solutions" / "hw4_protonet"
OUT = REPO / "bench" / "out"
PAPER = {"5way_1shot": 0.988, "5way_5shot": 0.997}  # Snell et al. 2017, Table 1 (Omniglot)
COURSE_TARGET = 0.99  # validation accuracy, 5-way 5-shot

for _path in (SOLUTION, REPO):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import train  # noqa: E402  (solutions/hw4_protonet/train.py, with the reference protonet.py)


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """Parse bench options; everything after `--` goes to train.py unchanged."""
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget-s", type=float, default=600.0, help="training time budget in seconds")
    p.add_argument("--episodes", type=int, default=100_000, help="episode cap (the budget usually stops first)")
    p.add_argument("--eval-every", type=int, default=500, help="validate every this many episodes")
    p.add_argument("--val-episodes", type=int, default=200, help="episodes per validation")
    p.add_argument("--test-episodes", type=int, default=1000, help="test episodes per shot")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--data-dir", default=None, help="Omniglot folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return p.parse_args(own), extra


def train_argv(args: argparse.Namespace, extra: list[str]) -> list[str]:
    """Build the train.main command line for this benchmark."""
    argv = ["--episodes", str(args.episodes), "--time-budget-s", str(args.budget_s),
            "--eval-every", str(args.eval_every), "--val-episodes", str(args.val_episodes),
            "--test-episodes", str(args.test_episodes), "--test-shots", "1,5", "--test-way", "5",
            "--seed", str(args.seed), "--out", str(OUT / "protonet_run")]
    argv += ["--threads", str(args.threads)] if args.threads else []
    argv += ["--data-dir", args.data_dir] if args.data_dir else []
    argv += ["--no-progress"] if args.no_progress else []
    return argv + extra


def report(results: dict, budget_s: float) -> str:
    """Return the benchmark's summary lines."""
    lines = [
        f"episodes: {results['episodes_trained']} in {results['train_s']:.1f} s of a {budget_s:g} s budget "
        f"({results['episodes_per_s']:.2f} episodes/s, {results['threads']} threads, {results['device']}); "
        f"wall clock {results['wall_clock_s']:.1f} s",
    ]
    for task, paper in PAPER.items():
        r = results["test"][task]
        lines.append(f"test {task}: {100 * r['acc']:.2f}% +/- {100 * r['ci95']:.2f}%   (paper {100 * paper:.1f}%)")
    met = "met" if results["best_val_acc"] >= COURSE_TARGET else "not met"
    lines.append(f"best val {results['val_task']}: {100 * results['best_val_acc']:.2f}% "
                 f"(course target >= {100 * COURSE_TARGET:.0f}%: {met})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print the summary and write bench/out/protonet_train.json."""
    args, extra = parse_args(argv)
    results = train.main(train_argv(args, extra))
    summary = {
        "budget_s": args.budget_s,
        "episodes": results["episodes_trained"],
        "episodes_per_s": results["episodes_per_s"],
        "train_s": results["train_s"],
        "wall_clock_s": results["wall_clock_s"],
        "stopped_early": results["stopped_early"],
        "test": results["test"],
        "best_val_acc": results["best_val_acc"],
        "val_task": results["val_task"],
        "paper": PAPER,
        "course_target_val_5way_5shot": COURSE_TARGET,
        "course_target_met": results["best_val_acc"] >= COURSE_TARGET,
        "machine": {"cpus": os.cpu_count(), "threads": results["threads"], "device": results["device"],
                    "platform": platform.platform(), "python": platform.python_version()},
        "config": results["config"],
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "protonet_train.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("\n== bench/protonet_train ==")
    print(report(results, args.budget_s))
    print(f"wrote {OUT / 'protonet_train.json'}")
    return summary


if __name__ == "__main__":
    main()
