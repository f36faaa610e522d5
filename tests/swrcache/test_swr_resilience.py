"""SWRCache: circuit breaker, backoff, XFetch, refresh budget with critical keys."""

from __future__ import annotations

import asyncio
import random

import pytest

from swr_helpers import FakeLoader, now, run
from swrcache import CircuitOpenError, SWRCache


def make(loader, **kw):
    kw.setdefault("capacity", 100)
    kw.setdefault("ttl", 10.0)
    kw.setdefault("stale_ttl", 1000.0)
    return SWRCache(loader, **kw)


def test_breaker_opens_after_consecutive_failures_and_fails_fast():
    async def main():
        loader = FakeLoader(delay=1.0, fail=lambda k, n: RuntimeError("db down"))
        cache = make(loader, breaker_threshold=3, breaker_cooldown=30.0)
        for key in "abc":
            with pytest.raises(RuntimeError, match="db down"):
                await cache.get(key)
        assert cache.stats.breaker_opens == 1 and cache.breaker.state == "open"
        t0 = now()
        with pytest.raises(CircuitOpenError):
            await cache.get("d")
        assert now() == t0 and loader.count == 3  # no loader call while open

    run(main)


def test_breaker_half_open_single_probe_then_closes():
    async def main():
        healthy = {"ok": False}
        loader = FakeLoader(delay=1.0,
                            fail=lambda k, n: None if healthy["ok"] else RuntimeError("down"))
        cache = make(loader, breaker_threshold=2, breaker_cooldown=5.0)
        for key in "ab":
            with pytest.raises(RuntimeError):
                await cache.get(key)
        await asyncio.sleep(5.0)
        healthy["ok"] = True
        results = await asyncio.gather(*(cache.get(k) for k in "cdef"), return_exceptions=True)
        # One probe goes through; the others are refused while it runs.
        assert sum(isinstance(r, CircuitOpenError) for r in results) == 3
        assert sum(isinstance(r, str) for r in results) == 1
        assert cache.breaker.state == "closed"
        assert await cache.get("g") == "g#4"

    run(main)


def test_breaker_failed_probe_reopens():
    async def main():
        loader = FakeLoader(delay=1.0, fail=lambda k, n: RuntimeError("down"))
        cache = make(loader, breaker_threshold=1, breaker_cooldown=5.0)
        with pytest.raises(RuntimeError):
            await cache.get("a")
        await asyncio.sleep(5.0)
        with pytest.raises(RuntimeError, match="down"):
            await cache.get("b")  # the probe
        assert cache.stats.breaker_opens == 2 and cache.breaker.state == "open"
        with pytest.raises(CircuitOpenError):
            await cache.get("c")

    run(main)


def test_open_breaker_serves_stale_without_refreshing():
    async def main():
        fail = {"on": False}
        loader = FakeLoader(delay=1.0, fail=lambda k, n: RuntimeError() if fail["on"] else None)
        cache = make(loader, breaker_threshold=1, breaker_cooldown=100.0)
        await cache.get("a")
        fail["on"] = True
        with pytest.raises(RuntimeError):
            await cache.get("b")
        await asyncio.sleep(20.0)
        assert await cache.get("a") == "a#1"
        await asyncio.sleep(0)
        assert cache.background_tasks == 0 and loader.count == 2

    run(main)


def test_cancelled_probe_frees_the_probe():
    async def main():
        loader = FakeLoader(delay=lambda k, n: 1.0 if n == 1 else 50.0,
                            fail=lambda k, n: RuntimeError() if n == 1 else None)
        cache = make(loader, breaker_threshold=1, breaker_cooldown=5.0)
        with pytest.raises(RuntimeError):
            await cache.get("a")
        await asyncio.sleep(5.0)
        probe = asyncio.create_task(cache.get("b"))
        await asyncio.sleep(1.0)
        probe.cancel()
        await asyncio.gather(probe, return_exceptions=True)
        await asyncio.sleep(0)
        assert cache.breaker.would_allow()
        await cache.aclose()

    run(main)


