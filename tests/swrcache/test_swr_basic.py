"""SWRCache: fresh / stale / missing, wait threshold, timeouts, stats, arguments."""

from __future__ import annotations

import asyncio

import pytest

from swr_helpers import FakeLoader, now, run
from swrcache import CacheStats, LRUCache, SWRCache


def make(loader, **kw):
    kw.setdefault("capacity", 100)
    kw.setdefault("ttl", 10.0)
    kw.setdefault("stale_ttl", 20.0)
    return SWRCache(loader, **kw)


def test_fresh_hit_does_not_load(loader):
    async def main():
        cache = make(loader)
        assert await cache.get("a") == "a#1"
        await asyncio.sleep(8.9)  # stored at t=1, age 8.9 < ttl
        assert await cache.get("a") == "a#1"
        assert loader.count == 1
        assert cache.stats == CacheStats(hits=1, misses=1, loads=1)

    run(main)


def test_age_counts_from_store_and_ttl_boundary_is_stale():
    async def main():
        loader = FakeLoader(delay=1.0)
        cache = make(loader)
        await cache.get("a")  # stored at t=1.0
        await asyncio.sleep(10.0)  # age exactly ttl: stale
        assert now() == 11.0
        assert await cache.get("a") == "a#1"
        assert cache.stats.stale_served == 1
        await asyncio.sleep(1.5)
        assert await cache.get("a") == "a#2"  # the refresh finished at t=12
        assert cache.stats.hits == 1
        await cache.aclose()

    run(main)


def test_stale_serves_at_once_and_refreshes_in_background():
    async def main():
        loader = FakeLoader(delay=2.0)
        cache = make(loader)
        await cache.get("a")  # t=2
        await asyncio.sleep(15.0)  # t=17, age 15: stale
        t0 = now()
        results = await asyncio.gather(*(cache.get("a") for _ in range(50)))
        assert now() == t0  # nobody waited
        assert set(results) == {"a#1"}
        assert loader.count == 2  # exactly one background refresh
        assert cache.background_tasks == 1
        await asyncio.sleep(2.5)
        assert cache.background_tasks == 0
        assert await cache.get("a") == "a#2"
        assert cache.stats.stale_served == 50 and cache.stats.loads == 2

    run(main)


def test_max_refresh_concurrency_allows_that_many_refreshes():
    async def main():
        loader = FakeLoader(delay=5.0)
        cache = make(loader, max_refresh_concurrency=3)
        await cache.get("a")
        await asyncio.sleep(12.0)
        for _ in range(10):
            await cache.get("a")
            await asyncio.sleep(0.1)
        assert loader.count == 1 + 3
        assert loader.max_running["a"] == 3
        await cache.aclose()

    run(main)


def test_past_stale_window_is_a_blocking_load():
    async def main():
        loader = FakeLoader(delay=1.0)
        cache = make(loader)
        await cache.get("a")  # t=1
        await asyncio.sleep(30.0)  # age 30 == ttl + stale_ttl: expired
        assert await cache.get("a") == "a#2"
        assert now() == 32.0
        assert cache.stats.misses == 2 and cache.stats.stale_served == 0

    run(main)


def test_missing_key_one_coalesced_load():
    async def main():
        loader = FakeLoader(delay=1.0)
        cache = make(loader)
        results = await asyncio.gather(*(cache.get("a") for _ in range(1000)))
        assert set(results) == {"a#1"} and loader.count == 1
        assert cache.stats.misses == 1000 and cache.stats.coalesced == 999
        assert cache.stats.loads == 1

    run(main)


def test_wait_threshold_returns_refreshed_value_when_quick():
    async def main():
        loader = FakeLoader(delay=lambda k, n: 1.0 if n == 1 else 0.05)
        cache = make(loader, wait_threshold=0.1)
        await cache.get("a")
        await asyncio.sleep(15.0)
        t0 = now()
        assert await cache.get("a") == "a#2"
        assert now() == pytest.approx(t0 + 0.05)
        assert cache.stats.stale_served == 0

    run(main)


