"""Module 05's lab bench: seeded users, canaries, a deploy with pre-warm, SLO scenarios.

Everything runs in virtual time on `cachesim`'s shipping lab (`Fleet`, `Rollout`, `Prewarm`,
`Telemetry`, `cachesim.slo`), and every scenario takes a seed, so the visible checks and the
hidden tests run the same code on different numbers.

* rollout: :func:`rollout_users` — user ids to bucket;
* canary: :data:`CANARY_KINDS`, :func:`canary_run`, :func:`canary_samples` (control and canary
  on the same simulated minutes), :func:`staged_rollout` (your judgement drives the stages);
* pre-warm: :func:`deploy_scenario` (the database's headroom), :func:`run_deploy`;
* alerts: :data:`ALERT_SCENARIOS`, :func:`scenario_counts`, :func:`run_alert_scenario`,
  :func:`alert_table`, :func:`telemetry_run`.
"""

from __future__ import annotations

import asyncio
import functools
import random
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from cachesim import LogNormal, NaiveCache, SimulatedDatabase, Workload
from cachesim.fleet import Call, Deploy, Fleet
from cachesim.prewarm import Prewarm
from cachesim.results import nearest_rank
from cachesim.rollout import Rollout
from cachesim.slo import SLO, BurnRateRule, evaluate_counts, precision_recall, synthetic_counts
from cachesim.telemetry import Telemetry
from swrcache import SWRCache
from cachesim.baselines import DoubleReadCache as _DoubleRead, FlakyCache as _Flaky

__all__ = [
    "ALERT_SCENARIOS", "CANARY_KINDS", "CANARY_SLO", "DEPLOY_AT", "SLO_999", "AlertScenario", "CohortSample",
    "DeployOutcome", "READY_WITHIN", "alert_table", "critical_keys", "canary_run", "canary_samples", "deploy_scenario", "rollout_users",
    "run_alert_scenario", "run_deploy", "scenario_counts", "staged_rollout", "telemetry_run",
]

# --------------------------------------------------------------------------- rollout


def rollout_users(seed: int, n: int = 4000) -> list[str]:
    """`n` user ids for a seed (``"user:<seed>-<i>"``)."""
    return [f"user:{seed}-{i}" for i in range(n)]


# --------------------------------------------------------------------------- canary


class _Chatty:
    """The database-heavy canary: every miss also loads the user's profile (in parallel, so
    it is barely slower, but it doubles the queries)."""

    def __init__(self, inner_load, ttl=30.0):
        self.load, self.ttl, self.data = inner_load, ttl, {}

    async def get(self, key):
        now = asyncio.get_running_loop().time()
        hit = self.data.get(key)
        if hit is not None and now < hit[1]:
            return hit[0]
        value, _ = await asyncio.gather(self.load(key), self.load(("profile", key)))
        self.data[key] = (value, asyncio.get_running_loop().time() + self.ttl)
        return value


def _control(load):
    return NaiveCache(load, ttl=30)


#: Canary kinds -> (factory of the canary's cache factory, what a sound judgement does).
CANARY_KINDS: dict[str, tuple[Callable[[int], Callable], str]] = {
    "identical": (lambda seed: _control, "not halt"),
    "good": (lambda seed: (lambda load: SWRCache(load, capacity=5000, ttl=30, stale_ttl=600,
                                                 rng=random.Random(seed))), "promote"),
    "slow": (lambda seed: (lambda load: _DoubleRead(load, ttl=30)), "halt"),
    "flaky": (lambda seed: (lambda load: _Flaky(NaiveCache(load, ttl=30))), "halt"),
    "chatty": (lambda seed: (lambda load: _Chatty(load, ttl=30)), "halt"),
}

#: The canary's window: minutes 2-10 of a 10-minute run with 25% of users on the canary.
CANARY_SLO = {"start": 120.0, "end": 600.0, "percent": 25}


@dataclass(frozen=True)
class CohortSample:
    """One cohort over the judged window: per-request `latencies` (s) and `errors` (bool),
    and the database calls its caches made (`db_calls`)."""

    latencies: np.ndarray
    errors: np.ndarray
    db_calls: int

    @property
    def requests(self) -> int:
        return int(len(self.latencies))

    def __repr__(self) -> str:
        p99 = nearest_rank(np.sort(self.latencies), 99) if self.requests else float("nan")
        return (f"CohortSample({self.requests} requests, p99 {p99 * 1000:.1f} ms, "
                f"{int(self.errors.sum())} errors, {self.db_calls} db calls)")


