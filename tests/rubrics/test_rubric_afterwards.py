"""Module 07's rubrics, `postmortem` and `manager_ask`, on labelled answers (the same bar as
test_rubric_calibration.py: every good answer fewer questions than every bad one; no gamed answer
fewer than the best bad one).

``labelled/`` is what the rules were tuned on; ``heldout/`` was written after that tuning and used
once more (its third gamed post-mortem, which describes the template instead of an incident,
added the ``about_this_incident`` rule and narrowed ``preventive`` to a preventive *action*);
``blind/`` was written last and scored once: good stays below bad there, and two gamed answers
get fewer questions than the best bad one (the gaps are written in the files' headers).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from coursekit.rubrics import get_rubric

HERE = Path(__file__).parent
RUBRICS = ("postmortem", "manager_ask")


def _data(folder: str, name: str) -> dict[str, list[str]]:
    return yaml.safe_load((HERE / folder / f"{name}.yml").read_text())


def _counts(folder: str, name: str) -> dict[str, list[int]]:
    rubric = get_rubric(name)
    return {label: [len(rubric.evaluate(t).questions) for t in texts] for label, texts in _data(folder, name).items()}


@pytest.mark.parametrize("folder", ["labelled", "heldout"])
@pytest.mark.parametrize("name", RUBRICS)
def test_good_below_bad_and_gamed_no_better_than_best_bad(folder, name):
    c = _counts(folder, name)
    assert len(c["good"]) >= 3 and len(c["bad"]) >= 3 and len(c["gamed"]) >= 3
    assert max(c["good"]) < min(c["bad"]), f"a good answer is asked as much as a bad one: {c}"
    assert min(c["gamed"]) >= min(c["bad"]), f"a gamed answer beats the best bad one: {c}"
    assert max(c["good"]) <= 1, c


@pytest.mark.parametrize("name", RUBRICS)
def test_blind_set_keeps_good_below_bad(name):
    """Scored once, after all tuning; the gamed answers' known gaps are written in each file's header."""
    c = _counts("blind", name)
    assert max(c["good"]) < min(c["bad"]), c
    assert max(c["good"]) <= 2, c


@pytest.mark.parametrize("name", RUBRICS)
def test_every_rule_is_broken_by_some_bad_or_gamed_answer(name):
    rubric = get_rubric(name)
    texts = [t for folder in ("labelled", "heldout") for label in ("bad", "gamed") for t in _data(folder, name)[label]]
    broken = set().union(*(set(rubric.evaluate(t).unmet) for t in texts))
    assert {r.id for r in rubric.rules} <= broken


def test_every_rule_asks_a_question():
    for name in RUBRICS:
        for rule in get_rubric(name).rules:
            question = getattr(rule, "question", None) or getattr(rule, "too_long", None)
            assert question and question.rstrip().endswith("?"), (name, rule.id)


GOOD_PM = _data("labelled", "postmortem")["good"][0]


@pytest.mark.parametrize("phrase", [
    "The root cause was human error during the deploy.",
    "The deploy was careless, and nobody looked at the graph.",
    "Dana forgot to add the wait threshold before the rollout.",
    "The engineer who pushed the change did not check the tail latency.",
    "It was caused by Ravi's change to the refresh code.",
])
def test_postmortem_flags_a_person_or_their_care_as_a_cause(phrase):
    text = GOOD_PM.replace("What went well:", phrase + "\n\n    What went well:")
    assert "blameless" in get_rubric("postmortem").evaluate(text).unmet


def test_postmortem_accepts_what_and_how_and_negated_blame():
    text = GOOD_PM.replace("What went well:", "This was not human error: the refresh path allowed one slow query to "
                           "hold every reader.\n\n    What went well:")
    assert get_rubric("postmortem").evaluate(text).met


@pytest.mark.parametrize("item", [
    "- [SESS-314] P3, owner Dana, due 2026-12-20: Train engineers harder on caching, so the next change is safer.",
    "- [SESS-314] P3, owner Dana, due 2026-12-20: Remind everyone to double-check deploys before the next release.",
])
def test_postmortem_flags_train_people_harder(item):
    assert "no_train_harder" in get_rubric("postmortem").evaluate(GOOD_PM.rstrip() + "\n    " + item).unmet


def test_postmortem_flags_a_team_as_owner():
    text = GOOD_PM.replace("owner Mei", "owner: the team")
    assert "one_owner" in get_rubric("postmortem").evaluate(text).unmet


def test_postmortem_action_items_need_owner_priority_id_and_date():
    fb = get_rubric("postmortem")
    stripped = GOOD_PM.replace("[SESS-311] ", "").replace("[SESS-312] ", "").replace("[SESS-313] ", "")
    assert "action_items" in fb.evaluate(stripped).unmet
    undated = GOOD_PM.replace(", due 2026-12-08", "").replace(", due 2026-12-10", "").replace(", due 2026-12-15", "")
    assert "action_items" in fb.evaluate(undated).unmet


GOOD_ASK = _data("labelled", "manager_ask")["good"][0]


def test_manager_ask_wants_the_ask_and_dates_first():
    rubric = get_rubric("manager_ask")
    assert rubric.evaluate(GOOD_ASK).met
    first, rest = GOOD_ASK.split(". ", 1)
    moved = rest.rstrip() + " " + first.strip() + "."
    assert "ask_and_dates_first" in rubric.evaluate(moved).unmet


@pytest.mark.parametrize("rule, sentence", [
    ("permission_not_penance", "I'll stay late every night this week to make up for it."),
    ("no_self_blame", "It was all my fault and I feel awful about it."),
])
def test_manager_ask_flags_penance_and_self_blame(rule, sentence):
    assert rule in get_rubric("manager_ask").evaluate(GOOD_ASK.rstrip() + " " + sentence).unmet


def test_the_rubrics_are_registered():
    from coursekit.rubrics import all_rubrics

    assert {"postmortem", "manager_ask"} <= set(all_rubrics())
