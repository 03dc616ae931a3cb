"""Late penalties and rate limits from submission_metadata.json (off unless assignment.toml sets them)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from autograder.grading import grade
from autograder.policy import Policy, days_late, decide, parse_time
from autograder.results import totals, validate


def metadata(created: str, due: str = "2026-11-20T23:59:00-08:00", previous: list | None = None) -> dict:
    """A submission_metadata.json like Gradescope's."""
    return {"id": 1, "created_at": created, "users": [{"email": "s@x.edu", "name": "S", "id": 3}],
            "assignment": {"due_date": due, "late_due_date": None, "title": "HW4", "total_points": "31.0"},
            "previous_submissions": previous or []}


def previous(time: str, score: float = 10.0, error: bool = False) -> dict:
    """One entry of previous_submissions."""
    return {"submission_time": time, "score": score, "autograder_error": error}


@pytest.mark.parametrize("text", ["2026-11-21T07:59:00Z", "2026-11-21T07:59:00.1234567+00:00",
                                  "2026-11-20T23:59:00.5-08:00", "2026-11-21T07:59:00"])
def test_parse_time_accepts_gradescope_formats(text):
    """Z, offsets, any number of fraction digits and naive UTC times all parse to the same minute."""
    assert parse_time(text).replace(microsecond=0) == parse_time("2026-11-21T07:59:00+00:00")


def test_days_late_counts_started_days():
    """One second late is one day late; on time is zero."""
    assert days_late(metadata("2026-11-20T23:58:00-08:00")) == 0
    assert days_late(metadata("2026-11-21T00:00:01-08:00")) == 1
    assert days_late(metadata("2026-11-22T23:59:01-08:00")) == 3
    assert days_late({}) == 0


def test_policies_are_off_by_default():
    """Without [policy], a late and frequent submitter is graded in full."""
    info = metadata("2026-11-25T00:00:00Z", previous=[previous("2026-11-24T23:00:00Z")] * 50)
    assert decide(Policy(), info).grade and decide(Policy(), info).multiplier == 1.0


def test_late_penalty_is_capped():
    """10% per day, at most 25%."""
    policy = Policy(late_penalty_per_day=0.1, late_penalty_max=0.25)
    assert decide(policy, metadata("2026-11-21T01:00:00-08:00")).multiplier == pytest.approx(0.9)
    assert decide(policy, metadata("2026-11-27T01:00:00-08:00")).multiplier == pytest.approx(0.75)


def test_rate_limit_counts_graded_submissions_in_the_last_day():
    """Three graded submissions within 24 h block the fourth; errored or older ones do not count."""
    policy = Policy(max_submissions_per_day=3)
    recent = [previous("2026-11-19T10:00:00Z"), previous("2026-11-19T12:00:00Z"),
              previous("2026-11-19T13:00:00Z", error=True), previous("2026-11-18T08:00:00Z")]
    assert decide(policy, metadata("2026-11-19T20:00:00Z", previous=recent)).grade
    blocked = decide(policy, metadata("2026-11-19T20:00:00Z",
                                      previous=recent + [previous("2026-11-19T19:00:00Z", score=17.5)]))
    assert not blocked.grade and blocked.kept_score == 17.5
    assert "2026-11-20T10:00:00+00:00" in blocked.messages[0]
    assert "17.5" not in blocked.messages[0]  # the message never shows a total that hidden tests feed


def test_refused_submissions_do_not_extend_the_lockout():
    """A refused attempt is not a graded submission: the next day the student may submit again."""
    policy = Policy(max_submissions_per_day=3)
    history = [previous("2026-11-19T10:00:00Z", 5.0), previous("2026-11-19T12:00:00Z", 6.0),
               previous("2026-11-19T13:00:00Z", 7.0), previous("2026-11-19T20:00:00Z", 7.0)]  # last: refused
    assert decide(policy, metadata("2026-11-20T10:00:01Z", previous=list(reversed(history)))).grade
    blocked = decide(policy, metadata("2026-11-19T23:00:00Z", previous=history))
    assert not blocked.grade and blocked.kept_score == 7.0


def test_grading_applies_the_late_penalty(hw4, tmp_path):
    """A submission two days late keeps its test scores; the total is reduced by 20%."""
    assignment = dataclasses.replace(hw4, policy=Policy(late_penalty_per_day=0.1))
    meta = tmp_path / "submission_metadata.json"
    meta.write_text(json.dumps(metadata("2026-11-22T12:00:00-08:00")))
    results = grade(assignment, hw4.solution_dir, tmp_path / "results.json", scope="public", metadata=meta)
    validate(results)
    assert totals(results)[0] == 16.0 and results["score"] == pytest.approx(12.8)
    assert "Late by 2 day(s)" in results["output"]


def test_rate_limited_submission_is_not_graded(hw4, tmp_path):
    """Over the limit, no test runs (no feedback to probe hidden tests) and the previous score stands."""
    assignment = dataclasses.replace(hw4, policy=Policy(max_submissions_per_day=1))
    meta = tmp_path / "submission_metadata.json"
    meta.write_text(json.dumps(metadata("2026-11-19T20:00:00Z", previous=[previous("2026-11-19T19:00:00Z", 9.0)])))
    results = grade(assignment, hw4.solution_dir, tmp_path / "results.json", metadata=meta)
    validate(results)
    assert results["tests"] == [] and results["score"] == 9.0
    assert "Rate limit" in results["output"] and results["extra_data"]["rate_limited"] is True