def test_wait_threshold_falls_back_to_stale_and_refresh_carries_on():
    async def main():
        loader = FakeLoader(delay=lambda k, n: 1.0 if n == 1 else 2.0)
        cache = make(loader, wait_threshold=0.1)
        await cache.get("a")
        await asyncio.sleep(15.0)
        t0 = now()
        results = await asyncio.gather(*(cache.get("a") for _ in range(20)))
        assert set(results) == {"a#1"}
        assert now() == pytest.approx(t0 + 0.1)  # waited the threshold, no longer
        assert loader.count == 2 and loader.cancelled == 0
        await asyncio.sleep(2.0)
        assert await cache.get("a") == "a#2"  # the refresh was not abandoned
        assert cache.stats.stale_served == 20

    run(main)


def test_wait_threshold_with_failed_refresh_serves_stale():
    async def main():
        loader = FakeLoader(delay=0.01, fail=lambda k, n: RuntimeError("db") if n > 1 else None)
        cache = make(loader, wait_threshold=0.1)
        await cache.get("a")
        await asyncio.sleep(15.0)
        assert await cache.get("a") == "a#1"
        assert cache.stats.stale_served == 1 and cache.stats.load_errors == 1

    run(main)


def test_refresh_timeout_on_cold_load_raises_timeouterror_to_all():
    async def main():
        loader = FakeLoader(delay=5.0)
        cache = make(loader, refresh_timeout=1.0)
        results = await asyncio.gather(*(cache.get("a") for _ in range(5)),
                                       return_exceptions=True)
        assert all(isinstance(r, TimeoutError) for r in results)
        assert now() == 1.0 and loader.cancelled == 1
        assert "a" not in cache
        assert cache.stats.refresh_timeouts == 1 and cache.stats.load_errors == 1

    run(main)


def test_refresh_timeout_on_background_refresh_keeps_stale():
    async def main():
        loader = FakeLoader(delay=lambda k, n: 0.5 if n == 1 else 5.0)
        cache = make(loader, refresh_timeout=1.0)
        await cache.get("a")
        await asyncio.sleep(12.0)
        assert await cache.get("a") == "a#1"
        await asyncio.sleep(2.0)
        assert cache.stats.refresh_timeouts == 1
        assert await cache.get("a") == "a#1"  # stale-if-error
        await cache.aclose()

    run(main)


def test_stale_if_error_until_end_of_window_then_error_not_cached():
    async def main():
        fail = {"on": False}
        loader = FakeLoader(delay=1.0, fail=lambda k, n: RuntimeError("down") if fail["on"] else None)
        cache = make(loader, backoff_base=0.5, backoff_jitter=0.0, breaker_threshold=None)
        await cache.get("a")  # t=1
        fail["on"] = True
        await asyncio.sleep(10.0)
        for _ in range(19):
            assert await cache.get("a") == "a#1"
            await asyncio.sleep(1.0)
        assert now() == 30.0  # age 29: last stale instant before expiry
        assert await cache.get("a") == "a#1"
        await asyncio.sleep(1.0)
        with pytest.raises(RuntimeError, match="down"):
            await cache.get("a")  # expired: cold load fails, nothing cached
        assert "a" not in cache
        fail["on"] = False
        value = await cache.get("a")
        assert value.startswith("a#")
        await cache.aclose()

    run(main)


def test_cold_load_failure_reaches_every_waiter_and_is_not_cached():
    async def main():
        loader = FakeLoader(delay=1.0, fail=lambda k, n: ValueError("x") if n == 1 else None)
        cache = make(loader)
        results = await asyncio.gather(*(cache.get("a") for _ in range(10)),
                                       return_exceptions=True)
        assert all(isinstance(r, ValueError) for r in results)
        assert await cache.get("a") == "a#2"
        assert cache.stats.load_errors == 1

    run(main)


def test_capacity_evicts_lru_and_counts():
    async def main():
        loader = FakeLoader()
        cache = make(loader, capacity=2)
        await cache.get("a")
        await cache.get("b")
        await cache.get("a")  # a most recent
        await cache.get("c")  # evicts b
        assert "b" not in cache and "a" in cache and len(cache) == 2
        assert cache.stats.evictions == 1

    run(main)


def test_capacity_zero_stores_nothing_but_still_coalesces():
    async def main():
        loader = FakeLoader(delay=1.0)
        cache = make(loader, capacity=0)
        assert set(await asyncio.gather(*(cache.get("a") for _ in range(5)))) == {"a#1"}
        assert await cache.get("a") == "a#2"
        assert len(cache) == 0

    run(main)


