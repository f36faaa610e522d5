"""Module 05 (ship it safely): the autograder test cells accept the reference and reject wrong
answers. Wrong answers are the reference with one deliberate mistake edited in, so they stay in
step with the course source.

"wrong" answers fail the visible check and the test cell; "beyond" answers pass the visible
`check` and are caught only by the hidden tests (other seeds).
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

pytestmark = pytest.mark.slow

MODULE = "05_ship_safely"


def reference(question: str) -> str:
    return reference_answer(MODULE, question)


def edit(question: str, *pairs: tuple[str, str]) -> str:
    return edited_answer(MODULE, question, *pairs)


_DIGEST = 'digest = hashlib.sha256(f"{flag_key}:{user}".encode()).digest()'

WRONG = {
    "bucketing-builtin-hash": ("bucketing", lambda: edit(
        "bucketing", (_DIGEST + '\n    return int.from_bytes(digest[:8], "big") % 10_000',
                      'return hash(f"{flag_key}:{user}") % 10_000'))),
    "bucketing-reshuffles-per-stage": ("bucketing", lambda: edit(
        "bucketing", ("return bucket_of(flag_key, user) < percent * 100",
                      "return bucket_of(f\"{flag_key}@{percent}\", user) < percent * 100"))),
    "bucketing-ignores-flag": ("bucketing", lambda: edit(
        "bucketing", (_DIGEST, 'digest = hashlib.sha256(f"{user}".encode()).digest()'))),
    "bucketing-percent-as-fraction": ("bucketing", lambda: edit(
        "bucketing", ("< percent * 100", "< percent * 10"))),
    "judge-no-db-check": ("canary_judge", lambda: edit(
        "canary_judge", ("    if db_ratio > 1.5:\n        return \"halt\"\n", ""))),
    "judge-no-error-check": ("canary_judge", lambda: edit(
        "canary_judge", ("    if p_errors < a and more_errors > 0.002:\n        return \"halt\"\n", ""))),
    "judge-no-minimum": ("canary_judge", lambda: edit(
        "canary_judge", ("    if min(control.requests, canary.requests) < 200:\n        return \"continue\"\n", ""))),
    "judge-library": ("canary_judge", lambda: (
        "from cachesim.canary import judge\n\n\ndef judge_canary(control, canary, *, alpha=0.05):\n"
        "    return judge(control.latencies, canary.latencies, control.errors, canary.errors,\n"
        "                 control_db_calls=control.db_calls, canary_db_calls=canary.db_calls).decision\n")),
    "prewarm-unbounded": ("prewarm", lambda: edit(
        "prewarm", ("return Prewarm(list(keys), rate=rate, burst=burst, gate=True)",
                    "return Prewarm(list(keys), rate=1e6, burst=1e6, concurrency=10_000, gate=True)"))),
    "prewarm-forgets-burst": ("prewarm", lambda: edit(
        "prewarm", ("burst = 1\n", "burst = 5\n"), ("rate = headroom_qps - burst", "rate = headroom_qps"))),
    "prewarm-too-slow": ("prewarm", lambda: edit(
        "prewarm", ("return Prewarm(list(keys), rate=rate, burst=burst, gate=True)",
                    "return Prewarm(list(keys), rate=2, burst=1, gate=True)"))),
    "prewarm-some-keys": ("prewarm", lambda: edit(
        "prewarm", ("return Prewarm(list(keys), rate=rate", "return Prewarm(list(keys)[:10], rate=rate"))),
    "exposition-successful-reads-only": ("exposition", lambda: edit(
        "exposition", ('elif name_labels.startswith("session_reads_total{"):',
                       'elif name_labels.startswith("session_read_latency_seconds_count{"):'))),
    "exposition-first-server-only": ("exposition", lambda: edit(
        "exposition", ("            reads += float(value)", "            reads = reads or float(value)"))),
    "alerts-short-window-only": ("slo_alerts", lambda: edit(
        "slo_alerts", ('BurnRateRule("page-1h-5m", "page", 1 * HOUR, 5 * 60, 14.4)',
                       'BurnRateRule("page-5m", "page", 5 * 60, 5 * 60, 14.4)'))),
    "alerts-no-slow-page": ("slo_alerts", lambda: edit(
        "slo_alerts", ('        BurnRateRule("page-6h-30m", "page", 6 * HOUR, 30 * 60, 6.0),\n', ""))),
    "alerts-ticket-pages": ("slo_alerts", lambda: edit(
        "slo_alerts", ('BurnRateRule("ticket-3d-6h", "ticket"', 'BurnRateRule("ticket-3d-6h", "page"'))),
    "alerts-library": ("slo_alerts", lambda: edit(
        "slo_alerts", ("    return [\n", "    from cachesim.slo import WORKBOOK_RULES\n    return list(WORKBOOK_RULES)\n    return [\n"))),
}

BEYOND = {
    # the U test alone halts an identical canary on some seeds (different users, different hit ratios)
    "judge-halts-on-u-test-alone": ("canary_judge", lambda: edit(
        "canary_judge", ("if p_latency < a and low > margin:", "if p_latency < a:"))),
    "prewarm-hardcoded-rate": ("prewarm", lambda: edit(
        "prewarm", ("return Prewarm(list(keys), rate=rate, burst=burst, gate=True)",
                    "return Prewarm(list(keys), rate=39, burst=1, gate=True)"))),
    "prewarm-no-gate": ("prewarm", lambda: edit(
        "prewarm", ("rate=rate, burst=burst, gate=True)", "rate=rate, burst=burst, gate=False)"))),
    "exposition-hardcoded": ("exposition", None),  # built below from the reference's own number
}


def _hardcoded_exposition() -> str:
    from cache_course.m05_ship_safely.alerts import assert_exposition  # noqa: F401 - the seed's run
    from cachesim import error_rate
    from cache_course.m05_ship_safely.lab import telemetry_run

    _, tel = telemetry_run(1, faults=[error_rate(at=360, duration=240, rate=0.06)], duration=1200.0)
    snap = tel.snapshot()
    return f"def good_ratio(text):\n    return {snap['good'] / snap['requests']!r}\n"


QUESTIONS = ["bucketing", "canary_judge", "prewarm", "exposition", "slo_alerts"]


@pytest.mark.parametrize("question", QUESTIONS)
def test_reference_passes(question):
    assert_reference_passes(MODULE, question)


@pytest.mark.parametrize("case", sorted(WRONG))
def test_wrong_answer_fails(case):
    question, make = WRONG[case]
    assert_wrong_fails(MODULE, question, make())


@pytest.mark.parametrize("case", sorted(BEYOND))
def test_hidden_tests_catch_what_check_misses(case):
    question, make = BEYOND[case]
    answer = _hardcoded_exposition() if make is None else make()
    assert_hidden_catches(MODULE, question, answer)


def test_a_wrong_answer_costs_only_its_own_points():
    """A broken bucketing leaves the canary judge's test cell passing (and the other way round)."""
    broken_bucket = WRONG["bucketing-ignores-flag"][1]()
    out = run_question(MODULE, "canary_judge", others={"bucketing": broken_bucket})
    assert out.visible_passed and out.error is None, repr(out.error)
    out = run_question(MODULE, "slo_alerts", others={"canary_judge": WRONG["judge-no-db-check"][1](),
                                                      "prewarm": WRONG["prewarm-unbounded"][1]()})
    assert out.visible_passed and out.error is None, repr(out.error)


def test_rollout_note_reference_and_stub():
    from coursekit import check
    from coursekit.rubrics import get_rubric

    ns: dict = {}
    exec(compile(reference("rollout_note").replace("### BEGIN SOLUTION\n", "").replace("### END SOLUTION\n", ""),
                 "<note>", "exec"), ns)
    assert get_rubric("rollout_note").evaluate(ns["rollout_note"]).questions == []
    assert check("rollout_note", ns=ns, quiet=True).status == "answered"
    stub = {"rollout_note": "\n# YOUR CODE HERE\nraise NotImplementedError()\n"}
    assert check("rollout_note", ns=stub, quiet=True).status == "not_attempted"


def test_demos_refuse_starter_code():
    from cache_course.m05_ship_safely import staged_rollout

    def judge_canary(control, canary):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError, match="still raises NotImplementedError"):
        staged_rollout(judge_canary, "good", 1)
