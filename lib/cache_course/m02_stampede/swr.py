"""Question `swr` (module 02): stale-while-revalidate, graded with the reference Singleflight."""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Callable

from coursekit.figures import Figure
from coursekit.questions import Question, expect, expect_true

from ..lab import need as _need, reference_parts, run_virtual as _run
from ..variants import learner_seed
from .lab import STALE_TTL, TTL, ReferenceStaleWhileRevalidate, naive_stampede, reference_singleflight, run_stampede


# --------------------------------------------------------------------------- stale-while-revalidate


def _with_reference_singleflight(helper: Callable) -> Callable:
    """Run ``helper(cls, ...)`` with the course's Singleflight wherever ``cls`` looks the name up."""

    @functools.wraps(helper)
    def wrapped(cls, *args: Any, **kwargs: Any) -> Any:
        with reference_parts(cls, Singleflight=reference_singleflight()):
            return helper(cls, *args, **kwargs)

    return wrapped


def _counting_loader(log: list, *, delay: float = 1.0, fail: Callable[[int], bool] = lambda n: False):
    async def loader(key):
        n = len(log)
        log.append((key, asyncio.get_running_loop().time()))
        await asyncio.sleep(delay)
        if fail(n):
            raise ConnectionError("database unavailable")
        return f"{key}@v{n + 1}"

    return loader


@_with_reference_singleflight
def assert_swr_fresh_and_missing(cls, callers: int = 100) -> None:
    """A missing key is loaded once for all callers; a fresh key is served without a load."""
    log: list = []

    async def main():
        cache = cls(_counting_loader(log, delay=0.05), ttl=1.0, stale_ttl=10.0)
        first = await asyncio.gather(*(cache.get("u") for _ in range(callers)))
        await asyncio.sleep(0.5)
        again = await cache.get("u")
        return first, again

    first, again = _run(main, "get('u') on an empty cache")
    expect(f"loads for {callers} concurrent gets of a missing key", len(log), 1,
           "A missing key has nothing to serve: callers wait for one coalesced load (`self._flight.do`).")
    expect(f"get('u') for {callers} callers", set(first), {"u@v1"}, "Return the loaded value.")
    expect("get('u') while fresh (age 0.5 s < ttl 1 s)", again, "u@v1",
           "Fresh entries are served from the cache, with no load.")


@_with_reference_singleflight
def assert_swr_serves_stale_once(cls, callers: int = 1000) -> None:
    """A stale key is served at once while exactly one refresh runs."""
    log: list = []

    async def main():
        loop = asyncio.get_running_loop()
        cache = cls(_counting_loader(log, delay=1.0), ttl=1.0, stale_ttl=10.0)
        cache.put("u", "old")
        await asyncio.sleep(2.0)  # now stale: 1 s past its ttl, well inside the stale window
        t0 = loop.time()
        during = await asyncio.gather(*(cache.get("u") for _ in range(callers)))
        waited = loop.time() - t0
        await asyncio.sleep(1.5)  # the refresh has finished
        after = await cache.get("u")
        return during, waited, after

    during, waited, after = _run(main, f"{callers:,} gets of a stale key")
    expect_true(f"virtual seconds the {callers:,} stale gets waited", waited < 1e-9,
                "A stale entry is served immediately; the refresh runs in the background "
                "(`asyncio.create_task`), nobody awaits it.", expected=0.0, got=round(waited, 6))
    expect("values served while stale", set(during), {"old"}, "Serve the stale value during the refresh.")
    expect(f"refreshes started by {callers:,} stale gets", len(log), 1,
           "Start a refresh only if none is running for that key: coalesce it (singleflight) and/or "
           "remember the running refresh task per key.")
    expect("get('u') after the refresh finished", after, "u@v1", "The refresh must store the new value.")


@_with_reference_singleflight
def assert_swr_past_stale_window(cls) -> None:
    """Past the stale window, callers wait for a fresh load."""
    log: list = []

    async def main():
        cache = cls(_counting_loader(log, delay=0.25), ttl=1.0, stale_ttl=2.0)
        cache.put("u", "ancient")
        await asyncio.sleep(5.0)  # age 5 s >= ttl + stale_ttl = 3 s: too old to serve
        return await asyncio.gather(*(cache.get("u") for _ in range(10)))

    got = _run(main, "get('u') 5 s after put (ttl 1 s, stale_ttl 2 s)")
    expect("values returned 5 s after put", set(got), {"u@v1"},
           "An entry older than ttl + stale_ttl must never be served: wait for the load instead.")
    expect("loads", len(log), 1, "The ten callers share one load.")


@_with_reference_singleflight
def assert_swr_failed_refresh_keeps_stale(cls) -> None:
    """A refresh that fails: the stale value is still served, and a later stale read tries again."""
    log = []

    async def loader(key):
        log.append(asyncio.get_running_loop().time())
        await asyncio.sleep(0.5)
        if len(log) == 1:
            raise ConnectionError("database down")
        return "new"

    async def main():
        cache = cls(loader, ttl=1.0, stale_ttl=5.0)
        cache.put("k", "old")
        await asyncio.sleep(1.5)
        a = await cache.get("k")  # stale: starts refresh #1, which fails at t=2.0
        await asyncio.sleep(1.0)
        b = await cache.get("k")  # still stale (age 2.5 s): serves "old", starts refresh #2
        await asyncio.sleep(1.0)
        c = await cache.get("k")  # refresh #2 stored "new"
        return a, b, c

    expect("get at 1.5 s, 2.5 s (first refresh failed), 3.5 s", _run(main, "a refresh that fails"),
           ("old", "old", "new"), "A failed refresh keeps the stale value, and is not remembered.")
    expect("refreshes", len(log), 2, "The next stale read after a failed refresh starts a new one.")


