"""autograder.results: results.json built from verdicts and the manifest, validated, written atomically."""

from __future__ import annotations

import copy
import json
import math
import os
from pathlib import Path

import jsonschema
import pytest

from autograder.results import (
    NO_VERDICT,
    build_results,
    read_verdicts,
    totals,
    validate,
    write_atomic,
)


def verdict(nodeid: str, status: str = "passed", weight: float = 2.0, score: float | None = None,
            **extra) -> dict:
    """A verdict like the plugin writes it."""
    passed = status in ("passed", "xfailed")
    data = {
        "nodeid": nodeid,
        "name": f"name of {nodeid.split('::')[-1]}",
        "number": extra.pop("number", None),
        "weight": weight,
        "score": (weight if passed else 0.0) if score is None else score,
        "status": status,
        "visibility": extra.pop("visibility", "visible"),
        "tags": extra.pop("tags", []),
        "grader_error": extra.pop("grader_error", False),
        "duration_s": 0.01,
        "output": extra.pop("output", "" if passed else "The test failed."),
    }
    data.update(extra)
    return data


def manifest_entry(nodeid: str, weight: float = 2.0, number: str | None = None, visibility: str = "visible",
                   tags: list | None = None) -> dict:
    """A manifest entry like `cs330 build` records it."""
    return {"nodeid": nodeid, "name": f"name of {nodeid.split('::')[-1]}", "number": number,
            "weight": weight, "visibility": visibility, "tags": tags or []}


MANIFEST = [
    manifest_entry("test_a.py::test_one", 1.0, "1.1", tags=["easy"]),
    manifest_entry("test_a.py::test_two", 2.0, "1.2"),
    manifest_entry("test_hidden_b.py::test_three", 3.0, "2.1", visibility="after_due_date"),
    manifest_entry("test_hidden_b.py::test_four", 4.0, None, visibility="hidden"),
]


def build(verdicts, manifest=MANIFEST, problems=()) -> dict:
    """build_results with fixed extra data and time."""
    return build_results(verdicts, manifest, {"assignment": "hw"}, 1.23456, list(problems))


@pytest.fixture
def results() -> dict:
    """Results where the run stopped after two tests (verdicts arrive out of manifest order)."""
    return build([
        verdict("test_a.py::test_two", "failed", 2.0, output="expected 3, got 4"),
        verdict("test_a.py::test_one", "passed", 1.0, number="1.1", tags=["easy"]),
    ])


def test_every_manifest_test_appears_in_manifest_order(results):
    """All manifest tests are present, in manifest order, whatever order the verdicts came in."""
    assert [t["extra_data"]["nodeid"] for t in results["tests"]] == [e["nodeid"] for e in MANIFEST]


def test_missing_verdict_is_failed_with_zero_and_explained(results):
    """A manifest test that never reported fails with score 0, its full weight, and an explanation."""
    three, four = results["tests"][2], results["tests"][3]
    for test, weight in ((three, 3.0), (four, 4.0)):
        assert test["status"] == "failed"
        assert test["score"] == 0.0 and test["max_score"] == weight
        assert test["output"] == NO_VERDICT and "no result" in test["output"]
        assert test["extra_data"]["outcome"] == "no_verdict"
    assert three["visibility"] == "after_due_date" and three["number"] == "2.1"
    assert four["visibility"] == "hidden" and "number" not in four


def test_scores_and_summary(results):
    """Totals count only earned points; the missing tests still count toward the maximum.

    The summary students read counts only visible tests, so it never reveals hidden scores.
    """
    assert totals(results) == (1.0, 10.0)
    assert results["output"].splitlines()[0] == "Visible tests: 1 / 3"
    assert "Hidden tests are graded now" in results["output"]
    assert results["execution_time"] == 1.235
    assert results["extra_data"]["assignment"] == "hw"
    assert results["extra_data"]["grader_errors"] == []


def test_entry_fields_come_from_the_verdict(results):
    """name, number, tags, output and visibility are copied into the test entry."""
    one, two = results["tests"][0], results["tests"][1]
    assert one == {"name": "name of test_one", "score": 1.0, "max_score": 1.0, "status": "passed",
                   "output": "", "output_format": "text", "visibility": "visible", "number": "1.1",
                   "tags": ["easy"], "extra_data": {"nodeid": "test_a.py::test_one", "outcome": "passed"}}
    assert two["output"] == "expected 3, got 4" and two["status"] == "failed" and "tags" not in two


def test_results_validate_against_schema(results):
    """The built results satisfy the Gradescope schema, with no null anywhere."""
    validate(results)

    def walk(value):
        assert value is not None
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
    walk(results)