def test_ttl_zero_is_always_stale_and_stale_ttl_zero_never_stale():
    async def main():
        loader = FakeLoader(delay=1.0)
        cache = make(loader, ttl=0.0, stale_ttl=5.0)
        await cache.get("a")
        assert await cache.get("a") == "a#1" and cache.stats.stale_served == 1
        await cache.aclose()
        loader2 = FakeLoader(delay=1.0)
        cache2 = make(loader2, ttl=2.0, stale_ttl=0.0)
        await cache2.get("a")
        await asyncio.sleep(2.0)
        assert await cache2.get("a") == "a#2" and cache2.stats.stale_served == 0

    run(main)


def test_stats_invariant_hits_misses_stale_sum_to_requests():
    async def main():
        cache = make(FakeLoader(delay=1.0))
        n = 0
        for t in range(40):
            await asyncio.gather(*(cache.get(k) for k in "abc"))
            n += 3
            await asyncio.sleep(1.7)
        assert cache.stats.requests == n
        assert 0.0 < cache.stats.hit_ratio <= 1.0
        await cache.aclose()

    run(main)


def test_injected_clock_is_used():
    clock_now = [100.0]

    async def main():
        loader = FakeLoader()
        cache = make(loader, clock=lambda: clock_now[0])
        await cache.get("a")
        clock_now[0] += 9.0
        await cache.get("a")
        assert cache.stats.hits == 1
        clock_now[0] += 1.0
        await cache.get("a")
        assert cache.stats.stale_served == 1
        await cache.aclose()

    run(main)


def test_prewarm_loads_missing_and_skips_fresh():
    async def main():
        loader = FakeLoader(delay=1.0, fail=lambda k, n: RuntimeError() if k == "bad" else None)
        cache = make(loader, breaker_threshold=None)
        await cache.get("a")
        warmed = await cache.prewarm(["a", "b", "c", "bad"], concurrency=2)
        assert warmed == 3
        assert loader.count == 1 + 3
        assert loader.max_total_running <= 2
        assert await cache.get("b") == "b#2" or await cache.get("b") == "b#3"

    run(main)


def test_set_stores_fresh_value():
    async def main():
        cache = make(FakeLoader())
        cache.set("a", "written")
        assert await cache.get("a") == "written" and cache.peek("a") == "written"
        assert cache.stats.loads == 0

    run(main)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"capacity": -1}, "capacity"),
        ({"capacity": 1.5}, "capacity"),
        ({"ttl": -1}, "ttl"),
        ({"stale_ttl": -0.1}, "stale_ttl"),
        ({"ttl": float("nan")}, "ttl"),
        ({"wait_threshold": 0}, "wait_threshold"),
        ({"wait_threshold": -1}, "wait_threshold"),
        ({"refresh_timeout": 0}, "refresh_timeout"),
        ({"max_refresh_concurrency": 0}, "max_refresh_concurrency"),
        ({"refresh_budget": 0}, "refresh_budget"),
        ({"breaker_threshold": 0}, "breaker_threshold"),
        ({"breaker_cooldown": 0}, "breaker_cooldown"),
        ({"backoff_base": 0}, "backoff_base"),
        ({"backoff_max": 0.1, "backoff_base": 1.0}, "backoff_max"),
        ({"backoff_jitter": 2}, "backoff_jitter"),
        ({"early_refresh_beta": -1}, "early_refresh_beta"),
        ({"store": LRUCache(5)}, "capacity"),
        ({"store": {}}, "store"),
        ({"clock": 5}, "clock"),
        ({"is_critical": 5}, "is_critical"),
    ],
)
def test_invalid_arguments_name_the_parameter(kwargs, name):
    base = {"capacity": 10, "ttl": 1.0, "stale_ttl": 1.0}
    base.update(kwargs)
    with pytest.raises(ValueError, match=name):
        SWRCache(FakeLoader(), **base)


def test_loader_must_be_callable():
    with pytest.raises(ValueError, match="loader"):
        SWRCache(None, capacity=1, ttl=1.0, stale_ttl=1.0)  # type: ignore[arg-type]


def test_prewarm_concurrency_validated():
    async def main():
        with pytest.raises(ValueError, match="concurrency"):
            await make(FakeLoader()).prewarm(["a"], concurrency=0)

    run(main)


def test_repr_and_properties():
    cache = make(FakeLoader(), namespace="v2")
    assert "SWRCache" in repr(cache) and cache.namespace == "v2"
    assert cache.breaker is not None and cache.background_tasks == 0