@_with_reference_singleflight
def assert_swr_cold_error_reaches_everyone(cls, callers: int = 200) -> None:
    """A cold load that fails: every waiting caller gets the error, from one load."""
    log = []

    async def loader(key):
        log.append(key)
        await asyncio.sleep(0.2)
        raise TimeoutError("query timed out")

    async def main():
        cache = cls(loader, ttl=1.0, stale_ttl=5.0)
        return await asyncio.gather(*(cache.get("k") for _ in range(callers)), return_exceptions=True)

    got = _run(main, f"{callers} gets of a missing key whose load fails")
    expect_true("what the callers got", all(isinstance(g, TimeoutError) for g in got),
                "Every caller waiting for a cold load gets its error.", expected="TimeoutError",
                got=sorted({type(g).__name__ for g in got}))
    expect("loads", len(log), 1, "One coalesced load, even when it fails.")


@_with_reference_singleflight
def assert_swr_boundaries(cls) -> None:
    """Fresh before ttl, stale at exactly ttl, the refreshed value right after."""
    log = []

    async def loader(key):
        log.append(asyncio.get_running_loop().time())
        await asyncio.sleep(0.1)
        return len(log)

    async def main():
        cache = cls(loader, ttl=2.0, stale_ttl=3.0)
        cache.put("k", 0)
        await asyncio.sleep(1.5)
        fresh = await cache.get("k")
        n_fresh = len(log)
        await asyncio.sleep(0.5)  # age exactly 2.0 = ttl: stale (binary-exact times)
        stale = await cache.get("k")
        await asyncio.sleep(0.25)
        return fresh, n_fresh, stale, await cache.get("k")

    expect("(fresh value, loads while fresh, value at age = ttl, value after the refresh)",
           _run(main, "gets around age = ttl"), (0, 0, 0, 1),
           "An entry is fresh while age < ttl; at age == ttl it is stale.")


@_with_reference_singleflight
def assert_swr_stampede(cls, seed: int) -> None:
    """The stampede scenario: as many database calls as the reference, and no caller waits."""
    mine = run_stampede(lambda load: cls(load, ttl=TTL, stale_ttl=STALE_TTL), seed)
    ref = run_stampede(lambda load: ReferenceStaleWhileRevalidate(load, ttl=TTL, stale_ttl=STALE_TTL), seed)
    expect(f"database calls in the stampede (seed {seed})", mine.db_calls, ref.db_calls,
           "One refresh per key per expiry, as the reference makes.")
    expect_true(f"p99 and errors in the stampede (seed {seed})", mine.p99 <= 1e-9 and mine.error_count == 0,
                "Every session is cached, so nobody should wait and nobody should get an error.",
                expected="p99 0 s, 0 errors", got=f"p99 {mine.p99:.3f} s, {mine.error_count} errors")


def check_swr_fresh_and_missing(ns: dict) -> None:
    """a missing key is loaded once; a fresh key is served without a load"""
    assert_swr_fresh_and_missing(_need(ns, "StaleWhileRevalidate"))


def check_swr_serves_stale_once(ns: dict) -> None:
    """a stale key is served at once while exactly one refresh runs"""
    cls = _need(ns, "StaleWhileRevalidate")
    assert_swr_serves_stale_once(cls)
    # the same in the learner's stampede scenario (the hidden test: other seeds)
    assert_swr_stampede(cls, learner_seed("02_stampede", reference=3))


def check_swr_past_stale_window(ns: dict) -> None:
    """past the stale window, callers wait for a fresh load"""
    assert_swr_past_stale_window(_need(ns, "StaleWhileRevalidate"))


def swr_figures(ns: dict, seed: int = 3) -> list[Figure]:
    """The stampede (the check's seed): the draft's naive cache, then your StaleWhileRevalidate (on the
    course's Singleflight, as its check grades it: your own Singleflight has its figures)."""
    cls = _need(ns, "StaleWhileRevalidate")
    with reference_parts(cls, Singleflight=reference_singleflight()):
        mine = run_stampede(lambda load: cls(load, ttl=TTL, stale_ttl=STALE_TTL), seed)
    naive = naive_stampede(seed)
    source = 'your StaleWhileRevalidate on the course\'s Singleflight, measured when check("swr") passed'
    note = f"before: the draft's naive cache; after: your stale-while-revalidate; the stampede, seed {seed}"
    return [Figure("database calls (stale-while-revalidate)", naive.db_calls, mine.db_calls, "", note, source),
            Figure("p99 (stale-while-revalidate)", round(naive.p99 * 1000, 1), round(mine.p99 * 1000, 1), "ms", "",
                   source)]


SWR = Question(
    id="swr",
    title="Stale-while-revalidate",
    checks=[check_swr_fresh_and_missing, check_swr_serves_stale_once, check_swr_past_stale_window],
    figures=swr_figures,
    hints=[
        "Three cases by age = now − stored_at: age < ttl → the value; ttl ≤ age < ttl + stale_ttl → "
        "the value *and* a background refresh; otherwise (or no entry) → `await` one coalesced load.",
        "A background refresh is a task nobody awaits: `asyncio.create_task(self._flight.do(key, "
        "lambda: self._load(key)))`. Keep it in `self._refreshing[key]` so a second stale get doesn't "
        "start another.",
        "When the refresh task finishes, drop it from `self._refreshing` and retrieve its exception "
        "(`task.exception()` in a done callback) so a failed refresh is neither remembered nor noisy.",
    ],
)
