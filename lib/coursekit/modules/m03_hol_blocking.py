"""Module 03 · Head-of-line blocking: wait threshold, refresh slots, breaker + backoff, priority.

Like module 02's registry, two parts:

* the module's **lab bench**: the scenarios (a hot key whose refresh takes 2 s; a database
  outage mid-run; a cold start with critical users) and the small caches that wire the
  learner's pieces together (`WaitingCache`, `ResilientCache`, `GatedCache`). The notebook,
  its visible checks and its hidden tests all use these, so editing a notebook cell cannot
  change what a learner is graded against;
* the **visible checks**. Hidden tests live only in `course/03_hol_blocking.py`.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from typing import Any, Callable

from coursekit.modules.m02_stampede import Prefilled, _need, _run, require_finished, require_no_stub_errors
from coursekit.questions import Mismatch, Module, NotAttempted, Question, expect, expect_true

# --------------------------------------------------------------------------- lab bench

#: The hot user whose session takes 2 s to load (a slow join, a cold shard...).
HOT_KEY = "user:0"
REFRESH_SECONDS = 2.0
TTL = 1.0
STALE_TTL = 30.0


def hol_workload(seed: int):
    """6 s at 500 requests/s over 20 users; `HOT_KEY` gets about a third of them."""
    from cachesim import Workload

    return Workload(duration=6.0, rate=500, keys=20, zipf_s=1.1, seed=seed)


def hol_database(seed: int):
    """About 20 ms per query, except `HOT_KEY`: 2 s."""
    from cachesim import Fixed, LogNormal, SimulatedDatabase

    return SimulatedDatabase(latency=LogNormal(0.02, 0.3), key_latency={HOT_KEY: Fixed(REFRESH_SECONDS)}, seed=seed)


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


class WaitingCache:
    """The PR as the blunt reviewer read it: coalesced loads (singleflight), and when an entry
    expires every caller waits for the one refresh."""

    def __init__(self, loader: Callable, *, ttl: float) -> None:
        from swrcache import Singleflight

        self.loader, self.ttl = loader, ttl
        self._entries: dict = {}
        self._flight = Singleflight()

    def put(self, key, value) -> None:
        self._entries[key] = (asyncio.get_running_loop().time(), value)

    async def _load(self, key):
        value = await self.loader(key)
        self.put(key, value)
        return value

    async def get(self, key):
        entry = self._entries.get(key)
        if entry is not None and asyncio.get_running_loop().time() - entry[0] < self.ttl:
            return entry[1]
        return await self._flight.do(key, lambda: self._load(key))


class SlottedCache:
    """Stale-while-revalidate *without* singleflight: every stale read asks `slots` to start a
    background refresh (`slots.run(key, refresh)`), and `slots` decides. With `slots=None` every
    stale read refreshes: the herd comes back, in the background."""

    def __init__(self, loader, *, ttl, stale_ttl, slots):
        if slots is not None:
            require_finished(slots)  # a stub's failed background refreshes would look like "0 calls"
        self.loader, self.ttl, self.stale_ttl, self.slots = loader, ttl, stale_ttl, slots
        self._entries: dict = {}
        self._background: set = set()

    def put(self, key, value) -> None:
        self._entries[key] = (asyncio.get_running_loop().time(), value)

    async def _load(self, key):
        value = await self.loader(key)
        self.put(key, value)
        return value

    def _done(self, task) -> None:
        self._background.discard(task)
        if not task.cancelled():
            task.exception()  # a failed background refresh leaves the stale value; nothing to log

    async def get(self, key):
        entry = self._entries.get(key)
        now = asyncio.get_running_loop().time()
        if entry is not None and now - entry[0] < self.ttl:
            return entry[1]
        if entry is not None and now - entry[0] < self.ttl + self.stale_ttl:
            refresh = self._load(key) if self.slots is None else self.slots.run(key, lambda: self._load(key))
            task = asyncio.ensure_future(refresh)
            self._background.add(task)
            task.add_done_callback(self._done)
            return entry[1]
        return await self._load(key)


# -- the outage curveball ---------------------------------------------------------------

OUTAGE_AT = 3.0
OUTAGE_SECONDS = 4.0


def outage_workload(seed: int):
    """12 s at 300 requests/s over 10 users."""
    from cachesim import Workload

    return Workload(duration=12.0, rate=300, keys=10, zipf_s=1.1, seed=seed)


def outage_database(seed: int, kind: str = "outage"):
    """About 20 ms per query; from 3 s to 7 s the database is down ("outage") or 100x slower ("slow")."""
    from cachesim import LogNormal, SimulatedDatabase, outage, slowdown

    fault = (outage(OUTAGE_AT, OUTAGE_SECONDS) if kind == "outage"
             else slowdown(OUTAGE_AT, OUTAGE_SECONDS, factor=100))
    return SimulatedDatabase(latency=LogNormal(0.02, 0.3), faults=[fault], seed=seed)


class ResilientCache:
    """Stale-while-revalidate with a wait threshold, where every database call goes through a
    circuit breaker (which also enforces the call timeout) and a key whose refresh failed is
    not retried before a jittered, exponentially growing delay.

    `breaker` is your `CircuitBreaker`; `delay(attempt)` returns seconds to wait after the
    `attempt`-th consecutive failure (0-based), e.g. your `backoff` with base/cap/rng fixed.
    """

    def __init__(self, loader, *, ttl, stale_ttl, wait_threshold, breaker, delay):
        self.loader, self.ttl, self.stale_ttl = loader, ttl, stale_ttl
        self.wait_threshold, self.breaker, self.delay = wait_threshold, breaker, delay
        self._entries = {}  # key -> (stored_at, value)
        self._refreshing = {}  # key -> the refresh task in flight
        self._failures = {}  # key -> consecutive failed refreshes
        self._retry_at = {}  # key -> no refresh attempt before this time

    def _now(self):
        return asyncio.get_running_loop().time()

    def put(self, key, value):
        self._entries[key] = (self._now(), value)

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
        entry = self._entries.get(key)
        if entry is not None:
            stored_at, value = entry
            age = self._now() - stored_at
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
    """The curveball: the database goes down (or 100x slow) from 3 s to 7 s of a 12 s run.

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


