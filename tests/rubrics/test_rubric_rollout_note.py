"""The `rollout_note` rubric (module 05), measured like the others (test_rubric_calibration.py):
every good answer gets fewer questions than every bad one, no gamed answer fewer than the best
bad one, and every good answer at most one question. A separate file so that its RUBRICS tuple
stays as it is."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from coursekit.rubrics import get_rubric

HERE = Path(__file__).parent
NAME = "rollout_note"


def test_vague_owners_and_overpromises_are_asked_about():
    rubric = get_rubric(NAME)
    base = ("The new session cache is behind the flag new-session-cache. Stages are 5% for an hour, then 25% "
            "for two hours, then 100%, each after the canary judge promotes. {who} the canary dashboard with "
            "p99 and error rate. If the judge says halt, Priya sets the flag to 0% and posts here.")
    assert "named_owners" not in rubric.evaluate(base.format(who="Priya is on call and watches")).unmet
    assert "named_owners" in rubric.evaluate(base.format(who="Someone from the team watches")).unmet
    assert "no_overpromise" in rubric.evaluate(base.format(who="Priya watches") + " There is zero risk.").unmet


def test_the_questions_are_questions_not_scores():
    fb = get_rubric(NAME).evaluate("We ship the cache tomorrow. Tell me if anything looks odd and I will check.")
    assert fb.questions and all(q.rstrip().endswith("?") for q in fb.questions)
