"""Module 07 (afterwards): the autograder test cells accept the reference and reject wrong
answers (each losing only its own question's points); the written answers meet their rubrics;
the completion summary, the figures store and the anonymous retro do what they promise.

"wrong" answers fail the whole test cell; "beyond" answers pass the visible `check` and are
caught only by the hidden tests.
"""

from __future__ import annotations

import json

import pytest
from modules_harness import (
    assert_hidden_catches,
    assert_reference_passes,
    assert_wrong_fails,
    code_cells,
    edited_answer,
    reference_answer,
    run_question,
)

MODULE = "07_afterwards"


def reference(question: str) -> str:
    return reference_answer(MODULE, question)


def edit(question: str, *pairs: tuple[str, str]) -> str:
    return edited_answer(MODULE, question, *pairs)


def _hardcoded_table() -> str:
    from cache_course.m07_afterwards import reference_table, variant_incident

    return f"def what_if_table(record):\n    return {reference_table(variant_incident(0))!r}\n"


def _swapped_why() -> str:
    """Each pick's sentence quotes the *other* pick's user-minutes (numbers from the right table, wrong rows)."""
    from cache_course.m07_afterwards import reference_table, variant_incident

    rows = {r["remediation"]: r for r in reference_table(variant_incident(0))}
    a, b = rows["prewarm_on_deploy"]["user_minutes_avoided"], rows["wait_threshold"]["user_minutes_avoided"]
    assert a != b
    return ('TOP_TWO = ("prewarm_on_deploy", "wait_threshold")\n'
            f'TOP_TWO_WHY = """Pre-warming on deploy matters because it avoids {b} user-minutes over the SLO in my '
            f'replay of the incident. The wait threshold matters because it avoids {a} user-minutes in the same '
            'replay, which is a lot for such a small change."""\n')


WRONG = {
    "what_if-cumulative": ("what_if", lambda: edit(
        "what_if", ("    rows = []\n", "    rows, done = [], set()\n"),
        ("fig = replay(record, {name}).figures", "done.add(name)\n        fig = replay(record, done).figures"))),
    "what_if-sign-reversed": ("what_if", lambda: edit(
        "what_if", ("base.user_minutes_over_slo - fig.user_minutes_over_slo",
                    "fig.user_minutes_over_slo - base.user_minutes_over_slo"))),
    "what_if-unsorted": ("what_if", lambda: edit(
        "what_if", ('return sorted(rows, key=lambda r: -r["user_minutes_avoided"])', "return rows"))),
    "what_if-baseline-figures": ("what_if", lambda: edit("what_if", ('"db_calls": fig.db_calls', '"db_calls": base.db_calls'))),
    "what_if-one-missing": ("what_if", lambda: edit("what_if", ("for name in REMEDIATIONS:", "for name in REMEDIATIONS[:-1]:"))),
    "top_two-same-twice": ("top_two", lambda: edit(
        "top_two", ('TOP_TWO = ("prewarm_on_deploy", "wait_threshold")', 'TOP_TWO = ("prewarm_on_deploy", "prewarm_on_deploy")'))),
    "top_two-unknown-name": ("top_two", lambda: edit(
        "top_two", ('TOP_TWO = ("prewarm_on_deploy", "wait_threshold")', 'TOP_TWO = ("prewarm_on_deploy", "train_harder")'))),
    "top_two-not-measured": ("top_two", lambda: edit(
        "top_two", ('TOP_TWO = ("prewarm_on_deploy", "wait_threshold")', 'TOP_TWO = ("prewarm_on_deploy", "bounded_refresh")'))),
}

BEYOND = {
    "what_if-hardcoded": ("what_if", _hardcoded_table),
    "top_two-why-without-numbers": ("top_two", lambda: (
        'TOP_TWO = ("prewarm_on_deploy", "runbook_with_owners")\n'
        'TOP_TWO_WHY = """Pre-warming on deploy clearly matters most, because cold caches hurt our users badly after '
        'every deploy. The runbook with owners comes second, because everyone acts sooner when roles are clear."""\n')),
    "top_two-why-quotes-the-other-row": ("top_two", lambda: _swapped_why()),
}


@pytest.mark.slow
@pytest.mark.parametrize("question", ["incident_code", "what_if", "top_two"])
def test_reference_passes(question):
    assert_reference_passes(MODULE, question)


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(WRONG))
def test_wrong_answer_fails(case):
    question, make = WRONG[case]
    assert_wrong_fails(MODULE, question, make())


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(BEYOND))
def test_hidden_tests_catch_what_check_misses(case):
    question, make = BEYOND[case]
    assert_hidden_catches(MODULE, question, make(), AssertionError)


@pytest.mark.slow
def test_top_two_points_do_not_depend_on_the_what_if_answer():
    broken = "def what_if_table(record):\n    raise NotImplementedError()\n"
    out = run_question(MODULE, "top_two", others={"what_if": broken})
    assert out.visible_passed and out.error is None, repr(out.error)