def test_jittered_exponential_backoff_between_failed_refreshes_is_deterministic():
    def attempts(seed):
        async def main():
            loader = FakeLoader(delay=0.0, fail=lambda k, n: RuntimeError() if n > 1 else None)
            cache = make(loader, breaker_threshold=None, backoff_base=1.0, backoff_max=16.0,
                         backoff_jitter=0.5, rng=random.Random(seed))
            await cache.get("a")
            await asyncio.sleep(10.0)
            for _ in range(600):  # a get every 0.1 s for 60 s
                assert await cache.get("a") == "a#1"
                await asyncio.sleep(0.1)
            await cache.aclose()
            return [t for _, t in loader.calls[1:]]

        return run(main)

    times = attempts(1)
    assert times == attempts(1)  # seeded: identical
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) < 15  # without backoff it would be ~600 attempts
    # Gap n lies in [0.5, 1] * min(16, 2**(n-1)) (plus one 0.1 s polling step).
    for n, gap in enumerate(gaps, start=1):
        cap = min(16.0, 2.0 ** (n - 1))
        assert 0.5 * cap - 1e-9 <= gap <= cap + 0.1 + 1e-9, (n, gap)
    assert attempts(2) != times  # jitter does depend on the rng


def test_backoff_resets_after_success():
    async def main():
        loader = FakeLoader(delay=0.0, fail=lambda k, n: RuntimeError() if n == 2 else None)
        cache = make(loader, breaker_threshold=None, backoff_base=5.0, backoff_jitter=0.0)
        await cache.get("a")
        await asyncio.sleep(10.0)
        await cache.get("a")  # refresh fails (n=2): backoff 5 s
        await asyncio.sleep(1.0)
        await cache.get("a")
        await asyncio.sleep(0)
        assert loader.count == 2
        await asyncio.sleep(5.0)
        await cache.get("a")  # n=3 succeeds
        await asyncio.sleep(0.1)
        assert cache._failures == {}
        await cache.aclose()

    run(main)


def test_xfetch_off_by_default_never_refreshes_early():
    async def main():
        loader = FakeLoader(delay=1.0)
        cache = make(loader)
        await cache.get("a")
        for _ in range(90):
            await cache.get("a")
            await asyncio.sleep(0.1)
        assert loader.count == 1 and cache.stats.early_refreshes == 0

    run(main)


def test_xfetch_refreshes_early_before_expiry_and_is_seeded():
    def first_refresh(seed):
        async def main():
            loader = FakeLoader(delay=1.0)
            cache = make(loader, early_refresh_beta=1.0, rng=random.Random(seed))
            await cache.get("a")  # stored t=1, fresh until 11
            while loader.count == 1:
                assert await cache.get("a") == "a#1"
                await asyncio.sleep(0.05)
            await cache.aclose()
            return loader.calls[1][1], cache.stats.early_refreshes

        return run(main)

    t1, early = first_refresh(3)
    assert early == 1 and 1.0 < t1 < 11.0
    assert first_refresh(3) == (t1, early)
    times = [first_refresh(s)[0] for s in range(20)]
    assert len(set(times)) > 5  # spread out, not a stampede at expiry
    assert all(t < 11.0 for t in times)


def test_refresh_budget_serves_critical_keys_first():
    async def main():
        loader = FakeLoader(delay=1.0)
        cache = make(loader, refresh_budget=1, is_critical={"vip"})
        order = []

        async def get(k):
            await cache.get(k)
            order.append(k)

        tasks = [asyncio.create_task(get(k)) for k in ["n1", "n2", "n3", "vip"]]
        await asyncio.gather(*tasks)
        assert order[0] == "n1"  # took the free slot first
        assert order[1] == "vip"  # jumped the queue
        assert loader.max_total_running == 1

    run(main)


def test_refresh_budget_accepts_a_predicate_for_critical_keys():
    async def main():
        loader = FakeLoader(delay=1.0)
        cache = make(loader, refresh_budget=2, is_critical=lambda k: k.startswith("admin"))
        await asyncio.gather(*(cache.get(k) for k in ["a", "b", "c", "d", "admin-1"]))
        first_four = [k for k, _ in loader.calls[:4]]
        assert "admin-1" in first_four[:3]
        assert loader.max_total_running == 2

    run(main)