def outage_verdict(result, cache, breaker) -> dict:
    """What the curveball must show, as numbers: errors served, breaker opens, DB calls during
    the outage, the breaker's final state, and how long before the end entries were last stored."""
    import numpy as np

    q = np.asarray(result.db_query_times)
    during = int(((q >= OUTAGE_AT) & (q < OUTAGE_AT + OUTAGE_SECONDS)).sum())
    end = OUTAGE_AT + OUTAGE_SECONDS
    t0 = 0.0  # prewarm only puts entries, so traffic starts at virtual time 0
    stored_after = [stored - t0 >= end for stored, _ in cache._entries.values()]
    return {
        "errors_served": int(result.error_count),
        "breaker_opens": int(getattr(breaker, "opens", 0)),
        "db_calls_during_outage": during,
        "breaker_state_at_end": getattr(breaker, "state", None),
        "entries_refreshed_after_outage": int(sum(stored_after)),
        "entries": len(stored_after),
    }


# -- priority for critical users ---------------------------------------------------------


def coldstart_workload(seed: int):
    """A deploy just emptied the cache: 4 s at 1,000 requests/s over 400 users, 10% critical."""
    from cachesim import Workload

    return Workload(duration=4.0, rate=1000, keys=400, zipf_s=0.8, critical_fraction=0.1, seed=seed)


def coldstart_database(seed: int):
    from cachesim import LogNormal, SimulatedDatabase

    return SimulatedDatabase(latency=LogNormal(0.05, 0.3), seed=seed)


class GatedCache:
    """Coalesced loads that run through `gate.run(load, critical=...)`: the service's global
    refresh budget. Keys in `critical_keys` ask for priority."""

    def __init__(self, loader, *, ttl, gate, critical_keys):
        from swrcache import Singleflight

        self.loader, self.ttl, self.gate = loader, ttl, gate
        self.critical_keys = frozenset(critical_keys)
        self._entries: dict = {}
        self._flight = Singleflight()

    def put(self, key, value):
        self._entries[key] = (asyncio.get_running_loop().time(), value)

    async def _load(self, key):
        value = await self.gate.run(lambda: self.loader(key), critical=key in self.critical_keys)
        self.put(key, value)
        return value

    async def get(self, key):
        entry = self._entries.get(key)
        if entry is not None and asyncio.get_running_loop().time() - entry[0] < self.ttl:
            return entry[1]
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


