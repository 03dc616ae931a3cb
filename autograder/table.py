"""Readable terminal tables of grading results."""

from __future__ import annotations

from autograder.results import totals

STATUS_MARK = {"passed": "PASS", "failed": "FAIL"}


def _sort_key(test: dict) -> tuple:
    """Order tests by their number (1.2 before 1.10), unnumbered last."""
    number = test.get("number")
    if not number:
        return (1, ())
    return (0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in number.split(".")))


def results_table(results: dict, show_output: bool = True, width: int = 100) -> str:
    """A per-test table (number, name, score, status) with failure messages and the total."""
    lines = []
    for test in sorted(results.get("tests", []), key=_sort_key):
        name = test.get("name", "")
        name = name if len(name) <= 60 else name[:57] + "..."
        score = f"{test['score']:g}/{test['max_score']:g}"
        lines.append(f"{test.get('number', ''):<7} {name:<60} {score:>7}  {STATUS_MARK[test['status']]}")
        if show_output and test["status"] != "passed" and test.get("output"):
            for out_line in test["output"].splitlines()[:12]:
                lines.append("        | " + out_line[: width - 10])
    score, possible = totals(results)
    lines.append(f"{'':<7} {'TOTAL':<60} {f'{score:g}/{possible:g}':>7}")
    return "\n".join(lines)


def summary_table(rows: list[tuple[str, str, float, float, int]]) -> str:
    """A table of (assignment, submission, score, max score, grader errors) rows."""
    lines = [f"{'assignment':<16} {'submission':<14} {'score':>12} {'grader errors':>14}"]
    for hw, who, score, possible, errors in rows:
        lines.append(f"{hw:<16} {who:<14} {f'{score:g}/{possible:g}':>12} {errors:>14}")
    return "\n".join(lines)
