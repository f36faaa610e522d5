"""Every rubric rule on good, bad and gamed answers; negation; keyword stuffing; repetition."""

from __future__ import annotations

from pathlib import Path

import pytest

from coursekit.rubric_engine import Avoids, Mentions, NotRepetitive, NotStuffed, Prose, WordCount, analyse, is_negated
from coursekit.rubrics import all_rubrics, get_rubric

RUBRICS = all_rubrics()  # the course's, found through the coursekit.content entry point

ROOT_TESTS = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------- realistic answers

WIP_GOOD = """WIP — feedback welcome. This PR adds an LRU cache in front of the user-session service, with an async \
refresh when an entry goes stale, so that hot sessions stop hitting the database on every request. It also changes \
the cache key schema to include a version, and uses optimistic locking when two refreshes overlap.
What is not done yet: tests are happy-path only, so nothing covers expiry under load or a failed refresh, and I \
have no benchmarks yet.
Questions for you: could the optimistic lock still let two concurrent refreshes race on the same key? Will the new \
key schema break any downstream readers of the old keys? Is the eviction complexity really O(1) as written?"""

WIP_VAGUE = """This PR refactors the caching for the session service. I made some changes to how things work and \
I think it is better now. Any feedback is welcome, please take a look when you have time. Thanks a lot for \
reviewing it."""

WIP_STUFFED = """LRU cache, refresh, key schema, optimistic locking, tests happy-path only, not done, TODO, race \
condition? downstream consumers? complexity? benchmarks? eviction? TTL?"""

WIP_REPEATED = """This PR adds an LRU cache for the sessions. This PR adds an LRU cache for the sessions. This PR \
adds an LRU cache for the sessions. Tests are happy-path only. Tests are happy-path only. Could you check races \
and the key schema?"""

WIP_NO_TESTS_NO_ASKS = """This PR adds an LRU cache in front of the session service and refreshes stale entries in \
the background. It also changes the key schema so that keys carry a version number. I think the change is ready \
and that it will cut the load on the database a lot."""

REPLY_GOOD = """Thanks, that's a fair point. If I understand you, the worry is that two refreshes for the same key \
can both reach the database and the slower one can overwrite the newer value. I'll coalesce refreshes per key with \
singleflight and serve the stale value while one refresh runs. I'll benchmark it on the seeded Zipf workload: \
database calls per expiry should drop from about 1,000 to 1, with p99 under 50 ms. Does that scenario match the \
traffic you had in mind?"""

REPLY_GOOD_HOL = """You're right, and I hadn't considered it. So you're saying one slow refresh puts every caller of \
that key in the same queue. I'll add a wait threshold: after 100 ms a caller gets the stale value while the \
refresh carries on. On the 2-second refresh scenario I expect p99 to fall from about 2,000 ms to under 120 ms, \
with database calls unchanged."""

REPLY_DEFENSIVE = """As I already said in the description, it's only a draft. It works on my machine and nobody \
complained about the refresh path. I'll add some tests later I guess, the latency is 20 ms so it's fine."""

REPLY_SELF_BLAME = """Thanks, you're right. I'm such an idiot, I should have known that two refreshes would race. \
I'll coalesce the refreshes and check that database calls drop to 1 call per expiry. Sorry for wasting your time."""

REPLY_NO_NUMBERS = """Thanks, good catch. If I understand you, two refreshes can race on the same key and both go \
to the database. I'll coalesce them so that only one refresh runs, and I'll measure it before and after so we can \
see whether it helps."""

REPLY_STUFFED = """Thanks good point you're right. Singleflight stale-while-revalidate p99 50 ms, database calls 1 \
call, benchmark 1000 calls, latency 100 ms, I'll mitigate."""

REPLY_REPEATED = """Thanks, good point. I'll add a benchmark for p99 under 100 ms. I'll add a benchmark for p99 \
under 100 ms. I'll add a benchmark for p99 under 100 ms. Thanks, good point."""

REPLY_NEGATED = """I don't agree that this is a real problem. I'm not going to change the refresh logic for a \
hypothetical race. Two refreshes almost never happen in our traffic, so p99 stays under 50 ms anyway."""

REPLY_TOO_LONG = REPLY_GOOD + " " + " ".join(
    f"Point {i}: I also looked at the eviction order and the memory use of entry {i} in some detail." for i in range(8)
)