def show_source(obj: Any) -> None:
    """Print the source of a lab-bench class or function, to read in the notebook."""
    print(inspect.getsource(obj))


# --------------------------------------------------------------------------- reproduce


def check_reproduce(ns: dict) -> None:
    """hol_p99(seed) is the simulated p99 of the waiting cache, near 2 s"""
    fn = _need(ns, "hol_p99", "function")
    got = fn(5)
    ref = run_hol(lambda load: WaitingCache(load, ttl=TTL), 5).p99
    expect_true("hol_p99(5)", isinstance(got, (int, float)) and abs(float(got) - ref) < 1e-9,
                "Run `run_hol(lambda load: WaitingCache(load, ttl=TTL), seed)` and return its `.p99` (seconds). "
                "Use the seed you are given: the hidden tests try others.", expected=round(ref, 6), got=got)


# --------------------------------------------------------------------------- threshold


def _threshold_cls(ns: dict):
    return _need(ns, "ThresholdCache")


def check_threshold_micro(ns: dict) -> None:
    """a caller waits at most the threshold, gets the stale value, and the refresh goes on"""
    cls = _threshold_cls(ns)
    log: list = []

    async def loader(key):
        log.append(asyncio.get_running_loop().time())
        await asyncio.sleep(2.0)
        return "new"

    async def main():
        loop = asyncio.get_running_loop()
        cache = cls(loader, ttl=1.0, stale_ttl=30.0, wait_threshold=0.1)
        cache.put("k", "old")
        await asyncio.sleep(1.5)
        t0 = loop.time()
        got = await asyncio.gather(*(cache.get("k") for _ in range(100)))
        waited = loop.time() - t0
        await asyncio.sleep(2.5)
        return got, waited, await cache.get("k")

    got, waited, after = _run(main, "100 gets of a stale key whose refresh takes 2 s")
    expect("values returned after the 0.1 s threshold", set(got), {"old"},
           "When the refresh hasn't finished within `wait_threshold`, return the stale value.")
    expect_true("virtual seconds the callers waited", abs(waited - 0.1) < 1e-6,
                "Wait for the refresh at most `wait_threshold` seconds: "
                "`await asyncio.wait_for(asyncio.shield(task), self.wait_threshold)`.",
                expected=0.1, got=round(waited, 6))
    expect("refresh loads started", len(log), 1,
           "All callers share one refresh (self._flight.do). If this is larger, a timeout cancelled the refresh "
           "and the next caller started a new one: shield the task before `wait_for`.")
    expect("get('k') after the refresh finished", after, "new",
           "The refresh must carry on after the callers stop waiting for it, and store the new value. "
           "Did `wait_for` cancel it? Wrap the task in `asyncio.shield`.")


def check_threshold_fast_refresh(ns: dict) -> None:
    """a refresh that beats the threshold returns the new value"""
    cls = _threshold_cls(ns)

    async def loader(key):
        await asyncio.sleep(0.03)
        return "new"

    async def main():
        cache = cls(loader, ttl=1.0, stale_ttl=30.0, wait_threshold=0.1)
        cache.put("k", "old")
        await asyncio.sleep(1.5)
        return await cache.get("k")

    expect("get('k') when the refresh takes 30 ms (threshold 100 ms)", _run(main, "a 30 ms refresh"), "new",
           "Within the threshold, wait for the refresh and return its fresh value; only fall back to stale after.")


def check_threshold_scenario(ns: dict) -> None:
    """slow-refresh scenario: p99 at most the threshold, database calls unchanged"""
    cls = _threshold_cls(ns)
    waiting = run_hol(lambda load: WaitingCache(load, ttl=TTL), 5)
    mine = run_hol(lambda load: cls(load, ttl=TTL, stale_ttl=STALE_TTL, wait_threshold=0.1), 5, threshold=0.1)
    expect_true("p99 with wait_threshold=0.1 (seed 5)", mine.p99 <= 0.1 + 1e-3,
                "No caller with a stale value should wait longer than the threshold.",
                expected="<= 0.101 s", got=f"{mine.p99:.3f} s")
    expect("database calls (seed 5)", mine.db_calls, waiting.db_calls,
           "The threshold changes who waits, not how often the database is asked: one refresh per key per "
           "expiry, as with singleflight.")
    expect("errors (seed 5)", mine.error_count, 0, "No caller should get an exception in this scenario.")


