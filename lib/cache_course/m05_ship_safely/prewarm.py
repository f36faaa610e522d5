"""Question `prewarm` (module 05): a bounded pre-warm on deploy — helpers, visible checks, hints."""

from __future__ import annotations

from cachesim.prewarm import Prewarm
from coursekit.figures import Figure
from coursekit.questions import expect, expect_true, Question

from ..lab import need as _need
from ..variants import learner_seed
from .lab import critical_keys, deploy_scenario, run_deploy


def _fn(ns: dict):
    return _need(ns, "prewarm_plan", "function")


def assert_prewarm(prewarm_plan, seed: int) -> None:
    """The deploy scenario for a seed with your plan: every critical key warmed, the pre-warm's
    database load within the headroom, ready in time, critical users' cold-start p99 far lower."""
    sc = deploy_scenario(seed)
    keys = critical_keys(seed)
    plan = prewarm_plan(list(keys), sc["headroom"], sc["ready_within"])
    expect_true(f"prewarm_plan(...) (seed {seed})", isinstance(plan, Prewarm),
                "Return a `Prewarm(keys, rate=..., burst=..., gate=...)` (from cachesim.prewarm).",
                expected="a Prewarm", got=type(plan).__name__)
    missing = set(keys) - set(plan.keys)
    expect(f"critical keys left out of the plan (seed {seed})", len(missing), 0,
           "Pre-warm every key you were given: those are the critical users.")
    base, mine = run_deploy(None, seed), run_deploy(plan, seed)
    expect_true(f"pre-warm's peak database load, queries/s in any second (seed {seed}, headroom "
                f"{sc['headroom']:g})", mine.prewarm_peak <= sc["headroom"] + 1e-9,
                "The pre-warm may add at most `headroom_qps` queries a second. The token bucket allows `burst` "
                "queries at once and then `rate` a second: keep `rate + burst` within the headroom.",
                expected=f"<= {sc['headroom']:g}", got=mine.prewarm_peak)
    expect_true(f"total database load after the deploy, queries/s (seed {seed})", mine.total_peak <= sc["capacity"],
                "The database can't take more than its capacity.", expected=f"<= {sc['capacity']:g}",
                got=mine.total_peak)
    ready = mine.ready_after
    expect_true(f"seconds until the pre-warm finished (seed {seed}, {len(keys)} keys)",
                ready is not None and ready <= sc["ready_within"],
                f"The new version must take traffic within {sc['ready_within']:g} s: {len(keys)} keys at `rate` a "
                "second take len(keys) / rate seconds. Choose the rate from both bounds.",
                expected=f"<= {sc['ready_within']:g}", got=ready)
    bound = max(base.cold_p99 / 3, 0.005)
    expect_true(f"critical users' cold-start p99 after the deploy (seed {seed}; "
                f"{base.cold_p99 * 1000:.1f} ms without pre-warm)", mine.cold_p99 <= bound,
                "While the fresh caches warm up they already take traffic, so some critical users still arrive "
                "before their key is loaded. A readiness gate (`gate=True`) keeps the old caches serving until "
                "the new ones are warm.", expected=f"<= {bound * 1000:.1f} ms", got=f"{mine.cold_p99 * 1000:.1f} ms")


def check_prewarm(ns: dict) -> None:
    """the deploy (your variant): database load within the headroom, ready in time, critical cold-start p99 down"""
    assert_prewarm(_fn(ns), learner_seed("05_ship_safely", reference=0))


def prewarm_figures(ns: dict, seed: int = 0) -> list[Figure]:
    """The deploy (the check's seed): no pre-warm, then your plan; critical users' first reads after it."""
    sc = deploy_scenario(seed)
    plan = _fn(ns)(list(critical_keys(seed)), sc["headroom"], sc["ready_within"])
    base, mine = run_deploy(None, seed), run_deploy(plan, seed)
    note = (f"before: a deploy with cold caches; after: your prewarm_plan (rate {plan.rate:g}/s, burst {plan.burst:g}"
            f"{', gated' if plan.gate else ''}); seed {seed}")
    return [Figure("critical users' cold-start p99", round(base.cold_p99 * 1000, 1), round(mine.cold_p99 * 1000, 1),
                   "ms", note),
            Figure("database peak after the deploy", round(base.total_peak), round(mine.total_peak), "queries/s",
                   f"capacity {sc['capacity']:g}/s; your pre-warm's own peak {mine.prewarm_peak:g}/s "
                   f"(headroom {sc['headroom']:g}/s)"),
            Figure("ready to take traffic after", None, mine.ready_after, "s",
                   f"within {sc['ready_within']:g} s required")]


PREWARM = Question(
    id="prewarm",
    title="Pre-warm critical users on deploy, within the database's headroom",
    checks=[check_prewarm],
    figures=prewarm_figures,
    hints=[
        "Two bounds on the rate: at most the headroom (minus the burst), at least enough to finish all keys "
        "in time.",
        "The token bucket starts full: `burst` loads at once, then `rate` a second. `burst=1` and "
        "`rate=headroom_qps - 1` stays within the headroom.",
        "`Prewarm(keys, rate=headroom_qps - 1, burst=1, gate=True)`: the gate keeps the old caches serving "
        "until the new ones hold every critical key.",
    ],
)