@functools.lru_cache(maxsize=32)
def canary_run(kind: str, seed: int):
    """A 10-minute run of 4 servers: 25% of users (sticky, by an OpenFeature flag) on the
    `kind` canary, the rest on the control cache. Cached per (kind, seed)."""
    if kind not in CANARY_KINDS:
        raise KeyError(f"unknown canary kind {kind!r}; choose from {sorted(CANARY_KINDS)}")
    make, _ = CANARY_KINDS[kind]
    w = Workload(duration=600, rate=20, keys=1500, zipf_s=0.6, seed=seed)
    with Rollout(salt=f"s{seed}", stages=(CANARY_SLO["percent"],)) as flag:
        flag.advance()
        return Fleet(w, {"control": _control, "canary": make(seed)}, servers=4,
                     database=SimulatedDatabase(latency=LogNormal(0.02, 0.5), seed=seed), assign=flag.assign,
                     name=f"canary {kind} (seed {seed})").run()


def _samples(result, start: float, end: float) -> tuple[CohortSample, CohortSample]:
    out = []
    for cohort in ("control", "canary"):
        m = result.mask(cohort=cohort, start=start, end=end)
        db = result.stats(cohort, cohort=cohort, start=start, end=end).db_calls
        out.append(CohortSample(result.latencies[m].copy(), result.errors[m].copy(), int(db)))
    return out[0], out[1]


def canary_samples(kind: str, seed: int, start: float | None = None,
                   end: float | None = None) -> tuple[CohortSample, CohortSample]:
    """(control, canary) over the same simulated minutes [start, end) of `canary_run(kind, seed)`."""
    r = canary_run(kind, seed)
    return _samples(r, CANARY_SLO["start"] if start is None else start, CANARY_SLO["end"] if end is None else end)


def staged_rollout(judge: Callable[[CohortSample, CohortSample], str], kind: str, seed: int, *,
                   stages: Sequence[float] = (5, 25, 50, 100), check_every: float = 150.0,
                   duration: float = 900.0):
    """Run a rollout whose stages your `judge(control, canary)` drives: every `check_every`
    virtual seconds it judges the current stage's requests; "promote" advances the flag a
    stage, "halt" rolls it back to 0% (and stops), "continue" waits.

    Returns (FleetResult, log of (t, decision, action, percent after)).
    """
    from ..lab import require_finished

    require_finished(judge)
    make, _ = CANARY_KINDS[kind]
    w = Workload(duration=duration, rate=20, keys=1500, zipf_s=0.6, seed=seed)
    log: list[tuple[float, str, str, float]] = []
    state = {"since": 0.0, "stopped": False}
    with Rollout(salt=f"s{seed}", stages=stages) as flag:
        flag.advance(0.0)

        def check(ctl) -> None:
            if state["stopped"] or flag.percent >= 100:
                return
            t = ctl.now()
            control, canary = _samples(ctl.result_so_far(), state["since"], t - 5.0)
            decision = judge(control, canary) if min(control.requests, canary.requests) else "continue"
            if decision == "promote":
                flag.advance(t)
                state["since"], action = t, f"advance to {flag.percent:g}%"
            elif decision == "halt":
                flag.rollback(t)
                state["stopped"], action = True, "roll back to 0%"
            else:
                action = "wait"
            log.append((t, decision, action, flag.percent))
            ctl.log(f"canary: {decision} -> {action}")

        events = [Call(t, check, label="canary check")
                  for t in np.arange(check_every, duration, check_every)]
        r = Fleet(w, {"control": _control, "canary": make(seed)}, servers=4,
                  database=SimulatedDatabase(latency=LogNormal(0.02, 0.5), seed=seed), assign=flag.assign,
                  events=events, name=f"staged rollout, {kind} canary (seed {seed})").run()
    return r, log


# --------------------------------------------------------------------------- pre-warm

#: The deploy's virtual time in the pre-warm scenario.
DEPLOY_AT = 300.0


def deploy_scenario(seed: int) -> dict[str, float]:
    """The database's numbers for a seed: its `capacity` (queries/s) and the `headroom` the
    pre-warm may use on top of the traffic's own misses (queries/s)."""
    i = seed % 5
    return {"capacity": 120.0, "headroom": (40.0, 60.0, 15.0, 30.0, 30.0)[i], "ready_within": READY_WITHIN,
            "critical_fraction": (0.03, 0.05, 0.02, 0.04, 0.06)[i]}


#: The new version must take traffic within this many virtual seconds of the deploy.
READY_WITHIN = 8.0


