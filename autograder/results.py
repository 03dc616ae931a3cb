"""results.json: built from the verdicts and the manifest, validated, written atomically.

Every test the manifest expects appears in the results, whether or not it produced a verdict
(a test with no verdict counts as failed). The file is validated against Gradescope's format
(results_schema.json) and written last, by replacing it in one step.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_PATH = Path(__file__).with_name("results_schema.json")
NO_VERDICT = "This test produced no result: the test run ended before reaching it."
UNLOADABLE = ("This test's file could not be loaded by the grader (a grader error, not yours); "
              "the course staff will look at it.")


@lru_cache(maxsize=1)
def schema() -> dict:
    """The JSON Schema of Gradescope's results.json."""
    return json.loads(SCHEMA_PATH.read_text())


def validate(results: dict) -> None:
    """Raise jsonschema.ValidationError when results is not a valid results.json."""
    jsonschema.validate(results, schema())


def read_verdicts(path: Path) -> tuple[list[dict], dict]:
    """Read the plugin's JSON-lines verdicts; return (verdicts, session info)."""
    verdicts, session = [], {}
    if not path.is_file():
        return verdicts, session
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line cut short by a killed run
        if "session" in record:
            session = record["session"]
        else:
            verdicts.append(record)
    return verdicts, session


def test_entry(verdict: dict) -> dict:
    """One results.json test entry from a verdict."""
    entry = {
        "name": verdict["name"],
        "score": float(verdict["score"]),
        "max_score": float(verdict["weight"]),
        "status": "passed" if verdict["status"] in ("passed", "xfailed") else "failed",
        "output": verdict.get("output", ""),
        "output_format": "text",
        "visibility": verdict["visibility"],
        "extra_data": {"nodeid": verdict["nodeid"], "outcome": verdict["status"]},
    }
    if verdict.get("number"):
        entry["number"] = str(verdict["number"])
    if verdict.get("tags"):
        entry["tags"] = list(verdict["tags"])
    return entry


def missing_verdict(expected: dict, reason: str) -> dict:
    """The verdict of a test the manifest expects but that never reported."""
    return {**expected, "score": 0.0, "status": "no_verdict", "output": reason, "grader_error": False}


def build_results(verdicts: list[dict], manifest: list[dict] | None, extra: dict,
                  execution_time: float, problems: list[str], no_verdict: str = NO_VERDICT) -> dict:
    """Assemble results.json from verdicts, completing them with the manifest.

    The top-level output shows only what students may see before the due date: the score of the
    visible tests, never a total that would reveal hidden ones.
    """
    by_id = {v["nodeid"]: v for v in verdicts if not v.get("collection_error")}
    broken_files = {v["nodeid"].split("::")[0] for v in verdicts if v.get("collection_error")}
    ordered = []
    for expected in manifest or []:
        reason = UNLOADABLE if expected["nodeid"].split("::")[0] in broken_files else no_verdict
        ordered.append(by_id.pop(expected["nodeid"], None) or missing_verdict(expected, reason))
    ordered.extend(by_id.values())
    tests = [test_entry(v) for v in ordered]
    leaderboard = [v["leaderboard"] for v in ordered if _valid_leaderboard(v.get("leaderboard"))]
    visible = [t for t in tests if t["visibility"] == "visible"]
    summary = [f"Visible tests: {sum(t['score'] for t in visible):g} / {sum(t['max_score'] for t in visible):g}"]
    if len(visible) < len(tests):
        summary.append("Hidden tests are graded now; their results appear after the due date.")
    results: dict[str, Any] = {
        "tests": tests,
        "execution_time": round(execution_time, 3),
        "output": "\n".join(summary + problems),
        "output_format": "text",
        "extra_data": {**extra,
                       "grader_errors": [v.get("nodeid", "") for v in verdicts if v.get("grader_error")],
                       "collection_errors": [v.get("output", "") for v in verdicts if v.get("collection_error")]},
    }
    if leaderboard:
        results["leaderboard"] = leaderboard
    return results


def _valid_leaderboard(entry: object) -> bool:
    """True for a leaderboard entry Gradescope accepts (a finite number or a string value)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        return False
    value = entry.get("value")
    return isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool)
                                      and math.isfinite(value))


def write_atomic(results: dict, path: Path) -> None:
    """Validate results, then replace path with them in one step."""
    validate(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".results-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(results, handle, indent=2, sort_keys=True, allow_nan=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def totals(results: dict) -> tuple[float, float]:
    """(score, max score) of a results dict."""
    tests = results.get("tests", [])
    return sum(t["score"] for t in tests), sum(t["max_score"] for t in tests)
