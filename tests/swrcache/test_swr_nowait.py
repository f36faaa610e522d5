"""SWRCache.get_nowait: the synchronous hit probe (fresh value, or WouldBlock)."""

from __future__ import annotations

import asyncio
import inspect
import random

import pytest

from swr_helpers import FakeLoader, now, run
from swrcache import CacheStats, LRUCache, ManualClock, SWRCache, WouldBlock


def make(loader, **kw):
    kw.setdefault("capacity", 100)
    kw.setdefault("ttl", 10.0)
    kw.setdefault("stale_ttl", 20.0)
    return SWRCache(loader, **kw)


def test_is_synchronous_and_raises_a_documented_key_error():
    assert not inspect.iscoroutinefunction(SWRCache.get_nowait)
    assert inspect.iscoroutinefunction(SWRCache.get)
    assert issubclass(WouldBlock, KeyError)
    assert "WouldBlock" in SWRCache.get_nowait.__doc__ and "Raises:" in SWRCache.get_nowait.__doc__


def test_fresh_hit_returns_the_value_and_counts_one_hit(loader):
    async def main():
        cache = make(loader)
        await cache.get("a")  # stored at t=1
        before = cache.stats.snapshot()
        await asyncio.sleep(8.9)  # age 8.9 < ttl
        assert cache.get_nowait("a") == "a#1"
        assert cache.stats == CacheStats(hits=before.hits + 1, misses=1, loads=1)
        assert loader.count == 1

    run(main)


def test_missing_key_raises_and_counts_nothing(loader):
    async def main():
        cache = make(loader)
        with pytest.raises(WouldBlock) as info:
            cache.get_nowait("nope")
        assert info.value.args == ("nope",)
        assert cache.stats == CacheStats() and loader.count == 0 and len(cache) == 0
        assert cache.background_tasks == 0

    run(main)


def test_stale_value_raises_without_blocking_refreshing_or_counting(loader):
    async def main():
        cache = make(loader)
        await cache.get("a")  # stored at t=1
        await asyncio.sleep(10.0)  # age 10 == ttl: stale
        before = cache.stats.snapshot()
        t0 = now()
        with pytest.raises(WouldBlock):
            cache.get_nowait("a")
        assert now() == t0  # no virtual time passed: it did not wait
        await asyncio.sleep(0)
        assert cache.background_tasks == 0 and loader.count == 1  # no refresh started
        assert cache.stats == before
        assert cache.peek("a") == "a#1"  # the stale value is still there for get
        assert await cache.get("a") == "a#1"  # ... which serves it stale and refreshes
        assert cache.stats.stale_served == 1
        await cache.aclose()

    run(main)


def test_expired_value_raises(loader):
    async def main():
        cache = make(loader)
        await cache.get("a")
        await asyncio.sleep(40.0)  # past ttl + stale_ttl
        with pytest.raises(WouldBlock):
            cache.get_nowait("a")
        assert cache.stats.hits == 0

    run(main)


def test_hit_counts_only_on_success_and_keeps_the_stats_invariant(loader):
    async def main():
        cache = make(loader)
        served = 0
        for key in ["a", "b", "a", "c", "a", "b", "d"]:
            try:
                cache.get_nowait(key)
            except WouldBlock:
                await cache.get(key)
            served += 1
        s = cache.stats
        assert s.hits == 3 and s.misses == 4 and s.requests == served

    run(main)


def test_a_hit_refreshes_lru_recency(loader):
    async def main():
        cache = make(loader, capacity=2)
        await cache.get("a")
        await cache.get("b")
        cache.get_nowait("a")  # "b" is now the least recently used
        await cache.get("c")  # evicts "b"
        assert "a" in cache and "b" not in cache and cache.stats.evictions == 1

    run(main)


def test_invalidate_and_set_are_seen(loader):
    async def main():
        cache = make(loader)
        await cache.get("a")
        cache.invalidate("a")
        with pytest.raises(WouldBlock):
            cache.get_nowait("a")
        cache.set("a", "written")
        assert cache.get_nowait("a") == "written"

    run(main)


def test_follows_virtual_time_to_the_ttl_boundary():
    async def main():
        cache = make(FakeLoader(delay=0.0), ttl=5.0)
        await cache.get("k")  # stored at t=0
        await asyncio.sleep(4.999)
        assert cache.get_nowait("k") == "k#1"
        await asyncio.sleep(0.001)  # age == ttl: no longer fresh
        with pytest.raises(WouldBlock):
            cache.get_nowait("k")

    run(main)


def test_injected_clock_works_outside_an_event_loop():
    clock = ManualClock(100.0)
    cache = make(FakeLoader(), ttl=5.0, clock=clock)
    cache.set("k", "v")
    assert cache.get_nowait("k") == "v"
    clock.advance(4.5)
    assert cache.get_nowait("k") == "v"
    clock.advance(0.5)
    with pytest.raises(WouldBlock):
        cache.get_nowait("k")
    assert cache.stats.hits == 2


def test_without_a_clock_it_needs_the_running_loop():
    cache = make(FakeLoader())
    with pytest.raises(RuntimeError):
        cache.get_nowait("k")


def test_namespaces_sharing_a_store_do_not_see_each_other():
    async def main():
        store = LRUCache(10)
        v1 = SWRCache(FakeLoader(), capacity=10, ttl=10, stale_ttl=10, namespace="v1",
                      store=store)
        v2 = SWRCache(FakeLoader(), capacity=10, ttl=10, stale_ttl=10, namespace="v2",
                      store=store)
        v1.set("user", "old schema")
        assert v1.get_nowait("user") == "old schema"
        with pytest.raises(WouldBlock):
            v2.get_nowait("user")
        assert v1.stats.hits == 1 and v2.stats.hits == 0

    run(main)


def test_xfetch_hit_may_start_an_early_refresh_as_get_does():
    async def main():
        loader = FakeLoader(delay=1.0)
        cache = make(loader, ttl=10.0, early_refresh_beta=50.0, rng=random.Random(1))
        await cache.get("k")  # took 1 s: delta 1, stored at t=1
        await asyncio.sleep(9.0)  # 1 s before expiry, beta 50: an early refresh is likely
        hits = 0
        while cache.stats.early_refreshes == 0 and hits < 50:
            assert cache.get_nowait("k") == "k#1"
            hits += 1
        assert cache.stats.early_refreshes == 1 and cache.stats.hits == hits
        await asyncio.sleep(1.5)
        assert cache.get_nowait("k") == "k#2" and loader.count == 2
        await cache.aclose()

    run(main)