# --------------------------------------------------------------------------- refresh slots


def _slots_cls(ns: dict):
    return _need(ns, "RefreshSlots")


def check_slots_bound(ns: dict) -> None:
    """at most per_key refreshes of one key run at once; the rest are skipped at once"""
    cls = _slots_cls(ns)
    live = {"now": 0, "max": 0}

    async def refresh():
        live["now"] += 1
        live["max"] = max(live["max"], live["now"])
        await asyncio.sleep(1.0)
        live["now"] -= 1

    async def main():
        slots = cls(per_key=2)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        ran = await asyncio.gather(*(slots.run("k", refresh) for _ in range(100)))
        return ran, loop.time() - t0, slots.running("k")

    ran, elapsed, left = _run(main, "100 concurrent refreshes of one key, per_key=2")
    expect("most refreshes of one key running at once", live["max"], 2,
           "`try_acquire(key)` must say no once `per_key` refreshes of that key are running.")
    expect("refreshes that ran (True) vs were skipped (False)", (ran.count(True), ran.count(False)), (2, 98),
           "`run` returns True if it ran the refresh, False if it skipped it.")
    expect_true("virtual seconds for the 100 calls", abs(elapsed - 1.0) < 1e-6,
                "Skipping must not wait: a caller without a slot returns False at once.",
                expected=1.0, got=round(elapsed, 6))
    expect("running('k') afterwards", left, 0, "Release the slot when the refresh ends.")


def check_slots_release_on_error(ns: dict) -> None:
    """a failing or cancelled refresh gives its slot back; keys are independent"""
    cls = _slots_cls(ns)

    async def main():
        slots = cls(per_key=1)

        async def boom():
            await asyncio.sleep(0.1)
            raise ConnectionError("db down")

        try:
            await slots.run("a", boom)
        except ConnectionError:
            pass
        after_error = slots.running("a")
        task = asyncio.ensure_future(slots.run("a", lambda: asyncio.sleep(5)))
        await asyncio.sleep(0.1)
        other_key = slots.try_acquire("b")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return after_error, other_key, slots.running("a")

    after_error, other_key, after_cancel = _run(main, "a failing and a cancelled refresh")
    expect("running('a') after a refresh raised", after_error, 0,
           "Release in a `finally:` block so an exception can't leak the slot.")
    expect("try_acquire('b') while 'a' is busy", other_key, True, "Slots are per key: 'a' being busy says nothing about 'b'.")
    expect("running('a') after the refresh was cancelled", after_cancel, 0,
           "Cancellation is an exception too (CancelledError): `finally:` covers it.")


# --------------------------------------------------------------------------- breaker + backoff


def _breaker_parts(ns: dict):
    cls = _need(ns, "CircuitBreaker")
    open_exc = ns.get("CircuitOpen")
    if open_exc is None:
        raise NotAttempted("`CircuitOpen` is missing: re-run the cell that defines it (it is given).")
    return cls, open_exc


def check_breaker_states(ns: dict) -> None:
    """closed → open after 3 failures → half-open probe after reset_timeout → closed"""
    cls, CircuitOpen = _breaker_parts(ns)
    calls: list = []

    async def main():
        loop = asyncio.get_running_loop()
        br = cls(failure_threshold=3, reset_timeout=1.0, call_timeout=0.5)
        seen = [br.state]

        async def bad():
            calls.append("bad")
            raise ConnectionError("down")

        async def good():
            calls.append("good")
            return "ok"

        for _ in range(3):
            try:
                await br.call(bad)
            except ConnectionError:
                pass
        seen.append(br.state)
        rejected = False
        try:
            await br.call(good)
        except CircuitOpen:
            rejected = True
        await asyncio.sleep(1.5)  # past reset_timeout
        probe = await br.call(good)
        seen.append(br.state)
        return seen, rejected, probe, br.opens

    seen, rejected, probe, opens = _run(main, "three failures, then a call, then a probe 1 s later")
    expect("state: new, after 3 failures, after a good probe", seen, ["closed", "open", "closed"],
           "Count consecutive failures; at `failure_threshold` switch to 'open'. A successful call closes it again.")
    expect("a call while open raises CircuitOpen", rejected, True,
           "While open (less than `reset_timeout` since it opened), fail fast with `CircuitOpen` — don't call fn.")
    expect("calls that reached the database", calls, ["bad", "bad", "bad", "good"],
           "The call rejected while open must not run fn at all.")
    expect("opens", opens, 1, "Count each switch to 'open' in `self.opens`.")