@pytest.mark.slow
def test_top_two_is_graded_on_the_learners_own_incident():
    """A pick that leads on the reference incident must be justified by the learner's own table."""
    from cache_course.m07_afterwards import top_two as q
    from cache_course.m07_afterwards.lab import reference_table, variant_incident

    code = variant_incident(5).code()
    rows = {r["remediation"]: r for r in reference_table(code)}
    why = (f"Pre-warming on deploy avoids {rows['prewarm_on_deploy']['user_minutes_avoided']} user-minutes over the "
           f"SLO in my incident. The runbook with owners cuts the time to mitigate to "
           f"{rows['runbook_with_owners']['time_to_mitigate_min']} minutes, because every action happens sooner.")
    q.assert_top_two_measured(("prewarm_on_deploy", "runbook_with_owners"), code)
    q.assert_top_two_why(("prewarm_on_deploy", "runbook_with_owners"), why, code)
    reference_why = why.replace(str(rows["prewarm_on_deploy"]["user_minutes_avoided"]), "103")
    if rows["prewarm_on_deploy"]["user_minutes_avoided"] != 103:
        with pytest.raises(AssertionError):  # the reference incident's figure is not this learner's
            q.assert_top_two_why(("prewarm_on_deploy", "runbook_with_owners"), reference_why, code)


@pytest.mark.slow
def test_incident_code_answers():
    from cache_course.m07_afterwards import variant_incident

    code = variant_incident(5).code()
    stub = 'INCIDENT_CODE = """\n# YOUR CODE HERE\nraise NotImplementedError()\n"""\n'
    out = run_question(MODULE, "incident_code", stub)  # untouched: not attempted, no point
    assert not out.visible_passed and isinstance(out.error, AssertionError)
    wrapped = f'INCIDENT_CODE = """\n{code[:30]}\n    {code[30:]}\n"""\n'  # wrapped and indented: still the code
    out = run_question(MODULE, "incident_code", wrapped)
    assert out.visible_passed and out.error is None, repr(out.error)
    for bad in (f'INCIDENT_CODE = "{code[:25]}"\n', 'INCIDENT_CODE = "inc-"\n', "INCIDENT_CODE = 42\n"):
        out = run_question(MODULE, "incident_code", bad)
        assert not out.visible_passed and isinstance(out.error, AssertionError), bad


@pytest.mark.slow
def test_top_two_reads_the_learners_pasted_code():
    """With a variant's code in INCIDENT_CODE, the picks and figures are judged on that variant's table."""
    from cache_course.m07_afterwards import reference_table, variant_incident

    code = variant_incident(5).code()
    rows = {r["remediation"]: r for r in reference_table(code)}
    ref_rows = {r["remediation"]: r for r in reference_table(None)}
    pre, wait = rows["prewarm_on_deploy"], rows["wait_threshold"]
    answer = ('TOP_TWO = ("prewarm_on_deploy", "runbook_with_owners")\n'
              f'TOP_TWO_WHY = """Pre-warming on deploy avoids {pre["user_minutes_avoided"]} user-minutes over the SLO '
              f'in my incident. The runbook with owners cuts the time to mitigate to '
              f'{rows["runbook_with_owners"]["time_to_mitigate_min"]} minutes, because every action happens sooner."""\n')
    others = {"incident_code": f'INCIDENT_CODE = """{code}"""\n'}
    out = run_question(MODULE, "top_two", answer, others=others)
    assert out.visible_passed and out.error is None, repr(out.error)
    if pre["user_minutes_avoided"] != ref_rows["prewarm_on_deploy"]["user_minutes_avoided"]:
        out = run_question(MODULE, "top_two", answer)  # the same reasons, judged on the reference incident
        assert isinstance(out.error, AssertionError)
    assert wait is not None


def test_a_damaged_code_falls_back_to_the_reference_and_says_why():
    from cache_course.m07_afterwards import load_incident

    record, about = load_incident("INC-NOT-A-CODE")
    assert record.is_reference and "could not be read" in about
    record, about = load_incident(None)
    assert record.is_reference and "reference" in about


def test_written_answers_meet_their_rubrics_and_a_blameful_one_does_not():
    from coursekit import check

    cells = dict((gid, src) for gid, src in code_cells(MODULE) if gid)
    for q in ("postmortem", "manager_ask"):
        ns: dict = {}
        exec(cells[q].replace("### BEGIN SOLUTION\n", "").replace("### END SOLUTION\n", ""), ns)
        report = check(q, ns=ns, quiet=True)
        assert report.status == "answered" and report.feedback[0].met, report.feedback[0].unmet
    blameful = {"postmortem": "The root cause was human error: Sam forgot to add the threshold, which was careless. "
                              "Sam will be more careful next time and we will retrain the team."}
    report = check("postmortem", ns=blameful, quiet=True)
    assert {"blameless", "no_train_harder"} <= set(report.feedback[0].unmet)


