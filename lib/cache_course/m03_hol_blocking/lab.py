"""Module 03's lab bench: the scenarios (a hot key whose refresh takes 2 s; a database outage
mid-run; a cold start with critical users) and the small caches that wire the learner's pieces
together (`WaitingCache`, `SlottedCache`, `ResilientCache`, `GatedCache`). The notebook, its
visible checks and its hidden tests all use these, so editing a notebook cell cannot change
what a learner is graded against. The caches share `cache_course.lab.LabCache`'s entries,
`put` and `_load`.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from dataclasses import dataclass
from typing import Callable

from cachesim.scenarios import HOT_KEY

from coursekit.display import Box, Renderable

from ..lab import LabCache, Prefilled, require_finished, require_no_stub_errors, show_source
from ..variants import FIRST_LEARNER_SEED

__all__ = [
    "HOT_KEY", "OUTAGE_AT", "OUTAGE_SECONDS", "OUTAGE_STARTS", "Scenario", "scenario", "REFRESH_SECONDS", "STALE_TTL", "TTL", "GatedCache",
    "ResilientCache", "SlottedCache", "WaitingCache", "coldstart_database", "coldstart_workload", "hol_database",
    "hol_workload", "MAX_DB_CALLS_DURING_OUTAGE", "OutageVerdict", "outage_database", "outage_verdict", "outage_workload", "run_coldstart", "run_hol",
    "run_outage", "show_source",
]

#: The hot user is the hottest key of `hol_workload`; its session takes `REFRESH_SECONDS` to load
#: (a slow join, a cold shard...). `HOT_KEY` (`cachesim.scenarios.HOT_KEY`) is the reference
#: scenario's; a learner's is `scenario(seed).hot_key`.
REFRESH_SECONDS = 2.0
TTL = 1.0
STALE_TTL = 30.0
#: The outage of the reference scenario: from 3 s, for 4 s, of a 12 s run.
OUTAGE_AT = 3.0
OUTAGE_SECONDS = 4.0
#: Where a learner's outage may start (2 s to 4 s): the cached sessions are stale by then (TTL
#: 1 s), and the 4 s outage ends by 8 s, leaving 4 s of the 12 s run to recover (breaker
#: cool-down 1 s, backoff at most 2 s) and refresh every session. (Measured: a 100x slow
#: database starting at 4.75 s or later sometimes leaves a session unrefreshed at the end.)
OUTAGE_STARTS = tuple(2.0 + 0.25 * i for i in range(9))
_HOL_KEYS = 20


@dataclass(frozen=True)
class Scenario:
    """One variant of the module's scenarios: the hot user and the outage window.

    >>> scenario(5), scenario(10_007) == scenario(10_007)
    (Scenario(hot_key='user:0', outage_at=3.0, outage_seconds=4.0), True)
    """

    hot_key: str
    outage_at: float
    outage_seconds: float = OUTAGE_SECONDS

    @property
    def outage_end(self) -> float:
        return self.outage_at + self.outage_seconds

    def describe(self) -> str:
        """For the variant line: 'hot user user:0, outage from 3 s to 7 s'."""
        return f"hot user {self.hot_key}, outage from {self.outage_at:g} s to {self.outage_end:g} s"


def scenario(seed: int) -> Scenario:
    """The scenario of `seed`: a learner's seed (`learner_seed`, at least `FIRST_LEARNER_SEED`)
    picks their hot user (one of `user:0` … `user:19`) and outage start (one of `OUTAGE_STARTS`)
    with a stable hash; every smaller seed (the reference learner's, the hidden tests') is the
    reference scenario the text quotes: `HOT_KEY`, down from `OUTAGE_AT` for `OUTAGE_SECONDS`."""
    if int(seed) < FIRST_LEARNER_SEED:
        return Scenario(HOT_KEY, OUTAGE_AT)
    h = int.from_bytes(hashlib.sha256(f"03_hol_blocking/scenario/{int(seed)}".encode()).digest()[:8], "big")
    return Scenario(f"user:{h % _HOL_KEYS}", OUTAGE_STARTS[(h // _HOL_KEYS) % len(OUTAGE_STARTS)])


def hol_workload(seed: int):
    """6 s at 500 requests/s over 20 users; the hot user (`scenario(seed).hot_key`) gets about a third."""
    from cachesim import Workload

    return Workload(duration=6.0, rate=500, keys=_HOL_KEYS, zipf_s=1.1, seed=seed, hottest=scenario(seed).hot_key)


def hol_database(seed: int):
    """About 20 ms per query, except the hot user (`scenario(seed).hot_key`): 2 s."""
    from cachesim import Fixed, LogNormal, SimulatedDatabase

    return SimulatedDatabase(latency=LogNormal(0.02, 0.3), key_latency={scenario(seed).hot_key: Fixed(REFRESH_SECONDS)},
                             seed=seed)


def run_hol(make_cache: Callable, seed: int, *, name: str | None = None, threshold: float | None = None):
    """Simulate the slow-refresh scenario; every session is cached (version 0) at t=0."""
    from cachesim import simulate

    workload = hol_workload(seed)
    return require_no_stub_errors(simulate(
        workload,
        lambda load: Prefilled(make_cache(load)),
        database=hol_database(seed),
        warm=workload.key_names,
        name=name,
        threshold=threshold,
        progress=False,
    ))


class WaitingCache(LabCache):
    """The PR as the blunt reviewer read it: coalesced loads (singleflight), and when an entry
    expires every caller waits for the one refresh."""

    def __init__(self, loader: Callable, *, ttl: float) -> None:
        from swrcache import Singleflight

        super().__init__(loader, ttl=ttl)
        self._flight = Singleflight()

    async def get(self, key):
        hit = self.age(key)
        if hit is not None and hit[1] < self.ttl:
            return hit[0]
        return await self._flight.do(key, lambda: self._load(key))


class SlottedCache(LabCache):
    """Stale-while-revalidate *without* singleflight: every stale read asks `slots` to start a
    background refresh (`slots.run(key, refresh)`), and `slots` decides. With `slots=None` every
    stale read refreshes: the herd comes back, in the background."""

    def __init__(self, loader, *, ttl, stale_ttl, slots):
        if slots is not None:
            require_finished(slots)  # a stub's failed background refreshes would look like "0 calls"
        super().__init__(loader, ttl=ttl, stale_ttl=stale_ttl)
        self.slots = slots
        self._background: set = set()

    def _done(self, task) -> None:
        self._background.discard(task)
        if not task.cancelled():
            task.exception()  # a failed background refresh leaves the stale value; nothing to log

    async def get(self, key):
        hit = self.age(key)
        if hit is not None and hit[1] < self.ttl:
            return hit[0]
        if hit is not None and hit[1] < self.ttl + self.stale_ttl:
            refresh = self._load(key) if self.slots is None else self.slots.run(key, lambda: self._load(key))
            task = asyncio.ensure_future(refresh)
            self._background.add(task)
            task.add_done_callback(self._done)
            return hit[0]
        return await self._load(key)


# -- the outage curveball ---------------------------------------------------------------


def outage_workload(seed: int):
    """12 s at 300 requests/s over 10 users."""
    from cachesim import Workload

    return Workload(duration=12.0, rate=300, keys=10, zipf_s=1.1, seed=seed)


def outage_database(seed: int, kind: str = "outage"):
    """About 20 ms per query; for 4 s from `scenario(seed).outage_at` (3 s in the reference scenario)
    the database is down ("outage") or 100x slower ("slow")."""
    from cachesim import LogNormal, SimulatedDatabase, outage, slowdown

    s = scenario(seed)
    fault = (outage(s.outage_at, s.outage_seconds) if kind == "outage"
             else slowdown(s.outage_at, s.outage_seconds, factor=100))
    return SimulatedDatabase(latency=LogNormal(0.02, 0.3), faults=[fault], seed=seed)


class ResilientCache(LabCache):
    """Stale-while-revalidate with a wait threshold, where every database call goes through a
    circuit breaker (which also enforces the call timeout) and a key whose refresh failed is
    not retried before a jittered, exponentially growing delay.

    `breaker` is your `CircuitBreaker`; `delay(attempt)` returns seconds to wait after the
    `attempt`-th consecutive failure (0-based), e.g. your `backoff` with base/cap/rng fixed.
    Entries, `put` and `_now` come from the lab bench's `LabCache`.
    """

    def __init__(self, loader, *, ttl, stale_ttl, wait_threshold, breaker, delay):
        super().__init__(loader, ttl=ttl, stale_ttl=stale_ttl)
        self.wait_threshold, self.breaker, self.delay = wait_threshold, breaker, delay
        self._refreshing = {}  # key -> the refresh task in flight
        self._failures = {}  # key -> consecutive failed refreshes
        self._retry_at = {}  # key -> no refresh attempt before this time

    async def _refresh(self, key):
        try:
            value = await self.breaker.call(lambda: self.loader(key))
        except Exception:
            failures = self._failures.get(key, 0)
            self._failures[key] = failures + 1
            self._retry_at[key] = self._now() + self.delay(failures)
            raise
        self._failures.pop(key, None)
        self._retry_at.pop(key, None)
        self.put(key, value)
        return value

    def _start_refresh(self, key):
        task = self._refreshing.get(key)
        if task is None:
            task = asyncio.ensure_future(self._refresh(key))
            self._refreshing[key] = task

            def done(t, key=key):
                if self._refreshing.get(key) is t:
                    del self._refreshing[key]
                if not t.cancelled():
                    t.exception()  # failures are handled by the callers (stale) and _retry_at

            task.add_done_callback(done)
        return task

    async def get(self, key):
        hit = self.age(key)
        if hit is not None:
            value, age = hit
            if age < self.ttl:
                return value
            if age < self.ttl + self.stale_ttl:
                if self._now() < self._retry_at.get(key, float("-inf")):
                    return value  # backing off: don't knock on a failing database
                try:
                    return await asyncio.wait_for(asyncio.shield(self._start_refresh(key)), self.wait_threshold)
                except Exception:  # timed out waiting, or the refresh failed: stale it is
                    return value
        return await asyncio.shield(self._start_refresh(key))


def run_outage(make_breaker: Callable, backoff: Callable, seed: int, *, kind: str = "outage",
               wait_threshold: float = 0.1, name: str | None = None):
    """The curveball: the database goes down (or 100x slow) for 4 s of a 12 s run, from
    `scenario(seed).outage_at` (from 3 s to 7 s in the reference scenario).

    Returns `(result, cache, breaker)`. The cache is a `ResilientCache` with ttl 1 s, a 30 s
    stale window, `make_breaker()` and `backoff(attempt, base=0.1, cap=2.0, rng=...)`.
    """
    from cachesim import simulate

    require_finished(make_breaker(), backoff)  # a stub breaker would just look like a quiet outage
    rng = random.Random(seed)
    made: list = []

    def factory(load):
        breaker = make_breaker()
        cache = ResilientCache(load, ttl=TTL, stale_ttl=STALE_TTL, wait_threshold=wait_threshold, breaker=breaker,
                               delay=lambda attempt: backoff(attempt, base=0.1, cap=2.0, rng=rng))
        made.append((cache, breaker))
        return Prefilled(cache)

    workload = outage_workload(seed)
    result = simulate(workload, factory, database=outage_database(seed, kind), warm=workload.key_names,
                      name=name, threshold=wait_threshold, progress=False)
    cache, breaker = made[-1]
    return result, cache, breaker


#: the curveball's bar, shared by the verdict below and `breaker.assert_outage`
MAX_DB_CALLS_DURING_OUTAGE = 25


class OutageVerdict(dict, Renderable):
    """`outage_verdict`'s numbers (a dict: the checks read its keys) that display as a short
    report: one line per thing the curveball must show, ✓ or ✗, with the number behind it.

    >>> v = OutageVerdict(errors_served=0, breaker_opens=1, db_calls_during_outage=12,
    ...                   breaker_state_at_end="closed", entries_refreshed_after_outage=100, entries=100)
    >>> print(v)
    ✓ The outage with your guards: all 5 things it must show hold
      ✓ errors served to callers during the outage: 0 (users kept their stale sessions)
      ✓ the breaker opened: 1 time
      ✓ database calls during the 4 s outage: 12 (at most 25)
      ✓ breaker state at the end: closed (a probe after the outage closed it)
      ✓ sessions refreshed after the outage: 100 of 100
    >>> v["db_calls_during_outage"]
    12
    """

    def lines(self) -> list[tuple[bool, str]]:
        """(holds, line) for each thing the curveball must show."""
        opens, calls = self["breaker_opens"], self["db_calls_during_outage"]
        state, done, total = self["breaker_state_at_end"], self["entries_refreshed_after_outage"], self["entries"]
        return [
            (self["errors_served"] == 0, f"errors served to callers during the outage: {self['errors_served']}"
             + (" (users kept their stale sessions)" if self["errors_served"] == 0 else " (should be 0)")),
            (opens >= 1, f"the breaker opened: {opens} time{'s' if opens != 1 else ''}"
             + ("" if opens >= 1 else " (consecutive failures should open it)")),
            (calls <= MAX_DB_CALLS_DURING_OUTAGE,
             f"database calls during the {OUTAGE_SECONDS:g} s outage: {calls} (at most {MAX_DB_CALLS_DURING_OUTAGE})"),
            (state == "closed", f"breaker state at the end: {state}"
             + (" (a probe after the outage closed it)" if state == "closed"
                else " (should be closed: after its cool-down the breaker lets a probe through)")),
            (done == total, f"sessions refreshed after the outage: {done} of {total}"),
        ]

    def _box(self) -> Box:
        lines = self.lines()
        bad = sum(not ok for ok, _ in lines)
        title = (f"The outage with your guards: all {len(lines)} things it must show hold" if not bad
                 else f"The outage with your guards: {bad} of {len(lines)} things it must show do not hold")
        return Box("passed" if not bad else "failed", title, [f"{'✓' if ok else '✗'} {line}" for ok, line in lines])

    def text(self) -> str:
        return self._box().text()

    def html(self) -> str:
        return self._box().html()

    __repr__ = dict.__repr__


def outage_verdict(result, cache, breaker) -> OutageVerdict:
    """What the curveball must show, as numbers: errors served, breaker opens, DB calls during
    the outage (the window of the run's seed, `scenario(result.seed)`), the breaker's final state, and how many entries were stored after it ended.
    A dict that displays as a readable report (`OutageVerdict`)."""
    import numpy as np

    window = scenario(result.seed)  # the run's own outage (`run_outage` simulates the seed's scenario)
    q = np.asarray(result.db_query_times)
    end = window.outage_end
    during = int(((q >= window.outage_at) & (q < end)).sum())
    t0 = 0.0  # prewarm only puts entries, so traffic starts at virtual time 0
    stored_after = [stored - t0 >= end for stored, _ in cache._entries.values()]
    return OutageVerdict(
        errors_served=int(result.error_count),
        breaker_opens=int(getattr(breaker, "opens", 0)),
        db_calls_during_outage=during,
        breaker_state_at_end=getattr(breaker, "state", None),
        entries_refreshed_after_outage=int(sum(stored_after)),
        entries=len(stored_after),
    )


# -- priority for critical users ---------------------------------------------------------


def coldstart_workload(seed: int):
    """A deploy just emptied the cache: 4 s at 1,000 requests/s over 400 users, 10% critical."""
    from cachesim import Workload

    return Workload(duration=4.0, rate=1000, keys=400, zipf_s=0.8, critical_fraction=0.1, seed=seed)


def coldstart_database(seed: int):
    from cachesim import LogNormal, SimulatedDatabase

    return SimulatedDatabase(latency=LogNormal(0.05, 0.3), seed=seed)


class GatedCache(LabCache):
    """Coalesced loads that run through `gate.run(load, critical=...)`: the service's global
    refresh budget. Keys in `critical_keys` ask for priority. Entries and `put` come from the
    lab bench's `LabCache`."""

    def __init__(self, loader, *, ttl, gate, critical_keys):
        from swrcache import Singleflight

        super().__init__(loader, ttl=ttl)
        self.gate = gate
        self.critical_keys = frozenset(critical_keys)
        self._flight = Singleflight()

    async def _load(self, key):
        value = await self.gate.run(lambda: self.loader(key), critical=key in self.critical_keys)
        self.put(key, value)
        return value

    async def get(self, key):
        hit = self.age(key)
        if hit is not None and hit[1] < self.ttl:
            return hit[0]
        return await self._flight.do(key, lambda: self._load(key))


def run_coldstart(make_gate: Callable, seed: int, *, prioritise: bool = True, name: str | None = None):
    """Cold start through a refresh budget. `prioritise=False` marks nobody critical (plain FIFO)."""
    from cachesim import simulate

    workload = coldstart_workload(seed)
    critical = workload.critical_keys() if prioritise else []
    require_finished(make_gate())
    return require_no_stub_errors(simulate(
        workload,
        lambda load: GatedCache(load, ttl=60.0, gate=make_gate(), critical_keys=critical),
        database=coldstart_database(seed),
        name=name,
        progress=False,
    ))