@pytest.mark.parametrize("status,expected", [
    ("passed", "passed"), ("xfailed", "passed"),
    ("failed", "failed"), ("error", "failed"), ("skipped", "failed"), ("xpassed", "failed"),
    ("no_verdict", "failed"),
])
def test_status_mapping(status, expected):
    """pytest outcomes map to Gradescope's two statuses; only passed and xfailed pass."""
    res = build([verdict("t.py::x", status, 1.0)], manifest=None)
    assert res["tests"][0]["status"] == expected
    assert res["tests"][0]["extra_data"]["outcome"] == status
    validate(res)


def test_verdicts_outside_manifest_are_appended():
    """Verdicts of tests the manifest does not know are kept, after the manifest's tests."""
    res = build([verdict("new.py::extra", "passed", 5.0), verdict("test_a.py::test_one", "passed", 1.0)],
                manifest=MANIFEST[:1])
    assert [t["extra_data"]["nodeid"] for t in res["tests"]] == ["test_a.py::test_one", "new.py::extra"]
    assert totals(res) == (6.0, 6.0)


def test_without_manifest_verdict_order_is_kept():
    """With no manifest, results list the verdicts as they came."""
    res = build([verdict("b.py::z"), verdict("a.py::y")], manifest=None)
    assert [t["extra_data"]["nodeid"] for t in res["tests"]] == ["b.py::z", "a.py::y"]


def test_partial_score_is_kept():
    """A partial score between 0 and the weight is reported as is."""
    res = build([verdict("t.py::p", "failed", 4.0, score=1.5)], manifest=None)
    assert res["tests"][0]["score"] == 1.5 and res["tests"][0]["max_score"] == 4.0


def test_grader_errors_and_collection_errors_are_reported():
    """Grader and collection errors go to extra_data (staff only), not to the students' summary."""
    res = build([
        verdict("test_a.py::test_one", "error", 1.0, grader_error=True, output="internal error"),
        {"nodeid": "test_broken.py", "collection_error": True, "status": "error", "grader_error": True,
         "output": "collecting test_broken.py failed: ImportError"},
    ], manifest=MANIFEST[:1], problems=["model.py is missing from the submission"])
    assert [t["extra_data"]["nodeid"] for t in res["tests"]] == ["test_a.py::test_one"]
    assert res["extra_data"]["grader_errors"] == ["test_a.py::test_one", "test_broken.py"]
    assert res["extra_data"]["collection_errors"] == ["collecting test_broken.py failed: ImportError"]
    lines = res["output"].splitlines()
    assert lines[0] == "Visible tests: 0 / 1"
    assert "model.py is missing from the submission" in lines
    assert "grader error" not in res["output"]
    validate(res)


def test_leaderboard_entries_are_collected():
    """Leaderboard values of the verdicts become the results' leaderboard."""
    res = build([verdict("t.py::acc", leaderboard={"name": "accuracy", "value": 0.93, "order": "desc"}),
                 verdict("t.py::time", leaderboard={"name": "seconds", "value": 12, "order": "asc"}),
                 verdict("t.py::plain")], manifest=None)
    assert res["leaderboard"] == [{"name": "accuracy", "value": 0.93, "order": "desc"},
                                  {"name": "seconds", "value": 12, "order": "asc"}]
    validate(res)
    assert "leaderboard" not in build([verdict("t.py::plain")], manifest=None)


# ---------------------------------------------------------------- validate()


def broken(results: dict, change) -> dict:
    """A deep copy of results with change applied."""
    data = copy.deepcopy(results)
    change(data)
    return data


@pytest.mark.parametrize("change", [
    lambda r: r["tests"][0].update(number=None),
    lambda r: r["tests"][0].update(output=None),
    lambda r: r.update(output=None),
    lambda r: r.update(execution_time=None),
    lambda r: r["tests"][0].update(status="error"),
    lambda r: r["tests"][0].update(status="PASSED"),
    lambda r: r["tests"][0].update(score="1.0"),
    lambda r: r["tests"][0].update(max_score="2"),
    lambda r: r.update(score="10"),
    lambda r: r["tests"][0].update(visibility="private"),
    lambda r: r.update(visibility="everyone"),
    lambda r: r.update(unexpected_key=1),
    lambda r: r["tests"][0].update(nodeid="x"),
    lambda r: r["tests"][0].update(tags=["ok", 3]),
    lambda r: r["tests"][0].update(output_format="markdown"),
    lambda r: r.update(leaderboard=[{"name": "acc"}]),
    lambda r: r.update(leaderboard=[{"name": "acc", "value": 1, "order": "up"}]),
    lambda r: r["tests"][0].update(max_score=-1),
    lambda r: r.pop("tests"),
], ids=["null-number", "null-output", "null-top-output", "null-time", "status-error", "status-case",
        "string-score", "string-max-score", "string-top-score", "bad-visibility", "bad-top-visibility",
        "extra-top-key", "extra-test-key", "non-string-tag", "bad-format", "leaderboard-no-value",
        "leaderboard-bad-order", "negative-max", "no-score-source"])