def check_breaker_failed_probe(ns: dict) -> None:
    """a failed half-open probe opens the breaker again; only one probe at a time"""
    cls, CircuitOpen = _breaker_parts(ns)

    async def main():
        br = cls(failure_threshold=2, reset_timeout=1.0, call_timeout=0.5)

        async def bad():
            await asyncio.sleep(0.2)
            raise ConnectionError("down")

        for _ in range(2):
            try:
                await br.call(bad)
            except ConnectionError:
                pass
        await asyncio.sleep(1.5)  # past reset_timeout: the next call is the half-open probe
        results = await asyncio.gather(*(br.call(bad) for _ in range(5)), return_exceptions=True)
        kinds = sorted(type(r).__name__ for r in results)
        return kinds, br.state, br.opens

    kinds, state, opens = _run(main, "five calls when the reset timeout is over")
    expect("what 5 concurrent calls got in half-open", kinds, ["CircuitOpen"] * 4 + ["ConnectionError"],
           "Half-open lets exactly one probe through; the others are rejected with CircuitOpen while it runs.")
    expect("state after the probe failed", state, "open", "A failed probe opens the breaker again at once.")
    expect("opens", opens, 2, "That's the second time it opened.")


def check_breaker_timeout(ns: dict) -> None:
    """a call slower than call_timeout fails with TimeoutError and counts as a failure"""
    cls, _ = _breaker_parts(ns)

    async def main():
        loop = asyncio.get_running_loop()
        br = cls(failure_threshold=1, reset_timeout=1.0, call_timeout=0.5)
        t0 = loop.time()
        try:
            await br.call(lambda: asyncio.sleep(10))
            outcome = "returned"
        except asyncio.TimeoutError:
            outcome = "TimeoutError"
        except Exception as exc:  # noqa: BLE001
            outcome = type(exc).__name__
        return outcome, loop.time() - t0, br.state

    outcome, waited, state = _run(main, "a 10 s call with call_timeout=0.5")
    expect("a 10 s call with call_timeout=0.5", outcome, "TimeoutError",
           "Bound the call: `await asyncio.wait_for(fn(), self.call_timeout)`.")
    expect_true("virtual seconds waited", abs(waited - 0.5) < 1e-6, "Give up at the timeout.",
                expected=0.5, got=round(waited, 6))
    expect("state after that timeout (failure_threshold=1)", state, "open", "A timeout is a failure.")


def check_backoff(ns: dict) -> None:
    """backoff: random in [0, min(cap, base·2^attempt)], jittered, seeded"""
    fn = _need(ns, "backoff", "function")
    rng = random.Random(1)
    for attempt in range(8):
        ceiling = min(2.0, 0.1 * 2 ** attempt)
        draws = [fn(attempt, base=0.1, cap=2.0, rng=rng) for _ in range(200)]
        expect_true(f"backoff({attempt}) range over 200 draws", all(0 <= d <= ceiling + 1e-12 for d in draws),
                    "Each delay lies between 0 and min(cap, base * 2**attempt).",
                    expected=f"[0, {ceiling:g}]", got=f"[{min(draws):.3g}, {max(draws):.3g}]")
        expect_true(f"backoff({attempt}) spread over 200 draws", max(draws) - min(draws) > ceiling / 2,
                    "Jitter: draw uniformly (`rng.uniform(0, ceiling)`) so clients that failed together don't "
                    "retry together.", expected=f"spread > {ceiling / 2:g}", got=round(max(draws) - min(draws), 4))
    a = [fn(3, base=0.1, cap=2.0, rng=random.Random(9)) for _ in range(3)]
    b = [fn(3, base=0.1, cap=2.0, rng=random.Random(9)) for _ in range(3)]
    expect("same rng seed, same delays", a, b, "Use the `rng` you are given, not the `random` module's global one.")


