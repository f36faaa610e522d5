"""Module 06 (the incident): the autograder test cells accept the reference and reject wrong
answers; the incident record's contract for module 07 (code round-trip, determinism, what-ifs);
the apology role-play headless; feedback tied to the learner's own incident.

"wrong" answers fail the visible check and the test cell; "beyond" answers pass the visible
check and are caught only by the hidden tests (other variants of the incident).
"""

from __future__ import annotations

import pytest
from modules_harness import (
    assert_hidden_catches,
    assert_reference_passes,
    assert_wrong_fails,
    edited_answer,
    reference_answer,
    run_question,
)

from cache_course.incident_record import (
    REFERENCE_ACTIONS, REMEDIATIONS, IncidentRecord, reference_incident, replay_incident, utc, what_if,
)
from cache_course.m06_incident import IncidentConsole, IncidentRoleplay, incident_questions

pytestmark = pytest.mark.slow

MODULE = "06_incident"


def reference(question: str) -> str:
    return reference_answer(MODULE, question)


def edit(question: str, *pairs: tuple[str, str]) -> str:
    return edited_answer(MODULE, question, *pairs)


WRONG = {
    "verify-off-by-one": ("verify", lambda: edit("verify", ("int(at_minute) - 1", "int(at_minute)"))),
    "verify-counts-all-healthy": ("verify", lambda: edit(
        "verify", ("while m >= 0 and run.minute_good[m] >= SLO_OBJECTIVE:\n        n, m = n + 1, m - 1",
                   "while m >= 0:\n        n, m = n + (run.minute_good[m] >= SLO_OBJECTIVE), m - 1"))),
    "verify-p99-instead-of-the-slo": ("verify", lambda: edit(
        "verify", ("run.minute_good[m] >= SLO_OBJECTIVE", "run.minute_p99[m] <= SLO_THRESHOLD"))),
    "respond-root-cause-first": ("respond", lambda: edit(
        "respond", ('console.act(page + 5, "investigate")', 'console.act(page, "investigate")'))),
    "respond-no-mitigation": ("respond", lambda: edit(
        "respond", ('console.act(page + 1, "rollback")', 'console.act(page + 1, "prewarm")'))),
    "respond-late": ("respond", lambda: edit(
        "respond", ('console.act(page + 1, "rollback")', 'console.act(page + 7, "rollback")'))),
    "respond-resolves-unverified": ("respond", lambda: edit(
        "respond", ('console.act(m, "resolve")', 'console.act(page + 2, "resolve")'))),
    "respond-never-investigates": ("respond", lambda: edit(
        "respond", ('    console.act(page + 5, "investigate")  # root cause once users are out of harm\'s way\n', ""))),
}


def _hardcoded_respond() -> str:
    c = IncidentConsole(0)
    ns = run_question(MODULE, "respond").ns
    ns["respond"](c)
    lines = "".join(f"    console.act({a.minute!r}, {a.action!r}, **{dict(a.args)!r})\n" for a in c.actions)
    return "def respond(console):\n" + lines


BEYOND = {
    "respond-hardcoded-minutes": ("respond", _hardcoded_respond),
    "verify-counts-the-minute-in-progress": ("verify", lambda: edit(
        "verify", ("n, m = 0, int(at_minute) - 1", "n, m = 0, math.ceil(at_minute) - 1"))),  # 23.5 -> counts minute 23, still in progress
}


@pytest.mark.parametrize("question", ["verify", "respond"])
def test_reference_passes(question):
    assert_reference_passes(MODULE, question)


@pytest.mark.parametrize("case", sorted(WRONG))
def test_wrong_answer_fails(case):
    question, make = WRONG[case]
    assert_wrong_fails(MODULE, question, make())


@pytest.mark.parametrize("case", sorted(BEYOND))
def test_hidden_tests_catch_what_check_misses(case):
    question, make = BEYOND[case]
    assert_hidden_catches(MODULE, question, make())


def test_a_broken_healthy_minutes_costs_only_its_own_points():
    out = run_question(MODULE, "respond", others={"verify": "def healthy_minutes(run, at_minute):\n    return 0\n"})
    assert out.visible_passed and out.error is None, repr(out.error)


# --------------------------------------------------------------------------- the record (module 07's contract)


def test_reference_incident_and_its_code_round_trip():
    rec = reference_incident()
    assert rec.is_reference and rec.actions == REFERENCE_ACTIONS
    code = rec.code()
    assert code.startswith("INC-") and 40 <= len(code) <= 120, code
    again = IncidentRecord.from_code(code)
    assert again == rec and again.code() == code
    assert IncidentRecord.from_code(code.lower()) == rec  # pasted in lower case still works
    assert IncidentRecord.from_code(f"  {code[:30]}\n{code[30:]} ") == rec  # or wrapped across lines
    assert replay_incident(code) == replay_incident(None) == rec


def test_a_learners_code_round_trips_with_arguments():
    c = IncidentConsole(5).act(14.5, "wait_threshold", seconds=0.2).act(16, "hotfix").act(18, "investigate")
    rec = c.record()
    back = IncidentRecord.from_code(rec.code())
    assert back.seed == 5 and back.actions == rec.actions and back.figures == rec.figures
    assert back.actions[0].args == (("seconds", 0.2),)
    assert not back.is_reference


