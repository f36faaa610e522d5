"""The incident of module 06, in virtual time: the canary meets a slow shard, a paused server
and a deploy that empties the caches; one user's sign-in takes about two minutes.

Everything here is deterministic: :func:`simulate` takes a variant seed, the learner's actions
(virtual minute, action, arguments) and a set of remediations, and returns the same
:class:`IncidentRun` on every machine.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field, replace
from typing import Any, Hashable, Iterable, Sequence

import numpy as np

from cachesim import SimulatedDatabase, Workload, slowdown
from cachesim.fleet import Call, Deploy, Fleet, Pause
from cachesim.prewarm import Prewarm, TokenBucket
from cachesim.rollout import Rollout
from cachesim.slo import SLO, evaluate
from swrcache import Singleflight

__all__ = [
    "ACTIONS", "DURATION_MIN", "INCIDENT_START_MIN", "MITIGATIONS", "REMEDIATIONS", "RUNBOOK_MINUTES_EARLIER",
    "SLO_OBJECTIVE", "SLO_THRESHOLD", "IncidentCache", "IncidentRun", "Variant", "simulate", "variant",
]

#: Virtual minutes simulated; traffic starts at minute 0.
DURATION_MIN = 40
#: The SLI: a sign-in (a session read) slower than this many seconds is a bad one.
SLO_THRESHOLD = 0.5
#: The SLO: 99.9% of sign-ins under the threshold (alerts: the SRE workbook's burn rates).
SLO_OBJECTIVE = 0.999
#: What the learner can do at a virtual minute (see the console).
ACTIONS = ("rollback", "prewarm", "wait_threshold", "hotfix", "investigate", "resolve")
#: Actions that mitigate (stop the harm); "investigate" is root-causing; "resolve" declares.
MITIGATIONS = frozenset({"rollback", "wait_threshold", "hotfix"})
_PASSIVE = frozenset({"investigate", "resolve"})
#: What-if remediations for module 07 (:func:`cache_course.incident_record.replay_incident`).
REMEDIATIONS = ("wait_threshold", "bounded_refresh", "prewarm_on_deploy", "runbook_with_owners", "canary_slo_alerts")
#: With a rehearsed runbook and named owners, every action happens this many minutes earlier
#: (never before the minute of the page); "resolve" stays where it was (verification still takes its minutes).
RUNBOOK_MINUTES_EARLIER = 4
#: The canary SLO alert halts the canary this long after it fires (automation, in seconds).
AUTO_HALT_DELAY = 30.0

_USERS = 300
_RATE = 5.0
_CANARY_PERCENT = 25
_TTL, _STALE_TTL = 30.0, 3600.0


@dataclass(frozen=True)
class Variant:
    """One learner's variant of the incident (from the seed): when each curveball strikes."""

    seed: int
    incident_start_min: float  # the slow shard
    pause_min: float  # an app server pauses (holding its lease on the hot keys)
    pause_server: int
    deploy_min: float  # an unrelated deploy empties every cache
    slow_factor: float


def variant(seed: int) -> Variant:
    """The variant of seed `seed` (seed 0 is the reference incident)."""
    rng = np.random.default_rng([606, int(seed)])
    start = 6.0 + 3.0 * float(rng.integers(0, 4))
    return Variant(seed=int(seed), incident_start_min=start, pause_min=start + 1.0 + float(rng.integers(0, 2)),
                   pause_server=int(rng.integers(0, 4)), deploy_min=start + 3.0 + float(rng.integers(0, 2)),
                   slow_factor=float(150 + 25 * rng.integers(0, 3)))


INCIDENT_START_MIN = variant(0).incident_start_min


class IncidentCache:
    """The session cache in the incident: TTL + a long stale window, switchable live.

    ``coalesce``: one refresh per key at a time (singleflight); otherwise every stale read
    starts its own refresh (the canary's optimistic refresh). ``wait_threshold``: a stale read
    waits at most this long, then gets the stale value (None: it waits for the refresh — the
    canary's bug).
    """

    def __init__(self, load, *, ttl=_TTL, stale_ttl=_STALE_TTL, wait_threshold=None, coalesce=True):
        self.load, self.ttl, self.stale_ttl = load, ttl, stale_ttl
        self.wait_threshold, self.coalesce = wait_threshold, coalesce
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._flight = Singleflight()

    def _now(self):
        return asyncio.get_running_loop().time()

    async def _fetch(self, key):
        value = await self.load(key)
        self._entries[key] = (self._now(), value)
        return value

    def _refresh(self, key):
        if self.coalesce:
            return asyncio.ensure_future(self._flight.do(key, lambda: self._fetch(key)))
        return asyncio.ensure_future(self._fetch(key))

    async def get(self, key):
        entry = self._entries.get(key)
        if entry is not None:
            stored, value = entry
            age = self._now() - stored
            if age < self.ttl:
                return value
            if age < self.ttl + self.stale_ttl:
                task = self._refresh(key)
                if self.wait_threshold is None:
                    return await asyncio.shield(task)
                try:
                    return await asyncio.wait_for(asyncio.shield(task), self.wait_threshold)
                except Exception:
                    task.add_done_callback(lambda t: t.cancelled() or t.exception())
                    return value
        return await self._refresh(key)