def check_outage_curveball(ns: dict) -> None:
    """curveball: a 4 s outage mid-run — stale served, breaker opens, recovery after"""
    cls, _ = _breaker_parts(ns)
    fn = _need(ns, "backoff", "function")
    result, cache, breaker = run_outage(lambda: cls(failure_threshold=3, reset_timeout=1.0, call_timeout=0.5), fn, 5)
    v = outage_verdict(result, cache, breaker)
    expect("errors served to callers during the outage", v["errors_served"], 0,
           "Every user has a stale session to fall back on: no caller should see the outage.")
    expect_true("breaker opens", v["breaker_opens"] >= 1, "Consecutive failures should open the breaker.",
                expected=">= 1", got=v["breaker_opens"])
    expect_true("database calls during the 4 s outage", v["db_calls_during_outage"] <= 25,
                "While open, the breaker rejects calls without touching the database; backoff spaces out retries.",
                expected="<= 25", got=v["db_calls_during_outage"])
    expect("breaker state at the end", v["breaker_state_at_end"], "closed",
           "After the outage a half-open probe succeeds and closes the breaker.")
    expect("entries refreshed after the outage ended", v["entries_refreshed_after_outage"], v["entries"],
           "Recovery: every session should be reloaded once the database is back.")


# --------------------------------------------------------------------------- priority


def _gate_cls(ns: dict):
    return _need(ns, "PriorityGate")


def check_priority_order(ns: dict) -> None:
    """with budget 1, queued critical jobs run before queued normal ones; FIFO within each"""
    cls = _gate_cls(ns)
    order: list = []

    async def main():
        gate = cls(budget=1)

        def job(name, seconds=0.1):
            async def run():
                order.append(name)
                await asyncio.sleep(seconds)
                return name
            return run

        tasks = [asyncio.ensure_future(gate.run(job("first", 1.0)))]
        await asyncio.sleep(0)
        for i in range(3):
            tasks.append(asyncio.ensure_future(gate.run(job(f"normal{i}"))))
            await asyncio.sleep(0)
        for i in range(2):
            tasks.append(asyncio.ensure_future(gate.run(job(f"critical{i}"), critical=True)))
            await asyncio.sleep(0)
        return await asyncio.gather(*tasks)

    got = _run(main, "six jobs through a budget of 1")
    expect("order the jobs started", order, ["first", "critical0", "critical1", "normal0", "normal1", "normal2"],
           "When a slot frees, hand it to the oldest waiting critical job, else the oldest normal one "
           "(a heap of (0 or 1, arrival number, future) does both).")
    expect("results", got, ["first", "normal0", "normal1", "normal2", "critical0", "critical1"],
           "`run` returns what `fn()` returned, to its own caller.")


def check_priority_budget(ns: dict) -> None:
    """never more than budget jobs at once; a failing job frees its slot"""
    cls = _gate_cls(ns)
    live = {"now": 0, "max": 0}

    async def main():
        gate = cls(budget=3)

        async def work(i):
            live["now"] += 1
            live["max"] = max(live["max"], live["now"])
            await asyncio.sleep(0.1)
            live["now"] -= 1
            if i % 4 == 0:
                raise ConnectionError(i)
            return i

        res = await asyncio.gather(*(gate.run(lambda i=i: work(i), critical=i % 3 == 0) for i in range(40)),
                                   return_exceptions=True)
        return res, asyncio.get_running_loop().time()

    res, elapsed = _run(main, "40 jobs through a budget of 3")
    expect("most jobs running at once (budget 3)", live["max"], 3, "Never run more than `budget` jobs at once.")
    expect("jobs that finished (results or errors)", len(res), 40,
           "Every caller gets its result or its exception; a failing job must still free its slot (`finally`).")
    expect_true("virtual seconds for 40 jobs of 0.1 s with budget 3", abs(elapsed - 1.4) < 1e-6,
                "With 3 slots always busy, 40 jobs take ceil(40/3) x 0.1 s.", expected=1.4, got=round(elapsed, 6))


def check_priority_scenario(ns: dict) -> None:
    """cold start: critical users' p99 is far below everyone else's"""
    cls = _gate_cls(ns)
    r = run_coldstart(lambda: cls(budget=4), 5)
    crit = r.percentiles(critical_only=True)["p99"]
    everyone = r.p99
    expect_true("critical users' p99 vs everyone's p99 (seed 5)", crit < everyone / 2,
                "Critical users' loads should jump the queue. Does `GatedCache`'s `critical=True` reach your heap?",
                expected=f"< {everyone / 2:.3f} s", got=f"{crit:.3f} s")


