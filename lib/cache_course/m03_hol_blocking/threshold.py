"""Question `threshold` (module 03): its assertion helpers, visible checks and hints."""

from __future__ import annotations

import asyncio
import functools

from coursekit.figures import Figure
from coursekit.questions import Question, expect, expect_true

from ..lab import need as _need, run_virtual as _run
from ..variants import learner_seed
from .lab import STALE_TTL, TTL, WaitingCache, run_hol


# --------------------------------------------------------------------------- threshold


def _threshold_cls(ns: dict):
    return _need(ns, "ThresholdCache")


def assert_threshold_micro(cls) -> None:
    """100 stale reads of a key whose refresh takes 2 s: they wait 0.1 s, get the stale value, the refresh goes on."""
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


def assert_threshold_fast_refresh(cls) -> None:
    """A refresh that beats the threshold returns the new value."""

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


def assert_threshold_scenario(cls, seed: int, threshold: float = 0.1) -> None:
    """The slow-refresh scenario: p99 and max within the threshold, the same database calls, no errors."""
    waiting = run_hol(lambda load: WaitingCache(load, ttl=TTL), seed)
    mine = run_hol(lambda load: cls(load, ttl=TTL, stale_ttl=STALE_TTL, wait_threshold=threshold), seed,
                   threshold=threshold)
    for what, value in (("p99", mine.p99), ("slowest request", mine.max)):
        expect_true(f"{what} with wait_threshold={threshold:g} (seed {seed})", value <= threshold + 1e-3,
                    "No caller with a stale value should wait longer than the threshold.",
                    expected=f"<= {threshold + 1e-3:.3f} s", got=f"{value:.3f} s")
    expect(f"database calls (seed {seed})", mine.db_calls, waiting.db_calls,
           "The threshold changes who waits, not how often the database is asked: one refresh per key per "
           "expiry, as with singleflight.")
    expect(f"errors (seed {seed})", mine.error_count, 0, "No caller should get an exception in this scenario.")


def assert_threshold_failed_refresh(cls) -> None:
    """A refresh that fails: the stale value is served; past the stale window the error reaches the caller."""

    async def loader(key):
        await asyncio.sleep(0.01)
        raise ConnectionError("db down")

    async def main():
        cache = cls(loader, ttl=1.0, stale_ttl=5.0, wait_threshold=0.1)
        cache.put("k", "old")
        await asyncio.sleep(2.0)
        stale = await cache.get("k")
        await asyncio.sleep(10.0)  # now past the stale window: the error reaches the caller
        try:
            await cache.get("k")
        except ConnectionError:
            return stale, "raised"
        return stale, "returned"

    expect("(stale read while the refresh fails, read past the stale window)", _run(main, "a failing refresh"),
           ("old", "raised"), "Serve stale when the refresh fails; with nothing servable, the error is the caller's.")


def assert_threshold_cold_load(cls) -> None:
    """A cold load (nothing cached): the caller waits for it in full, the threshold does not apply."""

    async def loader(key):
        await asyncio.sleep(2.0)
        return "v"

    async def main():
        cache = cls(loader, ttl=1.0, stale_ttl=5.0, wait_threshold=0.1)
        got = await cache.get("k")
        return got, asyncio.get_running_loop().time()

    expect("(value, virtual seconds) of a cold get with a 2 s load", _run(main, "a cold load"), ("v", 2.0),
           "With no stale value to fall back on, wait for the load.")


def assert_threshold_one_refresh_per_key(cls, rounds: int = 40) -> None:
    """Many stale reads over time: at most one refresh per key in flight."""
    calls = []

    async def loader(key):
        calls.append(key)
        await asyncio.sleep(0.5)
        return key

    async def main():
        cache = cls(loader, ttl=0.1, stale_ttl=60.0, wait_threshold=0.05)
        for k in ("a", "b", "c"):
            cache.put(k, "old")
        for _ in range(rounds):
            await asyncio.sleep(0.2)
            await asyncio.gather(*(cache.get(k) for k in ("a", "b", "c") for _ in range(10)))
        return len(calls)

    n = _run(main, f"{rounds} rounds of stale reads of three keys")
    expect_true("refreshes started", n <= 3 * rounds // 2 + 3, "At most one refresh per key in flight at a time.",
                expected=f"<= {3 * rounds // 2 + 3}", got=n)


def check_threshold_micro(ns: dict) -> None:
    """a caller waits at most the threshold, gets the stale value, and the refresh goes on"""
    assert_threshold_micro(_threshold_cls(ns))


def check_threshold_fast_refresh(ns: dict) -> None:
    """a refresh that beats the threshold returns the new value"""
    assert_threshold_fast_refresh(_threshold_cls(ns))


def check_threshold_scenario(ns: dict) -> None:
    """slow-refresh scenario: p99 at most the threshold, database calls unchanged"""
    assert_threshold_scenario(_threshold_cls(ns), learner_seed("03_hol_blocking", reference=5), 0.1)


@functools.lru_cache(maxsize=4)
def _everyone_waits(seed: int):
    return run_hol(lambda load: WaitingCache(load, ttl=TTL), seed)


def threshold_figures(ns: dict, seed: int = 5, threshold: float = 0.1) -> list[Figure]:
    """The slow-refresh scenario (the check's seed): everyone waiting behind the refresh, then your threshold."""
    cls = _threshold_cls(ns)
    mine = run_hol(lambda load: cls(load, ttl=TTL, stale_ttl=STALE_TTL, wait_threshold=threshold), seed,
                   threshold=threshold)
    waiting = _everyone_waits(seed)
    note = (f"before: everyone waits for the 2 s refresh (singleflight); after: your wait threshold "
            f"({threshold * 1000:.0f} ms); seed {seed}")
    return [Figure("p99", round(waiting.p99 * 1000, 1), round(mine.p99 * 1000, 1), "ms", note),
            Figure("slowest request", round(waiting.max * 1000, 1), round(mine.max * 1000, 1), "ms"),
            Figure("database calls", waiting.db_calls, mine.db_calls, "")]


THRESHOLD = Question(
    id="threshold",
    title="A non-blocking wait threshold",
    checks=[check_threshold_micro, check_threshold_fast_refresh, check_threshold_scenario],
    figures=threshold_figures,
    hints=[
        "Only the stale case changes: start (or join) the refresh as a task, then wait for it — but only "
        "for `self.wait_threshold` seconds.",
        "`asyncio.wait_for(aw, timeout)` raises `TimeoutError` after `timeout`, and *cancels* `aw`. You "
        "want the refresh to survive: wait on `asyncio.shield(task)` instead of the task.",
        "`task = asyncio.ensure_future(self._flight.do(key, lambda: self._load(key)))`, then "
        "`try: return await asyncio.wait_for(asyncio.shield(task), self.wait_threshold)` "
        "`except Exception: return value` (a timeout or a failed refresh: serve stale).",
    ],
)