def test_validate_rejects_malformed_results(results, change):
    """validate raises ValidationError for nulls, wrong types and values, and unknown keys."""
    validate(results)
    with pytest.raises(jsonschema.ValidationError):
        validate(broken(results, change))


def test_validate_accepts_minimal_results():
    """A results.json with only a score, or only tests, is valid."""
    validate({"score": 0})
    validate({"tests": []})


# ---------------------------------------------------------------- write_atomic()


def leftovers(folder: Path) -> list[str]:
    """Files in folder other than results.json (temp files would show here)."""
    return sorted(p.name for p in folder.iterdir() if p.name != "results.json")


def test_write_atomic_writes_valid_json(results, tmp_path):
    """The file is valid JSON equal to the results, and no temp file remains."""
    path = tmp_path / "out" / "results.json"
    write_atomic(results, path)
    assert json.loads(path.read_text()) == results
    validate(json.loads(path.read_text()))
    assert leftovers(path.parent) == []


def test_write_atomic_replaces_previous_file(results, tmp_path):
    """A second write replaces the first one whole."""
    path = tmp_path / "results.json"
    write_atomic({"score": 0, "output": "first"}, path)
    write_atomic(results, path)
    assert json.loads(path.read_text()) == results
    assert leftovers(tmp_path) == []


def test_write_atomic_keeps_previous_file_when_validation_fails(results, tmp_path):
    """Invalid results raise, and the previous results.json is left untouched."""
    path = tmp_path / "results.json"
    write_atomic(results, path)
    before = path.read_bytes()
    with pytest.raises(jsonschema.ValidationError):
        write_atomic(broken(results, lambda r: r["tests"][0].update(status="error")), path)
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_write_atomic_keeps_previous_file_when_serialization_fails(results, tmp_path):
    """A value JSON cannot hold (passing the schema) raises and leaves no temp file behind."""
    path = tmp_path / "results.json"
    write_atomic(results, path)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        write_atomic(broken(results, lambda r: r["extra_data"].update(bad={1, 2})), path)
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def strict_json(text: str):
    """Parse text as strict JSON (NaN and Infinity are not JSON)."""
    def refuse(name):
        raise ValueError(f"{name} is not valid JSON")
    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("bad", ["score-nan", "leaderboard-nan", "score-inf"])
def test_write_atomic_never_writes_non_json_numbers(results, tmp_path, bad):
    """A NaN or infinite number is refused (previous file kept) or never reaches the file as NaN."""
    path = tmp_path / "results.json"
    write_atomic(results, path)
    before = path.read_bytes()
    change = {
        "score-nan": lambda r: r["tests"][0].update(score=math.nan),
        "leaderboard-nan": lambda r: r.update(leaderboard=[{"name": "acc", "value": math.nan}]),
        "score-inf": lambda r: r["tests"][0].update(score=math.inf),
    }[bad]
    try:
        write_atomic(broken(results, change), path)
    except (ValueError, jsonschema.ValidationError):
        assert path.read_bytes() == before
        return
    strict_json(path.read_text())


# ---------------------------------------------------------------- read_verdicts()


def test_read_verdicts_skips_truncated_last_line_and_splits_session(tmp_path):
    """Complete lines are verdicts, the session line is returned apart, a cut-off line is ignored."""
    path = tmp_path / "verdicts.jsonl"
    one, two = verdict("t.py::one"), verdict("t.py::two", "failed")
    session = {"protections": {"mode": "bwrap+uid"}}
    cut = json.dumps(verdict("t.py::three"))[:37]
    path.write_text(json.dumps(one) + "\n" + json.dumps(two) + "\n\n"
                    + json.dumps({"session": session}) + "\n" + cut)
    verdicts, got_session = read_verdicts(path)
    assert verdicts == [one, two]
    assert got_session == session


def test_read_verdicts_missing_file(tmp_path):
    """A verdicts file that was never written gives no verdicts and no session."""
    assert read_verdicts(tmp_path / "nope.jsonl") == ([], {})


def test_read_verdicts_feed_build_results(tmp_path):
    """Verdicts read back from a killed run complete into valid results with the manifest."""
    path = tmp_path / "verdicts.jsonl"
    path.write_text(json.dumps(verdict("test_a.py::test_one", "passed", 1.0)) + "\n"
                    + json.dumps(verdict("test_a.py::test_two"))[:-5])
    verdicts, _ = read_verdicts(path)
    res = build(verdicts)
    validate(res)
    assert [t["extra_data"]["outcome"] for t in res["tests"]] == ["passed", "no_verdict", "no_verdict",
                                                                   "no_verdict"]
    out = tmp_path / "results.json"
    write_atomic(res, out)
    assert os.path.getsize(out) > 0