def _deploy_workload(seed: int) -> Workload:
    return Workload(duration=420, rate=60, keys=3000, critical_fraction=deploy_scenario(seed)["critical_fraction"],
                    seed=seed)


def critical_keys(seed: int) -> list:
    """The critical users' keys of the pre-warm scenario (in popularity order)."""
    return list(_deploy_workload(seed).critical_keys())


@dataclass(frozen=True)
class DeployOutcome:
    """A deploy at `DEPLOY_AT`: critical users' cold-start p99 (their first read after it),
    the pre-warm's own database peak and the total peak (queries/s, 1-s window, first 20 s),
    and when the pre-warm finished (`ready_after` seconds after the deploy; None: no pre-warm)."""

    cold_p99: float
    prewarm_peak: float
    total_peak: float
    cold_critical: int
    ready_after: float | None
    result: Any

    def __str__(self) -> str:
        ready = "" if self.ready_after is None else f"; pre-warm done after {self.ready_after:.1f} s"
        return (f"critical cold-start p99 {self.cold_p99 * 1000:.1f} ms; database peak {self.total_peak:.0f} q/s "
                f"(pre-warm {self.prewarm_peak:.0f} q/s){ready}")


@functools.lru_cache(maxsize=8)
def _no_prewarm(seed: int) -> "DeployOutcome":
    return _deploy(None, seed)


def _deploy(plan: Prewarm | None, seed: int) -> DeployOutcome:
    w = _deploy_workload(seed)
    r = Fleet(w, lambda load: NaiveCache(load, ttl=3600), servers=4, warm=w.key_names,
              database=SimulatedDatabase(latency=LogNormal(0.02, 0.5), capacity=deploy_scenario(seed)["capacity"],
                                         seed=seed),
              events=[Deploy(DEPLOY_AT, prewarm=plan)], name="deploy" + (" + pre-warm" if plan else "")).run()
    first = r.first_requests(DEPLOY_AT, critical=True)
    cold = np.sort(r.latencies[first])
    end = DEPLOY_AT + 20.0
    done = [t for t, what in r.events if str(what).startswith("prewarm done")]
    return DeployOutcome(nearest_rank(cold, 99) if len(cold) else 0.0, r.db_peak_qps(DEPLOY_AT, end, prewarm=True),
                         r.db_peak_qps(DEPLOY_AT, end), int(first.sum()),
                         round(done[0] - DEPLOY_AT, 6) if done else None, r)


def run_deploy(plan: Prewarm | None, seed: int) -> DeployOutcome:
    """The deploy scenario for a seed, with `plan` (a `cachesim.prewarm.Prewarm`, or None)."""
    if plan is None:
        return _no_prewarm(seed)
    return _deploy(plan, seed)


# --------------------------------------------------------------------------- SLO alerts

#: The SLO of the alert questions: 99.9% of session reads succeed within 200 ms.
SLO_999 = SLO(objective=0.999, threshold=0.2)

HOUR = 3600.0


@dataclass(frozen=True)
class AlertScenario:
    """A seeded traffic pattern: `bad` extra bad fraction from `at` for `lasts` seconds on
    top of a 0.02% background, over `duration` seconds; `expect` is "page", "ticket" or
    "quiet"; a real incident must be detected within `within` seconds."""

    name: str
    at: float
    lasts: float
    bad: float
    expect: str
    within: float | None = None
    duration: float = 12 * HOUR
    bucket: float = 30.0


ALERT_SCENARIOS: tuple[AlertScenario, ...] = (
    AlertScenario("outage, 5 min", 3 * HOUR, 300, 1.0, "page", 180),
    AlertScenario("10% errors, 20 min", 3 * HOUR, 1200, 0.10, "page", 12 * 60),
    AlertScenario("2% errors, 4 h", 3 * HOUR, 4 * HOUR, 0.02, "page", 60 * 60),
    AlertScenario("0.8% errors, 8 h", 2 * HOUR, 8 * HOUR, 0.008, "page", 5 * HOUR),
    AlertScenario("0.5% errors, 2 days", 6 * HOUR, 42 * HOUR, 0.005, "ticket", 18 * HOUR, 48 * HOUR, 120.0),
    AlertScenario("blip: outage, 30 s", 3 * HOUR, 30, 1.0, "quiet"),
    AlertScenario("blip: 20% errors, 2 min", 3 * HOUR, 120, 0.20, "quiet"),
    AlertScenario("background only", 0, 0, 0.0, "quiet"),
)

_BACKGROUND = 0.0002
_RATE = 5.0


