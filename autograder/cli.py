"""The `cs330` command: list, build, grade, grade-batch, report, test, submit, check, new, train, data, demo."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import tempfile
import zipfile
from pathlib import Path

from autograder.assignment import REPO_ROOT, Assignment, AssignmentError, list_assignments, load_assignment
from autograder.results import totals


def _assignment(args: argparse.Namespace, hw: str | None = None) -> Assignment:
    """Load the assignment named on the command line, under --root."""
    return load_assignment(hw or args.hw, Path(args.root).resolve())


def cmd_list(args: argparse.Namespace) -> int:
    """Print the assignments with their titles and submitted files."""
    for hw in list_assignments(Path(args.root)):
        a = _assignment(args, hw)
        print(f"{a.id:<16} {a.title}  (submit: {', '.join(a.files)})")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    """Build starter code, golden data and zips for the named (or all) assignments."""
    from autograder.build import build

    for hw in args.hw or list_assignments(Path(args.root)):
        a = _assignment(args, hw)
        if not a.solution_dir.is_dir():
            print(f"skipping {hw}: no solutions/{hw}/ here", file=sys.stderr)
            continue
        build(a, Path(args.dist), golden=not args.no_golden)
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    """Grade one submission, print the table and write results.json."""
    from autograder.grading import grade
    from autograder.table import results_table

    a = _assignment(args)
    submission = Path(args.submission)
    if not submission.exists():
        print(f"cs330 grade: {submission} does not exist (give a folder or a zip)", file=sys.stderr)
        return 2
    metadata = Path(args.metadata) if args.metadata else None
    results = grade(a, submission, Path(args.results), sandbox=args.sandbox, metadata=metadata)
    print(results_table(results))
    print(f"results written to {args.results}", file=sys.stderr)
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    """Run the public tests on a student's copy (default: starter_code/<hw>)."""
    from autograder.grading import grade
    from autograder.table import results_table

    a = _assignment(args)
    path = Path(args.path) if args.path else a.starter_dir
    with tempfile.TemporaryDirectory(prefix="cs330-test-") as tmp:
        results = grade(a, path, Path(tmp) / "results.json", scope="public", sandbox=args.sandbox)
    print(results_table(results))
    score, possible = totals(results)
    print(f"\npublic tests: {score:g}/{possible:g} (hidden tests run on Gradescope after you submit)")
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    """Run the public tests, then write the zip to upload with exactly the submitted files."""
    from autograder.intake import take_in

    a = _assignment(args)
    path = Path(args.path) if args.path else a.starter_dir
    cmd_test(args)
    out = Path(args.out or f"{a.id}-submission.zip")
    with tempfile.TemporaryDirectory(prefix="cs330-submit-") as tmp:
        intake = take_in(path, a.files, Path(tmp))
        for problem in intake.problems:
            print(f"warning: {problem}", file=sys.stderr)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, file in sorted(intake.found.items()):
                archive.write(file, name)
    print(f"wrote {out} with {', '.join(sorted(intake.found)) or 'no files'}: upload it to Gradescope")
    return 0 if intake.found else 1


def cmd_check(args: argparse.Namespace) -> int:
    """Run the instructor's release check; exit 1 when any requirement fails."""
    from autograder.check import run_check

    failed = []
    for hw in args.hw or list_assignments(Path(args.root)):
        results = run_check(_assignment(args, hw))
        for r in results:
            print(f"[{'ok' if r.ok else 'FAIL':>4}] {hw}: {r.name}: {r.detail}")
        failed += [hw] if not all(r.ok for r in results) else []
    if failed:
        print(f"cs330 check: {', '.join(failed)} not ready for release (see FAIL lines)", file=sys.stderr)
    return 1 if failed else 0