APOLOGY_GOOD = """We're sorry. Yesterday afternoon a change we shipped made your account page take about two \
minutes to load, and you could not get to your work when you needed it. That was our mistake, not anything you \
did. We have undone the change, and since 6 pm the page loads in under a second again. We will email you by \
Friday with what we are changing so that it does not happen again."""

APOLOGY_BLAME = """We're sorry for any inconvenience. The slowdown you saw was caused by a third-party provider and \
was beyond our control. These things happen with online services. Everything should be back to normal now, please \
reload the page."""

APOLOGY_NOT_OUR_FAULT = """I'm sorry you waited two minutes for your account to load. It was not our fault, the \
hosting company had an outage that day. We have fixed it and it will stay fixed from now on, starting today."""

APOLOGY_JARGON = """We're sorry. Our change caused a cache stampede: the stale-while-revalidate refresh blocked on \
the database, so your p99 latency went to two minutes and you waited. We rolled back the deploy and will pre-warm \
the keys, and you will see normal speed again from today."""

APOLOGY_VAGUE = """We're sorry about the trouble with our service. A change we made did not work as we hoped, and \
we are looking into it. Thank you for your patience and for being a customer."""

APOLOGY_STUFFED = """Sorry sorry, our mistake, you waited two minutes, delay, slow, today, tomorrow, by Friday, we \
caused it, we take responsibility."""

APOLOGY_REPEATED = """We are sorry, it was our mistake. We are sorry, it was our mistake. We are sorry, it was our \
mistake. You waited two minutes. It will be fixed today."""


def unmet(rubric: str, text: str) -> set[str]:
    return set(get_rubric(rubric).evaluate(text).unmet)


# ---------------------------------------------------------------- good answers satisfy everything


@pytest.mark.parametrize(
    "rubric,text",
    [("wip_pr", WIP_GOOD), ("review_reply", REPLY_GOOD), ("review_reply", REPLY_GOOD_HOL), ("apology", APOLOGY_GOOD)],
)
def test_good_answers_meet_every_rule(rubric, text):
    fb = get_rubric(rubric).evaluate(text)
    assert fb.met, fb.questions
    assert "checklist can't judge quality" in fb.text()  # necessary, not sufficient


# ---------------------------------------------------------------- gamed answers never look good


@pytest.mark.parametrize(
    "rubric,text",
    [("wip_pr", WIP_STUFFED), ("review_reply", REPLY_STUFFED), ("apology", APOLOGY_STUFFED)],
)
def test_keyword_stuffing_is_flagged_and_satisfies_no_content_rule(rubric, text):
    fb = get_rubric(rubric).evaluate(text)
    assert not fb.met
    assert "not_stuffed" in fb.unmet and "prose" in fb.unmet
    assert fb.questions[0].startswith("Could you write this as full sentences")
    assert fb.text().count("•") <= 5 and "Could you write this as full sentences" not in fb.text()  # asked once
    content = {r.id for r in get_rubric(rubric).rules if isinstance(r, Mentions)}
    # the buzzwords are all there, yet at most one short fragment counts as a sentence
    assert len(content & set(fb.unmet)) >= len(content) - 1


@pytest.mark.parametrize(
    "rubric,text",
    [("wip_pr", WIP_REPEATED), ("review_reply", REPLY_REPEATED), ("apology", APOLOGY_REPEATED)],
)
def test_repeated_phrases_are_flagged(rubric, text):
    fb = get_rubric(rubric).evaluate(text)
    assert not fb.met and "not_repetitive" in fb.unmet
    assert "You repeat yourself" in fb.text()


def test_duplicate_sentences_count_once():
    a = analyse("I will add a benchmark. I will add a benchmark. I will add a benchmark.")
    assert [s.real for s in a.sentences] == [True, False, False]
    assert a.duplicate_sentences == 2


def test_stuffing_a_good_answer_with_keywords_is_flagged():
    stuffed = REPLY_GOOD + " p99 latency ms benchmark, db calls, p50, qps, throughput, hit ratio, 1 ms, 2 ms, 3 ms."
    fb = get_rubric("review_reply").evaluate(stuffed)
    assert "not_stuffed" in fb.unmet


# ---------------------------------------------------------------- wip_pr rules, one by one


def test_wip_pr_says_done():
    assert "says_done" not in unmet("wip_pr", WIP_GOOD)
    assert "says_done" in unmet("wip_pr", WIP_VAGUE)