@dataclass
class IncidentRun:
    """One simulated incident: per-minute figures, the alert timeline and the fleet's result."""

    variant: Variant
    actions: tuple[tuple[float, str, tuple], ...]  # as applied (after any runbook shift)
    remediations: frozenset
    result: Any  # cachesim FleetResult
    alerts: Any  # AlertTimeline (fleet-wide SLO)
    minute_p99: np.ndarray  # p99 latency of requests arriving in each minute
    minute_good: np.ndarray  # share of each minute's sign-ins under the threshold
    minute_db_qps: np.ndarray
    detected_at_min: float | None
    log: list = field(default_factory=list)

    # -- figures ---------------------------------------------------------------------------
    def healthy(self, minute: int) -> bool:
        """Is minute `minute` within the SLO (at least 99.9% of its sign-ins under 500 ms)?"""
        return bool(self.minute_good[minute] >= SLO_OBJECTIVE)

    def first_action(self, names: Iterable[str]) -> float | None:
        names = set(names)
        hits = [m for m, a, _ in self.actions if a in names]
        return min(hits) if hits else None

    @property
    def mitigated_at_min(self) -> float | None:
        return self.first_action(MITIGATIONS)

    @property
    def resolved_at_min(self) -> float | None:
        return self.first_action({"resolve"})

    def verified_minutes(self, at_minute: float) -> int:
        """Whole minutes in a row, ending just before `at_minute`, that were within the SLO."""
        n, m = 0, int(at_minute) - 1
        while m >= 0 and self.healthy(m):
            n, m = n + 1, m - 1
        return n

    @property
    def user_minutes_over_slo(self) -> int:
        r = self.result
        bad = np.flatnonzero(r.latencies > SLO_THRESHOLD)
        pairs = set()
        for i in bad.tolist():
            a, b = int(r.times[i] // 60), int((r.times[i] + r.latencies[i]) // 60)
            for m in range(a, b + 1):
                pairs.add((int(r.keys[i]), m))
        return len(pairs)

    @property
    def worst_wait_s(self) -> float:
        return float(self.result.latencies.max())


def _minute_figures(r) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = DURATION_MIN
    m = np.minimum((r.times // 60).astype(int), n - 1)
    p99, good = np.zeros(n), np.ones(n)
    for k in range(n):
        lat = r.latencies[m == k]
        if len(lat):
            p99[k] = float(np.percentile(lat, 99))
            good[k] = float(np.mean(lat <= SLO_THRESHOLD))
    _, qps = r.load_timeline(60.0)
    qps = np.asarray(qps["all"], dtype=float)[:n]
    return p99, good, np.pad(qps, (0, n - len(qps)))


def _canary_alert_s(seed: int) -> float | None:
    """When an SLO alert on the canary cohort alone would page, in the untouched incident."""
    base = _run(variant(seed), (), frozenset())
    r = base.result
    ci = list(r.cohorts).index("canary")
    pick = r.cohort == ci
    t_end = (r.times + r.latencies)[pick]
    order = np.argsort(t_end, kind="stable")
    tl = evaluate(t_end[order], (r.latencies[pick] <= SLO_THRESHOLD)[order], SLO(SLO_OBJECTIVE, SLO_THRESHOLD),
                  step=10.0)
    a = tl.first("page", variant(seed).incident_start_min * 60)
    return None if a is None else a.fired_at


_CACHE: dict[Any, IncidentRun] = {}


def simulate(seed: int, actions: Sequence[tuple[float, str, Any]] = (), remediations: Iterable[str] = ()) -> IncidentRun:
    """The incident of variant `seed` with the learner's `actions` and what-if `remediations`.

    Raises:
        ValueError: an unknown action or remediation, a minute outside the run.
    """
    rem = frozenset(remediations)
    unknown = rem - set(REMEDIATIONS)
    if unknown:
        raise ValueError(f"unknown remediations {sorted(unknown)}; known: {', '.join(REMEDIATIONS)}")
    acts = []
    for m, a, args in actions:
        if a not in ACTIONS:
            raise ValueError(f"unknown action {a!r}; the console knows {', '.join(ACTIONS)}")
        if not 0 <= float(m) < DURATION_MIN:
            raise ValueError(f"minute {m!r} is outside the incident (0 to {DURATION_MIN})")
        acts.append((round(float(m), 1), a, tuple(sorted(dict(args or {}).items()))))
    v = variant(seed)
    if "runbook_with_owners" in rem:
        page = _run(v, (), frozenset()).detected_at_min or v.incident_start_min
        page = float(math.ceil(page))  # the on-call acts in the minute of the page, not before
        acts = [(max(page, round(m - RUNBOOK_MINUTES_EARLIER, 1)) if m > page and a != "resolve" else m, a, args)
                for m, a, args in acts]
    if "canary_slo_alerts" in rem:
        t = _canary_alert_s(seed)
        if t is not None:
            acts.append((round((t + AUTO_HALT_DELAY) / 60, 2), "rollback", (("by", "canary SLO alert"),)))
    acts.sort(key=lambda x: x[0])
    # investigating and declaring change nothing in the simulation: one replay serves them all
    moving = tuple(x for x in acts if x[1] not in _PASSIVE)
    run = _run(v, moving, rem - {"runbook_with_owners", "canary_slo_alerts"})
    run = replace(run, actions=tuple(acts), log=list(run.log))
    if "canary_slo_alerts" in rem:
        t = _canary_alert_s(seed)
        if t is not None and (run.detected_at_min is None or t / 60 < run.detected_at_min):
            run = replace(run, detected_at_min=t / 60)
    return run


def _run(v: Variant, acts: tuple, rem: frozenset) -> IncidentRun:
    memo = (v, acts, rem)
    if memo in _CACHE:
        return _CACHE[memo]
    w = Workload(duration=DURATION_MIN * 60, rate=_RATE, keys=_USERS, zipf_s=0.8, critical_fraction=0.05, seed=v.seed)
    t0 = v.incident_start_min * 60
    shards = [SimulatedDatabase(latency=0.02, capacity=40, seed=v.seed * 2 + 1),
              SimulatedDatabase(latency=0.02, capacity=40, seed=v.seed * 2 + 2,
                                faults=[slowdown(at=t0, duration=DURATION_MIN * 60, factor=v.slow_factor)])]
    canary_cfg = {"wait_threshold": None, "coalesce": False}
    if "wait_threshold" in rem:
        canary_cfg = {"wait_threshold": 0.1, "coalesce": True}
    elif "bounded_refresh" in rem:
        canary_cfg = {"wait_threshold": None, "coalesce": True}
    factories = {"control": lambda load: IncidentCache(load, wait_threshold=0.1),
                 "canary": lambda load: IncidentCache(load, **canary_cfg)}
    log: list = []
    with Rollout("new-session-cache", stages=(_CANARY_PERCENT, 100), percent=_CANARY_PERCENT) as flag:
        flag.stage = 0
        events: list = [Pause(v.pause_min * 60, duration=150.0, server=v.pause_server)]
        prewarm = None
        if "prewarm_on_deploy" in rem:
            prewarm = Prewarm(w.key_names, rate=30, burst=5, gate=True)
        events.append(Deploy(v.deploy_min * 60, prewarm=prewarm))
        for m, a, args in acts:
            events.append(Call(m * 60, _action(a, dict(args), flag, w, canary_cfg, log), label=a))
        fleet = Fleet(w, factories, servers=4, database=shards, assign=flag.assign, events=events,
                      warm=w.key_names, name=f"incident {v.seed}")
        r = fleet.run()
    p99, good, qps = _minute_figures(r)
    t_end = r.times + r.latencies
    order = np.argsort(t_end, kind="stable")
    alerts = evaluate(t_end[order], (r.latencies <= SLO_THRESHOLD)[order], SLO(SLO_OBJECTIVE, SLO_THRESHOLD), step=10.0)
    first = alerts.first("page", t0)
    run = IncidentRun(v, acts, rem, r, alerts, p99, good, qps, None if first is None else first.fired_at / 60, log)
    if len(_CACHE) > 64:
        _CACHE.clear()
    _CACHE[memo] = run
    return run


def _action(name: str, args: dict, flag: Rollout, w: Workload, canary_cfg: dict, log: list):
    def apply(ctl) -> None:
        log.append((ctl.now() / 60, name, args))
        if name == "rollback":
            flag.rollback(ctl.now())
        elif name in ("wait_threshold", "hotfix"):
            cfg = {"wait_threshold": float(args.get("seconds", 0.1))}
            if name == "hotfix":
                cfg["coalesce"] = True
            canary_cfg.update(cfg)
            for caches in ctl.caches:
                c = caches.get("canary")
                if c is not None:
                    for k, val in cfg.items():
                        setattr(c, k, val)
        elif name == "prewarm":
            bucket = TokenBucket(float(args.get("rate", 30)), 5)
            keys = list(w.key_names)

            async def warm() -> None:
                for k in keys:
                    await bucket.acquire()
                    s = ctl.fleet.server_of(k)
                    cohort = flag.assign(k, s, ctl.now())
                    cache = ctl.cache(s, cohort)
                    entry = cache._entries.get(k)
                    if entry is None or ctl.loop.time() - entry[0] > cache.ttl:
                        ctl.loop.create_task(_quiet(cache._fetch(k)))

            ctl.tasks.append(ctl.loop.create_task(warm()))

    return apply


async def _quiet(aw) -> None:
    try:
        await aw
    except Exception:
        pass