def cmd_train(args: argparse.Namespace) -> int:
    """Run the assignment's experiment (train.py) from a code folder."""
    a = _assignment(args)
    path = Path(args.path).resolve() if args.path else a.starter_dir
    sys.path.insert(0, str(path))
    module = importlib.import_module(Path(a.train_script).stem)
    try:
        module.main(args.train_args)
    except NotImplementedError as exc:
        print(f"cs330 train: {exc}. Implement it in {path}/{a.files[0]} first, or train the "
              f"reference with `cs330 train {a.id} solutions/{a.id}`.", file=sys.stderr)
        return 1
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    """Download a dataset (official files, checksums verified)."""
    from autograder.omniglot import OFFICIAL_BASE_URL, download_omniglot

    dest = Path(args.dest)
    checksums = dict(c.split("=", 1) for c in args.checksum) if args.checksum else None
    paths = download_omniglot(dest, base_url=args.base_url or OFFICIAL_BASE_URL, checksums=checksums)
    for p in paths:
        print(p)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Build every assignment, then grade its reference solution and untouched starter."""
    from autograder.build import build
    from autograder.grading import grade
    from autograder.table import summary_table

    rows = []
    with tempfile.TemporaryDirectory(prefix="cs330-demo-") as tmp:
        for hw in list_assignments(Path(args.root)):
            a = _assignment(args, hw)
            if a.solution_dir.is_dir():
                build(a, Path(args.dist))
            for who, folder in (("reference", a.solution_dir), ("starter", a.starter_dir)):
                if not folder.is_dir():
                    continue
                results = grade(a, folder, Path(tmp) / f"{hw}-{who}.json", sandbox=args.sandbox)
                score, possible = totals(results)
                rows.append((hw, who, score, possible, len(results["extra_data"]["grader_errors"])))
    print(summary_table(rows))
    return 0


def cmd_grade_batch(args: argparse.Namespace) -> int:
    """Grade a folder of submissions or a Gradescope export N at a time; write grades.csv."""
    from autograder.batch import BatchError, describe, grade_batch

    a = _assignment(args)
    try:
        summary = grade_batch(a, Path(args.submissions), Path(args.out), jobs=args.jobs, container=args.container,
                              only_latest=args.only_latest, sandbox=args.sandbox)
    except BatchError as exc:
        print(f"cs330 grade-batch: {exc}", file=sys.stderr)
        return 2
    print(describe(summary), file=sys.stderr)
    if summary.interrupted:
        return 130
    return 1 if summary.count("grader_error") else 0


def cmd_report(args: argparse.Namespace) -> int:
    """Per-test pass rates and the score distribution of a grade-batch folder (Markdown and PNG)."""
    from autograder.report import ReportError, write_report

    try:
        markdown, paths = write_report(Path(args.dir))
    except ReportError as exc:
        print(f"cs330 report: {exc}", file=sys.stderr)
        return 2
    print(markdown)
    print(f"wrote {', '.join(str(p) for p in paths)}", file=sys.stderr)
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    """Scaffold a new assignment and its reference solution."""
    from autograder.scaffold import ScaffoldError, next_steps, scaffold

    try:
        written = scaffold(args.hw_id, Path(args.root).resolve())
    except ScaffoldError as exc:
        print(f"cs330 new: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    print(next_steps(args.hw_id), file=sys.stderr)
    return 0


class _Subcommands:
    """Adds subcommands that all accept the common options (--root, --sandbox)."""

    def __init__(self, subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
        self.subparsers, self.common = subparsers, common

    def add_parser(self, name: str, **kwargs: object) -> argparse.ArgumentParser:
        """A subcommand parser that inherits the common options."""
        return self.subparsers.add_parser(name, parents=[self.common], **kwargs)


def parser() -> argparse.ArgumentParser:
    """The argument parser of `cs330`."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", default=str(REPO_ROOT), help="project root (default: this checkout)")
    common.add_argument("--sandbox", default="auto", choices=["auto", "bwrap+uid", "bwrap", "uid", "none"],
                        help="isolation of student code (default: the strongest that works here)")
    p = argparse.ArgumentParser(prog="cs330", description=__doc__)
    sub = _Subcommands(p.add_subparsers(dest="command", required=True), common)
    sub.add_parser("list", help="list the assignments").set_defaults(func=cmd_list)
    b = sub.add_parser("build", help="write starter code, golden data and dist/ zips")
    b.add_argument("hw", nargs="*")
    b.add_argument("--dist", default=str(REPO_ROOT / "dist"))
    b.add_argument("--no-golden", action="store_true", help="keep the committed golden data")
    b.set_defaults(func=cmd_build)
    g = sub.add_parser("grade", help="grade a submission folder or zip")
    g.add_argument("hw")
    g.add_argument("submission")
    g.add_argument("--results", default="results.json")
    g.add_argument("--metadata", help="Gradescope's submission_metadata.json")
    g.set_defaults(func=cmd_grade)
    for name, helptext, func in (("test", "run the public tests on your code", cmd_test),
                                 ("submit", "test, then write the zip to upload", cmd_submit)):
        t = sub.add_parser(name, help=helptext)
        t.add_argument("hw")
        t.add_argument("path", nargs="?", help="your code folder (default: starter_code/HW)")
        if name == "submit":
            t.add_argument("--out", help="zip to write (default: HW-submission.zip)")
        t.set_defaults(func=func)
    c = sub.add_parser("check", help="instructor release check (every assignment when none is named)")
    c.add_argument("hw", nargs="*")
    c.set_defaults(func=cmd_check)
    tr = sub.add_parser("train", help="run the assignment's experiment (options for train.py after --)")
    tr.add_argument("hw")
    tr.add_argument("path", nargs="?", help="code folder (default: starter_code/HW)")
    tr.set_defaults(func=cmd_train)
    d = sub.add_parser("data", help="download a dataset")
    d.add_argument("dataset", choices=["omniglot"])
    d.add_argument("--dest", default="data/omniglot")
    d.add_argument("--base-url", help="mirror to download from (default: the official repository)")
    d.add_argument("--checksum", action="append", metavar="NAME=ALGO:HEX",
                   help="expected checksum of a file from a mirror, e.g. images_background.zip=sha256:...; "
                        "repeat for each file (default: the official zips' md5)")
    d.set_defaults(func=cmd_data)
    dm = sub.add_parser("demo", help="build, then grade reference and starter of every assignment")
    dm.add_argument("--dist", default=str(REPO_ROOT / "dist"))
    dm.set_defaults(func=cmd_demo)
    gb = sub.add_parser("grade-batch", help="grade a folder of submissions or a Gradescope export zip")
    gb.add_argument("hw")
    gb.add_argument("submissions", help="a folder with one sub-folder or zip per submission, or a "
                                        "Gradescope export zip (or its unzipped folder)")
    gb.add_argument("--out", required=True, help="folder for grades.csv and each submission's results.json "
                                                 "and grade.log; rerun with the same folder to resume")
    gb.add_argument("--jobs", type=int, default=1, help="submissions graded at the same time (default 1)")
    gb.add_argument("--container", metavar="IMAGE", help="grade each submission inside this container image")
    gb.add_argument("--only-latest", action="store_true",
                    help="grade only each student's newest submission (created_at in submission_metadata.yml)")
    gb.set_defaults(func=cmd_grade_batch)
    rp = sub.add_parser("report", help="per-test pass rates and score distribution of a grade-batch folder")
    rp.add_argument("dir", help="the --out folder of grade-batch")
    rp.set_defaults(func=cmd_report)
    nw = sub.add_parser("new", help="scaffold assignments/HW_ID and solutions/HW_ID")
    nw.add_argument("hw_id", help="a Python identifier such as hw6_maml")
    nw.set_defaults(func=cmd_new)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `cs330` console script."""
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser().parse_args(argv[: len(argv) - len(extra) - (1 if "--" in argv else 0)])
    args.train_args = extra
    try:
        return args.func(args)
    except Exception as exc:  # noqa: BLE001 - expected failures print a message and exit 2
        from autograder.build import BuildError
        from autograder.grading import GraderFailure

        if isinstance(exc, (AssignmentError, GraderFailure, BuildError)) or args.command == "data":
            print(f"cs330: {exc}", file=sys.stderr)
            return 2
        raise

if __name__ == "__main__":
    sys.exit(main())
