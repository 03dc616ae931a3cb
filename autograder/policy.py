"""Submission policies from Gradescope's submission_metadata.json: late penalties and rate limits.

Configured in assignment.toml under [policy]; both are off by default. Times come from the
metadata (`created_at`, the assignment's due dates, `previous_submissions`), never the wall clock,
so a regrade gives the same decision.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Policy:
    """Late and rate-limit rules of one assignment."""

    late_penalty_per_day: float = 0.0  # fraction of the score lost per started day late; 0: off
    late_penalty_max: float = 1.0  # the most that can be lost
    max_submissions_per_day: int = 0  # graded submissions allowed in any 24 h; 0: unlimited


@dataclass(frozen=True)
class Decision:
    """What the policy says about one submission."""

    grade: bool = True  # False: rate limited, do not run the tests
    multiplier: float = 1.0  # applied to the total score
    kept_score: float | None = None  # the score that stands when not graded
    messages: tuple[str, ...] = ()


def parse_time(text: str) -> datetime:
    """Parse an ISO-8601 timestamp as Gradescope writes it (Z or offset, any fraction digits)."""
    text = text.strip().replace("Z", "+00:00")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    text = re.sub(r"\.(\d{1,5})(?=[+-]|$)", lambda m: "." + m.group(1).ljust(6, "0"), text)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def load_metadata(path: Path | None) -> dict:
    """The submission metadata, or {} when there is none (local grading)."""
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def submission_info(metadata: dict) -> dict:
    """Who submitted and when, for results.json extra_data (absent fields are left out)."""
    users = metadata.get("users") or []
    info = {"id": metadata.get("id"), "created_at": metadata.get("created_at"),
            "users": [u.get("email") or u.get("name") for u in users if isinstance(u, dict)]}
    return {key: value for key, value in info.items() if value is not None}


def days_late(metadata: dict) -> int:
    """Started days past the due date (0 when on time or when the dates are unknown)."""
    try:
        created = parse_time(metadata["created_at"])
        due = parse_time(metadata["assignment"]["due_date"])
    except (KeyError, TypeError, ValueError):
        return 0
    return max(0, math.ceil((created - due) / DAY))


def graded_history(policy: Policy, metadata: dict) -> list[tuple[datetime, float | None]]:
    """(time, score) of the previous submissions that were graded, oldest first.

    Replays the rate limit over the history in time order, so refused submissions (and ones that
    hit an autograder error) never count toward the limit.
    """
    history = []
    for previous in metadata.get("previous_submissions") or []:
        try:
            moment = parse_time(previous["submission_time"])
        except (KeyError, TypeError, ValueError):
            continue
        if not previous.get("autograder_error"):
            score = previous.get("score")
            history.append((moment, float(score) if _is_number(score) else None))
    graded: list[tuple[datetime, float | None]] = []
    for moment, score in sorted(history, key=lambda item: item[0]):
        if not policy.max_submissions_per_day or len(_within_day(graded, moment)) < policy.max_submissions_per_day:
            graded.append((moment, score))
    return graded


def _within_day(graded: list[tuple[datetime, float | None]], moment: datetime) -> list[datetime]:
    """Times of graded submissions in the 24 hours before moment."""
    return [t for t, _ in graded if moment - DAY < t <= moment]


def decide(policy: Policy, metadata: dict) -> Decision:
    """Apply the rate limit, then the late penalty, to one submission."""
    if not metadata:
        return Decision()
    if policy.max_submissions_per_day > 0:
        try:
            created = parse_time(metadata["created_at"])
        except (KeyError, TypeError, ValueError):
            created = None
        graded = graded_history(policy, metadata)
        recent = _within_day(graded, created) if created else []
        if len(recent) >= policy.max_submissions_per_day:
            kept = next((score for _, score in reversed(graded) if score is not None), 0.0)
            opens = sorted(recent)[-policy.max_submissions_per_day] + DAY
            return Decision(grade=False, kept_score=kept, messages=(
                f"Rate limit: you made {len(recent)} graded submissions in the last 24 hours (the limit "
                f"is {policy.max_submissions_per_day}). This one was not graded; your previous "
                f"submission's score stands. You can submit again after {opens.isoformat()}.",))
    late = days_late(metadata)
    if late and policy.late_penalty_per_day > 0:
        lost = min(policy.late_penalty_max, policy.late_penalty_per_day * late)
        return Decision(multiplier=1.0 - lost, messages=(
            f"Late by {late} day(s): {lost:.0%} of the score is deducted.",))
    return Decision()


def _is_number(value: object) -> bool:
    """True when value is (or reads as) a finite number."""
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
