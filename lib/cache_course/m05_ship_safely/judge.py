"""Question `canary_judge` (module 05): the automatic canary judgement — helpers, visible checks, hints."""

from __future__ import annotations

import functools

import numpy as np

from cachesim import canary as _canary
from coursekit.figures import Figure
from coursekit.questions import Question, expect, expect_true

from ..lab import assert_own_work, need as _need
from ..variants import learner_seed
from .lab import CANARY_KINDS, CohortSample, canary_samples, names_used, staged_rollout

DECISIONS = ("promote", "halt", "continue")


def _fn(ns: dict):
    return _need(ns, "judge_canary", "function")


def _decide(judge, control, canary, what: str) -> str:
    got = judge(control, canary)
    expect_true(f"judge_canary(...) for {what}", got in DECISIONS,
                "Return one of the strings 'promote', 'halt' or 'continue'.", expected=" / ".join(DECISIONS), got=got)
    return got


def assert_judge_own(judge) -> None:
    """judge_canary is your own judgement, built from the statistics, not cachesim's `judge`."""
    used = sorted(names_used(judge) & {"judge", "judge_fleet", "auto_canary"})
    expect("cachesim.canary judgements judge_canary calls", used, [],
           "This question asks you to write the judgement yourself from the statistics; the library's `judge` "
           "is the answer key.")
    assert_own_work(judge, "judge_canary", shipped={"cachesim.canary.judge": _canary.judge,
                                                    "cachesim.canary.judge_fleet": _canary.judge_fleet,
                                                    "cachesim.canary.auto_canary": _canary.auto_canary})


def assert_judge_too_few(judge, seed: int) -> None:
    """With fewer than 200 requests in a cohort the judgement waits ("continue")."""
    control, canary = canary_samples("slow", seed, 120.0, 135.0)
    small = CohortSample(canary.latencies[:60], canary.errors[:60], canary.db_calls)
    got = _decide(judge, control, small, "60 canary requests")
    expect("judge_canary(...) on 60 canary requests", got, "continue",
           "With so few requests no test has the power to tell; return 'continue' below 200 requests in either "
           "cohort and collect more minutes.")


def assert_judge_decisions(judge, seed: int, kinds=tuple(CANARY_KINDS)) -> None:
    """Seeded canaries: good ones promoted, bad ones (slow, erroring, database-heavy) halted,
    an identical one not halted."""
    for kind in kinds:
        control, canary = canary_samples(kind, seed)
        want = CANARY_KINDS[kind][1]
        got = _decide(judge, control, canary, f"the {kind} canary (seed {seed})")
        advice = {
            "identical": "This canary runs the same code as the control: halting it is a false alarm. Halt on "
                         "latency only when the U test says 'slower' *and* the bootstrap interval's lower bound of "
                         "the p99 difference is above the margin; promote when the upper bound is within it.",
            "good": "This canary is faster and no worse on errors or database load: promote when the p99 "
                    "interval's upper bound is within the margin and the error rate is not worse.",
            "slow": "This canary's p99 is clearly worse: halt when Mann-Whitney's p < alpha/2 and the interval's "
                    "lower bound exceeds the margin (max(5 ms, 10% of the control's p99)).",
            "flaky": "This canary fails some reads: halt when the two-proportion test says more errors (p < "
                     "alpha/2) and the error rates differ by more than 0.2 points.",
            "chatty": "This canary is barely slower but asks the database for twice as much: halt when its "
                      "database calls per request exceed 1.5x the control's.",
        }[kind]
        if want == "not halt":
            expect_true(f"decision on the {kind} canary (seed {seed})", got != "halt", advice,
                        expected="promote or continue", got=got)
        else:
            expect(f"decision on the {kind} canary (seed {seed})", got, want, advice)


def check_judge_own(ns: dict) -> None:
    """judge_canary is your own judgement (not cachesim.canary.judge) and waits on too few requests"""
    judge = _fn(ns)
    assert_judge_own(judge)
    assert_judge_too_few(judge, 1)


def check_judge_decisions(ns: dict) -> None:
    """seeded canaries (your variant): good promoted, slow/erroring/database-heavy halted, identical not halted"""
    assert_judge_decisions(_fn(ns), learner_seed("05_ship_safely", reference=1))


def _always_promote(control, canary) -> str:
    return "promote"


@functools.lru_cache(maxsize=4)
def _unjudged_rollout(kind: str, seed: int):
    return staged_rollout(_always_promote, kind, seed)


def _exposure(rollout) -> tuple[int, int, float]:
    """(requests the canary served, of them failed, the percent it ended at) of a staged rollout."""
    result, log = rollout
    on_canary = result.mask(cohort="canary")
    return int(on_canary.sum()), int(result.errors[on_canary].sum()), float(log[-1][3]) if log else 0.0


def judge_figures(ns: dict, seed: int = 1, kind: str = "flaky") -> list[Figure]:
    """A staged rollout of the erroring canary that your judge drives, against one that promotes at every check."""
    judge = _fn(ns)
    (served0, failed0, end0), (served, failed, end) = (_exposure(_unjudged_rollout(kind, seed)),
                                                       _exposure(staged_rollout(judge, kind, seed)))
    verdicts = ", ".join(f"{k} {_decide(judge, *canary_samples(k, seed), k)}" for k in CANARY_KINDS)
    note = (f"before: a rollout that promotes at every check; after: your judge_canary drives it "
            f"(5-25-50-100%, a check every 150 s, the {kind} canary, seed {seed})")
    return [Figure(f"failed reads served by the {kind} canary", failed0, failed, "", note),
            Figure(f"requests on the {kind} canary", served0, served, ""),
            Figure("canary's share when the rollout ended", end0, end, "%", f"your verdicts: {verdicts}")]


CANARY_JUDGE = Question(
    id="canary_judge",
    title="The automatic canary judgement",
    checks=[check_judge_own, check_judge_decisions],
    figures=judge_figures,
    hints=[
        "Three questions, in order: is the canary clearly worse (latency, errors, database)? halt. Is it "
        "clearly no worse? promote. Otherwise continue.",
        "Latency: `mann_whitney_u(control.latencies, canary.latencies)` gives (U, z, p); "
        "`bootstrap_quantile_diff(control.latencies, canary.latencies, 99, ci=1 - alpha, seed=0)` gives "
        "(observed, low, high) of the p99 difference. Halt needs both: p < alpha/2 and low > margin.",
        "Errors: `two_proportion_test(k_control, n_control, k_canary, n_canary)` gives (z, p); database: "
        "`(canary.db_calls / canary.requests) / (control.db_calls / control.requests)`. Promote when "
        "`high <= margin` and the canary's error rate is at most 0.2 points above the control's.",
    ],
)