def test_replay_is_deterministic_and_timeline_is_utc():
    a, b = replay_incident(None), replay_incident(reference_incident().code())
    assert a.figures == b.figures and a.timeline == b.timeline
    assert utc(0) == "2026-11-24T09:00:00Z" and utc(16.5) == "2026-11-24T09:16:30Z"
    kinds = {e.kind for e in a.timeline}
    assert {"fault", "action", "alert", "metric"} <= kinds
    assert all(e.utc.endswith("Z") for e in a.timeline)
    assert [e.minute for e in a.timeline] == sorted(e.minute for e in a.timeline)


@pytest.mark.parametrize("bad", ["", "INC-", "INC-!!!!", "XYZ-ABCDEF", "INC-PDNIWNWUGHIITDRW", None, 42])
def test_a_malformed_code_says_so(bad):
    with pytest.raises(ValueError, match="incident code"):
        IncidentRecord.from_code(bad)


def test_unknown_remediation_is_refused():
    with pytest.raises(ValueError, match="known"):
        replay_incident(None, remediations={"train_harder"})


def test_each_remediation_changes_what_it_should():
    w = what_if(None)
    base = w["as it happened"]
    assert set(w) == {"as it happened", *REMEDIATIONS}
    assert base.user_minutes_over_slo > 200 and base.worst_wait_s > 100  # "about two minutes"
    assert w["wait_threshold"].user_minutes_over_slo < base.user_minutes_over_slo
    assert w["bounded_refresh"].db_calls < base.db_calls
    assert w["prewarm_on_deploy"].user_minutes_over_slo < base.user_minutes_over_slo
    rb = w["runbook_with_owners"]
    assert rb.time_to_mitigate_min < base.time_to_mitigate_min and rb.user_minutes_over_slo < base.user_minutes_over_slo
    cs = w["canary_slo_alerts"]
    assert cs.time_to_detect_min < base.time_to_detect_min and cs.mitigated_at_min < base.mitigated_at_min
    assert cs.user_minutes_over_slo < base.user_minutes_over_slo
    for f in w.values():
        assert f.resolved_after_verification  # the learner's own declaration still stands in each what-if


def test_figures_of_the_reference_response():
    f = reference_incident().figures
    assert f.time_to_mitigate_min <= 5 and f.mitigated_before_root_cause
    assert f.verified_minutes >= 5 and f.resolved_after_verification
    untouched = replay_incident(IncidentRecord.from_code(IncidentConsole(0).act(30, "investigate").record().code()))
    assert untouched.figures.mitigated_at_min is None and not untouched.figures.resolved_after_verification


# --------------------------------------------------------------------------- the apology


def test_feedback_is_tied_to_the_learners_own_incident():
    unverified = IncidentConsole(0).act(18, "rollback").act(19, "resolve").record()
    assert not unverified.figures.resolved_after_verification
    qs = incident_questions("Good news: your account is fully restored and everything is back to normal.", unverified)
    assert any("truthfully" in q and f"{unverified.figures.verified_minutes} healthy minute" in q for q in qs), qs
    assert not incident_questions("Your account is fully restored.", reference_incident())  # verified: fair to say
    qs = incident_questions("We will have it fixed within two hours.", reference_incident())
    assert any("keep that time" in q and "1.33 minutes" in q for q in qs), qs
    qs = incident_questions("We rolled back the canary and the cache is warm.", reference_incident())
    assert any("user's own words" in q for q in qs), qs


def test_roleplay_is_headless_and_uses_both_rubrics():
    ns: dict = {}
    rp = IncidentRoleplay(record=reference_incident(), ns=ns)
    text = rp.text()
    assert "4 rounds" in text and "Pause again" in text and "status_replies" in text
    rp.pause()
    fb = rp.submit("Our cache had a thundering herd.")
    assert fb.rubric.name == "apology" and any("user's own words" in q for q in fb.questions)
    rp.next(); rp.pause()
    fb = rp.submit("Your account is fully restored, and the fix will be done within the hour.")
    assert fb.rubric.name == "status_followup" and any("keep that time" in q for q in fb.questions)
    rp.next()
    assert rp.stage == "curveball"  # the support lead's message after the second reply
    rp.pause()
    assert rp.round == 2 and len(ns["apology_replies"]) == 2
    code = rp.answer_code()  # two replies so far: the apology's cell can be written, not yet the follow-ups
    assert "\napology_message = " in code and "status_replies" not in code
    scope: dict = {}
    exec(code, scope)
    assert scope["apology_message"] == ns["apology_replies"][0]


def test_the_same_code_gives_the_same_record_in_another_process():
    """Determinism across processes (another hash seed): module 07 replays codes printed elsewhere."""
    import os
    import subprocess
    import sys

    code = IncidentConsole(3).act(13.5, "rollback").act(14, "prewarm", rate=20).act(17, "investigate").record().code()
    prog = ("from cache_course.incident_record import IncidentRecord as R; r = R.from_code(%r); "
            "print(repr((r.figures, r.timeline)))" % code)
    outs = {subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(outs) == 1
    here = IncidentRecord.from_code(code)
    assert repr((here.figures, here.timeline)) + "\n" in outs
