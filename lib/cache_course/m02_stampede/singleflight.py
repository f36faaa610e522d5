"""Question `singleflight` (module 02): its helpers, visible checks and hints."""

from __future__ import annotations

import asyncio
import random

from coursekit.figures import Figure
from coursekit.questions import Question, expect, expect_true

from ..lab import assert_own_work, need as _need, run_virtual as _run
from .lab import TTL, DraftCache, naive_stampede, reference_singleflight, run_stampede


# --------------------------------------------------------------------------- singleflight


def _shipped_singleflight() -> dict:
    return {"swrcache.Singleflight": reference_singleflight()}


def assert_own_singleflight(cls) -> None:
    """Singleflight is your own, not `swrcache.Singleflight` imported, subclassed or wrapped."""
    assert_own_work(cls, "Singleflight", shipped=_shipped_singleflight(), make=cls)


def assert_sf_shared_load(cls, callers: int = 1000, delay: float = 0.5) -> None:
    """``callers`` concurrent callers of one key share one load and its result."""
    calls = []

    async def main():
        sf = cls()

        async def load():
            calls.append(1)
            await asyncio.sleep(delay)
            return "session-v2"

        results = await asyncio.gather(*(sf.do("user:42", load) for _ in range(callers)))
        return results, asyncio.get_running_loop().time()

    results, elapsed = _run(main, f"{callers:,} callers of do('user:42', load)")
    expect(f"loads run for {callers:,} concurrent callers", len(calls), 1,
           "Only the first caller should start `fn`; the others join the call already in flight. "
           "Keep the in-flight call (a Task or Future) in a dict keyed by `key`.")
    expect_true(f"results returned to the {callers:,} callers", all(r == "session-v2" for r in results),
                "Every caller gets the shared result.", expected=f"{callers} x 'session-v2'",
                got=sorted(set(map(repr, results)))[:3])
    expect_true("virtual seconds until all returned", abs(elapsed - delay) < 1e-6,
                f"Everyone should return when the one {delay:g} s load finishes.", expected=delay, got=elapsed)


def assert_sf_error_shared_not_remembered(cls, callers: int = 50) -> None:
    """An error reaches every waiter, and the next call tries again."""
    calls = []

    class DatabaseDown(Exception):
        pass

    async def main():
        sf = cls()

        async def failing():
            calls.append("fail")
            await asyncio.sleep(0.1)
            raise DatabaseDown("connection refused")

        outcomes = await asyncio.gather(*(sf.do("k", failing) for _ in range(callers)), return_exceptions=True)

        async def working():
            calls.append("ok")
            return "fresh"

        try:
            after = await sf.do("k", working)
        except DatabaseDown:  # the first call's error, served again
            after = "DatabaseDown again (the earlier failure)"
        return outcomes, after

    outcomes, after = _run(main, f"{callers} callers of a load that fails")
    expect(f"loads run for {callers} callers of a failing load", calls.count("fail"), 1,
           "A failing load is still one shared load.")
    kinds = sorted({type(o).__name__ for o in outcomes})
    expect_true(f"what the {callers} callers got", all(isinstance(o, DatabaseDown) for o in outcomes),
                "Every waiter should receive the same exception the load raised (not None, not a "
                "CancelledError).", expected=f"{callers} x DatabaseDown", got=kinds)
    expect("do('k', working) after the failure", after, "fresh",
           "The failure was remembered: once the failed call is over, the next `do` must run its own "
           "`fn`. Remove the key from your dict when the call finishes, whether it succeeded or failed.")