def test_the_manager_roleplay_is_headless_and_collects_replies(tmp_path):
    from cache_course.m07_afterwards import MANAGER_CURVEBALL, MANAGER_ROUNDS, ManagerRoleplay

    ns: dict = {}
    rp = ManagerRoleplay(MANAGER_ROUNDS, "manager_replies", curveball=MANAGER_CURVEBALL, rubric="manager_ask",
                         reviewer="Your manager", ns=ns)
    text = rp.text()
    assert "conversation with your manager" in text and "Pause again" in text and "code review" not in text
    rp.pause()
    fb = rp.submit("Can we pause feature work for 48 hours, Wednesday and Thursday, for the two fixes?")
    assert fb is not None and ns["manager_replies"]
    rp.next()
    rp.pause()
    rp.submit("The release moves from Thursday to Monday, two days later.")
    rp.next()
    assert rp.stage == "curveball"  # the head of product's message arrives after the second reply


def test_completion_summary_shows_the_learners_own_figures(tmp_path, monkeypatch):
    from cache_course.m07_afterwards import load_incident
    from cache_course.summary import write_summary
    from coursekit.figures import load_figures

    monkeypatch.setenv("COURSEKIT_PROGRESS", str(tmp_path / "progress.json"))
    record, _ = load_incident(None)
    path = write_summary(record, ("prewarm_on_deploy", "runbook_with_owners"), with_bench=False)
    assert path == tmp_path / "completion-summary.html"
    page = path.read_text()
    figs = load_figures()
    assert figs["07_afterwards"][0]["before"] == record.figures.user_minutes_over_slo
    assert f"{record.figures.user_minutes_over_slo:,}" in page and "07_afterwards" in page
    assert "not scored" in page and "score" not in page.replace("not scored", "").replace("never scored", "")
    # without picks, module 07 says what is missing instead of failing
    path = write_summary(record, "not a pair", with_bench=False)
    assert "pick your two" in path.read_text()


def test_figures_survive_a_broken_file(tmp_path, monkeypatch):
    from coursekit.figures import Figure, load_figures, record_figures

    target = tmp_path / "figures.json"
    target.write_text("{not json")
    assert load_figures(target) == {}
    record_figures("02_stampede", [Figure("database calls", 526, 195)], path=target)
    assert load_figures(target)["02_stampede"][0]["after"] == 195


def test_retro_is_anonymous_and_aggregates_only_from_five(tmp_path):
    from coursekit.retro import ITEMS, aggregate_retro, save_retro

    assert len(ITEMS) == 7
    with pytest.raises(ValueError):
        save_retro([4] * 6, tmp_path)
    with pytest.raises(ValueError):
        save_retro([4, 4, 4, 4, 4, 4, 8], tmp_path)
    answers = [[1, 7, 2, 6, 1, 6, 7], [2, 6, 1, 7, 2, 5, 6], [3, 5, 3, 5, 3, 4, 5], [1, 7, 1, 7, 1, 7, 7]]
    for a in answers:
        path = save_retro(a, tmp_path)
        content = json.loads(path.read_text())
        assert set(content) == {"v", "answers"} and len(path.stem) == 32  # numbers only; a random name
    assert aggregate_retro(tmp_path) is None  # four answers: nothing
    assert aggregate_retro(tmp_path, min_answers=2) is None  # the floor of five cannot be lowered
    (tmp_path / "junk.json").write_text("{}")
    save_retro([2, 6, 2, 6, 2, 6, 6], tmp_path)
    agg = aggregate_retro(tmp_path)
    assert agg["n"] == 5 and len(agg["items"]) == 7
    assert agg["items"][0]["reversed"] and agg["items"][0]["counts"][1] == 2
    assert 5.0 < agg["scale_mean"] <= 7.0  # a safe team: high after reverse-scoring items 1, 3, 5
    assert "answers" not in json.dumps(agg)  # only aggregates leave the function
    assert aggregate_retro(tmp_path / "missing") is None


def test_the_manager_roleplay_widgets_say_manager_not_review():
    from cache_course.m07_afterwards import MANAGER_CURVEBALL, MANAGER_PAUSE, MANAGER_ROUNDS, ManagerRoleplay

    rp = ManagerRoleplay(MANAGER_ROUNDS, "r", MANAGER_PAUSE, curveball=MANAGER_CURVEBALL, rubric="manager_ask",
                         reviewer="Your manager", ns={})
    assert "Talking to your manager" in rp.widgets["header"].value
    rp.pause()
    rp.submit("Can we pause feature work for 48 hours, Wednesday and Thursday, for the two fixes?")
    assert "Talking to your manager — turn 1 of 4" in rp.widgets["header"].value
    assert "Saved as reply 1" in rp.widgets["feedback"].value