def test_wip_pr_says_not_done_and_tests_status():
    assert not {"says_not_done", "tests_status"} & unmet("wip_pr", WIP_GOOD)
    assert {"says_not_done", "tests_status"} <= unmet("wip_pr", WIP_NO_TESTS_NO_ASKS)


def test_wip_pr_specific_asks_need_two_distinct_topics():
    assert "specific_asks" not in unmet("wip_pr", WIP_GOOD)
    assert "specific_asks" in unmet("wip_pr", WIP_VAGUE)  # "any feedback is welcome" is not specific
    one_topic = WIP_NO_TESTS_NO_ASKS + " Could you look at the race? Could you look at the race again?"
    assert "specific_asks" in unmet("wip_pr", one_topic)  # the same keyword twice counts once


def test_wip_pr_length_limits():
    assert "length" in unmet("wip_pr", "This PR adds an LRU cache. Tests are partial.")
    assert "length" in unmet("wip_pr", WIP_GOOD + (" More context about the cache follows here." * 30))


# ---------------------------------------------------------------- review_reply rules, one by one


def test_review_reply_acknowledges_with_negation():
    assert "acknowledges" not in unmet("review_reply", REPLY_GOOD)
    assert "acknowledges" in unmet("review_reply", REPLY_NEGATED)  # "I don't agree" is not agreement
    assert "acknowledges" in unmet("review_reply", REPLY_DEFENSIVE)


def test_review_reply_restates_or_asks():
    assert "restates_or_asks" not in unmet("review_reply", REPLY_GOOD)
    assert "restates_or_asks" not in unmet("review_reply", REPLY_GOOD_HOL)
    assert "restates_or_asks" in unmet("review_reply", REPLY_SELF_BLAME)


def test_review_reply_proposes_mitigation_with_negation():
    assert "proposes_mitigation" not in unmet("review_reply", REPLY_GOOD)
    assert "proposes_mitigation" in unmet("review_reply", REPLY_NEGATED)  # "I'm not going to change"


def test_review_reply_measurable_needs_metric_number_and_unit():
    assert "measurable" not in unmet("review_reply", REPLY_GOOD)
    assert "measurable" in unmet("review_reply", REPLY_NO_NUMBERS)  # "I'll measure it" has no number
    assert "measurable" in unmet("review_reply", REPLY_NO_NUMBERS + " p99 will be better.")
    assert "measurable" not in unmet("review_reply", REPLY_NO_NUMBERS + " I expect p99 under 150 ms.")


def test_review_reply_word_limit():
    fb = get_rubric("review_reply").evaluate(REPLY_TOO_LONG)
    assert "length" in fb.unmet and "about 150 words" in fb.text()
    assert "length" in unmet("review_reply", "Thanks, I will fix it soon.")


def test_review_reply_defensive_phrasing():
    assert "not_defensive" not in unmet("review_reply", REPLY_GOOD)
    assert "not_defensive" in unmet("review_reply", REPLY_DEFENSIVE)
    # negation: "I'm not saying you're wrong" is not calling the reviewer wrong
    assert "not_defensive" not in unmet("review_reply", REPLY_GOOD + " I'm not saying you're wrong about the rest.")
    assert "not_defensive" in unmet("review_reply", REPLY_GOOD + " Honestly, you're wrong about the rest.")


def test_review_reply_self_blame():
    assert "not_self_blaming" not in unmet("review_reply", REPLY_GOOD)
    assert "not_self_blaming" in unmet("review_reply", REPLY_SELF_BLAME)


# ---------------------------------------------------------------- apology rules, one by one


def test_apology_apologises():
    assert "apologises" not in unmet("apology", APOLOGY_GOOD)
    assert "apologises" in unmet("apology", APOLOGY_GOOD.replace("We're sorry. ", ""))
    assert "apologises" in unmet("apology", APOLOGY_GOOD.replace("We're sorry.", "We're not sorry."))


def test_apology_owns_impact_with_negation():
    assert "owns_impact" not in unmet("apology", APOLOGY_GOOD)
    assert "owns_impact" in unmet("apology", APOLOGY_NOT_OUR_FAULT)  # "not our fault" is not ownership
    assert "owns_impact" in unmet("apology", APOLOGY_BLAME)


