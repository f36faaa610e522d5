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


def _counts(folder: str) -> dict[str, list[int]]:
    data = yaml.safe_load((HERE / folder / f"{NAME}.yml").read_text())
    rubric = get_rubric(NAME)
    return {label: [len(rubric.evaluate(text).questions) for text in data[label]] for label in ("good", "bad", "gamed")}


@pytest.mark.parametrize("folder", ["labelled", "heldout"])
def test_good_below_bad_and_gamed_no_better_than_best_bad(folder):
    c = _counts(folder)
    assert len(c["good"]) >= 3 and len(c["bad"]) >= 3 and len(c["gamed"]) >= 3
    assert max(c["good"]) < min(c["bad"]), f"a good answer is asked as much as a bad one: {c}"
    assert min(c["gamed"]) >= min(c["bad"]), f"a gamed answer beats the best bad one: {c}"
    assert max(c["good"]) <= 1, c


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
