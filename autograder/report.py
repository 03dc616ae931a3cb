"""`cs330 report DIR`: where a class lost points, from a `cs330 grade-batch` output folder.

Reads DIR/<submission>/results.json for the submissions listed in DIR/grades.csv (every
sub-folder with a results.json when there is no grades.csv) and writes, for instructors deciding
what to re-teach: per-test pass rates, lowest first, and the distribution of totals, as Markdown
(printed, and DIR/report.md) and as a figure (DIR/report.png).
"""

from __future__ import annotations

import csv
import logging
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from autograder.batch import load_results, number_key, test_key, total_score

log = logging.getLogger(__name__)

BINS = 10
NAME_CHARS = 60


class ReportError(ValueError):
    """A folder with nothing to report on."""


@dataclass
class TestStats:
    """How one test went across the submissions that ran it."""

    key: str
    number: str
    name: str
    max_score: float
    attempts: int = 0
    passed: int = 0
    points: float = 0.0

    @property
    def pass_rate(self) -> float:
        """Fraction of submissions that passed the test."""
        return self.passed / self.attempts if self.attempts else 0.0

    @property
    def mean_score(self) -> float:
        """Mean points earned on the test."""
        return self.points / self.attempts if self.attempts else 0.0

    def label(self) -> str:
        """The test's number and name, shortened for tables and plots."""
        text = f"{self.number} {self.name}".strip()
        return text if len(text) <= NAME_CHARS else text[: NAME_CHARS - 3] + "..."


@dataclass
class Cohort:
    """The graded submissions of one batch folder."""

    names: list[str]
    totals: list[float]
    possible: float
    tests: list[TestStats]
    unfinished: list[str] = field(default_factory=list)  # timeouts and grader errors (scored 0)


def submission_names(folder: Path) -> list[str]:
    """The submissions of a batch folder: grades.csv's rows, else every sub-folder with results.json."""
    grades = folder / "grades.csv"
    if grades.is_file():
        with open(grades, newline="") as handle:
            return [row["submission"] for row in csv.DictReader(handle) if row.get("submission")]
    return sorted(p.parent.name for p in folder.glob("*/results.json") if not p.parent.name.startswith("."))


def test_stats(all_results: list[dict]) -> list[TestStats]:
    """Per-test counts across results, ordered by test number."""
    stats: dict[str, TestStats] = {}
    for results in all_results:
        for test in results.get("tests", []):
            key = test_key(test)
            entry = stats.setdefault(key, TestStats(key, str(test.get("number") or ""), str(test.get("name", "")),
                                                    float(test.get("max_score", 0.0))))
            entry.max_score = max(entry.max_score, float(test.get("max_score", 0.0)))
            entry.attempts += 1
            entry.passed += test.get("status") == "passed"
            entry.points += float(test.get("score", 0.0))
    return sorted(stats.values(), key=lambda s: (number_key(s.number), s.name))


def load_cohort(folder: Path) -> Cohort:
    """Read every listed submission's results.json from a batch folder."""
    if not folder.is_dir():
        raise ReportError(f"{folder} is not a folder: give the --out folder of `cs330 grade-batch`")
    names, loaded, missing = [], [], []
    for name in submission_names(folder):
        results = load_results(folder / name / "results.json")
        if results is None:
            missing.append(name)
            continue
        names.append(name)
        loaded.append(results)
    if missing:
        log.warning("%d submission(s) have no readable results.json yet (%s); rerun grade-batch to grade them",
                    len(missing), ", ".join(missing[:10]))
    if not loaded:
        raise ReportError(f"no results.json under {folder}: run "
                          f"`cs330 grade-batch HW SUBMISSIONS --out {folder}` first")
    possible = max(sum(float(t.get("max_score", 0.0)) for t in r.get("tests", [])) for r in loaded)
    unfinished = [n for n, r in zip(names, loaded) if ((r.get("extra_data") or {}).get("batch") or {}).get("status")]
    return Cohort(names, [total_score(r) for r in loaded], possible, test_stats(loaded), unfinished)


def score_bins(totals: list[float], possible: float, bins: int = BINS) -> list[tuple[float, float, int]]:
    """(low, high, count) for equal-width bins over [0, possible]; the last bin includes possible."""
    if possible <= 0:
        return [(0.0, 0.0, len(totals))]
    width = possible / bins
    counts = [0] * bins
    for total in totals:
        counts[min(max(int(total / width), 0), bins - 1)] += 1
    return [(i * width, (i + 1) * width, c) for i, c in enumerate(counts)]


def _pct(value: float) -> str:
    """A fraction as a percentage with one decimal."""
    return f"{100 * value:.1f}%"