def test_apology_no_blame_shifting_with_negation():
    assert "no_blame_shifting" not in unmet("apology", APOLOGY_GOOD)
    assert "no_blame_shifting" in unmet("apology", APOLOGY_BLAME)
    assert "no_blame_shifting" in unmet("apology", APOLOGY_NOT_OUR_FAULT)
    rule = next(r for r in get_rubric("apology").rules if r.id == "no_blame_shifting")
    assert rule.offending(analyse(APOLOGY_BLAME)) == [
        "sorry for any inconvenience", "caused by a third-party", "beyond our control", "these things happen"]
    # "I won't blame the vendor" is fine; "I blame the vendor" is not
    assert "no_blame_shifting" not in unmet("apology", APOLOGY_GOOD + " We won't blame a vendor for this.")
    assert "no_blame_shifting" in unmet("apology", APOLOGY_GOOD + " We blame a vendor for this.")


def test_apology_what_happened():
    assert "what_happened" not in unmet("apology", APOLOGY_GOOD)
    assert "what_happened" in unmet("apology", APOLOGY_VAGUE)


def test_apology_next_and_when():
    assert "next_and_when" not in unmet("apology", APOLOGY_GOOD)
    fb = get_rubric("apology").evaluate(APOLOGY_VAGUE)
    assert "next_and_when" in fb.unmet and "What will the user see next, and when?" in fb.questions


def test_apology_no_jargon():
    assert "no_jargon" not in unmet("apology", APOLOGY_GOOD)
    assert "no_jargon" in unmet("apology", APOLOGY_JARGON)
    assert unmet("apology", APOLOGY_JARGON) == {"no_jargon"}  # otherwise a good apology


def test_apology_length():
    assert "length" in unmet("apology", "We're sorry. It was our mistake.")


# ---------------------------------------------------------------- the machinery


def test_negation_window_and_clauses():
    s = "it was not my fault"
    assert is_negated(s, s.index("my fault"))
    s = "it was my fault, not the database's"
    assert not is_negated(s, s.index("my fault"))
    s = "i never once said that it was my fault"
    assert not is_negated(s, s.index("my fault"))  # outside the 4-word window: a different claim


def test_real_sentence_detection():
    a = analyse("Thanks. p99, latency, benchmark, ms, singleflight. I will add a threshold of 100 ms to the refresh.")
    assert [(s.real, s.why_not_real) for s in a.sentences] == [
        (False, "too short"), (False, "list of terms"), (True, "")]


def test_rules_generic_behaviour():
    assert WordCount("n", 2, 4).check(analyse("one two three")) is None
    assert Prose(1).check(analyse("We roll back today and tell users what happened.")) is None
    assert NotRepetitive().check(analyse("Cache the key. Cache the key.")) is not None
    assert NotStuffed().check(analyse("We roll back today and tell users what happened.")) is None
    assert Avoids("x", "q?", ["blame"], negatable=False).check(analyse("I won't blame anyone here.")) == "q?"


def test_feedback_never_scores_and_caps_questions():
    fb = get_rubric("apology").evaluate(APOLOGY_STUFFED)
    text = fb.text()
    assert "score" not in text.lower() and "/" not in text
    assert text.count("•") == 5  # four questions and "…and N more"
    assert all(q.endswith("?") for q in fb.questions)


def test_every_rule_has_a_question():
    for rubric in RUBRICS.values():
        for rule in rubric.rules:
            question = getattr(rule, "question", None) or getattr(rule, "too_long", None)
            assert question and "?" in question, (rubric.name, rule.id)


def test_unknown_rubric():
    with pytest.raises(KeyError, match="known: apology, incident_checklist, manager_ask, postmortem, review_reply, rollout_note, status_followup, wip_pr"):
        get_rubric("nope")


def test_one_sentence_checklist_padded_with_filler_is_flagged():
    crammed = (
        "Thanks, you're right, if I understand the concern is races, I'll add singleflight with p99 under 100 ms. "
        "I will do it today. The weather has been nice this week and the team lunch was good. "
        "I also read a book about gardening over the weekend, which was relaxing."
    )
    fb = get_rubric("review_reply").evaluate(crammed)
    assert "not_crammed" in fb.unmet and "its own sentence" in fb.text()
    for text in (REPLY_GOOD, REPLY_GOOD_HOL):  # points spread over sentences: fine
        assert "not_crammed" not in get_rubric("review_reply").evaluate(text).unmet