MODULE = Module(
    id="03_hol_blocking",
    title="Head-of-line blocking",
    questions=[
        Question(
            id="reproduce",
            title="Reproduce the blunt review: p99 near 2 s",
            checks=[check_reproduce],
            hints=[
                "The lab bench has it all: `run_hol(make_cache, seed)` and `WaitingCache`.",
                "`run_hol(lambda load: WaitingCache(load, ttl=TTL), seed).p99`",
            ],
        ),
        Question(
            id="threshold",
            title="A non-blocking wait threshold",
            checks=[check_threshold_micro, check_threshold_fast_refresh, check_threshold_scenario],
            hints=[
                "Only the stale case changes: start (or join) the refresh as a task, then wait for it — but only "
                "for `self.wait_threshold` seconds.",
                "`asyncio.wait_for(aw, timeout)` raises `TimeoutError` after `timeout`, and *cancels* `aw`. You "
                "want the refresh to survive: wait on `asyncio.shield(task)` instead of the task.",
                "`task = asyncio.ensure_future(self._flight.do(key, lambda: self._load(key)))`, then "
                "`try: return await asyncio.wait_for(asyncio.shield(task), self.wait_threshold)` "
                "`except Exception: return value` (a timeout or a failed refresh: serve stale).",
            ],
        ),
        Question(
            id="slots",
            title="Bounded refresh concurrency per key",
            checks=[check_slots_bound, check_slots_release_on_error],
            hints=[
                "A dict from key to the number of refreshes running. `try_acquire` checks and increments; "
                "`release` decrements (and deletes the key at zero, so the dict doesn't grow forever).",
                "`try_acquire` is a plain (non-async) method: it never waits, it answers yes or no.",
                "`run`: `if not self.try_acquire(key): return False`, then `try: await refresh()` "
                "`finally: self.release(key)`, then `return True`.",
            ],
        ),
        Question(
            id="breaker",
            title="Refresh timeout, circuit breaker, jittered backoff",
            checks=[check_breaker_states, check_breaker_failed_probe, check_breaker_timeout, check_backoff,
                    check_outage_curveball],
            hints=[
                "Three states. closed: call fn, count consecutive failures, open at the threshold. open: reject "
                "with CircuitOpen until `reset_timeout` has passed since it opened, then become half-open. "
                "half-open: let one call through (the probe).",
                "Remember when it opened (`asyncio.get_running_loop().time()`) and whether a probe is in flight. "
                "Success: failures = 0, state closed. Failure in half-open: open again.",
                "The timeout is `await asyncio.wait_for(fn(), self.call_timeout)` inside the try. "
                "Backoff (full jitter): `rng.uniform(0, min(cap, base * 2 ** attempt))` — and clamp the "
                "exponent so attempt 5000 doesn't overflow.",
            ],
        ),
        Question(
            id="priority",
            title="Priority for critical users",
            checks=[check_priority_order, check_priority_budget, check_priority_scenario],
            hints=[
                "Fast path: a free slot and nobody waiting → take it. Otherwise wait on a future of your own, "
                "queued in a heap by (0 if critical else 1, arrival number).",
                "When a job finishes, don't free the slot: hand it to the first live waiter in the heap "
                "(`set_result`), and only decrement `running` if nobody waits.",
                "Cancelled waiters: skip futures that are already done when you pop them. A waiter cancelled "
                "*after* being handed a slot must pass it on (call your release again).",
            ],
        ),
        Question(
            id="roleplay_replies",
            title="Role-play: the blunt review",
            kind="reflect",
            rubric="review_reply",
            answer="roleplay_replies",
            placeholder="# YOUR CODE HERE\nraise NotImplementedError()",
            hints=[
                "Pause first. Then one sentence that shows you heard the point — before any plan.",
                "Restate the concern or ask the one question that sharpens it ('Is it critical users' p99 you "
                "are worried about?').",
                "Name a number to hold yourself to: p99 under 150 ms in the slow-refresh benchmark, DB calls "
                "unchanged — and what you'll change to get there.",
            ],
        ),
    ],
)