def scenario_counts(s: AlertScenario, seed: int):
    """(bucket ends, good, total) for scenario `s`: Poisson reads at 5/s, binomial bad reads
    (`cachesim.slo.synthetic_counts`, the coarse mode validated against exact simulation).
    The seed shifts the incident by up to a few minutes."""
    shift = (seed * 7919 % 11) * s.bucket
    at = s.at + shift if s.lasts else s.at

    def bad(t: float) -> float:
        return min(1.0, _BACKGROUND + (s.bad if at <= t < at + s.lasts else 0.0))

    return synthetic_counts(s.duration, _RATE, s.bucket, bad, seed=seed), at


@dataclass(frozen=True)
class AlertOutcome:
    scenario: AlertScenario
    incident_at: float
    paged: bool
    ticketed: bool
    page_after: float | None
    ticket_after: float | None
    timeline: Any

    @property
    def ok(self) -> bool:
        s = self.scenario
        if s.expect == "page":
            return self.page_after is not None and self.page_after <= s.within
        if s.expect == "ticket":
            return (not self.paged) and self.ticket_after is not None and self.ticket_after <= s.within
        return not self.paged


def run_alert_scenario(rules: Sequence[BurnRateRule], s: AlertScenario, seed: int,
                       slo: SLO = SLO_999) -> AlertOutcome:
    """Evaluate `rules` on scenario `s` (seeded): did it page, did it ticket, how soon."""
    (ends, good, total), at = scenario_counts(s, seed)
    tl = evaluate_counts(ends, good, total, slo, list(rules))
    start = at if s.lasts else 0.0
    page_after = tl.detection_time(start, "page")
    ticket_after = tl.detection_time(start, "ticket")
    return AlertOutcome(s, at, bool(tl.fired("page")), bool(tl.fired("ticket")), page_after, ticket_after, tl)


def _minutes(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x / 3600:.1f} h" if x >= 2 * HOUR else f"{x / 60:.1f} min"


def alert_table(rule_sets: dict[str, Sequence[BurnRateRule]], seed: int = 0,
                scenarios: Sequence[AlertScenario] = ALERT_SCENARIOS) -> str:
    """A text table: each scenario's outcome under each rule set, then precision/recall of paging."""
    names = list(rule_sets)
    outcomes = {n: [run_alert_scenario(rule_sets[n], s, seed) for s in scenarios] for n in names}
    width = max(len(s.name) for s in scenarios) + 2
    lines = [f"{'scenario':<{width}}{'wanted':<18}" + "".join(f"{n:<26}" for n in names)]
    for i, s in enumerate(scenarios):
        want = s.expect + (f" ≤ {_minutes(s.within)}" if s.within else "")
        cells = []
        for n in names:
            o = outcomes[n][i]
            got = (f"page {_minutes(o.page_after)}" if o.paged else
                   f"ticket {_minutes(o.ticket_after)}" if o.ticketed else "quiet")
            cells.append(f"{('✓ ' if o.ok else '✗ ') + got:<26}")
        lines.append(f"{s.name:<{width}}{want:<18}" + "".join(cells))
    lines.append("")
    for n in names:
        pr = precision_recall([(s.expect == "page", o.paged) for s, o in zip(scenarios, outcomes[n])])
        lines.append(f"{n}: paging precision {pr[0]:.2f}, recall {pr[1]:.2f}")
    return "\n".join(lines)


class _PassThrough:
    """No cache: every read is a database read (so database errors are read errors)."""

    def __init__(self, load):
        self.load = load

    async def get(self, key):
        return await self.load(key)


def telemetry_run(seed: int = 1, *, faults=(), duration: float = 7200.0, rate: float = 2.0):
    """A fleet of 4 servers feeding `cachesim.telemetry.Telemetry` (prometheus_client, a
    private registry, scraped every 60 virtual s). Returns (FleetResult, Telemetry)."""
    tel = Telemetry(slo_threshold=SLO_999.threshold, scrape_interval=60)
    r = Fleet(Workload(duration=duration, rate=rate, keys=500, seed=seed), _PassThrough, servers=4,
              database=SimulatedDatabase(latency=0.02, faults=list(faults), seed=seed), observers=[tel],
              name="session reads").run()
    return r, tel


def names_used(fn: Any) -> set[str]:
    """Global and attribute names a function's code refers to (nested functions included).

    Unlike the source, the code object is there even when the function was made by `exec`.
    """
    import types

    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    names: set[str] = set()
    stack = [code] if code is not None else []
    while stack:
        c = stack.pop()
        names.update(c.co_names)
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return names

