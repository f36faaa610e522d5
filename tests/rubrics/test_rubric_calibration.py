"""The rubrics, measured on labelled answers they were not written from.

``labelled/`` is the calibration set the rules were tuned on; ``heldout/`` was written after a
first tuning and used once more; ``blind/`` was written last and scored once (see its headers).
The bar (issue 11): every good answer gets fewer questions than every bad one, and no gamed
answer gets fewer questions than the best bad one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from coursekit.rubrics import get_rubric

HERE = Path(__file__).parent
#: Every rubric with a labelled set; a registered rubric without one fails below.
RUBRICS = tuple(sorted(p.stem for p in (HERE / "labelled").glob("*.yml")))
BLIND = tuple(sorted(p.stem for p in (HERE / "blind").glob("*.yml")))


def _counts(folder: str, name: str) -> dict[str, list[int]]:
    data = yaml.safe_load((HERE / folder / f"{name}.yml").read_text())
    rubric = get_rubric(name)
    return {label: [len(rubric.evaluate(text).questions) for text in data[label]] for label in ("good", "bad", "gamed")}


@pytest.mark.parametrize("folder", ["labelled", "heldout"])
@pytest.mark.parametrize("name", RUBRICS)
def test_good_below_bad_and_gamed_no_better_than_best_bad(folder, name):
    c = _counts(folder, name)
    assert len(c["good"]) >= 3 and len(c["bad"]) >= 3 and len(c["gamed"]) >= 3
    assert max(c["good"]) < min(c["bad"]), f"a good answer is asked as much as a bad one: {c}"
    assert min(c["gamed"]) >= min(c["bad"]), f"a gamed answer beats the best bad one: {c}"


def test_every_registered_rubric_is_calibrated():
    from coursekit.rubrics import all_rubrics

    missing = [n for n in sorted(all_rubrics()) if not ((HERE / "labelled" / f"{n}.yml").is_file()
                                                         and (HERE / "heldout" / f"{n}.yml").is_file())]
    assert not missing, f"rubrics without labelled and held-out answers in tests/rubrics/: {missing}"


@pytest.mark.parametrize("name", BLIND)
def test_blind_set_keeps_good_below_bad(name):
    c = _counts("blind", name)
    assert max(c["good"]) < min(c["bad"]), c
    header = (HERE / "blind" / f"{name}.yml").read_text().split("\ngood:")[0].lower()
    if "known gap" not in header:  # a gap measured blind is written in the file's header, not tuned away
        assert min(c["gamed"]) >= min(c["bad"]), c


@pytest.mark.parametrize("name", RUBRICS)
def test_every_good_answer_in_every_set_is_asked_at_most_one_question(name):
    for folder in ("labelled", "heldout"):  # the blind sets are measured, not tuned: see their headers
        assert max(_counts(folder, name)["good"]) <= 1, folder


def test_tone_rules_are_first_class():
    """Defensive, blaming, hostile, self-blaming and over-promising replies are asked about their tone."""
    reply = get_rubric("review_reply")
    cases = {
        "not_hostile": "Thanks. You plainly didn't read the code before commenting, so I'll add a note on p99 in ms.",
        "not_blaming": "Thanks for looking. The ops team needs to make the database faster; I'll report p99 in ms.",
        "no_overpromise": "Good catch, you mean the slow refresh? I'll add a 100 ms cap and I guarantee no more "
        "latency problems at all.",
        "not_self_blaming": "You're right, and I always miss these things. I'll add a 100 ms cap and report p99.",
    }
    for rule, text in cases.items():
        assert rule in reply.evaluate(text).unmet, (rule, reply.evaluate(text).unmet)
    assert "no_overpromise" in get_rubric("apology").evaluate(
        "We're sorry: a change we made slowed your sign-in. We guarantee it will never happen again."
    ).unmet
    assert "no_overclaim" in get_rubric("wip_pr").evaluate(
        "This adds an LRU cache for sessions. It is production-ready and fully tested, so please merge."
    ).unmet


def test_a_generic_sentence_earns_less_than_a_specific_one():
    rubric = get_rubric("review_reply")
    generic = "Thanks, good point. I will fix it soon. I will look into it. We will see the numbers."
    specific = ("Thanks, good point. I'll cap the wait at 100 ms and serve the stale session meanwhile. "
                "You mean the queue behind one slow refresh? I'll report p99 before and after.")
    assert len(rubric.evaluate(generic).questions) > len(rubric.evaluate(specific).questions)
    stock = "Thanks, good point. You mean the delay? I will fix it soon. We will measure p99 in ms."
    assert "specific" in rubric.evaluate(stock).unmet