def _num(value: float) -> str:
    """A number with at most two decimals, without trailing zeros."""
    return f"{round(value, 2):g}"


def markdown(cohort: Cohort, title: str) -> str:
    """The report as Markdown: summary, score distribution, per-test pass rates (lowest first)."""
    n, totals = len(cohort.totals), cohort.totals
    lines = [f"# Grading report: {title}", "",
             f"{n} submission(s), {len(cohort.tests)} test(s), {_num(cohort.possible)} points possible.", "",
             "| submissions | mean | median | std | min | max | full marks | zero |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
             f"| {n} | {_num(statistics.fmean(totals))} | {_num(statistics.median(totals))} | "
             f"{_num(statistics.pstdev(totals))} | {_num(min(totals))} | {_num(max(totals))} | "
             f"{sum(t >= cohort.possible for t in totals)} | {sum(t <= 0 for t in totals)} |", ""]
    if cohort.unfinished:
        lines += [f"{len(cohort.unfinished)} submission(s) did not finish grading and count as 0: "
                  f"{', '.join(cohort.unfinished[:20])}.", ""]
    lines += ["## Score distribution", "", "| total | share of points | submissions | share |",
              "| --- | --- | ---: | ---: |"]
    bins = score_bins(totals, cohort.possible)
    for i, (low, high, count) in enumerate(bins):
        closing = "]" if i == len(bins) - 1 else ")"
        share = f"{_pct(low / cohort.possible)}–{_pct(high / cohort.possible)}" if cohort.possible else "-"
        lines.append(f"| [{_num(low)}, {_num(high)}{closing} | {share} | {count} | {_pct(count / n)} |")
    lines += ["", "## Tests by pass rate (lowest first)", "",
              "| test | points | pass rate | passed | mean score |", "| --- | ---: | ---: | ---: | ---: |"]
    for s in sorted(cohort.tests, key=lambda s: (s.pass_rate, number_key(s.number), s.name)):
        lines.append(f"| {s.label().replace('|', '/')} | {_num(s.max_score)} | {_pct(s.pass_rate)} | "
                     f"{s.passed}/{s.attempts} | {_num(s.mean_score)} |")
    return "\n".join(lines) + "\n"


def plot(cohort: Cohort, path: Path, title: str) -> Path:
    """Save the figure: pass rate per test (lowest on top) and a histogram of totals."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    ordered = sorted(cohort.tests, key=lambda s: (-s.pass_rate, number_key(s.number), s.name))
    height = max(4.0, 0.3 * len(ordered) + 1.5)
    fig = Figure(figsize=(13, height), layout="constrained")
    FigureCanvasAgg(fig)
    rates_ax, hist_ax = fig.subplots(1, 2, width_ratios=[3, 2])
    rates = [100 * s.pass_rate for s in ordered]
    bars = rates_ax.barh(range(len(ordered)), rates, color=["#c0392b" if r < 50 else "#2e86c1" for r in rates])
    rates_ax.bar_label(bars, fmt="%.0f%%", fontsize=7, padding=2)
    rates_ax.set_yticks(range(len(ordered)), [s.label() for s in ordered], fontsize=8)
    rates_ax.set_xlim(0, 100)
    rates_ax.set_xlabel("submissions passing (%)")
    rates_ax.set_title("Pass rate per test (lowest on top)")
    bins = score_bins(cohort.totals, cohort.possible)
    edges = [low for low, _, _ in bins] + [bins[-1][1]]
    if cohort.possible > 0:
        hist_ax.hist(cohort.totals, bins=edges, color="#2e86c1", edgecolor="white")
        hist_ax.set_xlim(0, cohort.possible)
    else:
        hist_ax.hist(cohort.totals, color="#2e86c1", edgecolor="white")
    hist_ax.axvline(statistics.fmean(cohort.totals), color="#c0392b", linestyle="--",
                    label=f"mean {_num(statistics.fmean(cohort.totals))}")
    hist_ax.set_xlabel(f"total (of {_num(cohort.possible)})")
    hist_ax.set_ylabel("submissions")
    hist_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    hist_ax.set_title("Distribution of totals")
    hist_ax.legend()
    fig.suptitle(f"{title}: {len(cohort.totals)} submissions")
    fig.savefig(path, dpi=100)
    return path


def write_report(folder: Path) -> tuple[str, list[Path]]:
    """Write DIR/report.md and DIR/report.png; return the Markdown and the paths."""
    cohort = load_cohort(folder)
    title = folder.resolve().name
    text = markdown(cohort, title)
    md_path = folder / "report.md"
    md_path.write_text(text)
    return text, [md_path, plot(cohort, folder / "report.png", title)]