def assert_sf_cancel_one(cls, followers: int = 9) -> None:
    """Cancelling the first caller does not cancel the others."""
    calls = []

    async def main():
        sf = cls()

        async def load():
            calls.append(1)
            await asyncio.sleep(1.0)
            return "v"

        first = asyncio.ensure_future(sf.do("k", load))
        await asyncio.sleep(0)  # the first caller starts the load
        others = [asyncio.ensure_future(sf.do("k", load)) for _ in range(followers)]
        await asyncio.sleep(0.2)
        first.cancel()
        results = await asyncio.gather(*others, return_exceptions=True)
        return first.cancelled(), results

    first_cancelled, results = _run(main, f"{followers + 1} callers, the first cancelled after 0.2 s")
    expect("loads run", len(calls), 1, f"The {followers} other callers should keep waiting on the same load.")
    good = [r for r in results if r == "v"]
    expect_true(f"the {followers} callers who were not cancelled got", len(good) == followers,
                "When one caller gives up (its task is cancelled), the shared load must go on for the others. "
                "Don't let the caller's cancellation reach the shared task: `await asyncio.shield(task)`.",
                expected=f"{followers} x 'v'",
                got=sorted({type(r).__name__ if not isinstance(r, str) else r for r in results}))
    expect("the cancelled caller was cancelled", first_cancelled, True,
           "The caller who was cancelled should see CancelledError, not a result.")


def assert_sf_many_keys(cls, seed: int) -> None:
    """Many callers over several keys: one load per key, each caller its own key's value, keys in parallel."""
    rng = random.Random(seed)
    keys = [f"user:{i}" for i in range(rng.randint(3, 9))]
    calls: dict = {}

    async def main():
        sf = cls()

        def loader(key):
            async def load():
                calls[key] = calls.get(key, 0) + 1
                await asyncio.sleep(rng.uniform(0.1, 2.0))
                return key.upper()
            return load

        order = [rng.choice(keys) for _ in range(rng.randint(200, 1200))]
        got = await asyncio.gather(*(sf.do(k, loader(k)) for k in order))
        expect_true("each caller's value", got == [k.upper() for k in order],
                    "Each caller must get its own key's result.", expected="its key's value", got="another key's")
        return len(set(order)), asyncio.get_running_loop().time()

    distinct, elapsed = _run(main, f"callers over several keys (seed {seed})")
    expect(f"loads per key (seed {seed})", sorted(set(calls.values())), [1], "One load per key.")
    expect("keys loaded", sum(calls.values()), distinct, "One load per key.")
    expect_true(f"virtual seconds for all keys (seed {seed})", elapsed <= 2.0 + 1e-9,
                "Different keys must load concurrently, not one after another.", expected="<= 2.0", got=elapsed)


def assert_sf_most_callers_give_up(cls, seed: int) -> None:
    """Most callers cancelled while the load runs: the rest, and a late joiner, get the value from one load."""
    rng = random.Random(seed)
    n = rng.randint(10, 30)
    calls = []

    async def main():
        sf = cls()

        async def load():
            calls.append(1)
            await asyncio.sleep(1.0)
            return "v"

        tasks = [asyncio.ensure_future(sf.do("k", load)) for _ in range(n)]
        await asyncio.sleep(0.3)
        for t in tasks[1:-1]:  # everyone but the first and last gives up
            t.cancel()
        await asyncio.sleep(0.1)
        late = asyncio.ensure_future(sf.do("k", load))  # joins the load still in flight
        got = await asyncio.gather(tasks[0], tasks[-1], late)
        return got, all(t.cancelled() for t in tasks[1:-1])

    got, all_cancelled = _run(main, f"{n} callers, all but two cancelled")
    expect("the first, the last and a late caller got", tuple(got), ("v", "v", "v"),
           "Callers who stay must get the shared value; shield the shared task from cancelled callers.")
    expect("the cancelled callers were cancelled", all_cancelled, True, "A cancelled caller sees CancelledError.")
    expect("loads run", len(calls), 1, "A late caller joins the load still in flight.")