BAD_AND_GAMED = {
    "wip_pr": [WIP_VAGUE, WIP_STUFFED, WIP_REPEATED, WIP_NO_TESTS_NO_ASKS, "This PR adds an LRU cache. Tests are partial."],
    "review_reply": [REPLY_DEFENSIVE, REPLY_SELF_BLAME, REPLY_NO_NUMBERS, REPLY_STUFFED, REPLY_REPEATED, REPLY_NEGATED,
                     REPLY_TOO_LONG],
    "apology": [APOLOGY_BLAME, APOLOGY_NOT_OUR_FAULT, APOLOGY_JARGON, APOLOGY_VAGUE, APOLOGY_STUFFED, APOLOGY_REPEATED],
    "rollout_note": [], "status_followup": [], "incident_checklist": [],  # modules 05-06: its labelled sets in tests/rubrics/ break every rule
}


@pytest.mark.parametrize("name", sorted(RUBRICS))
def test_every_rule_is_broken_by_some_bad_or_gamed_example(name):
    # no dead rule: each is broken by a bad or gamed answer, here or in the labelled sets of tests/rubrics/
    import yaml

    rubric = get_rubric(name)
    path = ROOT_TESTS / "rubrics" / "labelled" / f"{name}.yml"  # tests/rubrics/ (the calibration sets)
    labelled = yaml.safe_load(path.read_text()) if path.exists() else {"bad": [], "gamed": []}
    texts = [*BAD_AND_GAMED.get(name, ()), *labelled["bad"], *labelled["gamed"]]
    broken = set().union(*(set(rubric.evaluate(t).unmet) for t in texts))
    assert {r.id for r in rubric.rules} <= broken


def _wrap(text: str, width: int = 60) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


@pytest.mark.parametrize("rubric, text", [("wip_pr", WIP_GOOD), ("review_reply", REPLY_GOOD)])
def test_hard_wrapped_answers_read_as_the_same_sentences(rubric, text):
    # Learners wrap long lines in a notebook; a wrapped line is not a sentence of its own.
    assert [s.norm for s in analyse(_wrap(text)).sentences] == [s.norm for s in analyse(text).sentences]
    assert unmet(rubric, _wrap(text)) == unmet(rubric, text) == set()


def test_hard_wrapped_buzzwords_are_still_a_list_of_terms():
    assert "not_stuffed" in unmet("wip_pr", "\n".join(WIP_STUFFED.replace(",", "").split()))


def test_keyword_dense_sentence_with_grammar_is_still_a_sentence():
    a = analyse("Not done: the tests cover only the happy path.", get_rubric("wip_pr").keywords)
    assert [s.real for s in a.sentences] == [True]


def test_the_courses_reference_answers_meet_their_rubrics():
    # The answer a learner sees after reveal() must itself satisfy the checklist it is shown beside.
    from coursekit.build import MODULES, source_notebook
    from coursekit.grading.feedback import reflective_texts
    from coursekit.questions import load_module

    seen = 0
    for m in MODULES:
        module = load_module(m)
        for cell in source_notebook(m).cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            q = next((q for q in module.questions if q.id == gid), None)
            if q is None or not getattr(q, "rubric", None):
                continue
            for text in reflective_texts("".join(cell.source)) or []:
                assert get_rubric(q.rubric).evaluate(text).unmet == [], (m, gid, text)
                seen += 1
    assert seen >= 6  # wip_pr, the module 02 reply, four role-play replies


def test_short_plain_sentences_are_sentences_but_short_term_lists_are_not():
    # seen in a walk-through: two short, ordinary sentences were read as "a list of terms"
    reply = ("Yes, that matters. Users shouldn't wait. With the threshold nobody waits more than 100 ms; "
             "I'll show the p99 chart in the PR.")
    a = analyse(reply, get_rubric("review_reply").keywords)
    assert [s.real for s in a.sentences] == [True, True, True]
    assert not {"prose", "not_stuffed", "measurable"} & unmet("review_reply", reply)
    assert "prose" in unmet("review_reply", "Thanks. Good point. I will. We can. p99. 100 ms.")


def test_agreeing_with_a_restatement_counts_as_restating():
    reply = ("Thanks, that's a fair point. You're right that with singleflight everyone waits behind a slow "
             "refresh. I reproduced it: p99 is about 2 s. I'll add a 100 ms wait threshold and serve stale after "
             "that. Can you check that approach?")
    assert unmet("review_reply", reply) == set()