def assert_sf_finished_call_is_not_a_cache(cls, seed: int) -> None:
    """A failed load, then new calls: the error is not remembered, and a finished call is not a cache."""
    rng = random.Random(seed)
    n = rng.randint(10, 40)
    calls = []

    async def main():
        sf = cls()

        async def bad():
            calls.append("bad")
            await asyncio.sleep(0.2)
            raise KeyError("gone")

        async def good():
            calls.append("good")
            await asyncio.sleep(0.2)
            return 1

        r1 = await asyncio.gather(*(sf.do("k", bad) for _ in range(n)), return_exceptions=True)
        r2 = await asyncio.gather(*(sf.do("k", good) for _ in range(n)))
        r3 = await sf.do("k", good)  # a completed call is not a cache either
        return r1, r2, r3

    r1, r2, r3 = _run(main, "a failed load, then two rounds of calls")
    expect_true("what the callers of the failing load got", all(isinstance(e, KeyError) for e in r1),
                "Every waiter gets the load's exception.", expected="KeyError", got=sorted({type(e).__name__ for e in r1}))
    expect("results after the failure", (r2, r3), ([1] * n, 1), "After a failure the next call loads again.")
    expect("loads run", calls, ["bad", "good", "good"],
           "Forget a call once it has finished — success or failure: a singleflight is not a cache.")


def check_sf_own_work(ns: dict) -> None:
    """Singleflight is your own, not the library's"""
    assert_own_singleflight(_need(ns, "Singleflight"))


def check_sf_thousand_callers(ns: dict) -> None:
    """1,000 concurrent callers of one key share one load and its result"""
    assert_sf_shared_load(_need(ns, "Singleflight"), callers=1000)


def check_sf_error_shared_not_remembered(ns: dict) -> None:
    """an error reaches every waiter, and the next call tries again"""
    assert_sf_error_shared_not_remembered(_need(ns, "Singleflight"))


def check_sf_cancel_one(ns: dict) -> None:
    """cancelling the first caller does not cancel the others"""
    assert_sf_cancel_one(_need(ns, "Singleflight"))


class _CoalescingCache(DraftCache):
    """The draft's cache with its misses coalesced by ``flight`` (the notebook's CoalescingCache)."""

    def __init__(self, loader, *, ttl: float, flight) -> None:
        super().__init__(loader, ttl=ttl)
        self._flight = flight

    async def get(self, key):
        hit = self.age(key)
        if hit is not None and hit[1] < self.ttl:
            return hit[0]
        return await self._flight.do(key, lambda: self._load(key))


def singleflight_figures(ns: dict, seed: int = 3) -> list[Figure]:
    """The stampede (seed 3, as the other checks of the module): the draft's naive cache, then the same
    cache with its misses coalesced by your Singleflight."""
    cls = _need(ns, "Singleflight")
    mine, naive = run_stampede(lambda load: _CoalescingCache(load, ttl=TTL, flight=cls()), seed), naive_stampede(seed)
    note = f"before: the draft's naive cache; after: its misses coalesced by your Singleflight; the stampede, seed {seed}"
    return [Figure("database calls (singleflight)", naive.db_calls, mine.db_calls, "", note),
            Figure("p99 (singleflight)", round(naive.p99 * 1000, 1), round(mine.p99 * 1000, 1), "ms"),
            Figure("errors (singleflight)", naive.error_count, mine.error_count, "")]


SINGLEFLIGHT = Question(
    id="singleflight",
    title="Singleflight: one load for a thousand callers",
    checks=[check_sf_own_work, check_sf_thousand_callers, check_sf_error_shared_not_remembered, check_sf_cancel_one],
    figures=singleflight_figures,
    hints=[
        "Keep a dict from key to the call in flight. The first caller for a key starts `fn()` as a Task "
        "and stores it; later callers find it there and await the same Task.",
        "Remove the key when the Task finishes — success or failure — so nothing is remembered: "
        "`task.add_done_callback(...)`. Only remove it if the dict still holds *this* task.",
        "Callers should `await asyncio.shield(task)`: if one caller is cancelled, the shield is "
        "cancelled, not the shared task, and the others still get the result.",
    ],
)
